"""Until the layered catalog (branch lspcat: ``Catalog.install_layered``/``next_entry``,
``wsemu.spi.wsc.install_lsp``) is merged: the two catalog operations the shipped LSPs need.

Both defer to the catalog's own methods when it has them, so this module is deleted at the
merge (with its one import in ``wsemu/lsp/__init__.py``) and ``install_layered`` callers call
``Catalog.install_layered`` directly.
"""
from __future__ import annotations

import uuid

from wsemu import abi as W
from wsemu import catalog
from wsemu.abi import WSAPROTOCOLCHAIN


def install_layered(cat: catalog.Catalog, name: str, path: str, over: list[int]) -> catalog.CatalogEntry:
    """Install LSP ``name`` over the entries ``over`` of ``cat`` (the model, not the file):
    a hidden layered entry (ChainLen 0) and one chain entry [layered, target, ...] per target,
    the chains first in the order (spi.md §3.4). Returns the layered entry."""
    if hasattr(catalog.Catalog, "install_layered"):
        return cat.install_layered(name, path, over)
    first = cat.by_id(over[0]).info
    layered = first.copy(ProviderId=uuid.uuid4(), dwCatalogEntryId=cat.next_id, iSocketType=0, iProtocol=0,
                         ProtocolChain=WSAPROTOCOLCHAIN(W.LAYERED_PROTOCOL, [0]), szProtocol=name,
                         dwProviderFlags=first.dwProviderFlags | W.PFL_HIDDEN)
    cat.next_id += 1
    layered_entry = catalog.CatalogEntry(layered, path)
    chains = []
    for target_id in over:
        target = cat.by_id(target_id).info
        rest = target.ProtocolChain.ChainEntries[1:target.ProtocolChain.ChainLen]
        chains.append(catalog.CatalogEntry(target.copy(
            ProviderId=uuid.uuid4(), dwCatalogEntryId=cat.next_id,
            ProtocolChain=WSAPROTOCOLCHAIN(len(rest) + 2, [layered.dwCatalogEntryId, target_id] + rest),
            szProtocol=f"{name} over [{target.szProtocol}]"[:W.WSAPROTOCOL_LEN]), path))
        cat.next_id += 1
    cat.entries[:0] = chains
    cat.entries.append(layered_entry)
    return layered_entry


def _next_entry(self: catalog.Catalog, entry: catalog.CatalogEntry) -> catalog.CatalogEntry:
    """The entry a chain entry's layer passes its calls to: the one chain slot 1 names."""
    return self.by_id(entry.info.ProtocolChain.ChainEntries[1])


if not hasattr(catalog.Catalog, "next_entry"):       # wsemu.spi.layered needs it
    catalog.Catalog.next_entry = _next_entry
