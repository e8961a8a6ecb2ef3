"""The Windows ABI for Python: Windows constant values and structure layouts.

Every constant comes from native/include/wsemu/winabi.h through the compiled cffi module
(``wsemu._native``), so Python and C can never disagree about a value. ``WSAPROTOCOL_INFOW``
is the Python face of the 628-byte structure of the same name (DESIGN.md §3.1).
"""
from __future__ import annotations

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


_INT32_FIELDS = ("iVersion", "iAddressFamily", "iMaxSockAddr", "iMinSockAddr", "iSocketType",
                 "iProtocol", "iProtocolMaxOffset", "iNetworkByteOrder", "iSecurityScheme")
# The whole structure as one struct (fast), checked against the compiled cffi layout here.
_INFO_HEAD = "<5I16sIi7I9i2I"
_INFOW = struct.Struct(_INFO_HEAD + "512s")
_INFOA = struct.Struct(_INFO_HEAD + "256s")
assert _INFOW.size == ffi.sizeof("WSAPROTOCOL_INFOW") and _INFOA.size == ffi.sizeof("WSAPROTOCOL_INFOA")
assert struct.calcsize(_INFO_HEAD) == ffi.offsetof("WSAPROTOCOL_INFOW", "szProtocol")


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
    def _pack(self, shape: struct.Struct, text: bytes) -> bytes:
        chain = self.ProtocolChain
        return shape.pack(
            self.dwServiceFlags1 & 0xFFFFFFFF, self.dwServiceFlags2 & 0xFFFFFFFF,
            self.dwServiceFlags3 & 0xFFFFFFFF, self.dwServiceFlags4 & 0xFFFFFFFF,
            self.dwProviderFlags & 0xFFFFFFFF, self.ProviderId.bytes_le,
            self.dwCatalogEntryId & 0xFFFFFFFF,
            _to_int32(chain.ChainLen), *[e & 0xFFFFFFFF for e in chain.ChainEntries],
            *[_to_int32(getattr(self, name)) for name in _INT32_FIELDS],
            self.dwMessageSize & 0xFFFFFFFF, self.dwProviderReserved & 0xFFFFFFFF, text)

    def __bytes__(self) -> bytes:
        # At most WSAPROTOCOL_LEN UTF-16 units; the struct pads the rest (and the NUL) with 0.
        return self._pack(_INFOW, self.szProtocol[: lib.WSAPROTOCOL_LEN].encode("utf-16-le")[: 2 * lib.WSAPROTOCOL_LEN])

    def to_ansi_bytes(self) -> bytes:
        """The 372-byte WSAPROTOCOL_INFOA form (szProtocol as 8-bit text)."""
        return self._pack(_INFOA, self.szProtocol[: lib.WSAPROTOCOL_LEN].encode("latin-1", "replace"))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> "WSAPROTOCOL_INFOW":
        """Parse exactly WSAPROTOCOL_INFOW_SIZE (628) bytes; ValueError otherwise."""
        if len(data) != WSAPROTOCOL_INFOW_SIZE:
            raise ValueError(f"WSAPROTOCOL_INFOW is {WSAPROTOCOL_INFOW_SIZE} bytes, got {len(data)}")
        values = _INFOW.unpack(bytes(data))
        info = cls.__new__(cls)
        (info.dwServiceFlags1, info.dwServiceFlags2, info.dwServiceFlags3, info.dwServiceFlags4,
         info.dwProviderFlags) = values[0:5]
        info.ProviderId = uuid.UUID(bytes_le=values[5])
        info.dwCatalogEntryId = values[6]
        info.ProtocolChain = WSAPROTOCOLCHAIN(values[7], values[8:15])
        for name, value in zip(_INT32_FIELDS, values[15:24]):
            setattr(info, name, value)
        info.dwMessageSize, info.dwProviderReserved = values[24:26]
        info.szProtocol = values[26].decode("utf-16-le", "replace").split("\0", 1)[0]
        return info

    # -- value semantics -----------------------------------------------------------------
    def copy(self, **changes: object) -> "WSAPROTOCOL_INFOW":
        clone = WSAPROTOCOL_INFOW.__new__(WSAPROTOCOL_INFOW)
        for name in _INT_FIELDS:
            setattr(clone, name, getattr(self, name))
        clone.ProviderId = self.ProviderId
        clone.ProtocolChain = WSAPROTOCOLCHAIN(self.ProtocolChain.ChainLen, self.ProtocolChain.ChainEntries)
        clone.szProtocol = self.szProtocol
        for name, value in changes.items():
            setattr(clone, name, value)
        return clone

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
    def _to_cdata(self, ctype: str, text_field: object) -> bytes:
        raw = ffi.new(ctype + " *")
        for name in _INT_FIELDS:
            setattr(raw, name, getattr(self, name) & 0xFFFFFFFF if name.startswith("dw")
                    else _to_int32(getattr(self, name)))
        ffi.memmove(ffi.addressof(raw, "ProviderId"), self.ProviderId.bytes_le, 16)
        raw.ProtocolChain.ChainLen = self.ProtocolChain.ChainLen
        raw.ProtocolChain.ChainEntries = [e & 0xFFFFFFFF for e in self.ProtocolChain.ChainEntries]
        raw.szProtocol = text_field
        return bytes(ffi.buffer(raw))

    def __bytes__(self) -> bytes:
        units = list(self.szProtocol[: lib.WSAPROTOCOL_LEN].encode("utf-16-le"))
        wide = [units[i] | units[i + 1] << 8 for i in range(0, len(units), 2)][: lib.WSAPROTOCOL_LEN]
        return self._to_cdata("WSAPROTOCOL_INFOW", wide + [0])

    def to_ansi_bytes(self) -> bytes:
        """The 372-byte WSAPROTOCOL_INFOA form (szProtocol as 8-bit text)."""
        text = self.szProtocol[: lib.WSAPROTOCOL_LEN].encode("latin-1", "replace")
        return self._to_cdata("WSAPROTOCOL_INFOA", text)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> "WSAPROTOCOL_INFOW":
        """Parse exactly WSAPROTOCOL_INFOW_SIZE (628) bytes; ValueError otherwise."""
        if len(data) != WSAPROTOCOL_INFOW_SIZE:
            raise ValueError(f"WSAPROTOCOL_INFOW is {WSAPROTOCOL_INFOW_SIZE} bytes, got {len(data)}")
        raw = ffi.cast("WSAPROTOCOL_INFOW *", ffi.from_buffer(bytes(data)))
        info = cls.__new__(cls)
        for name in _INT_FIELDS:
            setattr(info, name, getattr(raw, name))
        info.ProviderId = uuid.UUID(bytes_le=bytes(ffi.buffer(ffi.addressof(raw, "ProviderId"), 16)))
        info.ProtocolChain = WSAPROTOCOLCHAIN(raw.ProtocolChain.ChainLen, list(raw.ProtocolChain.ChainEntries))
        units = bytes(ffi.buffer(raw.szProtocol))
        info.szProtocol = units.decode("utf-16-le", "replace").split("\0", 1)[0]
        return info

    # -- value semantics -----------------------------------------------------------------
    def copy(self, **changes: object) -> "WSAPROTOCOL_INFOW":
        clone = WSAPROTOCOL_INFOW.from_bytes(bytes(self))
        clone.szProtocol = self.szProtocol
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


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value
