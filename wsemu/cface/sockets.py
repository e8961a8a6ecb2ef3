"""libwsemu's socket calls: creation, names, connections, options and control (the
embedded ones; the data path is C)."""
from __future__ import annotations

from wsemu import abi as W
from wsemu import ws2
from wsemu.cface import INVALID_SOCKET, _call, _in, _name_out, ffi
from wsemu.errors import WSAError

_ffi = ffi()


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
