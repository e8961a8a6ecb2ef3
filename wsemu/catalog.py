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
        raise WSAError(W.WSAEINVAL)

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
        wanted = None
        if protocols is not None:
            wanted = set()
            for p in protocols:
                if p == 0:       # the C list ends at 0 (IPPROTO_IP)
                    break
                wanted.add(p)
        return [e.info.copy() for e in self._socket_entries()
                if not e.hidden and (wanted is None or e.info.iProtocol in wanted)]

    def all_entries(self) -> list[WSAPROTOCOL_INFOW]:
        """WSCEnumProtocols: every entry, hidden and layered ones included."""
        return [e.info.copy() for e in self.entries]

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
            ("Provider ID", "{" + str(i.ProviderId).upper() + "}"),
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
