"""The WSC catalog functions (ws2spi.h, reference/spi.md §1.4) for Python, and LSP install/remove.

They work on the saved catalog (``catalog.CatalogStore``: WSEMU_CONFIG_DIR when set); each
change is one locked read-modify-write (``CatalogStore.change``), so concurrent installers do not
lose each other's entries. As on Windows, a process that already ran WSAStartup keeps the
catalog it read then: these functions never touch it, and its next first WSAStartup sees the
change. Arguments are checked here, so a bad one is a WSAError (WSAEFAULT for a missing one,
WSAEINVAL for a wrong one), never a traceback; the catalog rules are ``catalog.Catalog``'s.
"""
from __future__ import annotations

import uuid
from typing import Iterable

from wsemu import abi as W
from wsemu import catalog
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.errors import WSAError

__all__ = ["WSCEnumProtocols", "WSCInstallProvider", "WSCDeinstallProvider", "WSCWriteProviderOrder",
           "WSCGetProviderPath", "install_lsp", "remove_lsp"]


def WSCEnumProtocols(lpiProtocols: Iterable[int] | None = None) -> list[WSAPROTOCOL_INFOW]:
    """Every entry of the saved catalog, hidden and layered ones too (unlike
    WSAEnumProtocols), optionally only those whose iProtocol is listed (the list ends at 0)."""
    protocols = None if lpiProtocols is None else [_integer(p) for p in _sequence(lpiProtocols)]
    return catalog.CatalogStore().load().all_entries(protocols)


def WSCInstallProvider(lpProviderId: uuid.UUID | bytes, lpszProviderDllPath: str,
                       lpProtocolInfoList: Iterable[WSAPROTOCOL_INFOW | bytes]) -> None:
    """Append the entries under the provider's GUID with new catalog IDs."""
    provider = _guid(lpProviderId)
    path = _path(lpszProviderDllPath)
    infos = [_info(info) for info in _sequence(lpProtocolInfoList)]
    with catalog.CatalogStore().change() as current:
        current.install_provider(provider, path, infos)


def WSCDeinstallProvider(lpProviderId: uuid.UUID | bytes) -> None:
    """Remove every entry of the GUID (none: WSAEINVAL)."""
    provider = _guid(lpProviderId)
    with catalog.CatalogStore().change() as current:
        current.deinstall_provider(provider)


def WSCWriteProviderOrder(lpwdCatalogEntryId: Iterable[int]) -> None:
    """The new order: a complete permutation of the catalog's IDs (else WSAEINVAL)."""
    ids = [_integer(catalog_id) for catalog_id in _sequence(lpwdCatalogEntryId)]
    with catalog.CatalogStore().change() as current:
        current.write_order(ids)


def WSCGetProviderPath(lpProviderId: uuid.UUID | bytes) -> str:
    """The path the provider was installed with (unknown GUID: WSAEINVAL)."""
    return catalog.CatalogStore().load().provider_path(_guid(lpProviderId))


def install_lsp(name: str, path: str, over: Iterable[int | str], ifs: bool = False) -> WSAPROTOCOL_INFOW:
    """Install the LSP ``name`` (provider ``path``) over the catalog entries ``over`` (IDs of
    base or chain entries, or catalog.TARGET_ALIASES names such as "tcp4"); its chains come
    first in the order. Returns its layered entry's info."""
    if not isinstance(name, str):
        raise WSAError(W.WSAEFAULT if name is None else W.WSAEINVAL, "an LSP name is text")
    path = _path(path)
    targets = list(_sequence(over))
    for target in targets:
        if not isinstance(target, (int, str)) or isinstance(target, bool):
            raise WSAError(W.WSAEINVAL, f"a target is a catalog ID or a name, not {target!r}")
    with catalog.CatalogStore().change() as current:
        return current.install_layered(name, path, current.target_ids(targets), ifs=bool(ifs)).info.copy()


def remove_lsp(name: str | uuid.UUID) -> None:
    """Remove the LSP (by name or GUID); refused while another LSP is layered over it."""
    if not isinstance(name, (str, uuid.UUID)):
        raise WSAError(W.WSAEFAULT if name is None else W.WSAEINVAL, "an LSP is named by its name or GUID")
    with catalog.CatalogStore().change() as current:
        current.remove_layered(name)


# -- argument checks (the Python side of the C boundary's pointer checks) -------------------
def _guid(value: object) -> uuid.UUID:
    """A GUID: a uuid.UUID, or its 16-byte in-memory (bytes_le) form as C passes it."""
    if value is None:
        raise WSAError(W.WSAEFAULT, "no provider GUID")
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        if len(value) != 16:
            raise WSAError(W.WSAEFAULT, "a GUID is 16 bytes")
        return uuid.UUID(bytes_le=bytes(value))
    raise WSAError(W.WSAEINVAL, f"a provider GUID is a uuid.UUID, not {type(value).__name__}")


def _path(value: object) -> str:
    if value is None:
        raise WSAError(W.WSAEFAULT, "no provider path")
    if not isinstance(value, str) or not value or "\0" in value:
        raise WSAError(W.WSAEINVAL, "a provider path is non-empty text")
    return value


def _info(value: object) -> WSAPROTOCOL_INFOW:
    if isinstance(value, WSAPROTOCOL_INFOW):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        if len(value) != W.WSAPROTOCOL_INFOW_SIZE:
            raise WSAError(W.WSAEFAULT, f"a WSAPROTOCOL_INFOW is {W.WSAPROTOCOL_INFOW_SIZE} bytes")
        return WSAPROTOCOL_INFOW.from_bytes(value)
    raise WSAError(W.WSAEINVAL, f"an entry is a WSAPROTOCOL_INFOW, not {type(value).__name__}")


def _sequence(value: object) -> Iterable:
    if value is None:
        raise WSAError(W.WSAEFAULT, "a list is required")
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise WSAError(W.WSAEINVAL, f"a list is required, not {type(value).__name__}")
    return value


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WSAError(W.WSAEINVAL, f"{value!r} is not an integer")
    return value
