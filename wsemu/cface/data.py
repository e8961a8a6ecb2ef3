"""The Python halves of libwsemu's data path (native/src/cface_data.c, wsemu/dataplane.h).

The data calls run in C on the sockets C takes (wsemu.spi.cgate). Here: the whole call for
the others (``py_send`` ...), and the Windows work left after a call C made (``py_after``).
Either way the gate of the socket is refreshed afterwards — the Python call may have changed
what C may know (a datagram socket bound by sendto, a reset seen).
"""
from __future__ import annotations

import os

from wsemu import abi as W
from wsemu import ws2
from wsemu._native import lib as _native
from wsemu.cface import _call, _in, _name_out, fd_set_in, fd_set_out, ffi, lib
from wsemu.errors import WSAError
from wsemu.spi import base as _base
from wsemu.spi import cgate
from wsemu.spi.descriptor import table as _table
from wsemu.spi.sendqueue import queue as _sendq

_ffi, _lib = ffi(), lib()
_lib.wsemu_cface_attach(_native.wsemu_fast_ops())

_OP_SEND, _OP_RECV, _OP_SELECT = _lib.WSEMU_OP_SEND, _lib.WSEMU_OP_RECV, _lib.WSEMU_OP_SELECT
_AFTER_ERRNO, _AFTER_RECV, _AFTER_SEND_FAILED = (
    _native.WSEMU_AFTER_ERRNO, _native.WSEMU_AFTER_RECV, _native.WSEMU_AFTER_SEND_FAILED)
_AFTER_TAIL, _AFTER_EOF, _AFTER_RELEASE, _AFTER_BOUND = (
    _native.WSEMU_AFTER_TAIL, _native.WSEMU_AFTER_EOF, _native.WSEMU_AFTER_RELEASE, _native.WSEMU_AFTER_BOUND)


def _refresh(s: int) -> None:
    desc = ws2._fast.get(s)
    if desc is not None:
        cgate.open_gate(desc)


@_call()
def py_init() -> int:
    """Nothing: calling it starts the embedded interpreter (whose init attaches C's table)."""
    return 0


@_call()
def py_after(s: int, op: int, result: int, error: int, after: int, tail, tail_len: int) -> int:
    if after & _AFTER_RELEASE:
        table = _table()
        for fd in list(table.closing_in_c):
            if not cgate.blocked_in_c(fd):
                table.released_in_c(fd)
    if op == _OP_SELECT:
        if error:
            raise WSAError(W.WSAEINVAL)
        return 0
    desc = _base.provider().table.get(s)
    if desc is None:                       # closed while C was in the call
        raise WSAError(error if error and not after & _AFTER_ERRNO else W.WSAEINTR)
    if after & _AFTER_RECV:
        _base._received(desc, 0)
    if after & _AFTER_SEND_FAILED:
        _base._send_failed(desc)
    if after & _AFTER_ERRNO:
        exc = OSError(error, os.strerror(error))
        if op == _OP_RECV and desc.is_stream:
            raise _base._stream_recv_error(desc, exc, 0)
        raise _base._io_error(desc, exc, "send" if op == _OP_SEND else "recv")
    if after & _AFTER_TAIL:
        _sendq.enqueue(desc.sock, desc.state, memoryview(bytes(_ffi.buffer(tail, tail_len))))
        result += tail_len
    if after & _AFTER_BOUND:
        desc.bound = True
        cgate.open_gate(desc)
    if after & _AFTER_EOF:
        _base._check_eof(desc)             # WSAECONNRESET/ABORTED/SHUTDOWN/EINTR, or a close
        cgate.open_gate(desc)
    if error:
        raise WSAError(error)
    return result


@_call()
def py_send(s: int, buf, length: int, flags: int) -> int:
    try:
        return ws2.send(s, _in(buf, length), flags)
    finally:
        _refresh(s)


@_call()
def py_recv(s: int, buf, length: int, flags: int) -> int:
    if length < 0 or (length and buf == _ffi.NULL):
        raise WSAError(W.WSAEFAULT)
    try:
        data = ws2.recv(s, length, flags)
    finally:
        _refresh(s)
    _ffi.memmove(buf, data, len(data))
    return len(data)


@_call()
def py_sendto(s: int, buf, length: int, flags: int, to, tolen: int) -> int:
    address = None if to == _ffi.NULL else _in(to, tolen)
    try:
        return ws2.sendto(s, _in(buf, length), flags, address, tolen if address is not None else None)
    finally:
        _refresh(s)


@_call()
def py_recvfrom(s: int, buf, length: int, flags: int, from_, fromlen) -> int:
    if length < 0 or (length and buf == _ffi.NULL):
        raise WSAError(W.WSAEFAULT)
    if from_ != _ffi.NULL and fromlen == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    try:
        data, address = ws2.recvfrom(s, length, flags, fromlen[0] if from_ != _ffi.NULL else None)
    except WSAError as err:
        if err.winerror == W.WSAEMSGSIZE:
            _ffi.memmove(buf, getattr(err, "data", b""), len(getattr(err, "data", b"")))
        raise
    finally:
        _refresh(s)
    _ffi.memmove(buf, data, len(data))
    if from_ != _ffi.NULL and address is not None:
        _name_out(from_, fromlen, _family(address), address)
    return len(data)


def _family(address: tuple) -> int:
    return W.AF_INET6 if len(address) == 4 else W.AF_INET


def _buffers(buffers, count: int, writable: bool) -> list:
    if count and buffers == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    views = []
    for i in range(count):
        length, pointer = buffers[i].len, buffers[i].buf
        if length and pointer == _ffi.NULL:
            raise WSAError(W.WSAEFAULT)
        views.append(_ffi.buffer(pointer, length) if length else bytearray(0))
    return views


def _overlapped(overlapped, routine):
    # No overlapped I/O yet: the provider refuses a non-NULL one with its own error.
    return None if overlapped == _ffi.NULL and routine == _ffi.NULL else object()


@_call()
def py_wsasend(s: int, buffers, count: int, sent, flags: int, overlapped, routine, to, tolen: int) -> int:
    views = _buffers(buffers, count, False)
    try:
        if to != _ffi.NULL:
            n = ws2.WSASendTo(s, views, flags, _in(to, tolen), _overlapped(overlapped, routine))
        else:
            n = ws2.WSASend(s, views, flags, _overlapped(overlapped, routine))
    finally:
        _refresh(s)
    if sent == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    sent[0] = n
    return 0


@_call()
def py_wsarecv(s: int, buffers, count: int, received, flags, overlapped, routine, from_, fromlen,
               with_from: int) -> int:
    if flags == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    views = _buffers(buffers, count, True)
    try:
        if with_from:
            if from_ != _ffi.NULL and fromlen == _ffi.NULL:
                raise WSAError(W.WSAEFAULT)
            n, out_flags, address = ws2.WSARecvFrom(s, views, flags[0], _overlapped(overlapped, routine))
            if from_ != _ffi.NULL and address is not None:
                _name_out(from_, fromlen, _family(address), address)
        else:
            n, out_flags = ws2.WSARecv(s, views, flags[0], _overlapped(overlapped, routine))
    finally:
        _refresh(s)
    if received == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    received[0], flags[0] = n, out_flags
    return 0


@_call()
def py_select(nfds: int, readfds, writefds, exceptfds, timeout) -> int:
    sets = (readfds, writefds, exceptfds)
    lists = [fd_set_in(fds) for fds in sets]
    seconds = None
    if timeout != _ffi.NULL:
        if timeout.tv_sec < 0 or timeout.tv_usec < 0:
            raise WSAError(W.WSAEINVAL)
        seconds = timeout.tv_sec + timeout.tv_usec / 1e6
    results = ws2.select(*lists, seconds)
    count = 0
    for fds, result in zip(sets, results):
        if fds != _ffi.NULL:
            fd_set_out(fds, result)
            count += len(result)
    for s in {s for group in lists if group for s in group}:
        _refresh(s)
    return count


@_call()
def py_reports(slow, count: int) -> int:
    """Reports a C wait's drain left for Python (the drain lock is held: released here)."""
    pump = ws2._event_objects.pump
    if pump is None:
        _native.wsemu_drain_unlock()
        return 0
    pump.handle(slow, count)
    return 0

