"""The calls of libwsemu (the C face, DESIGN.md §3.3) that run in its embedded Python.

libwsemu.so is a cffi embedding library (native/build_cface.py): each ``wsemu_*`` function
of <winsock2.h>'s EMBEDDED block is implemented here, over ``wsemu.ws2``, and bound when the
library's interpreter starts (``bind``). The conversion of errors happens at this one
boundary: a WSAError becomes the C thread's last error and the function's Windows failure
value (SOCKET_ERROR, INVALID_SOCKET); a NULL or short C buffer is WSAEFAULT; nothing else
escapes into C (an unexpected Python exception is WSAEINVAL, never a crash).
"""
from __future__ import annotations

import functools
from typing import Callable

from wsemu import abi as W
from wsemu import sockaddr, ws2
from wsemu.errors import WSAError

SOCKET_ERROR = -1
INVALID_SOCKET = (1 << 64) - 1

_ffi = _lib = None


def bind(ffi, lib) -> None:
    """Called by libwsemu's init code with the library's own ffi and lib."""
    global _ffi, _lib
    _ffi, _lib = ffi, lib
    for name, (func, failure) in _CALLS.items():
        ffi.def_extern(name=name, onerror=_on_error(failure))(_guarded(func, failure))


def _guarded(func: Callable, failure: int) -> Callable:
    @functools.wraps(func)
    def call(*args):
        try:
            result = func(*args)
        except WSAError as err:
            _lib.wsemu_set_last_error(err.winerror)
            return failure
        _lib.wsemu_set_last_error(0)
        return result
    return call


def _on_error(failure: int) -> Callable:
    def onerror(exception, exc_value, traceback) -> int:
        _lib.wsemu_set_last_error(W.WSAEINVAL)      # a bug here must not take the program down
        return failure
    return onerror


_CALLS: dict[str, tuple[Callable, int]] = {}


def _call(failure: int = SOCKET_ERROR) -> Callable:
    def register(func: Callable) -> Callable:
        _CALLS["wsemu_" + func.__name__.strip("_")] = (func, failure)
        return func
    return register


# ---------------------------------------------------------------------------------------
# Marshalling
# ---------------------------------------------------------------------------------------
def _in(pointer, length: int) -> bytes:
    """A C input buffer; NULL with a non-zero length, or a negative length: WSAEFAULT."""
    if length < 0 or (length and pointer == _ffi.NULL):
        raise WSAError(W.WSAEFAULT)
    return bytes(_ffi.buffer(pointer, length)) if length else b""


def _name_out(name, namelen, family: int, address) -> None:
    """Write a socket address into the caller's buffer and length (too short: WSAEFAULT)."""
    raw = sockaddr.encode(family, address)
    if name == _ffi.NULL or namelen == _ffi.NULL or namelen[0] < len(raw):
        raise WSAError(W.WSAEFAULT)
    _ffi.memmove(name, raw, len(raw))
    namelen[0] = len(raw)


def _family(s: int) -> int:
    return ws2.getsockopt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW).iAddressFamily


# ---------------------------------------------------------------------------------------
# The calls
# ---------------------------------------------------------------------------------------
@_call(failure=W.WSASYSNOTREADY)
def WSAStartup(version: int, data) -> int:
    if data == _ffi.NULL:
        return W.WSAEFAULT
    try:
        granted = ws2.WSAStartup(version)
    except WSAError as err:
        return err.winerror
    data.wVersion, data.wHighVersion = granted.wVersion, granted.wHighVersion
    data.iMaxSockets, data.iMaxUdpDg, data.lpVendorInfo = 0, 0, _ffi.NULL
    _ffi.memmove(data.szDescription, b"WinSock 2.0\0", 12)
    _ffi.memmove(data.szSystemStatus, b"Running\0", 8)
    return 0


@_call()
def WSACleanup() -> int:
    ws2.WSACleanup()
    return 0


@_call(failure=INVALID_SOCKET)
def socket(af: int, type_: int, protocol: int) -> int:
    return ws2.socket(af, type_, protocol)


@_call()
def closesocket(s: int) -> int:
    ws2.closesocket(s)
    return 0


@_call()
def bind_(s: int, name, namelen: int) -> int:
    ws2.bind(s, _in(name, namelen), namelen)
    return 0


@_call()
def listen(s: int, backlog: int) -> int:
    ws2.listen(s, backlog)
    return 0


@_call(failure=INVALID_SOCKET)
def accept(s: int, addr, addrlen) -> int:
    if addr != _ffi.NULL and (addrlen == _ffi.NULL or addrlen[0] < 16):
        raise WSAError(W.WSAEFAULT)
    new, address = ws2.accept(s)
    if addr != _ffi.NULL:
        _name_out(addr, addrlen, _family(new), address)
    return new


@_call()
def connect(s: int, name, namelen: int) -> int:
    ws2.connect(s, _in(name, namelen), namelen)
    return 0


@_call()
def send(s: int, buf, length: int, flags: int) -> int:
    return ws2.send(s, _in(buf, length), flags)


@_call()
def recv(s: int, buf, length: int, flags: int) -> int:
    if length < 0 or (length and buf == _ffi.NULL):
        raise WSAError(W.WSAEFAULT)
    data = ws2.recv(s, length, flags)
    _ffi.memmove(buf, data, len(data))
    return len(data)


@_call()
def shutdown(s: int, how: int) -> int:
    ws2.shutdown(s, how)
    return 0


@_call()
def getsockname(s: int, name, namelen) -> int:
    _name_out(name, namelen, _family(s), ws2.getsockname(s))
    return 0


@_call()
def getpeername(s: int, name, namelen) -> int:
    _name_out(name, namelen, _family(s), ws2.getpeername(s))
    return 0


@_call()
def setsockopt(s: int, level: int, optname: int, optval, optlen: int) -> int:
    ws2.setsockopt(s, level, optname, None if optval == _ffi.NULL else _in(optval, optlen), optlen)
    return 0


@_call()
def getsockopt(s: int, level: int, optname: int, optval, optlen) -> int:
    if optval == _ffi.NULL or optlen == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    data = ws2._table_for(s).WSPGetSockOpt(s, level, optname, optlen[0])
    _ffi.memmove(optval, data, len(data))
    optlen[0] = len(data)
    return 0


@_call()
def ioctlsocket(s: int, cmd: int, argp) -> int:
    if argp == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    answer = ws2.ioctlsocket(s, cmd & 0xFFFFFFFF, argp[0])
    if cmd & 0xFFFFFFFF in (W.FIONREAD, W.SIOCATMARK):     # (FIONBIO leaves *argp as it was)
        argp[0] = answer & 0xFFFFFFFF
    return 0
