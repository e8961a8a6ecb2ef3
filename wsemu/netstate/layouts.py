"""The Windows structures of the interface and routing ioctls, as bytes — no I/O.

* ``INTERFACE_INFO`` (ws2ipdef.h, 76 bytes): ``ULONG iiFlags`` and three ``sockaddr_gen``
  (24 bytes: a union of SOCKADDR_IN and the old 24-byte SOCKADDR_IN6 without scope id).
* ``SOCKET_ADDRESS_LIST`` (ws2def.h, LLP64): ``INT iAddressCount``, 4 bytes of padding, then
  ``SOCKET_ADDRESS { LPSOCKADDR lpSockaddr; INT iSockaddrLength; }`` (16 bytes) per address;
  the SOCKADDRs follow in the same buffer and ``lpSockaddr`` points at them. The provider
  does not know where the caller's buffer is, so it writes offsets from the buffer's start
  (a buffer at address 0); ``relocate`` turns them into pointers where a real buffer is
  known — at the C boundaries — and back.
"""
from __future__ import annotations

import socket as L
import struct

from wsemu import abi as W
from wsemu import sockaddr

INTERFACE_INFO_SIZE = 76
_SOCKADDR_GEN = 24
_II_FLAGS = struct.Struct("<I")
_IN6_OLD = struct.Struct("<hHI16s")     # family, port, flowinfo, address (no scope id)
_COUNT = struct.Struct("<i4x")
_SOCKET_ADDRESS = struct.Struct("<Qi4x")
ADDRESS_LIST_HEADER = _COUNT.size       # FIELD_OFFSET(SOCKET_ADDRESS_LIST, Address)


def _sockaddr_gen(family: int, host: str) -> bytes:
    if family == W.AF_INET:
        return sockaddr.encode(W.AF_INET, (host, 0)).ljust(_SOCKADDR_GEN, b"\0")
    return _IN6_OLD.pack(W.AF_INET6, 0, 0, L.inet_pton(L.AF_INET6, host))


def interface_info(family: int, rows) -> bytes:
    """INTERFACE_INFO[] for ``rows`` (``tables.InterfaceRow``)."""
    return b"".join(_II_FLAGS.pack(row.flags) + _sockaddr_gen(family, row.address)
                    + _sockaddr_gen(family, row.broadcast) + _sockaddr_gen(family, row.netmask)
                    for row in rows)


def socket_address_list(addresses) -> bytes:
    """SOCKET_ADDRESS_LIST for ``addresses`` (``tables.Address``; port 0; IPv6 link-local
    addresses carry their link's index as scope id), pointers as offsets from 0."""
    names = [sockaddr.encode(a.family, (a.address, 0) if a.family == W.AF_INET
                             else (a.address, 0, 0, a.index if a.address.startswith("fe80:") else 0))
             for a in addresses]
    at = ADDRESS_LIST_HEADER + _SOCKET_ADDRESS.size * len(names)
    entries = []
    for name in names:
        entries.append(_SOCKET_ADDRESS.pack(at, len(name)))
        at += len(name)
    return _COUNT.pack(len(names)) + b"".join(entries) + b"".join(names)


def relocate(code: int, data: bytes, delta: int) -> bytes:
    """``data`` as ioctl ``code`` answered it, with its pointers moved by ``delta`` (the
    caller's buffer address to write into C memory; minus it to read C memory back)."""
    if code != W.SIO_ADDRESS_LIST_QUERY or len(data) < ADDRESS_LIST_HEADER or not delta:
        return data
    out = bytearray(data)
    count = _COUNT.unpack_from(out)[0]
    for i in range(max(0, min(count, (len(out) - ADDRESS_LIST_HEADER) // _SOCKET_ADDRESS.size))):
        at = ADDRESS_LIST_HEADER + i * _SOCKET_ADDRESS.size
        pointer, length = _SOCKET_ADDRESS.unpack_from(out, at)
        _SOCKET_ADDRESS.pack_into(out, at, (pointer + delta) & 0xFFFFFFFFFFFFFFFF, length)
    return bytes(out)


def read_socket_address_list(data: bytes) -> list[tuple[int, tuple]]:
    """(family, address) per entry of a SOCKET_ADDRESS_LIST with offset pointers (for
    Python callers of WSAIoctl)."""
    count = _COUNT.unpack_from(data)[0]
    out = []
    for i in range(count):
        pointer, length = _SOCKET_ADDRESS.unpack_from(data, ADDRESS_LIST_HEADER + i * _SOCKET_ADDRESS.size)
        out.append(sockaddr.decode(data[pointer:pointer + length]))
    return out
