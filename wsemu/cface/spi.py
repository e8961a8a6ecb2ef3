"""The SPI's C tables over Python providers: libwsemu's WSPStartup (the base provider), and
wsemu_WSPStartupProvider, which starts any catalog entry's provider for a C layered provider.

Each entry below takes a Python proc table and the Windows arguments (WSABUF arrays,
SOCKADDRs, counted fd_sets, WSAPROTOCOL_INFOW, lpErrno last), calls the same entry of that
table, and writes the results back in the Windows layouts; errors go to ``*lpErrno``
(spi_boundary). The base provider's table is reached through libwsemu's fixed
``wsemu_spi_WSP*`` functions; any other Python provider's through C callbacks made for its
table (``c_table``). Overlapped arguments are handed on as given: the provider answers
WSAEOPNOTSUPP until overlapped I/O exists.
"""
from __future__ import annotations

import functools

from wsemu import abi as W
from wsemu import sockaddr
from wsemu.cface import INVALID_SOCKET, SOCKET_ERROR, _name_out, fd_set_in, fd_set_out, ffi, lib
from wsemu.cface.spi_boundary import (FALSE, NULL, buffers_in, bytes_in, code_call, guid_in, handle_in,
                                      info_in, info_out, name_in, optional, required, spi_call, spi_guard,
                                      wide_in, wide_out)
from wsemu.cface.wpu import CUpcallTable
from wsemu.errors import WSAError
from wsemu.netstate.layouts import relocate
from wsemu.spi import base as _base
from wsemu.spi.sockopts import GetResult
from wsemu.spi.table import PROC_NAMES, WSPDATA, WSPPROC_TABLE
from wsemu.spi.wselect import FdSet

_ffi = ffi()


class _Started:
    """The proc table of the base provider's last successful WSPStartup from C (libwsemu's
    fixed entries call through it)."""
    table: WSPPROC_TABLE | None = None


def _table() -> WSPPROC_TABLE:
    if _Started.table is None:
        raise WSAError(W.WSANOTINITIALISED)
    return _Started.table


# The 30 entries, by WSPPROC_TABLE name: (function of (table, *C arguments), failure value).
_ENTRIES: dict[str, tuple] = {}


def _entry(failure: object):
    def register(func):
        _ENTRIES[func.__name__] = (func, failure)
        return func
    return register


# ---------------------------------------------------------------------------------------
# WSPStartup and wsemu_WSPStartupProvider
# ---------------------------------------------------------------------------------------
def _data_out(lpWSPData, data: WSPDATA) -> None:
    lpWSPData.wVersion, lpWSPData.wHighVersion = data.wVersion, data.wHighVersion
    wide_out(lpWSPData.szDescription, W.WSPDESCRIPTION_LEN + 1, data.szDescription)


@code_call("wsemu_spi_startup")
def WSPStartup(wVersionRequested: int, lpWSPData, lpProtocolInfo, lpUpcallTable, lpProcTable) -> None:
    """Version negotiation is the provider's (2.2 only: reference/spi.md §1.1)."""
    required(lpWSPData)
    required(lpProcTable)
    data, table = _base.WSPStartup(wVersionRequested, info_in(lpProtocolInfo), CUpcallTable(lpUpcallTable))
    _data_out(lpWSPData, data)
    _Started.table = table
    for field, entry in _base_entries().items():
        setattr(lpProcTable, field, entry)


def _base_entries() -> dict:
    """lpWSP* field → libwsemu's fixed entry, as the field's own C type (cffi tells ``int``
    from ``int32_t``; the C ABI does not)."""
    fields = dict(_ffi.typeof("WSPPROC_TABLE").fields)
    return {"lp" + name: _ffi.cast(fields["lp" + name].type, _ffi.addressof(lib(), "wsemu_spi_" + name))
            for name in PROC_NAMES}


@spi_call("wsemu_spi_start_provider", SOCKET_ERROR)
def WSPStartupProvider(lpProviderId, wVersionRequested: int, lpWSPData, lpProtocolInfo, lpUpcallTable,
                       lpProcTable, lpErrno) -> int:
    """The provider of GUID ``lpProviderId`` (the transport catalog's path, as
    WSCGetProviderPath reads it), started for a C layered provider: a shared object through
    its own WSPStartup, a Python provider with C entries over its table (``c_table``)."""
    from wsemu.spi import cprovider, loader, wsc
    path = wsc.WSCGetProviderPath(guid_in(lpProviderId))
    required(lpWSPData)
    required(lpProcTable)
    if not path.startswith(loader.PYTHON_PREFIX):
        code = lib().wsemu_spi_call_startup(cprovider.open_startup(path), wVersionRequested, lpWSPData,
                                            lpProtocolInfo, lpUpcallTable, lpProcTable)
        if code:
            raise WSAError(code)
        return 0
    # (the same loaded provider ws2 uses: one "DLL" per path in the process)
    data, table = loader.start_provider(path, CUpcallTable(lpUpcallTable), info_in(lpProtocolInfo))
    _data_out(lpWSPData, data)
    _ffi.memmove(lpProcTable, c_table(table), _ffi.sizeof("WSPPROC_TABLE"))
    return 0


# Every C table made over a Python table, so its callbacks live as long as the process
# (a started provider's entries stay in use; ws2_32 never unloads one while it runs).
_c_tables: list = []


def c_table(table: WSPPROC_TABLE):
    """A C WSPPROC_TABLE whose 30 entries call ``table``'s (a missing one stays NULL)."""
    out = _ffi.new("WSPPROC_TABLE *")
    fields = dict(_ffi.typeof("WSPPROC_TABLE").fields)
    keep = [out]
    for name in PROC_NAMES:
        if not callable(getattr(table, name, None)):
            continue
        func, failure = _ENTRIES[name]
        entry = _ffi.callback(fields["lp" + name].type, spi_guard(functools.partial(func, table), failure),
                              onerror=lambda *_, failure=failure: failure)
        setattr(out, "lp" + name, entry)
        keep.append(entry)
    _c_tables.append(keep)
    return out


@_ffi.def_extern(name="wsemu_spi_ready")
def ready() -> int:
    return 1


# ---------------------------------------------------------------------------------------
# Outputs shared by several entries
# ---------------------------------------------------------------------------------------
def _address_out(name, namelen, address: tuple) -> None:
    """A provider's address tuple into the caller's SOCKADDR (its family from its form: the
    socket may be any provider's)."""
    family, address = sockaddr.parse_name(address)
    _name_out(name, namelen, family, address)


def _condition(lpfnCondition):
    """A C condition function as the Python SPI calls it (caller and callee IDs as SOCKADDR
    bytes; no connect data or QoS on TCP)."""
    if lpfnCondition == NULL:
        return None

    def ask(caller_id: bytes, _caller_data, _sqos, _gqos, callee_id: bytes, _callee_data, _g, data: int) -> int:
        caller = _ffi.from_buffer(caller_id)
        callee = _ffi.from_buffer(callee_id)
        ids = _ffi.new("WSABUF[2]", [(len(caller_id), caller), (len(callee_id), callee)])
        group = _ffi.new("GROUP *")
        return lpfnCondition(ids + 0, NULL, NULL, NULL, ids + 1, NULL, group, data)
    return ask


# ---------------------------------------------------------------------------------------
# The 30 entries (WSPPROC_TABLE order)
# ---------------------------------------------------------------------------------------
@_entry(INVALID_SOCKET)
def WSPAccept(table, s, addr, addrlen, lpfnCondition, dwCallbackData, lpErrno):
    if addr != NULL:
        required(addrlen)
    handle, address = table.WSPAccept(s, addrlen[0] if addr != NULL else None, _condition(lpfnCondition),
                                      dwCallbackData)
    if addr != NULL:
        _address_out(addr, addrlen, address)
    return handle


@_entry(SOCKET_ERROR)
def WSPAddressToString(table, lpsaAddress, dwAddressLength, lpProtocolInfo, lpszAddressString,
                       lpdwAddressStringLength, lpErrno):
    required(lpdwAddressStringLength)
    try:
        text = table.WSPAddressToString(name_in(lpsaAddress, dwAddressLength), dwAddressLength,
                                        info_in(lpProtocolInfo), lpdwAddressStringLength[0])
    except WSAError as err:
        if getattr(err, "needed", None) is not None:
            lpdwAddressStringLength[0] = err.needed     # the size the caller must supply
        raise
    lpdwAddressStringLength[0] = wide_out(lpszAddressString, lpdwAddressStringLength[0], text)
    return 0


@_entry(SOCKET_ERROR)
def WSPAsyncSelect(table, s, hWnd, wMsg, lEvent, lpErrno):
    table.WSPAsyncSelect(s, handle_in(hWnd), wMsg, lEvent)
    return 0


@_entry(SOCKET_ERROR)
def WSPBind(table, s, name, namelen, lpErrno):
    raw = name_in(name, namelen)
    table.WSPBind(s, raw, None if raw is None else len(raw))
    return 0


@_entry(SOCKET_ERROR)
def WSPCancelBlockingCall(table, lpErrno):
    table.WSPCancelBlockingCall()
    return 0


@_entry(SOCKET_ERROR)
def WSPCleanup(table, lpErrno):
    table.WSPCleanup()
    if table is _Started.table and _base.provider().startups == 0:
        _Started.table = None        # the last cleanup: the entries say WSANOTINITIALISED now
    return 0


@_entry(SOCKET_ERROR)
def WSPCloseSocket(table, s, lpErrno):
    table.WSPCloseSocket(s)
    return 0


@_entry(SOCKET_ERROR)
def WSPConnect(table, s, name, namelen, lpCallerData, lpCalleeData, lpSQOS, lpGQOS, lpErrno):
    raw = name_in(name, namelen)
    table.WSPConnect(s, raw, None if raw is None else len(raw), optional(lpCallerData),
                     optional(lpCalleeData), optional(lpSQOS), optional(lpGQOS))
    return 0


@_entry(SOCKET_ERROR)
def WSPDuplicateSocket(table, s, dwProcessId, lpProtocolInfo, lpErrno):
    required(lpProtocolInfo)
    info_out(lpProtocolInfo, table.WSPDuplicateSocket(s, dwProcessId))
    return 0


@_entry(SOCKET_ERROR)
def WSPEnumNetworkEvents(table, s, hEventObject, lpNetworkEvents, lpErrno):
    required(lpNetworkEvents)
    found = table.WSPEnumNetworkEvents(s, handle_in(hEventObject))
    lpNetworkEvents.lNetworkEvents = found.lNetworkEvents
    for bit, code in enumerate(found.iErrorCode):
        lpNetworkEvents.iErrorCode[bit] = code
    return 0


@_entry(SOCKET_ERROR)
def WSPEventSelect(table, s, hEventObject, lNetworkEvents, lpErrno):
    table.WSPEventSelect(s, handle_in(hEventObject), lNetworkEvents)
    return 0


@_entry(FALSE)
def WSPGetOverlappedResult(table, s, lpOverlapped, lpcbTransfer, fWait, lpdwFlags, lpErrno):
    table.WSPGetOverlappedResult(s, optional(lpOverlapped), bool(fWait))
    return 1


def _name_query(entry: str):
    def query(table, s, name, namelen, lpErrno):
        required(namelen)
        address = getattr(table, entry)(s, namelen[0])
        _address_out(name, namelen, address)
        return 0
    query.__name__ = entry
    return query


_entry(SOCKET_ERROR)(_name_query("WSPGetPeerName"))
_entry(SOCKET_ERROR)(_name_query("WSPGetSockName"))


@_entry(SOCKET_ERROR)
def WSPGetSockOpt(table, s, level, optname, optval, optlen, lpErrno):
    """The base provider's through its get_option (what WSPGetSockOpt returns, plus the
    length Windows reports, which is not always the data's); another provider's reports the
    length of the data its WSPGetSockOpt returns."""
    if optval == NULL or optlen == NULL:
        raise WSAError(W.WSAEFAULT)
    get_option = getattr(getattr(table.WSPGetSockOpt, "__self__", None), "get_option", None)
    try:
        if get_option is not None:
            got = get_option(s, level, optname, optlen[0])
        else:
            data = table.WSPGetSockOpt(s, level, optname, optlen[0])
            got = GetResult(data, len(data))
    except WSAError as err:
        if getattr(err, "written", None):
            _ffi.memmove(optval, err.written, min(len(err.written), max(optlen[0], 0)))
        if getattr(err, "optlen", None) is not None:
            optlen[0] = err.optlen
        raise
    _ffi.memmove(optval, got.data, len(got.data))
    optlen[0] = got.optlen
    return 0


@_entry(FALSE)
def WSPGetQOSByName(table, s, lpQOSName, lpQOS, lpErrno):
    table.WSPGetQOSByName(s, optional(lpQOSName))
    return 1


@_entry(SOCKET_ERROR)
def WSPIoctl(table, s, dwIoControlCode, lpvInBuffer, cbInBuffer, lpvOutBuffer, cbOutBuffer, lpcbBytesReturned,
             lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno):
    inbuf = bytes_in(lpvInBuffer, cbInBuffer)
    try:
        data = table.WSPIoctl(s, dwIoControlCode, inbuf, cbInBuffer, cbOutBuffer if lpvOutBuffer != NULL else 0,
                              optional(lpOverlapped), optional(lpCompletionRoutine), optional(lpThreadId))
    except WSAError as err:
        if lpcbBytesReturned != NULL and getattr(err, "bytes_returned", None) is not None:
            lpcbBytesReturned[0] = err.bytes_returned
        raise
    if data and (lpvOutBuffer == NULL or len(data) > cbOutBuffer):
        raise WSAError(W.WSAEFAULT)
    required(lpcbBytesReturned)
    if data:
        _ffi.memmove(lpvOutBuffer, relocate(dwIoControlCode, data, int(_ffi.cast("uintptr_t", lpvOutBuffer))),
                     len(data))
    lpcbBytesReturned[0] = len(data)
    return 0


@_entry(INVALID_SOCKET)
def WSPJoinLeaf(table, s, name, namelen, lpCallerData, lpCalleeData, lpSQOS, lpGQOS, dwFlags, lpErrno):
    raw = name_in(name, namelen)
    return table.WSPJoinLeaf(s, raw, None if raw is None else len(raw), optional(lpCallerData),
                             optional(lpCalleeData), optional(lpSQOS), optional(lpGQOS), dwFlags)


@_entry(SOCKET_ERROR)
def WSPListen(table, s, backlog, lpErrno):
    table.WSPListen(s, backlog)
    return 0


@_entry(SOCKET_ERROR)
def WSPRecv(table, s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpOverlapped, lpCompletionRoutine,
            lpThreadId, lpErrno):
    required(lpFlags)
    required(lpNumberOfBytesRecvd)
    received, flags = table.WSPRecv(s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, lpFlags[0],
                                    optional(lpOverlapped), optional(lpCompletionRoutine),
                                    optional(lpThreadId))
    lpNumberOfBytesRecvd[0], lpFlags[0] = received, flags
    return 0


@_entry(SOCKET_ERROR)
def WSPRecvDisconnect(table, s, lpInboundDisconnectData, lpErrno):
    table.WSPRecvDisconnect(s, optional(lpInboundDisconnectData))
    return 0


@_entry(SOCKET_ERROR)
def WSPRecvFrom(table, s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen, lpOverlapped,
                lpCompletionRoutine, lpThreadId, lpErrno):
    required(lpFlags)
    required(lpNumberOfBytesRecvd)
    if lpFrom != NULL:
        required(lpFromlen)
    received, flags, address = table.WSPRecvFrom(
        s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, lpFlags[0],
        lpFromlen[0] if lpFrom != NULL else None, optional(lpOverlapped), optional(lpCompletionRoutine),
        optional(lpThreadId))
    lpNumberOfBytesRecvd[0], lpFlags[0] = received, flags
    if lpFrom != NULL and address is not None:
        _address_out(lpFrom, lpFromlen, address)
    return 0


def _set_in(fds) -> FdSet | None:
    sockets = fd_set_in(fds)
    return None if sockets is None else FdSet.from_array(sockets)


def _set_out(fds, result: FdSet | None) -> None:
    if result is not None:
        fd_set_out(fds, result.fd_array)


@_entry(SOCKET_ERROR)
def WSPSelect(table, nfds, readfds, writefds, exceptfds, timeout, lpErrno):
    sets = [_set_in(fds) for fds in (readfds, writefds, exceptfds)]
    limit = None if timeout == NULL else (timeout.tv_sec, timeout.tv_usec)
    ready = table.WSPSelect(nfds, *sets, limit)
    for fds, result in zip((readfds, writefds, exceptfds), sets):
        _set_out(fds, result)
    return ready


@_entry(SOCKET_ERROR)
def WSPSend(table, s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpOverlapped, lpCompletionRoutine,
            lpThreadId, lpErrno):
    required(lpNumberOfBytesSent)
    sent = table.WSPSend(s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, dwFlags,
                         optional(lpOverlapped), optional(lpCompletionRoutine), optional(lpThreadId))
    lpNumberOfBytesSent[0] = sent
    return 0


@_entry(SOCKET_ERROR)
def WSPSendDisconnect(table, s, lpOutboundDisconnectData, lpErrno):
    table.WSPSendDisconnect(s, optional(lpOutboundDisconnectData))
    return 0


@_entry(SOCKET_ERROR)
def WSPSendTo(table, s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpTo, iTolen, lpOverlapped,
              lpCompletionRoutine, lpThreadId, lpErrno):
    required(lpNumberOfBytesSent)
    raw = name_in(lpTo, iTolen)
    sent = table.WSPSendTo(s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, dwFlags, raw,
                           None if raw is None else len(raw), optional(lpOverlapped),
                           optional(lpCompletionRoutine), optional(lpThreadId))
    lpNumberOfBytesSent[0] = sent
    return 0


@_entry(SOCKET_ERROR)
def WSPSetSockOpt(table, s, level, optname, optval, optlen, lpErrno):
    table.WSPSetSockOpt(s, level, optname, bytes_in(optval, optlen), optlen)
    return 0


@_entry(SOCKET_ERROR)
def WSPShutdown(table, s, how, lpErrno):
    table.WSPShutdown(s, how)
    return 0


@_entry(INVALID_SOCKET)
def WSPSocket(table, af, type_, protocol, lpProtocolInfo, g, dwFlags, lpErrno):
    return table.WSPSocket(af, type_, protocol, info_in(lpProtocolInfo), g, dwFlags)


@_entry(SOCKET_ERROR)
def WSPStringToAddress(table, AddressString, AddressFamily, lpProtocolInfo, lpAddress, lpAddressLength, lpErrno):
    required(lpAddressLength)
    try:
        raw = table.WSPStringToAddress(wide_in(AddressString), AddressFamily, info_in(lpProtocolInfo),
                                       lpAddressLength[0])
    except WSAError as err:
        if getattr(err, "needed", None) is not None:
            lpAddressLength[0] = err.needed
        raise
    if lpAddress == NULL or lpAddressLength[0] < len(raw):
        lpAddressLength[0] = len(raw)
        raise WSAError(W.WSAEFAULT)
    _ffi.memmove(lpAddress, raw, len(raw))
    lpAddressLength[0] = len(raw)
    return 0


def _bind_base_entries() -> None:
    """libwsemu's fixed wsemu_spi_WSP* functions: the entries over the base provider's table
    of the last WSPStartup from C."""
    for name, (func, failure) in _ENTRIES.items():
        _ffi.def_extern(name="wsemu_spi_" + name, onerror=lambda *_, failure=failure: failure)(
            spi_guard(lambda *args, func=func: func(_table(), *args), failure))


_bind_base_entries()
