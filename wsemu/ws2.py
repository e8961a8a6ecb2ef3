"""The Winsock API for Python (DESIGN.md §3.1): ``from wsemu import ws2``.

This module is ws2_32's job: the WSAStartup count, the process's socket list (the handle
table the providers fill through their upcalls), catalog dispatch to the provider that owns
a socket, and the thread's last error. Every failure raises ``WSAError`` *and* sets the last
error; arguments of the wrong kind become WSAEFAULT/WSAEINVAL, never a Python traceback.

send/recv on a socket that belongs directly to the base provider skip the dispatch table:
they call the base provider's byte-level data path (same semantics, one dict lookup).
"""
from __future__ import annotations

import functools
import mmap
import os
import threading
from typing import Callable, Iterable, Sequence

from wsemu import abi as _abi
from wsemu import catalog as _catalog
from wsemu.abi import *  # noqa: F401,F403  (the Windows constants are part of this API)
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.events import registry as _registry
from wsemu.events.objects import events as _event_objects
from wsemu.errors import WSAError, get_last_error, set_last_error, wsa_from_errno_io
from wsemu.spi import argcheck as _check
from wsemu.spi import base as _base
from wsemu.spi import cgate as _cgate
from wsemu.spi import inbox as _inbox
from wsemu.spi import sharedstate as _sharedstate
from wsemu.spi import sockopts as _sockopts
from wsemu.spi import loader as _loader
from wsemu.spi.upcalls import HANDLES as _HANDLES
from wsemu.spi.upcalls import upcalls as _upcalls
from wsemu.spi.wselect import FdSet

W = _abi
_STRICT = bool(os.environ.get("WSEMU_STRICT"))   # tests: surface internal errors instead of WSAEFAULT


# ======================================================================================
# The error boundary
# ======================================================================================
def _api(func: Callable) -> Callable:
    """Convert every failure of a public call into WSAError + the thread's last error."""

    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WSAError as err:
            set_last_error(err.winerror)
            raise
        except Exception as exc:
            # Anything else is a wsemu bug or an argument no check caught: never a traceback
            # for the caller (DESIGN.md §5). Tests run strict, where it surfaces instead.
            if _STRICT:
                raise
            code = wsa_from_errno_io(exc.errno) if isinstance(exc, OSError) and exc.errno else W.WSAEFAULT
            set_last_error(code)
            raise WSAError(code) from exc
    return call


def _int(value: object, code: int = W.WSAEFAULT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WSAError(code)
    return value


def _length(value: object) -> int | None:
    """An optional length argument (namelen, addrlen, optlen, ...): None, or a C int."""
    return None if value is None else _to_int32(_int(value))


def _bad_input(exc: BaseException, check: Callable, *args: object):
    """A Python error inside a fast path: the argument's fault (its WSA error) or ours.

    ``check(*args)`` raises the WSAError a bad argument deserves; if it passes, the error is
    internal: re-raised under WSEMU_STRICT, WSAEFAULT otherwise.
    """
    try:
        check(*args)
    except WSAError as err:
        set_last_error(err.winerror)
        raise err from exc
    if _STRICT:
        raise exc
    set_last_error(W.WSAEFAULT)
    raise WSAError(W.WSAEFAULT) from exc


# ======================================================================================
# Startup, providers, dispatch
# ======================================================================================
class WSADATA:
    __slots__ = ("wVersion", "wHighVersion", "szDescription", "szSystemStatus", "iMaxSockets",
                 "iMaxUdpDg", "lpVendorInfo")

    def __init__(self, wVersion: int, major: int) -> None:
        self.wVersion = wVersion
        self.wHighVersion = 0x0202
        self.szDescription = "WinSock 2.0"
        self.szSystemStatus = "Running"
        self.iMaxSockets = 32767 if major == 1 else 0
        self.iMaxUdpDg = 65467 if major == 1 else 0
        self.lpVendorInfo = None

    def __repr__(self) -> str:
        return f"WSADATA(wVersion={self.wVersion:#06x}, wHighVersion={self.wHighVersion:#06x})"


class _Process:
    """ws2's per-process state."""

    def __init__(self) -> None:
        self.startups = 0
        self.lock = threading.RLock()
        self.catalog: _catalog.Catalog | None = None
        self.providers: dict[object, object] = {}     # ProviderId -> WSPPROC_TABLE
        self.fast: dict[int, object] = {}              # SOCKET -> base Descriptor

    def after_fork_in_child(self) -> None:
        self.lock = threading.RLock()


_proc = _Process()
os.register_at_fork(after_in_child=_proc.after_fork_in_child)
_fast = _proc.fast
_base_provider = _base.provider()
_send_bytes = _base_provider.send_bytes     # bound once: ws2.send/recv are the hot path
_recv_bytes = _base_provider.recv_bytes


@_api
def WSAStartup(wVersionRequested: int) -> WSADATA:
    version = _int(wVersionRequested, W.WSAVERNOTSUPPORTED) & 0xFFFF
    major, minor = version & 0xFF, version >> 8
    if major > 2 or (major == 2 and minor > 2):
        granted = 0x0202
    elif major == 1 and minor > 1:
        granted = 0x0101
    else:
        granted = version
    if major == 0:
        err = WSAError(W.WSAVERNOTSUPPORTED)
        err.wsadata = WSADATA(0x0202, major)   # Windows fills lpWSAData before failing (r1 §1)
        raise err
    with _proc.lock:
        if _proc.startups == 0:
            _proc.catalog = _catalog.reload()   # a fresh process view of the catalog
            _inbox.inbox.open()                 # so sockets can be handed to this process
        _proc.startups += 1
    return WSADATA(granted, major)


@_api
def WSACleanup() -> None:
    with _proc.lock:
        if _proc.startups == 0:
            raise WSAError(W.WSANOTINITIALISED)
        _proc.startups -= 1
        if _proc.startups:
            set_last_error(0)
            return
        handles = list(_HANDLES.entries)
    # Close through the providers already started (looking one up must not start it again),
    # and only then clean the providers up.
    for handle in handles:
        desc = _fast.pop(handle, None)
        if desc is not None and desc.adopted:
            _base_provider.table.forget(desc)   # not ours to close: Python owns that fd
            _HANDLES.discard(handle)
            continue
        try:
            _table_for(handle).WSPCloseSocket(handle)
        except WSAError:
            pass
        _HANDLES.discard(handle)
    with _proc.lock:
        providers = list(_proc.providers.values())
        _proc.providers.clear()
    for table in providers:
        try:
            table.WSPCleanup()
        except WSAError:
            pass
    _registry.stop()                            # no socket left to watch
    _inbox.inbox.release()                      # unclaimed deliveries go, like self-duplicates
    _inbox.outbox.release()
    _sharedstate.arenas.release()               # (unmapped once no socket uses it)
    set_last_error(0)


def WSAGetLastError() -> int:
    return get_last_error()


def WSASetLastError(iError: int) -> None:
    set_last_error(iError if isinstance(iError, int) else 0)


def _require_startup() -> None:
    if _proc.startups == 0:
        raise WSAError(W.WSANOTINITIALISED)


def _provider_table(entry: _catalog.CatalogEntry):
    """The provider's proc table, started once per provider GUID (reference/spi.md §1.1)."""
    key = entry.info.ProviderId
    table = _proc.providers.get(key)
    if table is None:
        with _proc.lock:              # (threads making their first sockets at once: one startup)
            table = _proc.providers.get(key)
            if table is None:
                table = _proc.providers[key] = _start_provider(entry)
    return table


def _start_provider(entry: _catalog.CatalogEntry):
    """WSPStartup with the entry's own info: a base provider, or a layer (wsemu.spi.loader)."""
    return _loader.start_provider(entry.path, _upcalls, entry.info.copy())[1]


def _table_for(s: int):
    """The proc table of the provider that owns SOCKET ``s`` (adopting unknown kernel sockets)."""
    entry = _HANDLES.get(s)
    if entry is None:
        _require_startup()
        _base_provider.adopt(s, _proc.catalog)   # WSAENOTSOCK when s is no socket
        # Adopted sockets stay off the fast path: their owner may close them at any time,
        # so every call goes through the provider's check that the fd is still that socket.
        entry = _HANDLES.get(s)
    return _provider_table(_proc.catalog.by_id(entry.catalog_id))


def _socket_arg(s: object) -> int:
    if isinstance(s, bool) or not isinstance(s, int):
        raise WSAError(W.WSAENOTSOCK)
    return s


def _track(s: int) -> int:
    """Remember a new base-provider socket for the send/recv fast path."""
    entry = _HANDLES.get(s)
    if entry is not None and entry.ifs and _proc.catalog.by_id(entry.catalog_id).path == _catalog.BASE_PROVIDER_PATH:
        desc = _base_provider.table.get(s)
        if desc is not None:
            _fast[s] = desc
            _cgate.open_gate(desc)          # the C face's data path may take it too
    return s


def _forget_socket(s: int) -> None:
    """ws2 and the base provider forget SOCKET ``s`` *without closing its fd*, whose owner
    is someone else from now on (wsemu.compat: the fd a claimed duplicate arrived on becomes
    a Python socket's; an adoption made only to duplicate a Python socket is dropped). The
    socket's Windows state goes with its last descriptor here, as after closesocket."""
    with _proc.lock:
        _fast.pop(s, None)
        desc = _base_provider.table.get(s)
        if desc is not None:
            _base_provider.table.forget(desc)
        _HANDLES.discard(s)


# ======================================================================================
# Creation and teardown
# ======================================================================================
@_api
def socket(af: int, type: int, protocol: int) -> int:
    return _create(af, type, protocol, None, 0, W.WSA_FLAG_OVERLAPPED)


@_api
def WSASocketW(af: int, type: int, protocol: int, lpProtocolInfo=None, g: int = 0, dwFlags: int = 0) -> int:
    return _create(af, type, protocol, lpProtocolInfo, g, dwFlags)


WSASocket = WSASocketW


def _create(af: object, type_: object, protocol: object, info: object, g: object, flags: object) -> int:
    _require_startup()
    if not (af.__class__ is type_.__class__ is protocol.__class__ is g.__class__ is flags.__class__ is int):
        for value in (af, type_, protocol, g, flags):
            _int(value, W.WSAEINVAL)                  # (bool and int subclasses refused)
    if not (_INT32_MIN <= af <= _INT32_MAX and _INT32_MIN <= type_ <= _INT32_MAX
            and _INT32_MIN <= protocol <= _INT32_MAX):
        af, type_, protocol = _to_int32(af), _to_int32(type_), _to_int32(protocol)
    if info.__class__ is bytes or isinstance(info, (bytes, bytearray, memoryview)):
        if len(info) != W.WSAPROTOCOL_INFOW_SIZE:
            raise WSAError(W.WSAEFAULT)
        info = WSAPROTOCOL_INFOW.from_bytes(info)
    elif info is not None and not isinstance(info, WSAPROTOCOL_INFOW):
        raise WSAError(W.WSAEFAULT)
    catalog = _proc.catalog
    if info is not None:
        af = info.iAddressFamily if af in (0, W.FROM_PROTOCOL_INFO) else af
        type_ = info.iSocketType if type_ in (0, W.FROM_PROTOCOL_INFO) else type_
        protocol = info.iProtocol if protocol in (0, W.FROM_PROTOCOL_INFO) else protocol
        if af == W.AF_UNSPEC:
            raise WSAError(W.WSAEAFNOSUPPORT)
        entry = catalog.by_id(info.dwCatalogEntryId)
        passed = info                       # the caller's structure, unchanged (spi.md §3.3)
    else:
        entry = catalog.select_entry(af, type_, protocol)
        passed = entry.info
    s = _provider_table(entry).WSPSocket(af, type_, protocol, passed, g, flags)
    set_last_error(0)
    return _track(s)


_INT32_MIN, _INT32_MAX = -0x80000000, 0x7FFFFFFF


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


@_api
def closesocket(s: int) -> None:
    _require_startup()
    s = _socket_arg(s)
    table = _table_for(s)
    entry = _HANDLES.get(s)
    if entry is None or not entry.ifs:
        table.WSPCloseSocket(s)
        _fast.pop(s, None)
        _HANDLES.discard(s)
        set_last_error(0)
        return
    # An IFS handle is the fd number: forget it *before* the provider closes the fd. Once the
    # kernel has released the number, another thread can get it for a new socket and register
    # it — forgetting "s" afterwards would forget that socket instead.
    fast = _fast.pop(s, None)
    _HANDLES.discard(s)
    try:
        table.WSPCloseSocket(s)
    except BaseException as exc:
        if getattr(exc, "winerror", None) != W.WSAENOTSOCK:
            _HANDLES.entries.setdefault(s, entry)     # not closed: still ours
            if fast is not None:
                _fast.setdefault(s, fast)
        raise
    set_last_error(0)


# ======================================================================================
# Connection setup and naming
# ======================================================================================
@_api
def bind(s: int, addr: object, namelen: int | None = None) -> None:
    s = _socket_arg(s)
    _table_for(s).WSPBind(s, addr, _length(namelen))
    set_last_error(0)


@_api
def listen(s: int, backlog: int) -> None:
    s = _socket_arg(s)
    _table_for(s).WSPListen(s, _to_int32(_int(backlog, W.WSAEINVAL)))


@_api
def accept(s: int, addrlen: int | None = None) -> tuple[int, tuple]:
    return _accept(s, addrlen, None, 0)


@_api
def WSAAccept(s: int, addrlen: int | None = None, lpfnCondition: Callable | None = None,
              dwCallbackData: int = 0) -> tuple[int, tuple]:
    """accept with a condition function ``f(CallerId, CallerData, SQOS, GQOS, CalleeId,
    CalleeData, g, dwCallbackData) -> CF_ACCEPT | CF_REJECT | CF_DEFER`` (ids are SOCKADDR bytes)."""
    if lpfnCondition is not None and not callable(lpfnCondition):
        raise WSAError(W.WSAEFAULT)
    return _accept(s, addrlen, lpfnCondition, dwCallbackData)


def _accept(s: object, addrlen: object, condition: Callable | None, data: int) -> tuple[int, tuple]:
    s = _socket_arg(s)
    addrlen = _length(addrlen)
    new, address = _table_for(s).WSPAccept(s, addrlen, condition, data)
    return _track(new), address


@_api
def connect(s: int, addr: object, namelen: int | None = None) -> None:
    s = _socket_arg(s)
    _table_for(s).WSPConnect(s, addr, _length(namelen))


@_api
def WSAConnect(s: int, addr: object, namelen: int | None = None, lpCallerData=None, lpCalleeData=None,
               lpSQOS=None, lpGQOS=None) -> None:
    s = _socket_arg(s)
    _table_for(s).WSPConnect(s, addr, _length(namelen), lpCallerData, lpCalleeData, lpSQOS, lpGQOS)


@_api
def shutdown(s: int, how: int) -> None:
    s = _socket_arg(s)
    _table_for(s).WSPShutdown(s, _int(how, W.WSAEINVAL) & 0xFFFFFFFF)
    set_last_error(0)


@_api
def getsockname(s: int, namelen: int | None = None) -> tuple:
    s = _socket_arg(s)
    return _table_for(s).WSPGetSockName(s, _length(namelen))


@_api
def getpeername(s: int, namelen: int | None = None) -> tuple:
    s = _socket_arg(s)
    return _table_for(s).WSPGetPeerName(s, _length(namelen))


# ======================================================================================
# Data
# ======================================================================================
def send(s: int, data, flags: int = 0) -> int:
    # The fast path takes only exact ints: a float or bool is no SOCKET, a list is unhashable.
    desc = _fast.get(s) if s.__class__ is int and flags.__class__ is int else None
    if desc is not None:
        try:
            return _send_bytes(desc, data, flags)
        except WSAError as err:
            set_last_error(err.winerror)
            raise
        except (TypeError, ValueError, OverflowError, BufferError) as exc:
            _bad_input(exc, _buffer, data)
    return _send_slow(s, data, flags)


@_api
def _send_slow(s: object, data, flags: object) -> int:
    s = _socket_arg(s)
    return _table_for(s).WSPSend(s, [_buffer(data)], 1, _int(flags, W.WSAEOPNOTSUPP))


def recv(s: int, bufsize: int, flags: int = 0) -> bytes:
    # Exact ints only, and a bufsize a C int can hold (the slow path truncates the others as
    # C would, and rejects what is no integer).
    if s.__class__ is int and flags.__class__ is int and bufsize.__class__ is int and bufsize <= 0x7FFFFFFF:
        desc = _fast.get(s)
        if desc is not None:
            try:
                return _recv_bytes(desc, bufsize, flags)
            except WSAError as err:
                set_last_error(err.winerror)
                raise
            except (TypeError, ValueError, OverflowError) as exc:
                _bad_input(exc, lambda: None)
    return _recv_slow(s, bufsize, flags)


@_api
def _recv_slow(s: object, bufsize: object, flags: object) -> bytes:
    s = _socket_arg(s)
    bufsize = _to_int32(_int(bufsize))
    flags = _int(flags, W.WSAEOPNOTSUPP)
    if bufsize < 0:
        raise WSAError(W.WSAEFAULT)
    buf = _receive_buffer(bufsize)
    nbytes, _ = _table_for(s).WSPRecv(s, [buf], 1, flags)
    return bytes(buf[:nbytes])


def _receive_buffer(size: int):
    """The buffer a provider receives into. A large one is an anonymous mapping, whose pages
    the kernel supplies (zeroed) as data arrives: bytearray(size) would write all of them
    first — 2 GiB for recv(s, 0x7FFFFFFF)."""
    return bytearray(size) if size <= 1 << 20 else mmap.mmap(-1, size)


@_api
def sendto(s: int, data, flags: int, addr: object, tolen: int | None = None) -> int:
    s = _socket_arg(s)
    desc = _fast.get(s)
    flags = _int(flags, W.WSAEOPNOTSUPP)
    tolen = _length(tolen)
    if desc is not None:
        return _base_provider.sendto_bytes(desc, _buffer(data), flags, addr, tolen)
    return _table_for(s).WSPSendTo(s, [_buffer(data)], 1, flags, addr, tolen)


@_api
def recvfrom(s: int, bufsize: int, flags: int = 0, fromlen: int | None = None) -> tuple[bytes, tuple | None]:
    s = _socket_arg(s)
    bufsize = _to_int32(_int(bufsize))
    flags = _int(flags, W.WSAEOPNOTSUPP)
    fromlen = _length(fromlen)
    desc = _fast.get(s)
    if desc is not None:
        return _base_provider.recvfrom_bytes(desc, bufsize, flags, fromlen)
    if bufsize < 0:
        raise WSAError(W.WSAEFAULT)
    buf = _receive_buffer(bufsize)
    nbytes, _, address = _table_for(s).WSPRecvFrom(s, [buf], 1, flags, fromlen)
    return bytes(buf[:nbytes]), address


@_api
def WSASend(s: int, lpBuffers: Sequence, dwFlags: int = 0, lpOverlapped=None, lpCompletionRoutine=None) -> int:
    s = _socket_arg(s)
    return _table_for(s).WSPSend(s, lpBuffers, None, _int(dwFlags, W.WSAEOPNOTSUPP),
                                 lpOverlapped, lpCompletionRoutine, None)


@_api
def WSASendTo(s: int, lpBuffers: Sequence, dwFlags: int, addr: object, lpOverlapped=None,
              lpCompletionRoutine=None) -> int:
    s = _socket_arg(s)
    return _table_for(s).WSPSendTo(s, lpBuffers, None, _int(dwFlags, W.WSAEOPNOTSUPP), addr, None,
                                   lpOverlapped, lpCompletionRoutine, None)


@_api
def WSARecv(s: int, lpBuffers: Sequence, lpFlags: int = 0, lpOverlapped=None,
            lpCompletionRoutine=None) -> tuple[int, int]:
    """Receive into writable buffers → (bytes received, flags)."""
    s = _socket_arg(s)
    return _table_for(s).WSPRecv(s, lpBuffers, None, _int(lpFlags, W.WSAEOPNOTSUPP),
                                 lpOverlapped, lpCompletionRoutine, None)


@_api
def WSARecvFrom(s: int, lpBuffers: Sequence, lpFlags: int = 0, lpOverlapped=None,
                lpCompletionRoutine=None) -> tuple[int, int, tuple | None]:
    s = _socket_arg(s)
    return _table_for(s).WSPRecvFrom(s, lpBuffers, None, _int(lpFlags, W.WSAEOPNOTSUPP), None,
                                     lpOverlapped, lpCompletionRoutine, None)


def _buffer(data: object):
    """A bytes-like, C-contiguous, unreleased buffer, else WSAEFAULT (the object is returned)."""
    _check.buffer(data)
    return data


def _iterable(values: object) -> list:
    """A list argument (fd sets, protocol lists): any iterable, else WSAEFAULT."""
    try:
        return list(values)
    except (TypeError, ValueError, NotImplementedError):   # not iterable; a released or 2-D view
        raise WSAError(W.WSAEFAULT) from None


# ======================================================================================
# Options and control
# ======================================================================================
@_api
def setsockopt(s: int, level: int, optname: int, value: object, optlen: int | None = None) -> None:
    """``value``: an int (packed as the option's Windows type), ``(onoff, linger)`` for
    SO_LINGER, raw bytes, or None (a NULL optval)."""
    level, optname = (_to_int32(_int(v, W.WSAEINVAL)) for v in (level, optname))
    if isinstance(value, tuple) and not all(isinstance(v, int) for v in value):
        raise WSAError(W.WSAEFAULT)           # (onoff, linger) are two u_shorts
    raw = None if value is None else _sockopts.encode_value(level & 0xFFFFFFFF, optname, value)
    if optlen is None:
        optlen = len(raw) if raw is not None else 0
    optlen = _length(optlen)
    if (level & 0xFFFFFFFF, optname) == (W.SOL_SOCKET, W.SO_OPENTYPE):
        _base_provider.WSPSetSockOpt(s, W.SOL_SOCKET, optname, raw, optlen)
    else:
        s = _socket_arg(s)
        _table_for(s).WSPSetSockOpt(s, level & 0xFFFFFFFF, optname, raw, optlen)
    set_last_error(0)


@_api
def getsockopt(s: int, level: int, optname: int, optlen: int | None = None):
    """int | (onoff, linger) | WSAPROTOCOL_INFOW | bytes, by the option's Windows type."""
    level, optname = (_to_int32(_int(v, W.WSAEINVAL)) for v in (level, optname))
    level &= 0xFFFFFFFF
    optlen = _length(optlen)
    if (level, optname) == (W.SOL_SOCKET, W.SO_OPENTYPE):
        data = _base_provider.WSPGetSockOpt(s, level, optname, optlen)
    else:
        s = _socket_arg(s)
        data = _table_for(s).WSPGetSockOpt(s, level, optname, optlen)
    set_last_error(0)
    if level == W.SOL_SOCKET and optname == W.SO_PROTOCOL_INFOW:
        return WSAPROTOCOL_INFOW.from_bytes(data[:W.WSAPROTOCOL_INFOW_SIZE])
    return _sockopts.decode_value(level, optname, data)


@_api
def ioctlsocket(s: int, cmd: int, arg: int = 0) -> int:
    """FIONBIO (arg 0/1) → 0; FIONREAD → bytes readable; SIOCATMARK → 1 when no OOB is pending."""
    s = _socket_arg(s)
    cmd = _int(cmd, W.WSAEOPNOTSUPP) & 0xFFFFFFFF
    arg = _int(arg) & 0xFFFFFFFF
    out = _table_for(s).WSPIoctl(s, cmd, arg.to_bytes(4, "little"), 4, 4, None, None, None)
    return int.from_bytes(out[:4], "little") if out else 0


@_api
def WSAIoctl(s: int, code: int, inbuf: bytes | None = b"", outlen: int = 0, lpOverlapped=None,
             lpCompletionRoutine=None) -> bytes:
    s = _socket_arg(s)
    code = _int(code, W.WSAEOPNOTSUPP) & 0xFFFFFFFF
    if inbuf is not None:
        inbuf = bytes(_buffer(inbuf))
    return _table_for(s).WSPIoctl(s, code, inbuf, None if inbuf is None else len(inbuf),
                                  _to_int32(_int(outlen)), lpOverlapped, lpCompletionRoutine, None)


@_api
def select(readfds: Iterable[int] | None, writefds: Iterable[int] | None, exceptfds: Iterable[int] | None,
           timeout: float | None = None) -> tuple[list[int], list[int], list[int]]:
    """Windows select over lists of SOCKETs; ``timeout`` in seconds (None waits forever)."""
    sets = [None if fds is None else [_socket_arg(s) for s in _iterable(fds)] for fds in (readfds, writefds, exceptfds)]
    # A list is a set sized to fit (a C caller may raise FD_SETSIZE): never drop sockets.
    sets = [None if fds is None else FdSet(fds, setsize=max(len(fds), W.FD_SETSIZE)) for fds in sets]
    if timeout is not None:
        # A Windows timeval holds 32-bit seconds: what it cannot hold is no timeout.
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
                or not 0 <= timeout < 0x80000000:      # also false for nan
            raise WSAError(W.WSAEINVAL)
        whole = int(timeout)
        timeout = (whole, int(round((timeout - whole) * 1e6)))
    # ws2_32 hands the whole call to the provider of the first socket of the first set.
    first = next((fds.fd_array[0] for fds in sets if fds), None)
    table = _table_for(first) if first is not None else _base_provider
    table.WSPSelect(0, *sets, timeout)
    return tuple(list(fds) if fds is not None else [] for fds in sets)


# ======================================================================================
# Protocol catalog and addresses
# ======================================================================================
@_api
def WSAEnumProtocolsW(lpiProtocols: Iterable[int] | None = None,
                      lpdwBufferLength: int | None = None) -> list[WSAPROTOCOL_INFOW]:
    """The visible catalog entries. With ``lpdwBufferLength`` (the C buffer size) too small,
    raises WSAENOBUFS with ``.needed`` set to the bytes required (item 17)."""
    catalog = _proc.catalog or _catalog.current()
    protocols = None if lpiProtocols is None else [_int(p) for p in _iterable(lpiProtocols)]
    buffer_length = _length(lpdwBufferLength)
    found = catalog.enum_protocols(protocols)
    if buffer_length is not None and buffer_length < len(found) * W.WSAPROTOCOL_INFOW_SIZE:
        err = WSAError(W.WSAENOBUFS)
        err.needed = len(found) * W.WSAPROTOCOL_INFOW_SIZE
        raise err
    return found


WSAEnumProtocols = WSAEnumProtocolsW


@_api
def WSAAddressToStringW(addr: object, lpProtocolInfo=None, lpdwAddressStringLength: int | None = None) -> str:
    if isinstance(addr, tuple):
        from wsemu import sockaddr
        family, address = sockaddr.parse_name(addr)
        addr = sockaddr.encode(family, address)
    if addr is not None and not isinstance(addr, (bytes, bytearray, memoryview)):
        raise WSAError(W.WSAEFAULT)
    info = _check.protocol_info(lpProtocolInfo)
    return _base_provider.WSPAddressToString(addr, None, info, _length(lpdwAddressStringLength))


@_api
def WSAStringToAddressW(text: str, af: int, lpProtocolInfo=None, lpAddressLength: int | None = None) -> tuple:
    from wsemu import sockaddr
    if not isinstance(text, str):
        raise WSAError(W.WSAEINVAL)
    info = _check.protocol_info(lpProtocolInfo)
    raw = _base_provider.WSPStringToAddress(text, _to_int32(_int(af, W.WSAEINVAL)), info, _length(lpAddressLength))
    return sockaddr.decode(raw)[1]


WSAAddressToString = WSAAddressToStringW
WSAStringToAddress = WSAStringToAddressW


@_api
def WSAGETSELECTEVENT(lParam: int) -> int:
    return _int(lParam, W.WSAEINVAL) & 0xFFFF


@_api
def WSAGETSELECTERROR(lParam: int) -> int:
    return (_int(lParam, W.WSAEINVAL) >> 16) & 0xFFFF


@_api
def WSAMAKESELECTREPLY(event: int, error: int) -> int:
    return (_int(error, W.WSAEINVAL) & 0xFFFF) << 16 | (_int(event, W.WSAEINVAL) & 0xFFFF)


# ======================================================================================
# Sharing
# ======================================================================================
@_api
def WSADuplicateSocketW(s: int, dwProcessId: int) -> WSAPROTOCOL_INFOW:
    s = _socket_arg(s)
    return _table_for(s).WSPDuplicateSocket(s, _int(dwProcessId, W.WSAEINVAL))


# ======================================================================================
# Event objects and network events
# ======================================================================================
@_api
def WSACreateEvent() -> int:
    """A manual-reset event, not set: a WSAEVENT (an eventfd)."""
    return _event_objects.create()


@_api
def WSASetEvent(hEvent: int) -> bool:
    _event_objects.set(hEvent)
    return True


@_api
def WSAResetEvent(hEvent: int) -> bool:
    _event_objects.reset(hEvent)
    return True


@_api
def WSACloseEvent(hEvent: int) -> bool:
    _event_objects.close(hEvent)
    return True


@_api
def WSAWaitForMultipleEvents(events: Iterable[int], fWaitAll: bool, dwTimeout: int,
                             fAlertable: bool = False) -> int:
    """WSA_WAIT_EVENT_0 + index, or WSA_WAIT_TIMEOUT; ``dwTimeout`` in milliseconds
    (WSA_INFINITE waits for ever). Bad handles: WSA_INVALID_HANDLE; none, or more than
    WSA_MAXIMUM_WAIT_EVENTS: WSA_INVALID_PARAMETER."""
    handles = events if events.__class__ is list else _iterable(events)
    timeout = _int(dwTimeout, W.WSA_INVALID_PARAMETER) & 0xFFFFFFFF
    return _event_objects.wait(handles, bool(fWaitAll), timeout)


@_api
def WSAEventSelect(s: int, hEventObject: int, lNetworkEvents: int) -> None:
    s = _socket_arg(s)
    _table_for(s).WSPEventSelect(s, _int(hEventObject, W.WSAEINVAL), _int(lNetworkEvents, W.WSAEINVAL))
    set_last_error(0)


@_api
def WSAEnumNetworkEvents(s: int, hEventObject: int = 0) -> W.WSANETWORKEVENTS:
    s = _socket_arg(s)
    return _table_for(s).WSPEnumNetworkEvents(s, _int(hEventObject, W.WSAEINVAL))


@_api
def WSAAsyncSelect(s: int, hWnd: int, wMsg: int, lEvent: int) -> None:
    s = _socket_arg(s)
    _table_for(s).WSPAsyncSelect(s, _int(hWnd, W.WSAEINVAL), _int(wMsg, W.WSAEINVAL), _int(lEvent, W.WSAEINVAL))
    set_last_error(0)
