"""Providers written in C (a catalog entry whose path is a shared object), for ws2 and for
Python layers.

``start`` dlopens the provider, calls its WSPStartup through the C ABI, as ws2_32 does
(MAKEWORD(2,2), a C WSPDATA, the entry's 628-byte WSAPROTOCOL_INFOW, and a C upcall table:
libwsemu's own WPU functions, which reach the same handle table, ``upcalls.HANDLES``, as the
Python side), and returns its 30 C entries as a Python ``WSPPROC_TABLE``: each takes the
Python SPI's arguments (the base provider's signatures, DESIGN.md §3.2), passes them in the
Windows layouts, and turns ``SOCKET_ERROR`` + ``*lpErrno`` back into ``WSAError``.

The C types and calls come from libwsemu itself: a Python process that has not loaded it
loads it here, and its embedded Python side then runs in this interpreter (cffi embedding
uses the running one), so ws2 and the provider share every table.
"""
from __future__ import annotations

import ctypes
import os
import threading
from typing import Callable

from wsemu import abi as W
from wsemu import sockaddr
from wsemu.errors import WSAError
from wsemu.netstate import layouts
from wsemu.spi.table import PROC_NAMES, WSPDATA, WSPPROC_TABLE

_UNTOUCHED = 0xFFFFFFFF          # a count no ioctl answers (4 GiB)

INVALID_SOCKET = W.INVALID_SOCKET
SOCKET_ERROR = W.SOCKET_ERROR
_OPTION_MAX = 1024         # buffer for a getsockopt without a length (WSAPROTOCOL_INFOW is 628)
_STRING_MAX = 256          # WCHARs for an address string without a length (an IPv6 one is < 64)

_load_lock = threading.Lock()
_startups: dict[str, object] = {}    # path → its WSPStartup (one dlopen per provider path)


def _face():
    """libwsemu's ffi and lib, its Python side started in this process."""
    from wsemu import cface
    if cface.ffi() is None:
        with _load_lock:
            if cface.ffi() is None:
                from wsemu.cli import LIB_DIR
                ctypes.CDLL(os.path.join(LIB_DIR, "libwsemu.so")).wsemu_spi_ready()
    return cface.ffi(), cface.lib()


def open_startup(path: str):
    """The WSPStartup of the shared object at ``path`` (loaded once); a library that does
    not load or exports none: WSAEPROVIDERFAILEDINIT, as ws2_32's LoadLibrary/GetProcAddress."""
    startup = _startups.get(path)
    if startup is None:
        ffi, lib = _face()
        with _load_lock:
            startup = _startups.get(path)
            if startup is None:
                why = ffi.new("char[512]")
                startup = lib.wsemu_spi_open_provider(path.encode(), why, len(why))
                if startup == ffi.NULL:
                    raise WSAError(W.WSAEPROVIDERFAILEDINIT,
                                   f"provider {path} cannot be loaded: {ffi.string(why).decode(errors='replace')}")
                _startups[path] = startup
    return startup


def start(path: str, wVersionRequested: int, lpProtocolInfo: W.WSAPROTOCOL_INFOW,
          upcalls: object = None) -> tuple[WSPDATA, WSPPROC_TABLE]:
    """WSPStartup of the C provider at ``path`` → its WSPDATA and its table as the Python SPI.

    The provider gets libwsemu's upcall table whatever ``upcalls`` is (the upcalls that can
    reach C are those; they are ws2's own). Its error code is raised as WSAError; the
    returned version and a NULL entry (None in the table) are for the caller to judge (the
    loader: WSAEINVALIDPROVIDER, WSAEINVALIDPROCTABLE)."""
    ffi, lib = _face()
    startup = open_startup(path)
    data = ffi.new("WSPDATA *")
    info = ffi.new("WSAPROTOCOL_INFOW *")
    ffi.memmove(info, bytes(lpProtocolInfo), ffi.sizeof("WSAPROTOCOL_INFOW"))
    table = ffi.new("WSPPROC_TABLE *")
    upcall_table = ffi.new("WSPUPCALLTABLE *", lib.wsemu_upcall_table())
    code = lib.wsemu_spi_call_startup(startup, wVersionRequested & 0xFFFF, data, info, upcall_table, table)
    if code:
        raise WSAError(code)
    description = ffi.string(ffi.cast("char16_t *", data.szDescription), 256) if data.szDescription[0] else ""
    return WSPDATA(data.wVersion, data.wHighVersion, description), CTable(table[0]).python_table()


class CTable:
    """A C WSPPROC_TABLE's entries as the Python SPI."""

    def __init__(self, table) -> None:
        self.ffi, _ = _face()
        self.c = self.ffi.new("WSPPROC_TABLE *", table)      # our copy: the caller's may go
        self._errno = threading.local()

    def python_table(self) -> WSPPROC_TABLE:
        out = WSPPROC_TABLE()
        for name in PROC_NAMES:
            present = getattr(self.c, "lp" + name) != self.ffi.NULL
            setattr(out, name, _guarded(getattr(self, name)) if present else None)
        return out

    # -- calling ---------------------------------------------------------------------------
    def _call(self, name: str, failure: int, *args) -> int:
        """The C entry with ``args`` and lpErrno; its failure value raises *lpErrno (0 is
        WSASYSCALLFAILURE, as ws2_32 maps it)."""
        err = getattr(self._errno, "cell", None)
        if err is None:
            err = self._errno.cell = self.ffi.new("int32_t *")
        err[0] = 0
        result = getattr(self.c, "lp" + name)(*args, err)
        if result == failure:
            raise WSAError(err[0] or W.WSASYSCALLFAILURE)
        return result

    def _pointer(self, value, ctype: str):
        """An optional C pointer argument the Python SPI passes on: None is NULL, a cdata
        pointer goes as it is; anything else cannot be a C pointer (WSAEFAULT)."""
        if value is None:
            return self.ffi.NULL
        if isinstance(value, self.ffi.CData):
            return self.ffi.cast(ctype, value)
        raise WSAError(W.WSAEFAULT)

    def _info(self, info: W.WSAPROTOCOL_INFOW | bytes | None):
        if info is None:
            return self.ffi.NULL
        out = self.ffi.new("WSAPROTOCOL_INFOW *")
        raw = bytes(info)
        if len(raw) != W.WSAPROTOCOL_INFOW_SIZE:
            raise WSAError(W.WSAEFAULT)
        self.ffi.memmove(out, raw, len(raw))
        return out

    def _name(self, name: object, namelen: int | None):
        """A SOCKADDR argument: bytes as given (length default: theirs), a Python address
        tuple encoded; None is NULL with length 0."""
        if name is None:
            return self.ffi.NULL, namelen or 0
        if isinstance(name, tuple):
            family, address = sockaddr.parse_name(name)
            name = sockaddr.encode(family, address)
        if not isinstance(name, (bytes, bytearray, memoryview)):
            raise WSAError(W.WSAEFAULT)
        raw = bytes(name)
        return self.ffi.new("char[]", raw or b"\0"), len(raw) if namelen is None else namelen

    def _buffers(self, lpBuffers, dwBufferCount: int | None, writable: bool):
        """The Python SPI's buffer list as a WSABUF array (the C side reads and writes the
        caller's own memory) and the count to pass."""
        if lpBuffers is None:
            return self.ffi.NULL, dwBufferCount or 0, ()
        try:
            views = list(lpBuffers)
        except TypeError:
            raise WSAError(W.WSAEFAULT) from None
        count = len(views) if dwBufferCount is None else dwBufferCount
        if not 0 <= count <= len(views):
            raise WSAError(W.WSAEFAULT)
        array = self.ffi.new("WSABUF[]", max(count, 1))
        keep = []
        for i, view in enumerate(views[:count]):
            try:
                data = self.ffi.from_buffer(view, require_writable=writable)
            except TypeError:
                raise WSAError(W.WSAEFAULT) from None
            keep.append(data)
            array[i].len, array[i].buf = len(data), self.ffi.cast("char *", data)
        return array, count, keep

    def _address_out(self, raw, length: int) -> tuple | None:
        if length <= 0:
            return None
        return sockaddr.decode(bytes(self.ffi.buffer(raw, min(length, self.ffi.sizeof(raw[0])))))[1]

    def _condition(self, condition: Callable | None):
        """A Python condition function as the C LPCONDITIONPROC the provider calls (the
        caller and callee IDs as SOCKADDR bytes, as the base provider passes them)."""
        if condition is None:
            return self.ffi.NULL

        def ask(caller_id, caller_data, sqos, gqos, callee_id, callee_data, g, data):
            ids = [bytes(self.ffi.buffer(b.buf, b.len)) if b != self.ffi.NULL else None
                   for b in (caller_id, callee_id)]
            return condition(ids[0], None, None, None, ids[1], None, 0, data)
        return self.ffi.callback("LPCONDITIONPROC", ask, error=W.CF_REJECT)

    # -- the 30 entries (WSPPROC_TABLE order; the base provider's Python signatures) ---------
    def WSPAccept(self, s: int, addrlen: int | None = None, lpfnCondition: Callable | None = None,
                  dwCallbackData: int = 0) -> tuple[int, tuple | None]:
        raw = self.ffi.new("struct WS_sockaddr_storage *")
        length = self.ffi.new("int32_t *", self.ffi.sizeof(raw[0]) if addrlen is None else addrlen)
        condition = self._condition(lpfnCondition)
        handle = self._call("WSPAccept", INVALID_SOCKET, s, self.ffi.cast("struct WS_sockaddr *", raw), length,
                            condition, dwCallbackData)
        return handle, self._address_out(raw, length[0])

    def WSPAddressToString(self, lpsaAddress: bytes, dwAddressLength: int | None = None, lpProtocolInfo=None,
                           lpdwAddressStringLength: int | None = None) -> str:
        name, namelen = self._name(lpsaAddress, dwAddressLength)
        capacity = _STRING_MAX if lpdwAddressStringLength is None else lpdwAddressStringLength
        text = self.ffi.new("uint16_t[]", max(capacity, 1))
        length = self.ffi.new("uint32_t *", capacity)
        try:
            self._call("WSPAddressToString", SOCKET_ERROR, self.ffi.cast("struct WS_sockaddr *", name), namelen,
                       self._info(lpProtocolInfo), text, length)
        except WSAError as err:
            if err.winerror == W.WSAEFAULT and length[0] > capacity:
                err.needed = length[0]        # the size the caller must supply
            raise
        return self.ffi.string(self.ffi.cast("char16_t *", text), max(length[0] - 1, 0))

    def WSPAsyncSelect(self, s: int, hWnd: int, wMsg: int, lEvent: int) -> None:
        self._call("WSPAsyncSelect", SOCKET_ERROR, s, self.ffi.cast("HWND", hWnd), wMsg, lEvent)

    def WSPBind(self, s: int, name: object, namelen: int | None = None) -> None:
        raw, length = self._name(name, namelen)
        self._call("WSPBind", SOCKET_ERROR, s, self.ffi.cast("struct WS_sockaddr *", raw), length)

    def WSPCancelBlockingCall(self) -> None:
        self._call("WSPCancelBlockingCall", SOCKET_ERROR)

    def WSPCleanup(self) -> None:
        self._call("WSPCleanup", SOCKET_ERROR)

    def WSPCloseSocket(self, s: int) -> None:
        self._call("WSPCloseSocket", SOCKET_ERROR, s)

    def WSPConnect(self, s: int, name: object, namelen: int | None = None, lpCallerData=None,
                   lpCalleeData=None, lpSQOS=None, lpGQOS=None) -> None:
        raw, length = self._name(name, namelen)
        self._call("WSPConnect", SOCKET_ERROR, s, self.ffi.cast("struct WS_sockaddr *", raw), length,
                   self._pointer(lpCallerData, "WSABUF *"), self._pointer(lpCalleeData, "WSABUF *"),
                   self._pointer(lpSQOS, "QOS *"), self._pointer(lpGQOS, "QOS *"))

    def WSPDuplicateSocket(self, s: int, dwProcessId: int) -> W.WSAPROTOCOL_INFOW:
        info = self.ffi.new("WSAPROTOCOL_INFOW *")
        self._call("WSPDuplicateSocket", SOCKET_ERROR, s, dwProcessId, info)
        return W.WSAPROTOCOL_INFOW.from_bytes(self.ffi.buffer(info))

    def WSPEnumNetworkEvents(self, s: int, hEventObject: int = 0) -> W.WSANETWORKEVENTS:
        found = self.ffi.new("WSANETWORKEVENTS *")
        self._call("WSPEnumNetworkEvents", SOCKET_ERROR, s, self.ffi.cast("WSAEVENT", hEventObject), found)
        return W.WSANETWORKEVENTS(found.lNetworkEvents, list(found.iErrorCode))

    def WSPEventSelect(self, s: int, hEventObject: int, lNetworkEvents: int) -> None:
        self._call("WSPEventSelect", SOCKET_ERROR, s, self.ffi.cast("WSAEVENT", hEventObject), lNetworkEvents)

    def WSPGetOverlappedResult(self, s: int, lpOverlapped, fWait: bool = False) -> tuple[int, int]:
        """→ (bytes transferred, flags)."""
        transferred, flags = self.ffi.new("uint32_t *"), self.ffi.new("uint32_t *")
        self._call("WSPGetOverlappedResult", 0, s, self._pointer(lpOverlapped, "WSAOVERLAPPED *"), transferred,
                   int(bool(fWait)), flags)
        return transferred[0], flags[0]

    def _name_query(self, entry: str, s: int, namelen: int | None) -> tuple:
        raw = self.ffi.new("struct WS_sockaddr_storage *")
        length = self.ffi.new("int32_t *", self.ffi.sizeof(raw[0]) if namelen is None else namelen)
        self._call(entry, SOCKET_ERROR, s, self.ffi.cast("struct WS_sockaddr *", raw), length)
        return self._address_out(raw, length[0])

    def WSPGetPeerName(self, s: int, namelen: int | None = None) -> tuple:
        return self._name_query("WSPGetPeerName", s, namelen)

    def WSPGetSockName(self, s: int, namelen: int | None = None) -> tuple:
        return self._name_query("WSPGetSockName", s, namelen)

    def WSPGetSockOpt(self, s: int, level: int, optname: int, optlen: int | None = None) -> bytes:
        capacity = _OPTION_MAX if optlen is None else optlen
        value = self.ffi.new("char[]", max(capacity, 1))
        length = self.ffi.new("int32_t *", capacity)
        try:
            self._call("WSPGetSockOpt", SOCKET_ERROR, s, level, optname, value, length)
        except WSAError as err:
            err.optlen = length[0]
            raise
        return bytes(self.ffi.buffer(value, max(0, min(length[0], len(value)))))

    def WSPGetQOSByName(self, s: int, lpQOSName=None) -> None:
        self._call("WSPGetQOSByName", 0, s, self._pointer(lpQOSName, "WSABUF *"), self.ffi.NULL)

    def WSPIoctl(self, s: int, dwIoControlCode: int, lpvInBuffer: bytes | None = None,
                 cbInBuffer: int | None = None, cbOutBuffer: int = 0, lpOverlapped=None,
                 lpCompletionRoutine=None, lpThreadId=None) -> bytes:
        inbuf = self.ffi.NULL if lpvInBuffer is None else self.ffi.from_buffer(lpvInBuffer)
        if cbInBuffer is None:
            cbInBuffer = 0 if lpvInBuffer is None else len(inbuf)
        outbuf = self.ffi.new("char[]", cbOutBuffer) if cbOutBuffer else self.ffi.NULL
        # A failure may leave the count alone (the app's own counter goes down the chain on
        # Windows): a value the provider did not write is reported as none.
        returned = self.ffi.new("uint32_t *", _UNTOUCHED)
        try:
            self._call("WSPIoctl", SOCKET_ERROR, s, dwIoControlCode & 0xFFFFFFFF, inbuf, cbInBuffer, outbuf,
                       cbOutBuffer, returned, self._pointer(lpOverlapped, "WSAOVERLAPPED *"),
                       self._pointer(lpCompletionRoutine, "LPWSAOVERLAPPED_COMPLETION_ROUTINE"),
                       self._pointer(lpThreadId, "WSATHREADID *"))
        except WSAError as err:
            err.bytes_returned = None if returned[0] == _UNTOUCHED else returned[0]
            raise
        if not cbOutBuffer:
            return b""
        data = bytes(self.ffi.buffer(outbuf, min(returned[0], cbOutBuffer)))
        # (pointers into our buffer become offsets again, as the Python SPI gives them)
        return layouts.relocate(dwIoControlCode & 0xFFFFFFFF, data, -int(self.ffi.cast("uintptr_t", outbuf)))

    def WSPJoinLeaf(self, s: int, name: object, namelen: int | None = None, lpCallerData=None,
                    lpCalleeData=None, lpSQOS=None, lpGQOS=None, dwFlags: int = 0) -> int:
        raw, length = self._name(name, namelen)
        return self._call("WSPJoinLeaf", INVALID_SOCKET, s, self.ffi.cast("struct WS_sockaddr *", raw), length,
                          self._pointer(lpCallerData, "WSABUF *"), self._pointer(lpCalleeData, "WSABUF *"),
                          self._pointer(lpSQOS, "QOS *"), self._pointer(lpGQOS, "QOS *"), dwFlags)

    def WSPListen(self, s: int, backlog: int) -> None:
        self._call("WSPListen", SOCKET_ERROR, s, backlog)

    def WSPRecv(self, s: int, lpBuffers, dwBufferCount: int | None = None, lpFlags: int = 0,
                lpOverlapped=None, lpCompletionRoutine=None, lpThreadId=None) -> tuple[int, int]:
        array, count, _keep = self._buffers(lpBuffers, dwBufferCount, writable=True)
        received, flags = self.ffi.new("uint32_t *"), self.ffi.new("uint32_t *", lpFlags)
        self._call("WSPRecv", SOCKET_ERROR, s, array, count, received, flags,
                   self._pointer(lpOverlapped, "WSAOVERLAPPED *"),
                   self._pointer(lpCompletionRoutine, "LPWSAOVERLAPPED_COMPLETION_ROUTINE"),
                   self._pointer(lpThreadId, "WSATHREADID *"))
        return received[0], flags[0]

    def WSPRecvDisconnect(self, s: int, lpInboundDisconnectData=None) -> None:
        self._call("WSPRecvDisconnect", SOCKET_ERROR, s, self._pointer(lpInboundDisconnectData, "WSABUF *"))

    def WSPRecvFrom(self, s: int, lpBuffers, dwBufferCount: int | None = None, lpFlags: int = 0,
                    lpFromlen: int | None = None, lpOverlapped=None, lpCompletionRoutine=None,
                    lpThreadId=None) -> tuple[int, int, tuple | None]:
        array, count, _keep = self._buffers(lpBuffers, dwBufferCount, writable=True)
        received, flags = self.ffi.new("uint32_t *"), self.ffi.new("uint32_t *", lpFlags)
        raw = self.ffi.new("struct WS_sockaddr_storage *")
        length = self.ffi.new("int32_t *", self.ffi.sizeof(raw[0]) if lpFromlen is None else lpFromlen)
        self._call("WSPRecvFrom", SOCKET_ERROR, s, array, count, received, flags,
                   self.ffi.cast("struct WS_sockaddr *", raw), length,
                   self._pointer(lpOverlapped, "WSAOVERLAPPED *"),
                   self._pointer(lpCompletionRoutine, "LPWSAOVERLAPPED_COMPLETION_ROUTINE"),
                   self._pointer(lpThreadId, "WSATHREADID *"))
        return received[0], flags[0], self._address_out(raw, length[0])

    def WSPSelect(self, nfds: int, readfds, writefds, exceptfds, timeout) -> int:
        """The FdSets (or None) go as counted C fd_sets and come back rewritten in place."""
        sets = [self._fd_set(fds) for fds in (readfds, writefds, exceptfds)]
        limit = self.ffi.NULL if timeout is None else self.ffi.new("struct WS_timeval *", tuple(timeout))
        ready = self._call("WSPSelect", SOCKET_ERROR, nfds, *sets, limit)
        for fds, c_set in zip((readfds, writefds, exceptfds), sets):
            if fds is not None:
                fds.fd_array = list(c_set.fd_array[0:c_set.fd_count])
        return ready

    def _fd_set(self, fds):
        if fds is None:
            return self.ffi.NULL
        sockets = list(getattr(fds, "fd_array", ()))
        if len(sockets) > W.FD_SETSIZE:
            raise WSAError(W.WSAEINVAL)       # no C fd_set of this build holds more
        return self.ffi.new("WS_fd_set *", (len(sockets), sockets))

    def WSPSend(self, s: int, lpBuffers, dwBufferCount: int | None = None, dwFlags: int = 0,
                lpOverlapped=None, lpCompletionRoutine=None, lpThreadId=None) -> int:
        array, count, _keep = self._buffers(lpBuffers, dwBufferCount, writable=False)
        sent = self.ffi.new("uint32_t *")
        self._call("WSPSend", SOCKET_ERROR, s, array, count, sent, dwFlags,
                   self._pointer(lpOverlapped, "WSAOVERLAPPED *"),
                   self._pointer(lpCompletionRoutine, "LPWSAOVERLAPPED_COMPLETION_ROUTINE"),
                   self._pointer(lpThreadId, "WSATHREADID *"))
        return sent[0]

    def WSPSendDisconnect(self, s: int, lpOutboundDisconnectData=None) -> None:
        self._call("WSPSendDisconnect", SOCKET_ERROR, s, self._pointer(lpOutboundDisconnectData, "WSABUF *"))

    def WSPSendTo(self, s: int, lpBuffers, dwBufferCount: int | None = None, dwFlags: int = 0,
                  lpTo: object = None, iTolen: int | None = None, lpOverlapped=None,
                  lpCompletionRoutine=None, lpThreadId=None) -> int:
        array, count, _keep = self._buffers(lpBuffers, dwBufferCount, writable=False)
        raw, length = self._name(lpTo, iTolen)
        sent = self.ffi.new("uint32_t *")
        self._call("WSPSendTo", SOCKET_ERROR, s, array, count, sent, dwFlags,
                   self.ffi.cast("struct WS_sockaddr *", raw), length,
                   self._pointer(lpOverlapped, "WSAOVERLAPPED *"),
                   self._pointer(lpCompletionRoutine, "LPWSAOVERLAPPED_COMPLETION_ROUTINE"),
                   self._pointer(lpThreadId, "WSATHREADID *"))
        return sent[0]

    def WSPSetSockOpt(self, s: int, level: int, optname: int, optval: bytes | None,
                      optlen: int | None = None) -> None:
        value = self.ffi.NULL if optval is None else self.ffi.from_buffer(optval)
        length = (0 if optval is None else len(value)) if optlen is None else optlen
        self._call("WSPSetSockOpt", SOCKET_ERROR, s, level, optname, self.ffi.cast("char *", value), length)

    def WSPShutdown(self, s: int, how: int) -> None:
        self._call("WSPShutdown", SOCKET_ERROR, s, how)

    def WSPSocket(self, af: int, type: int, protocol: int, lpProtocolInfo: W.WSAPROTOCOL_INFOW | None,
                  g: int = 0, dwFlags: int = 0) -> int:
        return self._call("WSPSocket", INVALID_SOCKET, af, type, protocol, self._info(lpProtocolInfo), g, dwFlags)

    def WSPStringToAddress(self, AddressString: str, AddressFamily: int, lpProtocolInfo=None,
                           lpAddressLength: int | None = None) -> bytes:
        if not isinstance(AddressString, str):
            raise WSAError(W.WSAEINVAL)
        text = self.ffi.new("uint16_t[]", _utf16_units(AddressString) + [0])
        raw = self.ffi.new("struct WS_sockaddr_storage *")
        capacity = self.ffi.sizeof(raw[0]) if lpAddressLength is None else lpAddressLength
        length = self.ffi.new("int32_t *", capacity)
        try:
            self._call("WSPStringToAddress", SOCKET_ERROR, text, AddressFamily, self._info(lpProtocolInfo),
                       self.ffi.cast("struct WS_sockaddr *", raw), length)
        except WSAError as err:
            if err.winerror == W.WSAEFAULT and length[0] > capacity:
                err.needed = length[0]
            raise
        return bytes(self.ffi.buffer(raw, min(length[0], self.ffi.sizeof(raw[0]))))


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(raw[i:i + 2], "little") for i in range(0, len(raw), 2)]


def _guarded(entry: Callable) -> Callable:
    """A C entry as the Python SPI: a value C cannot take (out of range, wrong type) is the
    caller's bad argument, WSAEFAULT, never a Python error escaping to the application."""
    def call(*args, **kwargs):
        try:
            return entry(*args, **kwargs)
        except (OverflowError, TypeError, ValueError):
            raise WSAError(W.WSAEFAULT) from None
    call.__name__ = call.__qualname__ = entry.__name__
    return call
