"""The Windows ABI for Python: Windows constant values and structure layouts.

Every constant comes from native/include/wsemu/winabi.h through the compiled cffi module
(``wsemu._native``), so Python and C can never disagree about a value. ``WSAPROTOCOL_INFOW``
is the Python face of the 628-byte structure of the same name (DESIGN.md §3.1).
"""
from __future__ import annotations

import operator
import struct
import uuid
from typing import Iterable

from wsemu._native import ffi, lib

# Export every constant of winabi.h (AF_INET6 = 23, SOL_SOCKET = 0xFFFF, WSAE*, FD_*, ...).
CONSTANTS: dict[str, int] = {
    name: getattr(lib, name) for name in dir(lib) if name.isupper() and isinstance(getattr(lib, name), int)
}
globals().update(CONSTANTS)

INVALID_SOCKET = (1 << 64) - 1   # ~0 as a 64-bit SOCKET
SOCKET_ERROR = -1

WSAPROTOCOL_INFOW_SIZE = ffi.sizeof("WSAPROTOCOL_INFOW")
WSAPROTOCOL_INFOA_SIZE = ffi.sizeof("WSAPROTOCOL_INFOA")


def guid_to_bytes(guid: uuid.UUID) -> bytes:
    """A GUID in Windows memory order (Data1..3 little-endian)."""
    return guid.bytes_le


class WSAPROTOCOLCHAIN:
    """ChainLen (0 layered, 1 base, >= 2 chain) and up to MAX_PROTOCOL_CHAIN catalog IDs."""

    __slots__ = ("ChainLen", "ChainEntries")

    def __init__(self, ChainLen: int = 1, ChainEntries: Iterable[int] = ()) -> None:
        entries = list(ChainEntries)[: lib.MAX_PROTOCOL_CHAIN]
        self.ChainLen = ChainLen
        self.ChainEntries = entries + [0] * (lib.MAX_PROTOCOL_CHAIN - len(entries))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, WSAPROTOCOLCHAIN) and self.ChainLen == other.ChainLen
                and self.ChainEntries == other.ChainEntries)

    def __repr__(self) -> str:
        return f"WSAPROTOCOLCHAIN(ChainLen={self.ChainLen}, ChainEntries={self.ChainEntries[:max(self.ChainLen, 1)]})"


_INT_FIELDS = (
    "dwServiceFlags1", "dwServiceFlags2", "dwServiceFlags3", "dwServiceFlags4", "dwProviderFlags",
    "dwCatalogEntryId", "iVersion", "iAddressFamily", "iMaxSockAddr", "iMinSockAddr",
    "iSocketType", "iProtocol", "iProtocolMaxOffset", "iNetworkByteOrder", "iSecurityScheme",
    "dwMessageSize", "dwProviderReserved",
)


# The whole structure as one struct (fast), checked against the compiled cffi layout here.
_INFO_HEAD = "<5I16sIi7I9i2I"
_INFOW = struct.Struct(_INFO_HEAD + "512s")
_INFOA = struct.Struct(_INFO_HEAD + "256s")
# Packing takes every integer as its 32-bit pattern (masked): the same bytes as the signed
# fields' values, without a conversion call per field.
_PACK_HEAD = _INFO_HEAD.replace("i", "I")
_INFOW_PACK = struct.Struct(_PACK_HEAD + "512s")
_INFOA_PACK = struct.Struct(_PACK_HEAD + "256s")
assert _INFOW.size == ffi.sizeof("WSAPROTOCOL_INFOW") and _INFOA.size == ffi.sizeof("WSAPROTOCOL_INFOA")
assert struct.calcsize(_INFO_HEAD) == ffi.offsetof("WSAPROTOCOL_INFOW", "szProtocol")


_SLOTS = _INT_FIELDS + ("ProviderId", "szProtocol")     # immutable values: copied as they are
_read_slots = operator.attrgetter(*_SLOTS)


def _copy_fields(clone: "WSAPROTOCOL_INFOW", src: "WSAPROTOCOL_INFOW") -> None:
    # One statement for them all: a getattr/setattr loop over _SLOTS costs several times more.
    (clone.dwServiceFlags1, clone.dwServiceFlags2, clone.dwServiceFlags3, clone.dwServiceFlags4,
     clone.dwProviderFlags, clone.dwCatalogEntryId, clone.iVersion, clone.iAddressFamily,
     clone.iMaxSockAddr, clone.iMinSockAddr, clone.iSocketType, clone.iProtocol,
     clone.iProtocolMaxOffset, clone.iNetworkByteOrder, clone.iSecurityScheme, clone.dwMessageSize,
     clone.dwProviderReserved, clone.ProviderId, clone.szProtocol) = _read_slots(src)
_PARSE_CACHE = 256
_GUIDS: dict[bytes, uuid.UUID] = {}
_NAMES: dict[bytes, str] = {}
# bytes(info) by every field but dwProviderReserved, which is patched in: the structures a
# process serialises are a few catalog entries, each with ever new tokens (duplication).
_read_unreserved = operator.attrgetter(*(name for name in _SLOTS if name != "dwProviderReserved"))
_RESERVED_AT = ffi.offsetof("WSAPROTOCOL_INFOW", "dwProviderReserved")
_PACKED: dict[tuple, bytes] = {}


class WSAPROTOCOL_INFOW:
    """WSAPROTOCOL_INFOW with the C field names as attributes.

    ``bytes(info)`` is exactly the 628 bytes of the Windows structure (WCHAR is 16-bit);
    ``WSAPROTOCOL_INFOW.from_bytes(b)`` is the inverse. ``ProviderId`` is a ``uuid.UUID``,
    ``szProtocol`` a ``str`` (at most WSAPROTOCOL_LEN characters).
    """

    __slots__ = _INT_FIELDS + ("ProviderId", "ProtocolChain", "szProtocol")

    def __init__(self, **fields: object) -> None:
        for name in _INT_FIELDS:
            setattr(self, name, 0)
        self.ProviderId = uuid.UUID(int=0)
        self.ProtocolChain = WSAPROTOCOLCHAIN(0)
        self.szProtocol = ""
        for name, value in fields.items():
            setattr(self, name, value)

    # -- conversions ---------------------------------------------------------------------
    def _pack(self, shape: struct.Struct, text: bytes, reserved: int) -> bytes:
        chain = self.ProtocolChain
        m = 0xFFFFFFFF
        return shape.pack(
            self.dwServiceFlags1 & m, self.dwServiceFlags2 & m, self.dwServiceFlags3 & m,
            self.dwServiceFlags4 & m, self.dwProviderFlags & m, self.ProviderId.bytes_le,
            self.dwCatalogEntryId & m, chain.ChainLen & m, *[e & m for e in chain.ChainEntries],
            self.iVersion & m, self.iAddressFamily & m, self.iMaxSockAddr & m, self.iMinSockAddr & m,
            self.iSocketType & m, self.iProtocol & m, self.iProtocolMaxOffset & m,
            self.iNetworkByteOrder & m, self.iSecurityScheme & m, self.dwMessageSize & m,
            reserved & m, text)

    def __bytes__(self) -> bytes:
        chain = self.ProtocolChain
        key = (_read_unreserved(self), chain.ChainLen, tuple(chain.ChainEntries))
        packed = _PACKED.get(key)
        if packed is None:
            # At most WSAPROTOCOL_LEN UTF-16 units; the struct pads the rest (and the NUL) with 0.
            text = self.szProtocol[: lib.WSAPROTOCOL_LEN].encode("utf-16-le")[: 2 * lib.WSAPROTOCOL_LEN]
            packed = self._pack(_INFOW_PACK, text, 0)
            if len(_PACKED) >= _PARSE_CACHE:
                _PACKED.clear()
            _PACKED[key] = packed
        return (packed[:_RESERVED_AT] + (self.dwProviderReserved & 0xFFFFFFFF).to_bytes(4, "little")
                + packed[_RESERVED_AT + 4:])

    def to_ansi_bytes(self) -> bytes:
        """The 372-byte WSAPROTOCOL_INFOA form (szProtocol as 8-bit text)."""
        return self._pack(_INFOA_PACK, self.szProtocol[: lib.WSAPROTOCOL_LEN].encode("latin-1", "replace"),
                          self.dwProviderReserved)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> "WSAPROTOCOL_INFOW":
        """Parse exactly WSAPROTOCOL_INFOW_SIZE (628) bytes; ValueError otherwise."""
        if len(data) != WSAPROTOCOL_INFOW_SIZE:
            raise ValueError(f"WSAPROTOCOL_INFOW is {WSAPROTOCOL_INFOW_SIZE} bytes, got {len(data)}")
        values = _INFOW.unpack(bytes(data))
        info = cls.__new__(cls)
        (info.dwServiceFlags1, info.dwServiceFlags2, info.dwServiceFlags3, info.dwServiceFlags4,
         info.dwProviderFlags, guid, info.dwCatalogEntryId, chain_len, *chain,
         info.iVersion, info.iAddressFamily, info.iMaxSockAddr, info.iMinSockAddr, info.iSocketType,
         info.iProtocol, info.iProtocolMaxOffset, info.iNetworkByteOrder, info.iSecurityScheme,
         info.dwMessageSize, info.dwProviderReserved, text) = values
        chain_struct = WSAPROTOCOLCHAIN.__new__(WSAPROTOCOLCHAIN)
        chain_struct.ChainLen, chain_struct.ChainEntries = chain_len, chain
        info.ProtocolChain = chain_struct
        # The same few GUIDs and names recur (one per catalog entry): parse each once.
        provider = _GUIDS.get(guid)
        if provider is None:
            provider = _GUIDS[guid] = uuid.UUID(bytes_le=guid)
            if len(_GUIDS) > _PARSE_CACHE:
                _GUIDS.clear()
        info.ProviderId = provider
        name = _NAMES.get(text)
        if name is None:
            name = _NAMES[text] = text.decode("utf-16-le", "replace").split("\0", 1)[0]
            if len(_NAMES) > _PARSE_CACHE:
                _NAMES.clear()
        info.szProtocol = name
        return info

    # -- value semantics -----------------------------------------------------------------
    def copy(self, **changes: object) -> "WSAPROTOCOL_INFOW":
        clone = WSAPROTOCOL_INFOW.__new__(WSAPROTOCOL_INFOW)
        _copy_fields(clone, self)
        chain = self.ProtocolChain
        clone.ProtocolChain = copied = WSAPROTOCOLCHAIN.__new__(WSAPROTOCOLCHAIN)
        copied.ChainLen, copied.ChainEntries = chain.ChainLen, list(chain.ChainEntries)
        for name, value in changes.items():
            setattr(clone, name, value)
        return clone

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WSAPROTOCOL_INFOW) and bytes(self) == bytes(other)

    def __hash__(self) -> int:
        return hash(bytes(self))

    def __repr__(self) -> str:
        return (f"WSAPROTOCOL_INFOW(dwCatalogEntryId={self.dwCatalogEntryId}, "
                f"iAddressFamily={self.iAddressFamily}, iSocketType={self.iSocketType}, "
                f"iProtocol={self.iProtocol}, szProtocol={self.szProtocol!r})")


class WSANETWORKEVENTS:
    """What WSAEnumNetworkEvents returns: the FD_* bits and, per FD_*_BIT, the error of each
    bit returned (0 for the others)."""

    __slots__ = ("lNetworkEvents", "iErrorCode")

    def __init__(self, lNetworkEvents: int = 0, iErrorCode: Iterable[int] = ()) -> None:
        self.lNetworkEvents = lNetworkEvents
        codes = list(iErrorCode)[: lib.FD_MAX_EVENTS]
        self.iErrorCode = codes + [0] * (lib.FD_MAX_EVENTS - len(codes))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, WSANETWORKEVENTS) and self.lNetworkEvents == other.lNetworkEvents
                and self.iErrorCode == other.iErrorCode)

    def __repr__(self) -> str:
        errors = {i: e for i, e in enumerate(self.iErrorCode) if e}
        return f"WSANETWORKEVENTS(lNetworkEvents={self.lNetworkEvents:#x}, errors={errors})"
