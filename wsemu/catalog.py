"""The protocol catalog: entries, their order, the selection rules, and the file that keeps them.

The model is pure data (h11 style): ``Catalog`` holds ``CatalogEntry`` rows (a
WSAPROTOCOL_INFOW plus its provider path) in catalog order, and answers the two questions
ws2 asks — which entry serves (af, type, protocol), and which entry has a given catalog ID.
``CatalogStore`` is the thin shell that reads and writes the catalog file.

Selection (reference/spi.md §3.3, and Wine's test_WSASocket table for the error precedence):
the first entry in order that matches wins; ChainLen 0 (layered) entries are never chosen;
protocol 0 matches only entries with PFL_MATCHES_PROTOCOL_ZERO; hidden entries are chosen but
never enumerated by WSAEnumProtocols. A structure passed to WSASocket is resolved only by its
dwCatalogEntryId.

Changes (reference/spi.md §1.4, §3.4): ``install_provider``, ``deinstall_provider`` and
``write_order`` are WSCInstallProvider, WSCDeinstallProvider and WSCWriteProviderOrder;
``install_layered`` and ``remove_layered`` install and remove an LSP the way Microsoft's
installer does (a hidden layered entry, one chain entry per target, the chains first). Each
checks everything before it changes anything, so a failed change leaves the catalog as it was.
Catalog IDs come from ``next_id``, which only grows: an ID is never reused (spi.md §6).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from wsemu import abi as W
from wsemu.abi import WSAPROTOCOL_INFOW, WSAPROTOCOLCHAIN
from wsemu.errors import WSAError

FORMAT_VERSION = 1
FIRST_CATALOG_ID = 1001
BASE_PROVIDER_PATH = "python:wsemu.spi.base"

# LSPs installed by name get uuid5(LSP_NAMESPACE, name): a reinstall gets the same GUID, as a
# Windows LSP keeps its vendor's fixed GUID. (A constant, made once with uuid4.)
LSP_NAMESPACE = uuid.UUID("8d2f6c3e-4b1a-4e55-9a07-3c6e1f0b7d21")

# The names `wsemu catalog install --over` accepts for the base entries.
TARGET_ALIASES = {
    "tcp4": (W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP), "udp4": (W.AF_INET, W.SOCK_DGRAM, W.IPPROTO_UDP),
    "raw4": (W.AF_INET, W.SOCK_RAW, 0), "tcp6": (W.AF_INET6, W.SOCK_STREAM, W.IPPROTO_TCP),
    "udp6": (W.AF_INET6, W.SOCK_DGRAM, W.IPPROTO_UDP), "raw6": (W.AF_INET6, W.SOCK_RAW, 0),
}

# Microsoft's MSAFD provider GUIDs (reference/spi.md §3.1): software checks for them.
MSAFD_TCPIP_GUID = uuid.UUID("e70f1aa0-ab8b-11cf-8ca3-00805f48a192")
MSAFD_TCPIP6_GUID = uuid.UUID("f9eab0c0-26d4-11d0-bbbf-00aa006c34e4")

_STREAM_FLAGS = (W.XP1_IFS_HANDLES | W.XP1_EXPEDITED_DATA | W.XP1_GRACEFUL_CLOSE
                 | W.XP1_GUARANTEED_ORDER | W.XP1_GUARANTEED_DELIVERY)
_DGRAM_FLAGS = (W.XP1_IFS_HANDLES | W.XP1_SUPPORT_MULTIPOINT | W.XP1_SUPPORT_BROADCAST
                | W.XP1_MESSAGE_ORIENTED | W.XP1_CONNECTIONLESS)

# The default entries (reference/spi.md §3.5): (name, family, type, protocol, max offset,
# address length, message size, hidden).
_DEFAULT_ROWS = (
    ("MSAFD Tcpip [TCP/IP]", W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP, 0, 16, 0, False),
    ("MSAFD Tcpip [UDP/IP]", W.AF_INET, W.SOCK_DGRAM, W.IPPROTO_UDP, 0, 16, 0xFFBB, False),
    ("MSAFD Tcpip [RAW/IP]", W.AF_INET, W.SOCK_RAW, 0, 255, 16, 0x8000, True),
    ("MSAFD Tcpip [TCP/IPv6]", W.AF_INET6, W.SOCK_STREAM, W.IPPROTO_TCP, 0, 28, 0, False),
    ("MSAFD Tcpip [UDP/IPv6]", W.AF_INET6, W.SOCK_DGRAM, W.IPPROTO_UDP, 0, 28, 0xFFBB, False),
    ("MSAFD Tcpip [RAW/IPv6]", W.AF_INET6, W.SOCK_RAW, 0, 255, 28, 0x8000, True),
)


@dataclass
class CatalogEntry:
    info: WSAPROTOCOL_INFOW
    path: str = BASE_PROVIDER_PATH

    @property
    def id(self) -> int:
        return self.info.dwCatalogEntryId

    @property
    def chain_len(self) -> int:
        return self.info.ProtocolChain.ChainLen

    @property
    def hidden(self) -> bool:
        return bool(self.info.dwProviderFlags & W.PFL_HIDDEN)

    @property
    def chain(self) -> list[int]:
        """A chain entry's protocol chain (top layer first, base last); [] for base and
        layered entries (a base entry's own slot may be garbage: spi.md §3.1)."""
        chain = self.info.ProtocolChain
        return chain.ChainEntries[:chain.ChainLen] if chain.ChainLen > W.BASE_PROTOCOL else []

    @property
    def triple(self) -> tuple[int, int, int]:
        return self.info.iAddressFamily, self.info.iSocketType, self.info.iProtocol

    def serves(self, af: int, type_: int, protocol: int) -> bool:
        """Does this entry match (af, type, protocol)? 0 is a wildcard for af and type."""
        i = self.info
        if af and af != i.iAddressFamily:
            return False
        if type_ and type_ != i.iSocketType:
            return False
        if protocol == 0:
            return bool(i.dwProviderFlags & W.PFL_MATCHES_PROTOCOL_ZERO)
        return i.iProtocol <= protocol <= i.iProtocol + i.iProtocolMaxOffset


def _base_entry(row: tuple, catalog_id: int) -> CatalogEntry:
    name, family, type_, protocol, max_offset, addr_len, msg_size, hidden = row
    info = WSAPROTOCOL_INFOW(
        dwServiceFlags1=_STREAM_FLAGS if type_ == W.SOCK_STREAM else _DGRAM_FLAGS,
        dwProviderFlags=W.PFL_MATCHES_PROTOCOL_ZERO | (W.PFL_HIDDEN if hidden else 0),
        ProviderId=MSAFD_TCPIP_GUID if family == W.AF_INET else MSAFD_TCPIP6_GUID,
        dwCatalogEntryId=catalog_id,
        ProtocolChain=WSAPROTOCOLCHAIN(W.BASE_PROTOCOL, [catalog_id]),
        iVersion=2, iAddressFamily=family, iMaxSockAddr=addr_len, iMinSockAddr=addr_len,
        iSocketType=type_, iProtocol=protocol, iProtocolMaxOffset=max_offset,
        iNetworkByteOrder=W.BIGENDIAN, iSecurityScheme=W.SECURITY_PROTOCOL_NONE,
        dwMessageSize=msg_size, dwProviderReserved=0, szProtocol=name,
    )
    return CatalogEntry(info)


@dataclass
class Catalog:
    entries: list[CatalogEntry] = field(default_factory=list)
    next_id: int = FIRST_CATALOG_ID

    @classmethod
    def default(cls) -> "Catalog":
        entries = [_base_entry(row, FIRST_CATALOG_ID + i) for i, row in enumerate(_DEFAULT_ROWS)]
        return cls(entries, FIRST_CATALOG_ID + len(entries))

    # -- lookups ---------------------------------------------------------------------------
    def by_id(self, catalog_id: int) -> CatalogEntry:
        for entry in self.entries:      # a handful of entries: a scan beats keeping an index
            if entry.id == catalog_id:
                return entry
        raise _invalid(f"no catalog entry has the ID {catalog_id}")

    def _socket_entries(self) -> Iterator[CatalogEntry]:
        return (e for e in self.entries if e.chain_len != W.LAYERED_PROTOCOL)

    def select_entry(self, af: int, type_: int, protocol: int) -> CatalogEntry:
        """The entry socket(af, type, protocol) lands on, or the WSA error Windows gives.

        Precedence of the "not supported" errors follows Windows (CONFORMANCE.md items 5-10):
        an unknown protocol is blamed on the family, then the type, then itself; an unknown
        family on the type when the type is unknown too (unless the family is negative).
        """
        if af == W.AF_UNSPEC and protocol == 0:
            raise WSAError(W.WSAEINVAL)
        candidates = list(self._socket_entries())
        template = next((e for e in candidates if e.serves(af, type_, protocol)), None)
        if template is not None:
            af = af or template.info.iAddressFamily
            type_ = type_ or template.info.iSocketType
        families = {e.info.iAddressFamily for e in candidates}
        types = {e.info.iSocketType for e in candidates}
        family_known = af == W.AF_UNSPEC or af in families
        type_known = type_ == 0 or type_ in types
        protocol_known = protocol == 0 or any(e.serves(0, 0, protocol) for e in candidates)
        if not protocol_known:
            if af != W.AF_UNSPEC and not family_known:
                raise WSAError(W.WSAEAFNOSUPPORT)
            raise WSAError(W.WSAESOCKTNOSUPPORT if not type_known else W.WSAEPROTONOSUPPORT)
        if not family_known:
            raise WSAError(W.WSAESOCKTNOSUPPORT if af >= 0 and not type_known else W.WSAEAFNOSUPPORT)
        if not type_known:
            raise WSAError(W.WSAESOCKTNOSUPPORT)
        if template is not None:
            return template
        if not any(e.serves(af, 0, 0) or e.info.iAddressFamily == af for e in candidates):
            raise WSAError(W.WSAEAFNOSUPPORT)
        if not any(e.serves(af, type_, 0) or (e.info.iAddressFamily, e.info.iSocketType) == (af, type_)
                   for e in candidates):
            raise WSAError(W.WSAESOCKTNOSUPPORT)
        raise WSAError(W.WSAEPROTONOSUPPORT)

    def select(self, af: int, type_: int, protocol: int) -> WSAPROTOCOL_INFOW:
        return self.select_entry(af, type_, protocol).info

    def enum_protocols(self, protocols: Iterable[int] | None = None) -> list[WSAPROTOCOL_INFOW]:
        """WSAEnumProtocols: base entries and chains, not hidden, optionally by iProtocol."""
        wanted = _protocol_filter(protocols)
        return [e.info.copy() for e in self._socket_entries()
                if not e.hidden and (wanted is None or e.info.iProtocol in wanted)]

    def all_entries(self, protocols: Iterable[int] | None = None) -> list[WSAPROTOCOL_INFOW]:
        """WSCEnumProtocols: every entry, hidden and layered ones included, optionally by
        iProtocol."""
        wanted = _protocol_filter(protocols)
        return [e.info.copy() for e in self.entries if wanted is None or e.info.iProtocol in wanted]

    # -- layers ------------------------------------------------------------------------------
    def layers(self) -> list[CatalogEntry]:
        """The LSPs' layered ("dummy") entries, ChainLen 0, in catalog order."""
        return [e for e in self.entries if e.chain_len == W.LAYERED_PROTOCOL]

    def next_entry(self, entry: CatalogEntry) -> CatalogEntry:
        """The entry a chain entry's layer passes its calls to: the entry whose ID is in chain
        slot 1 (a base entry, or another LSP's chain entry: the Microsoft installer's form).
        When slot 1 holds a lower LSP's layered entry instead (the documented form, spi.md
        §3.1), that LSP's chain entry for the rest of this chain, else its chain entry for the
        same (af, type, protocol)."""
        chain = entry.chain
        if len(chain) < 2:
            raise _invalid(f"catalog entry {entry.id} is not a protocol chain entry")
        below = self.by_id(chain[1])
        if below.chain_len != W.LAYERED_PROTOCOL:
            return below
        candidates = [e for e in self.entries if e.chain[:1] == [below.id]]
        for found in (next((e for e in candidates if e.chain == chain[1:]), None),
                      next((e for e in candidates if e.triple == entry.triple), None)):
            if found is not None:
                return found
        raise _invalid(f"LSP {below.info.szProtocol!r} (entry {below.id}) has no chain entry under "
                       f"catalog entry {entry.id}")

    def target_ids(self, targets: Iterable[str | int]) -> list[int]:
        """Catalog IDs for `--over` targets: an ID, or a TARGET_ALIASES name for the first base
        entry serving that (af, type, protocol)."""
        ids = []
        for target in targets:
            if isinstance(target, int) or (isinstance(target, str) and target.strip().isdigit()):
                ids.append(int(target))
                continue
            triple = TARGET_ALIASES.get(target.strip().lower() if isinstance(target, str) else None)
            base = next((e for e in self.entries if e.chain_len == W.BASE_PROTOCOL and e.triple == triple), None)
            if base is None:
                raise _invalid(f"unknown target {target!r}: give a catalog ID or one of "
                               + ", ".join(TARGET_ALIASES))
            ids.append(base.id)
        return ids

    # -- changes (the WSC functions) ------------------------------------------------------
    def install_provider(self, provider_id: uuid.UUID, path: str,
                         infos: list[WSAPROTOCOL_INFOW]) -> list[int]:
        """WSCInstallProvider: the entries, appended under ``provider_id`` with new catalog IDs
        (a base entry's chain names its own ID). Returns the IDs."""
        if not infos:
            raise _invalid("a provider is installed with at least one entry")
        if not path:
            raise _invalid("a provider needs a path")
        for info in infos:
            if not W.LAYERED_PROTOCOL <= info.ProtocolChain.ChainLen <= W.MAX_PROTOCOL_CHAIN:
                raise _invalid(f"ChainLen {info.ProtocolChain.ChainLen} is outside 0..{W.MAX_PROTOCOL_CHAIN}")
        if any(e.info.ProviderId == provider_id for e in self.entries):
            raise _invalid(f"provider {_guid_text(provider_id)} is already installed")
        ids = []
        for info in infos:
            installed = info.copy(ProviderId=provider_id, dwCatalogEntryId=self.next_id)
            if installed.ProtocolChain.ChainLen == W.BASE_PROTOCOL:
                installed.ProtocolChain.ChainEntries[0] = self.next_id
            self.entries.append(CatalogEntry(installed, path))
            ids.append(self.next_id)
            self.next_id += 1
        return ids

    def deinstall_provider(self, provider_id: uuid.UUID) -> None:
        """WSCDeinstallProvider: every entry of the GUID goes."""
        kept = [e for e in self.entries if e.info.ProviderId != provider_id]
        if len(kept) == len(self.entries):
            raise _invalid(f"no provider {_guid_text(provider_id)} in the catalog")
        self.entries = kept

    def write_order(self, ids: list[int]) -> None:
        """WSCWriteProviderOrder: ``ids`` must be a complete permutation of the catalog's IDs."""
        by_id = {e.id: e for e in self.entries}
        if len(ids) != len(by_id) or set(ids) != set(by_id):
            raise _invalid(f"the order must name each of the {len(by_id)} catalog entry IDs exactly once: "
                           + " ".join(map(str, by_id)))
        self.entries = [by_id[catalog_id] for catalog_id in ids]

    def provider_path(self, provider_id: uuid.UUID) -> str:
        """WSCGetProviderPath (the transport catalog: spi.md §4.4)."""
        for entry in self.entries:
            if entry.info.ProviderId == provider_id:
                return entry.path
        raise _invalid(f"no provider {_guid_text(provider_id)} in the catalog")

    def install_layered(self, name: str, path: str, over: list[int], *, ifs: bool = False,
                        provider_id: uuid.UUID | None = None) -> CatalogEntry:
        """Install an LSP over the entries ``over`` (base entries or other LSPs' chain
        entries) as Microsoft's installer does (spi.md §3.4 steps 1-3), and return its
        layered entry.

        The layered entry is a hidden copy of the first target (ChainLen 0, no type or
        protocol) under the LSP's GUID; each target gets a chain entry [layered ID, target ID,
        the rest of the target's chain] under a GUID of its own (ws2 starts one provider per
        GUID, spi.md §1.1); then every entry whose chain holds the LSP comes first."""
        if not isinstance(name, str) or not 0 < len(name) <= W.WSAPROTOCOL_LEN:
            raise _invalid(f"an LSP name is 1 to {W.WSAPROTOCOL_LEN} characters")
        if any(e.info.szProtocol == name for e in self.layers()):
            raise _invalid(f"an LSP named {name!r} is already installed")
        if not over:
            raise _invalid(f"LSP {name!r} must be layered over at least one catalog entry")
        if len(set(over)) != len(over):
            raise _invalid(f"LSP {name!r}: a catalog entry is named twice")
        targets = [self.by_id(catalog_id) for catalog_id in over]
        for target in targets:
            if target.chain_len == W.LAYERED_PROTOCOL:
                raise _invalid(f"catalog entry {target.id} is the layered entry of LSP {target.info.szProtocol!r}: "
                               f"layer over its chain entries instead")
            if target.chain_len + 1 > W.MAX_PROTOCOL_CHAIN:
                raise _invalid(f"over catalog entry {target.id} the chain would be longer than "
                               f"{W.MAX_PROTOCOL_CHAIN}")
        if not path:
            raise _invalid("a provider needs a path")
        lsp_guid = provider_id or uuid.uuid5(LSP_NAMESPACE, name)
        guids = [lsp_guid] + [uuid.uuid5(lsp_guid, str(target.id)) for target in targets]
        taken = {e.info.ProviderId for e in self.entries}
        if taken.intersection(guids):
            raise _invalid(f"provider {_guid_text(lsp_guid)} is already installed")

        first = targets[0].info
        layered = first.copy(
            iSocketType=0, iProtocol=0, ProtocolChain=WSAPROTOCOLCHAIN(W.LAYERED_PROTOCOL),
            dwProviderFlags=(first.dwProviderFlags | W.PFL_HIDDEN) & ~W.PFL_MATCHES_PROTOCOL_ZERO,
            dwServiceFlags1=_ifs_flag(first.dwServiceFlags1, ifs), dwProviderReserved=0, szProtocol=name)
        [layered_id] = self.install_provider(lsp_guid, path, [layered])
        for target, guid in zip(targets, guids[1:]):
            chain = [layered_id, target.id] + target.info.ProtocolChain.ChainEntries[1:target.chain_len]
            entry = target.info.copy(
                ProtocolChain=WSAPROTOCOLCHAIN(len(chain), chain), dwProviderReserved=0,
                dwServiceFlags1=_ifs_flag(target.info.dwServiceFlags1, ifs),
                szProtocol=f"{name} over [{target.info.szProtocol}]"[:W.WSAPROTOCOL_LEN])
            self.install_provider(guid, path, [entry])
        on_top = [e.id for e in self.entries if layered_id in e.chain]
        self.write_order(on_top + [e.id for e in self.entries if layered_id not in e.chain])
        return self.by_id(layered_id)

    def remove_layered(self, name_or_guid: str | uuid.UUID) -> None:
        """Remove an LSP: its chain entries (ChainEntries[0] is its layered entry), then its
        layered entry. Refused while another LSP's chains run through one of them."""
        layered = self._layer(name_or_guid)
        gone = {e.id for e in self.entries if e.chain[:1] == [layered.id]} | {layered.id}
        for entry in self.entries:
            if entry.id not in gone and gone.intersection(entry.chain):
                raise _invalid(f"LSP {self._layer_name(entry)!r} is layered over LSP "
                               f"{layered.info.szProtocol!r}: remove it first")
        self.entries = [e for e in self.entries if e.id not in gone]

    def _layer(self, name_or_guid: str | uuid.UUID) -> CatalogEntry:
        layers = self.layers()
        found = next((e for e in layers if name_or_guid in (e.info.szProtocol, e.info.ProviderId)), None)
        if found is None and isinstance(name_or_guid, str):
            with contextlib.suppress(ValueError):          # a GUID given as text
                guid = uuid.UUID(name_or_guid)
                found = next((e for e in layers if e.info.ProviderId == guid), None)
        if found is None:
            raise _invalid(f"no LSP {name_or_guid!r} is installed")
        return found

    def _layer_name(self, entry: CatalogEntry) -> str:
        """The name of the LSP a chain entry belongs to (its top layer's layered entry)."""
        top = next((e for e in self.layers() if e.id == entry.chain[0]), entry)
        return top.info.szProtocol

    # -- serialisation -------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"format": FORMAT_VERSION, "next_id": self.next_id,
                "entries": [_entry_to_json(e) for e in self.entries]}

    @classmethod
    def from_json(cls, data: object) -> "Catalog":
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise ValueError(f"not a wsemu catalog of format {FORMAT_VERSION}")
        entries = [_entry_from_json(e) for e in data["entries"]]
        ids = [e.id for e in entries]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate catalog entry IDs")
        next_id = int(data["next_id"])
        if ids and next_id <= max(ids):
            raise ValueError("next_id is not above every catalog entry ID")
        return cls(entries, next_id)


def _invalid(reason: str) -> WSAError:
    return WSAError(W.WSAEINVAL, reason)


def _guid_text(guid: uuid.UUID) -> str:
    return "{" + str(guid).upper() + "}"


def _ifs_flag(service_flags: int, ifs: bool) -> int:
    """An IFS layer's handles are IFS handles; a non-IFS layer makes its own (spi.md §3.4)."""
    return service_flags | W.XP1_IFS_HANDLES if ifs else service_flags & ~W.XP1_IFS_HANDLES


def _protocol_filter(protocols: Iterable[int] | None) -> set[int] | None:
    """The lpiProtocols argument of the enumerations as a set (None: no filter)."""
    if protocols is None:
        return None
    wanted = set()
    for p in protocols:
        if p == 0:       # the C list ends at 0 (IPPROTO_IP)
            break
        wanted.add(p)
    return wanted


_INFO_INT_FIELDS = (
    "dwServiceFlags1", "dwServiceFlags2", "dwServiceFlags3", "dwServiceFlags4", "dwProviderFlags",
    "dwCatalogEntryId", "iVersion", "iAddressFamily", "iMaxSockAddr", "iMinSockAddr", "iSocketType",
    "iProtocol", "iProtocolMaxOffset", "iNetworkByteOrder", "iSecurityScheme", "dwMessageSize",
    "dwProviderReserved",
)


def _entry_to_json(entry: CatalogEntry) -> dict:
    info = entry.info
    out = {name: getattr(info, name) for name in _INFO_INT_FIELDS}
    out["ProviderId"] = str(info.ProviderId)
    out["ProtocolChain"] = info.ProtocolChain.ChainEntries[:max(info.ProtocolChain.ChainLen, 0)]
    out["ChainLen"] = info.ProtocolChain.ChainLen
    out["szProtocol"] = info.szProtocol
    out["path"] = entry.path
    return out


def _entry_from_json(data: object) -> CatalogEntry:
    if not isinstance(data, dict):
        raise ValueError("an entry is not an object")
    fields = {}
    for name in _INFO_INT_FIELDS:
        value = data[name]
        if not isinstance(value, int):
            raise ValueError(f"{name} is not an integer")
        fields[name] = value
    chain_len = data["ChainLen"]
    if not isinstance(chain_len, int) or not 0 <= chain_len <= W.MAX_PROTOCOL_CHAIN:
        raise ValueError("ChainLen out of range")
    info = WSAPROTOCOL_INFOW(
        ProviderId=uuid.UUID(data["ProviderId"]),
        ProtocolChain=WSAPROTOCOLCHAIN(chain_len, [int(x) for x in data["ProtocolChain"]]),
        szProtocol=str(data["szProtocol"]), **fields)
    return CatalogEntry(info, str(data["path"]))


# ======================================================================================
# The file
# ======================================================================================
class CatalogCorrupt(WSAError):
    """The catalog file cannot be read; the message names the file and how to repair it."""


def config_dir() -> pathlib.Path:
    explicit = os.environ.get("WSEMU_CONFIG_DIR")
    if explicit:
        return pathlib.Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / "wsemu"


class CatalogStore:
    """catalog.json under the config dir: atomic replacement, flock for writers."""

    def __init__(self, directory: pathlib.Path | None = None) -> None:
        self.directory = directory or config_dir()
        self.path = self.directory / "catalog.json"
        self.lock_path = self.directory / "catalog.lock"

    def load(self) -> Catalog:
        """The saved catalog, or the default one when none has been saved."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Catalog.default()
        except OSError as exc:
            raise self._corrupt(f"cannot be read ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise self._corrupt(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        try:
            return Catalog.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(str(exc)) from None

    def _corrupt(self, reason: str) -> CatalogCorrupt:
        return CatalogCorrupt(W.WSASYSNOTREADY,
                              f"the wsemu catalog file {self.path} is corrupt: {reason}; "
                              f"'wsemu catalog reset' restores the default catalog")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles of concurrent writers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def change(self) -> Iterator[Catalog]:
        """One locked read-modify-write: the block gets the saved catalog to change, which is
        saved when the block ends normally (and not at all when it raises)."""
        with self.locked():
            catalog = self.load()
            yield catalog
            self.save(catalog)

    def save(self, catalog: Catalog) -> None:
        """Replace the file atomically (readers see the old or the new catalog, never half)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".catalog-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(catalog.to_json(), out, indent=1)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def reset(self) -> Catalog:
        with self.locked():
            catalog = Catalog.default()
            self.save(catalog)
            return catalog


# The catalog this process uses: read at WSAStartup (as ws2_32 does), so a change made by
# another process is seen at the next first WSAStartup.
_current: Catalog | None = None
_current_lock = threading.Lock()


def current() -> Catalog:
    global _current
    with _current_lock:
        if _current is None:
            _current = CatalogStore().load()
        return _current


def reload() -> Catalog:
    global _current
    catalog = CatalogStore().load()
    with _current_lock:
        _current = catalog
    return catalog


# ======================================================================================
# netsh-style listing
# ======================================================================================
def entry_type(entry: CatalogEntry) -> str:
    if entry.chain_len == W.LAYERED_PROTOCOL:
        return "Layered Service Provider"
    if entry.chain_len == W.BASE_PROTOCOL:
        return "Base Service Provider"
    return "Layered Chain Entry"


def format_listing(catalog: Catalog) -> str:
    """The catalog as `netsh winsock show catalog` prints it."""
    blocks = []
    for entry in catalog.entries:
        i = entry.info
        rows = [
            ("Entry Type", entry_type(entry)),
            ("Description", i.szProtocol),
            ("Provider ID", _guid_text(i.ProviderId)),
            ("Provider Path", entry.path),
            ("Catalog Entry ID", str(i.dwCatalogEntryId)),
            ("Version", str(i.iVersion)),
            ("Address Family", str(i.iAddressFamily)),
            ("Max Address Length", str(i.iMaxSockAddr)),
            ("Min Address Length", str(i.iMinSockAddr)),
            ("Socket Type", str(i.iSocketType)),
            ("Protocol", str(i.iProtocol)),
            ("Service Flags", f"{i.dwServiceFlags1:#x}"),
            ("Protocol Chain Length", str(i.ProtocolChain.ChainLen)),
        ]
        if i.ProtocolChain.ChainLen > 1:
            rows.append(("Protocol Chain", " : ".join(
                str(x) for x in i.ProtocolChain.ChainEntries[:i.ProtocolChain.ChainLen])))
        lines = ["", "Winsock Catalog Provider Entry", "-" * 54]
        lines += [f"{label + ':':<36}{value}" for label, value in rows]
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + "\n"
