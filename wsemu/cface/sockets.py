"""libwsemu's socket calls: creation, names, connections, options and control (the
embedded ones; the data path is C)."""
from __future__ import annotations

from wsemu import abi as W
from wsemu import ws2
from wsemu.spi import sharing
from wsemu.cface import INVALID_SOCKET, _call, _in, _name_out, ffi, protocol_info
from wsemu.errors import WSAError
from wsemu.netstate.layouts import relocate

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
    get = ws2._table_for(s).WSPGetSockOpt
    # The base provider says which length to report (not always the data's length: item 52).
    provider = getattr(get, "__self__", None)
    try:
        result = provider.get_option(s, level, optname, optlen[0]) if hasattr(provider, "get_option") \
            else get(s, level, optname, optlen[0])
    except WSAError as err:
        # The side effects a C caller sees even on WSAEFAULT: what was written, the size
        # needed (item 52).
        written, needed = getattr(err, "written", None), getattr(err, "optlen", None)
        if written:
            _ffi.memmove(optval, written, len(written))
        if needed is not None:
            optlen[0] = needed
        raise
    data, length = (result.data, result.optlen) if hasattr(result, "optlen") else (result, len(result))
    _ffi.memmove(optval, data, len(data))
    optlen[0] = length
    return 0


@_call()
def ioctlsocket(s: int, cmd: int, argp) -> int:
    if argp == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    answer = ws2.ioctlsocket(s, cmd & 0xFFFFFFFF, argp[0])
    if cmd & 0xFFFFFFFF in (W.FIONREAD, W.SIOCATMARK):     # (FIONBIO leaves *argp as it was)
        argp[0] = answer & 0xFFFFFFFF
    return 0


# ---------------------------------------------------------------------------------------
# WSA creation, connection, control and duplication
# ---------------------------------------------------------------------------------------
@_call(failure=INVALID_SOCKET)
def WSASocketW(af: int, type_: int, protocol: int, info, g: int, flags: int) -> int:
    return ws2.WSASocketW(af, type_, protocol, protocol_info.w_in(info), g, flags)


@_call(failure=INVALID_SOCKET)
def WSASocketA(af: int, type_: int, protocol: int, info, g: int, flags: int) -> int:
    return ws2.WSASocketW(af, type_, protocol, protocol_info.a_in(info), g, flags)


@_call(failure=INVALID_SOCKET)
def WSAAccept(s: int, addr, addrlen, condition, data: int) -> int:
    if addr != _ffi.NULL and addrlen == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    verdict = None if condition == _ffi.NULL else _condition(condition)
    new, address = ws2.WSAAccept(s, None if addr == _ffi.NULL else addrlen[0], verdict, data)
    if addr != _ffi.NULL:
        _name_out(addr, addrlen, _family(new), address)
    return new


def _condition(proc):
    """ws2's condition function over the C LPCONDITIONPROC: the ids and data as WSABUFs
    (NULL where ws2 has none), the group as a GROUP the callback may write."""
    def ask(caller_id, caller_data, sqos, gqos, callee_id, callee_data, g, data) -> int:
        keep = []                                     # the buffers live until the call returns
        def wsabuf(raw):
            if raw is None:
                return _ffi.NULL
            text = _ffi.new("char[]", bytes(raw) or b"\0")
            buf = _ffi.new("WSABUF *", {"len": len(raw), "buf": text})
            keep.extend((text, buf))
            return buf
        group = _ffi.new("GROUP *", g)
        return proc(wsabuf(caller_id), wsabuf(caller_data), _ffi.NULL, _ffi.NULL,
                    wsabuf(callee_id), wsabuf(callee_data), group, data)
    return ask


@_call()
def WSAConnect(s: int, name, namelen: int, caller_data, callee_data, sqos, gqos) -> int:
    ws2.WSAConnect(s, _in(name, namelen), namelen, _wsabuf_in(caller_data), _wsabuf_in(callee_data),
                   _struct_in(sqos, "QOS"), _struct_in(gqos, "QOS"))
    return 0


def _wsabuf_in(buf) -> bytes | None:
    return None if buf == _ffi.NULL else _in(buf.buf, buf.len)


def _struct_in(pointer, ctype: str) -> bytes | None:
    return None if pointer == _ffi.NULL else bytes(_ffi.buffer(pointer, _ffi.sizeof(ctype)))


@_call()
def WSAIoctl(s: int, code: int, inbuf, cb_in: int, outbuf, cb_out: int, returned, overlapped,
             completion) -> int:
    if returned == _ffi.NULL and overlapped == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)               # (item 176: checked before the code)
    pending = (None if overlapped == _ffi.NULL else int(_ffi.cast("uintptr_t", overlapped)),
               None if completion == _ffi.NULL else completion)
    try:
        out = ws2.WSAIoctl(s, code, None if inbuf == _ffi.NULL else _in(inbuf, cb_in), cb_out, *pending)
    except WSAError as err:
        if returned != _ffi.NULL and getattr(err, "bytes_returned", None) is not None:
            returned[0] = err.bytes_returned
        raise
    if out and (outbuf == _ffi.NULL or len(out) > cb_out):
        raise WSAError(W.WSAEFAULT)
    if out:
        _ffi.memmove(outbuf, relocate(code, out, int(_ffi.cast("uintptr_t", outbuf))), len(out))
    if returned != _ffi.NULL:
        returned[0] = len(out)
    return 0


@_call()
def WSADuplicateSocketW(s: int, pid: int, info) -> int:
    protocol_info.write(info, _duplicate(s, pid, info), ansi=False)
    return 0


@_call()
def WSADuplicateSocketA(s: int, pid: int, info) -> int:
    protocol_info.write(info, _duplicate(s, pid, info), ansi=True)
    return 0


def _duplicate(s: int, pid: int, info):
    """The socket and the process are checked before the buffer (items 21, 24); a NULL
    buffer then fails with nothing deposited (a deposit nobody can claim would hold the socket
    open)."""
    if info == _ffi.NULL:
        ws2._table_for(s)                 # WSAENOTSOCK
        sharing.check_target(pid)         # WSAEINVAL
        raise WSAError(W.WSAEFAULT)
    return ws2.WSADuplicateSocketW(s, pid)
