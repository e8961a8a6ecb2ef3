"""WSPIoctl: the control codes of the base provider, with Windows argument checks.

``HANDLERS`` maps each code to a function ``(provider, desc, inbuf, cbOut) -> bytes``; the
bytes are what lands in the output buffer (their length is lpcbBytesReturned). A failure that
Windows reports with a defined byte count carries it as ``.bytes_returned`` on the WSAError.
"""
from __future__ import annotations

import select as _select
import socket as L
import struct
import uuid
from typing import Callable

from wsemu import abi as W
from wsemu.errors import WSAError, ioctl_failure
from wsemu.spi import netioctl
from wsemu.spi.descriptor import Descriptor

_SIOCINQ = 0x541B
_TCP_KEEPIDLE, _TCP_KEEPINTVL = 4, 5
_KEEPALIVE = struct.Struct("<III")
_U32 = struct.Struct("<I")
_SOCKET = struct.Struct("<Q")

# Extension functions answer SIO_GET_EXTENSION_FUNCTION_POINTER with a non-zero handle that
# identifies the function; the functions themselves arrive with overlapped I/O.
EXTENSION_FUNCTIONS: dict[uuid.UUID, int] = {
    uuid.UUID("b5367df1-cbac-11cf-95ca-00805f48a192"): 1,   # AcceptEx
    uuid.UUID("b5367df0-cbac-11cf-95ca-00805f48a192"): 2,   # TransmitFile
    uuid.UUID("b5367df2-cbac-11cf-95ca-00805f48a192"): 3,   # GetAcceptExSockaddrs
    uuid.UUID("25a207b9-ddf3-4660-8ee9-76e58c74063e"): 4,   # ConnectEx
    uuid.UUID("7fda2e11-8630-436f-a031-f536a6eec157"): 5,   # DisconnectEx
    uuid.UUID("f689d7c8-6f1f-436b-8a53-e54fe351c322"): 6,   # WSARecvMsg
    uuid.UUID("a441e712-754f-43ca-84a7-0dee44cf606d"): 7,   # WSASendMsg
    uuid.UUID("18c76f85-dc66-4964-972e-23c27238312b"): 8,   # WSAPoll
}
EXTENSION_HANDLE_BASE = 0x57530000   # "WS" + index: never a valid pointer in this process


def _need_in(inbuf: bytes | None, size: int, bytes_returned: int | None = None) -> bytes:
    if inbuf is None or len(inbuf) < size:
        raise ioctl_failure(W.WSAEFAULT, bytes_returned)
    return inbuf


def _need_out(cb_out: int, size: int) -> None:
    if cb_out < size:
        raise ioctl_failure(W.WSAEFAULT)


def _fionbio(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    value = _U32.unpack_from(_need_in(inbuf, 4))[0]
    if not value and desc.state.events is not None and desc.state.events.mask:
        raise ioctl_failure(W.WSAEINVAL, 0)  # event selection forces non-blocking (item 168)
    desc.set_nonblocking(bool(value))
    return b""


def _fionread(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    _need_out(cb_out, 4)
    if desc.state.listening:
        return _U32.pack(0)
    import fcntl
    try:
        raw = fcntl.ioctl(desc.fd, _SIOCINQ, b"\0\0\0\0")
    except OSError:
        return _U32.pack(0)
    # Windows counts normal data only. So does Linux: without SO_OOBINLINE its SIOCINQ stops
    # at the urgent mark and never counts the urgent byte, so nothing is subtracted here.
    pending = struct.unpack("i", raw)[0]
    return _U32.pack(max(pending, 0))


def _oob_pending(desc: Descriptor) -> bool:
    """An urgent byte has arrived and has not been read with MSG_OOB (Linux POLLPRI).
    poll always adds POLLHUP/POLLERR (an unconnected TCP socket has POLLHUP): ignore them."""
    poller = _select.poll()
    poller.register(desc.fd, _select.POLLPRI)
    return any(revents & _select.POLLPRI for _, revents in poller.poll(0))


def _siocatmark(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    _need_out(cb_out, 4)
    # Windows: TRUE means "no urgent data waiting" (the reverse of BSD's at-mark).
    if not desc.is_stream or desc.sock.getsockopt(L.SOL_SOCKET, L.SO_OOBINLINE):
        return _U32.pack(1)
    return _U32.pack(0 if _oob_pending(desc) else 1)


def _keepalive_vals(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    onoff, idle_ms, interval_ms = _KEEPALIVE.unpack_from(_need_in(inbuf, _KEEPALIVE.size, 0))
    if not desc.is_stream:
        raise WSAError(W.WSAEINVAL)
    sock = desc.sock
    sock.setsockopt(L.SOL_SOCKET, L.SO_KEEPALIVE, int(bool(onoff)))
    if onoff:
        # Linux counts whole seconds; Windows milliseconds (rounded, at least one second).
        sock.setsockopt(L.IPPROTO_TCP, _TCP_KEEPIDLE, max(1, min(32767, (idle_ms + 500) // 1000)))
        sock.setsockopt(L.IPPROTO_TCP, _TCP_KEEPINTVL, max(1, min(32767, (interval_ms + 500) // 1000)))
    return b""


def _own_handle(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    # SIO_BASE_HANDLE and the three SIO_BSP_HANDLE* answer the same socket: trio, libuv, mio
    # and wepoll cross-check them (reference/python-ecosystem.md §4).
    _need_out(cb_out, _SOCKET.size)
    return _SOCKET.pack(desc.fd)


def _extension_function(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    guid = uuid.UUID(bytes_le=bytes(_need_in(inbuf, 16)[:16]))
    index = EXTENSION_FUNCTIONS.get(guid)
    if index is None:
        raise WSAError(W.WSAEINVAL)
    _need_out(cb_out, _SOCKET.size)
    return _SOCKET.pack(EXTENSION_HANDLE_BASE + index)


def _send_backlog(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    _need_out(cb_out, 4)
    if not desc.is_stream:
        raise WSAError(W.WSAEOPNOTSUPP)
    try:
        desc.sock.getpeername()
    except OSError:
        raise WSAError(W.WSAENOTCONN) from None
    return _U32.pack(0x10000)


def _udp_connreset(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    _U32.unpack_from(_need_in(inbuf, 4))
    return b""


def _accepted(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    return b""


HANDLERS: dict[int, Callable[..., bytes]] = {
    W.FIONBIO: _fionbio,
    W.FIONREAD: _fionread,
    W.SIOCATMARK: _siocatmark,
    W.SIO_KEEPALIVE_VALS: _keepalive_vals,
    W.SIO_BASE_HANDLE: _own_handle,
    W.SIO_BSP_HANDLE: _own_handle,
    W.SIO_BSP_HANDLE_SELECT: _own_handle,
    W.SIO_BSP_HANDLE_POLL: _own_handle,
    W.SIO_GET_EXTENSION_FUNCTION_POINTER: _extension_function,
    W.SIO_IDEAL_SEND_BACKLOG_QUERY: _send_backlog,
    W.SIO_UDP_CONNRESET: _udp_connreset,
    W.SIO_ENABLE_CIRCULAR_QUEUEING: _accepted,
    W.SIO_LOOPBACK_FAST_PATH: _accepted,
    **netioctl.HANDLERS,                 # interfaces, addresses, routing (wsemu.netstate)
}


def control(provider, desc: Descriptor, code: int, inbuf: bytes | None, cb_in: int | None,
            cb_out: int, overlapped, completion) -> bytes:
    """WSPIoctl for ``desc``: the output bytes, or WSAError (unknown codes: WSAEOPNOTSUPP)."""
    if inbuf is not None and cb_in is not None:
        inbuf = bytes(inbuf[:max(cb_in, 0)])
    handler = HANDLERS.get(code)
    if handler is None or overlapped is not None or completion is not None:
        # Unknown codes, and overlapped ioctls until overlapped I/O exists (item 178).
        raise ioctl_failure(W.WSAEOPNOTSUPP, 0)
    try:
        return handler(provider, desc, inbuf, cb_out if cb_out is not None else 0)
    except OSError as exc:
        if isinstance(exc, WSAError):
            raise
        from wsemu.errors import wsa_from_errno_io
        raise WSAError(wsa_from_errno_io(exc.errno or 0)) from None
