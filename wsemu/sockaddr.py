"""Windows SOCKADDR bytes and Python address tuples, both ways (pure; no sockets).

A Windows SOCKADDR_IN is 16 bytes (family 2, port in network order, address, zero pad) and
a SOCKADDR_IN6 28 bytes (family **23**, port, flowinfo, address, scope id). Python-side
addresses are tuples as in the ``socket`` module: ``(host, port)`` for AF_INET and
``(host, port, flowinfo, scope_id)`` for AF_INET6, hosts in numeric form.
"""
from __future__ import annotations

import socket as _socket
import struct

from wsemu.abi import AF_INET, AF_INET6, WSAEAFNOSUPPORT, WSAEFAULT, WSAEINVAL
from wsemu.errors import WSAError

SOCKADDR_IN_SIZE = 16
SOCKADDR_IN6_SIZE = 28
SOCKADDR_STORAGE_SIZE = 128
SIZES = {AF_INET: SOCKADDR_IN_SIZE, AF_INET6: SOCKADDR_IN6_SIZE}

_IN = struct.Struct("<hH4s8x")        # sin_family, sin_port (big-endian value, swapped below), addr
_IN6 = struct.Struct("<hH I 16s I")    # sin6_family, sin6_port, flowinfo (swapped below), addr, scope_id
_FAMILY = struct.Struct("<H")

Address = tuple


def _port_to_wire(port: int) -> int:
    # sin_port holds the network-order value; stored little-endian, so swap its bytes.
    return ((port & 0xFF) << 8) | (port >> 8)


_port_from_wire = _port_to_wire


def _flowinfo_to_wire(flowinfo: int) -> int:
    # sin6_flowinfo is in network order too; the tuple holds the host-order value, as in
    # CPython's socket module (htonl/ntohl).
    return int.from_bytes(flowinfo.to_bytes(4, "big"), "little")


_flowinfo_from_wire = _flowinfo_to_wire


def _raw(name: object) -> memoryview:
    """Caller-supplied SOCKADDR bytes as a byte view (WSAEFAULT if not a usable buffer)."""
    try:
        view = memoryview(name)
    except (TypeError, ValueError):          # not bytes-like, or a released memoryview
        raise WSAError(WSAEFAULT) from None
    if not view.c_contiguous:
        raise WSAError(WSAEFAULT)
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _host_bytes(family: int, host: object) -> bytes:
    if not isinstance(host, str):
        raise WSAError(WSAEFAULT)
    if family == AF_INET:
        if host == "":
            return b"\0\0\0\0"
        if host == "<broadcast>":
            return b"\xff\xff\xff\xff"
        linux_family = _socket.AF_INET
    else:
        if host == "":
            return bytes(16)
        host = host.split("%", 1)[0]
        linux_family = _socket.AF_INET6
    try:
        return _socket.inet_pton(linux_family, host)
    except (OSError, ValueError):
        raise WSAError(WSAEINVAL) from None


def encode(family: int, address: Address) -> bytes:
    """A Python address tuple as Windows SOCKADDR bytes (WSAEFAULT/WSAEINVAL if malformed)."""
    if not isinstance(address, tuple) or len(address) < 2:
        raise WSAError(WSAEFAULT)
    port = address[1]
    if not _is_int(port) or not 0 <= port <= 0xFFFF:
        raise WSAError(WSAEINVAL)
    if family == AF_INET:
        if len(address) != 2:
            raise WSAError(WSAEFAULT)
        return _IN.pack(AF_INET, _port_to_wire(port), _host_bytes(AF_INET, address[0]))
    if family == AF_INET6:
        if len(address) > 4:
            raise WSAError(WSAEFAULT)
        flowinfo, scope_id = (tuple(address[2:]) + (0, 0))[:2]
        if not all(_is_int(v) and 0 <= v <= 0xFFFFFFFF for v in (flowinfo, scope_id)):
            raise WSAError(WSAEINVAL)
        return _IN6.pack(AF_INET6, _port_to_wire(port), _flowinfo_to_wire(flowinfo),
                         _host_bytes(AF_INET6, address[0]), scope_id)
    raise WSAError(WSAEAFNOSUPPORT)


def family_of(raw: bytes) -> int:
    """The family field of SOCKADDR bytes (WSAEFAULT if there are not two bytes of it)."""
    raw = _raw(raw)
    if len(raw) < _FAMILY.size:
        raise WSAError(WSAEFAULT)
    return _FAMILY.unpack_from(raw)[0]


def decode(raw: bytes | bytearray | memoryview) -> tuple[int, Address]:
    """Windows SOCKADDR bytes → (Windows family, Python tuple). Length must suffice."""
    if raw is None:
        raise WSAError(WSAEFAULT)
    raw = _raw(raw)
    family = family_of(raw)
    size = SIZES.get(family)
    if size is None:
        raise WSAError(WSAEAFNOSUPPORT)
    if len(raw) < size:
        raise WSAError(WSAEFAULT)
    if family == AF_INET:
        _, port, host = _IN.unpack_from(raw)
        return family, (_socket.inet_ntop(_socket.AF_INET, host), _port_from_wire(port))
    _, port, flowinfo, host, scope_id = _IN6.unpack_from(raw)
    return family, (_socket.inet_ntop(_socket.AF_INET6, host), _port_from_wire(port),
                    _flowinfo_from_wire(flowinfo), scope_id)


def parse_name(name: object, namelen: int | None = None) -> tuple[int, Address]:
    """The (name, namelen) argument pair of bind/connect/sendto → (family, tuple).

    ``name`` is Windows SOCKADDR bytes (``namelen`` defaults to their length) or a Python
    tuple (its family is inferred from the host form). NULL name or a length shorter than
    the family's structure → WSAEFAULT; an unknown family → WSAEAFNOSUPPORT.
    """
    if name is None:
        raise WSAError(WSAEFAULT)
    if namelen is not None and not _is_int(namelen):
        raise WSAError(WSAEFAULT)
    if isinstance(name, tuple):
        family = AF_INET6 if len(name) == 4 or (len(name) >= 1 and isinstance(name[0], str) and ":" in name[0]) else AF_INET
        return decode(encode(family, name))
    if not isinstance(name, (bytes, bytearray, memoryview)):
        raise WSAError(WSAEFAULT)
    name = _raw(name)
    if namelen is None:
        namelen = len(name)
    if namelen < 2 or namelen > len(name):
        raise WSAError(WSAEFAULT)
    family = family_of(name)
    size = SIZES.get(family)
    if size is None:
        raise WSAError(WSAEAFNOSUPPORT)
    if namelen < size:
        raise WSAError(WSAEFAULT)
    return decode(bytes(name[:size]))


def to_linux(family: int, address: Address) -> tuple:
    """A Windows-family tuple as the tuple Python's socket module takes for the kernel."""
    if family == AF_INET6:
        host, port, flowinfo, scope_id = (tuple(address) + (0, 0))[:4]
        # The kernel (and Python's socket module) take a 20-bit flow label; Windows stores a
        # ULONG and does not use it for bind/connect/sendto, so the upper bits are dropped.
        return host, port, flowinfo & 0xFFFFF, scope_id
    return address[0], address[1]


def from_linux(address: tuple) -> Address:
    """A tuple from Python's socket module (kernel side) in the Windows-face form."""
    if len(address) == 4:
        host = address[0].split("%", 1)[0]
        return host, address[1], address[2], address[3]
    return address[0], address[1]
