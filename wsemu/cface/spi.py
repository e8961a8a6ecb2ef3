"""WSPStartup from C, and the base provider's 30 entries its WSPPROC_TABLE points to.

Each ``wsemu_spi_WSP*`` function takes the Windows arguments (WSABUF arrays, SOCKADDRs,
counted fd_sets, WSAPROTOCOL_INFOW, lpErrno last), calls the same entry of the base
provider's Python proc table (``wsemu.spi.base``), and writes the results back in the
Windows layouts; errors go to ``*lpErrno`` (spi_boundary). Overlapped arguments are handed on
as given: the provider answers WSAEOPNOTSUPP until overlapped I/O exists.
"""
from __future__ import annotations

from wsemu import abi as W
from wsemu.cface import INVALID_SOCKET, SOCKET_ERROR, _name_out, fd_set_in, fd_set_out, ffi, lib
from wsemu.cface.spi_boundary import (FALSE, NULL, buffers_in, bytes_in, code_call, handle_in,
                                      info_in, info_out, name_in, optional, required, spi_call,
                                      wide_in, wide_out)
from wsemu.cface.wpu import CUpcallTable
from wsemu.errors import WSAError
from wsemu.spi import base as _base
from wsemu.spi.table import PROC_NAMES, WSPPROC_TABLE
from wsemu.spi.wselect import FdSet

_ffi = ffi()


class _Started:
    """The proc table of the last successful WSPStartup (the entries call through it)."""
    table: WSPPROC_TABLE | None = None


def _table() -> WSPPROC_TABLE:
    if _Started.table is None:
        raise WSAError(W.WSANOTINITIALISED)
    return _Started.table


# ---------------------------------------------------------------------------------------
# WSPStartup
# ---------------------------------------------------------------------------------------
@code_call("wsemu_spi_startup")
def WSPStartup(wVersionRequested: int, lpWSPData, lpProtocolInfo, lpUpcallTable, lpProcTable) -> None:
    """Version negotiation is the provider's (2.2 only: reference/spi.md §1.1)."""
    required(lpWSPData)
    required(lpProcTable)
    data, table = _base.WSPStartup(wVersionRequested, info_in(lpProtocolInfo), CUpcallTable(lpUpcallTable))
    lpWSPData.wVersion, lpWSPData.wHighVersion = data.wVersion, data.wHighVersion
    wide_out(lpWSPData.szDescription, W.WSPDESCRIPTION_LEN + 1, data.szDescription)
    _Started.table = table
    for field, entry in _entries().items():
        setattr(lpProcTable, field, entry)


def _entries() -> dict:
    """lpWSP* field → this module's entry, as the field's own C type (cffi tells ``int``
    from ``int32_t``; the C ABI does not)."""
    fields = dict(_ffi.typeof("WSPPROC_TABLE").fields)
    return {"lp" + name: _ffi.cast(fields["lp" + name].type, _ffi.addressof(lib(), "wsemu_spi_" + name))
            for name in PROC_NAMES}


# ---------------------------------------------------------------------------------------
# Outputs shared by several entries
# ---------------------------------------------------------------------------------------
def _family(s: int) -> int:
    return _base.provider().lookup(s).family


def _address_out(s: int, name, namelen, address: tuple) -> None:
    _name_out(name, namelen, _family(s), address)


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
@spi_call("wsemu_spi_WSPAccept", INVALID_SOCKET)
def WSPAccept(s, addr, addrlen, lpfnCondition, dwCallbackData, lpErrno):
    if addr != NULL:
        required(addrlen)
    handle, address = _table().WSPAccept(s, addrlen[0] if addr != NULL else None, _condition(lpfnCondition),
                                         dwCallbackData)
    if addr != NULL:
        _address_out(handle, addr, addrlen, address)
    return handle


@spi_call("wsemu_spi_WSPAddressToString", SOCKET_ERROR)
def WSPAddressToString(lpsaAddress, dwAddressLength, lpProtocolInfo, lpszAddressString,
                       lpdwAddressStringLength, lpErrno):
    required(lpdwAddressStringLength)
    try:
        text = _table().WSPAddressToString(name_in(lpsaAddress, dwAddressLength), dwAddressLength,
                                           info_in(lpProtocolInfo), lpdwAddressStringLength[0])
    except WSAError as err:
        if getattr(err, "needed", None) is not None:
            lpdwAddressStringLength[0] = err.needed     # the size the caller must supply
        raise
    lpdwAddressStringLength[0] = wide_out(lpszAddressString, lpdwAddressStringLength[0], text)
    return 0


@spi_call("wsemu_spi_WSPAsyncSelect", SOCKET_ERROR)
def WSPAsyncSelect(s, hWnd, wMsg, lEvent, lpErrno):
    _table().WSPAsyncSelect(s, handle_in(hWnd), wMsg, lEvent)
    return 0


@spi_call("wsemu_spi_WSPBind", SOCKET_ERROR)
def WSPBind(s, name, namelen, lpErrno):
    raw = name_in(name, namelen)
    _table().WSPBind(s, raw, None if raw is None else len(raw))
    return 0


@spi_call("wsemu_spi_WSPCancelBlockingCall", SOCKET_ERROR)
def WSPCancelBlockingCall(lpErrno):
    _table().WSPCancelBlockingCall()
    return 0


@spi_call("wsemu_spi_WSPCleanup", SOCKET_ERROR)
def WSPCleanup(lpErrno):
    _table().WSPCleanup()
    if _base.provider().startups == 0:
        _Started.table = None        # the last cleanup: the entries say WSANOTINITIALISED now
    return 0


@spi_call("wsemu_spi_WSPCloseSocket", SOCKET_ERROR)
def WSPCloseSocket(s, lpErrno):
    _table().WSPCloseSocket(s)
    return 0


@spi_call("wsemu_spi_WSPConnect", SOCKET_ERROR)
def WSPConnect(s, name, namelen, lpCallerData, lpCalleeData, lpSQOS, lpGQOS, lpErrno):
    raw = name_in(name, namelen)
    _table().WSPConnect(s, raw, None if raw is None else len(raw), optional(lpCallerData),
                        optional(lpCalleeData), optional(lpSQOS), optional(lpGQOS))
    return 0


@spi_call("wsemu_spi_WSPDuplicateSocket", SOCKET_ERROR)
def WSPDuplicateSocket(s, dwProcessId, lpProtocolInfo, lpErrno):
    required(lpProtocolInfo)
    info_out(lpProtocolInfo, _table().WSPDuplicateSocket(s, dwProcessId))
    return 0


@spi_call("wsemu_spi_WSPEnumNetworkEvents", SOCKET_ERROR)
def WSPEnumNetworkEvents(s, hEventObject, lpNetworkEvents, lpErrno):
    required(lpNetworkEvents)
    found = _table().WSPEnumNetworkEvents(s, handle_in(hEventObject))
    lpNetworkEvents.lNetworkEvents = found.lNetworkEvents
    for bit, code in enumerate(found.iErrorCode):
        lpNetworkEvents.iErrorCode[bit] = code
    return 0


@spi_call("wsemu_spi_WSPEventSelect", SOCKET_ERROR)
def WSPEventSelect(s, hEventObject, lNetworkEvents, lpErrno):
    _table().WSPEventSelect(s, handle_in(hEventObject), lNetworkEvents)
    return 0


@spi_call("wsemu_spi_WSPGetOverlappedResult", FALSE)
def WSPGetOverlappedResult(s, lpOverlapped, lpcbTransfer, fWait, lpdwFlags, lpErrno):
    _table().WSPGetOverlappedResult(s, optional(lpOverlapped), bool(fWait))
    return 1


def _name_query(entry: str):
    def query(s, name, namelen, lpErrno):
        required(namelen)
        address = getattr(_table(), entry)(s, namelen[0])
        _address_out(s, name, namelen, address)
        return 0
    return query


spi_call("wsemu_spi_WSPGetPeerName", SOCKET_ERROR)(_name_query("WSPGetPeerName"))
spi_call("wsemu_spi_WSPGetSockName", SOCKET_ERROR)(_name_query("WSPGetSockName"))


@spi_call("wsemu_spi_WSPGetSockOpt", SOCKET_ERROR)
def WSPGetSockOpt(s, level, optname, optval, optlen, lpErrno):
    """Through the provider's get_option (what WSPGetSockOpt returns, plus the length
    Windows reports, which is not always the data's)."""
    if optval == NULL or optlen == NULL:
        raise WSAError(W.WSAEFAULT)
    _table()                                    # (started)
    try:
        got = _base.provider().get_option(s, level, optname, optlen[0])
    except WSAError as err:
        if getattr(err, "written", None):
            _ffi.memmove(optval, err.written, min(len(err.written), max(optlen[0], 0)))
        if getattr(err, "optlen", None) is not None:
            optlen[0] = err.optlen
        raise
    _ffi.memmove(optval, got.data, len(got.data))
    optlen[0] = got.optlen
    return 0


@spi_call("wsemu_spi_WSPGetQOSByName", FALSE)
def WSPGetQOSByName(s, lpQOSName, lpQOS, lpErrno):
    _table().WSPGetQOSByName(s, optional(lpQOSName))
    return 1


@spi_call("wsemu_spi_WSPIoctl", SOCKET_ERROR)
def WSPIoctl(s, dwIoControlCode, lpvInBuffer, cbInBuffer, lpvOutBuffer, cbOutBuffer, lpcbBytesReturned,
             lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno):
    inbuf = bytes_in(lpvInBuffer, cbInBuffer)
    try:
        data = _table().WSPIoctl(s, dwIoControlCode, inbuf, cbInBuffer, cbOutBuffer if lpvOutBuffer != NULL else 0,
                                 optional(lpOverlapped), optional(lpCompletionRoutine), optional(lpThreadId))
    except WSAError as err:
        if lpcbBytesReturned != NULL and getattr(err, "bytes_returned", None) is not None:
            lpcbBytesReturned[0] = err.bytes_returned
        raise
    if data and (lpvOutBuffer == NULL or len(data) > cbOutBuffer):
        raise WSAError(W.WSAEFAULT)
    required(lpcbBytesReturned)
    if data:
        _ffi.memmove(lpvOutBuffer, data, len(data))
    lpcbBytesReturned[0] = len(data)
    return 0


@spi_call("wsemu_spi_WSPJoinLeaf", INVALID_SOCKET)
def WSPJoinLeaf(s, name, namelen, lpCallerData, lpCalleeData, lpSQOS, lpGQOS, dwFlags, lpErrno):
    raw = name_in(name, namelen)
    return _table().WSPJoinLeaf(s, raw, None if raw is None else len(raw), optional(lpCallerData),
                                optional(lpCalleeData), optional(lpSQOS), optional(lpGQOS), dwFlags)


@spi_call("wsemu_spi_WSPListen", SOCKET_ERROR)
def WSPListen(s, backlog, lpErrno):
    _table().WSPListen(s, backlog)
    return 0


@spi_call("wsemu_spi_WSPRecv", SOCKET_ERROR)
def WSPRecv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpOverlapped, lpCompletionRoutine,
            lpThreadId, lpErrno):
    required(lpFlags)
    required(lpNumberOfBytesRecvd)
    received, flags = _table().WSPRecv(s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, lpFlags[0],
                                       optional(lpOverlapped), optional(lpCompletionRoutine),
                                       optional(lpThreadId))
    lpNumberOfBytesRecvd[0], lpFlags[0] = received, flags
    return 0


@spi_call("wsemu_spi_WSPRecvDisconnect", SOCKET_ERROR)
def WSPRecvDisconnect(s, lpInboundDisconnectData, lpErrno):
    _table().WSPRecvDisconnect(s, optional(lpInboundDisconnectData))
    return 0


@spi_call("wsemu_spi_WSPRecvFrom", SOCKET_ERROR)
def WSPRecvFrom(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen, lpOverlapped,
                lpCompletionRoutine, lpThreadId, lpErrno):
    required(lpFlags)
    required(lpNumberOfBytesRecvd)
    if lpFrom != NULL:
        required(lpFromlen)
    received, flags, address = _table().WSPRecvFrom(
        s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, lpFlags[0],
        lpFromlen[0] if lpFrom != NULL else None, optional(lpOverlapped), optional(lpCompletionRoutine),
        optional(lpThreadId))
    lpNumberOfBytesRecvd[0], lpFlags[0] = received, flags
    if lpFrom != NULL and address is not None:
        _address_out(s, lpFrom, lpFromlen, address)
    return 0


def _set_in(fds) -> FdSet | None:
    sockets = fd_set_in(fds)
    return None if sockets is None else FdSet.from_array(sockets)


def _set_out(fds, result: FdSet | None) -> None:
    if result is not None:
        fd_set_out(fds, result.fd_array)


@spi_call("wsemu_spi_WSPSelect", SOCKET_ERROR)
def WSPSelect(nfds, readfds, writefds, exceptfds, timeout, lpErrno):
    sets = [_set_in(fds) for fds in (readfds, writefds, exceptfds)]
    limit = None if timeout == NULL else (timeout.tv_sec, timeout.tv_usec)
    ready = _table().WSPSelect(nfds, *sets, limit)
    for fds, result in zip((readfds, writefds, exceptfds), sets):
        _set_out(fds, result)
    return ready


@spi_call("wsemu_spi_WSPSend", SOCKET_ERROR)
def WSPSend(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpOverlapped, lpCompletionRoutine,
            lpThreadId, lpErrno):
    required(lpNumberOfBytesSent)
    sent = _table().WSPSend(s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, dwFlags,
                            optional(lpOverlapped), optional(lpCompletionRoutine), optional(lpThreadId))
    lpNumberOfBytesSent[0] = sent
    return 0


@spi_call("wsemu_spi_WSPSendDisconnect", SOCKET_ERROR)
def WSPSendDisconnect(s, lpOutboundDisconnectData, lpErrno):
    _table().WSPSendDisconnect(s, optional(lpOutboundDisconnectData))
    return 0


@spi_call("wsemu_spi_WSPSendTo", SOCKET_ERROR)
def WSPSendTo(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpTo, iTolen, lpOverlapped,
              lpCompletionRoutine, lpThreadId, lpErrno):
    required(lpNumberOfBytesSent)
    raw = name_in(lpTo, iTolen)
    sent = _table().WSPSendTo(s, buffers_in(lpBuffers, dwBufferCount), dwBufferCount, dwFlags, raw,
                              None if raw is None else len(raw), optional(lpOverlapped),
                              optional(lpCompletionRoutine), optional(lpThreadId))
    lpNumberOfBytesSent[0] = sent
    return 0


@spi_call("wsemu_spi_WSPSetSockOpt", SOCKET_ERROR)
def WSPSetSockOpt(s, level, optname, optval, optlen, lpErrno):
    _table().WSPSetSockOpt(s, level, optname, bytes_in(optval, optlen), optlen)
    return 0


@spi_call("wsemu_spi_WSPShutdown", SOCKET_ERROR)
def WSPShutdown(s, how, lpErrno):
    _table().WSPShutdown(s, how)
    return 0


@spi_call("wsemu_spi_WSPSocket", INVALID_SOCKET)
def WSPSocket(af, type_, protocol, lpProtocolInfo, g, dwFlags, lpErrno):
    return _table().WSPSocket(af, type_, protocol, info_in(lpProtocolInfo), g, dwFlags)


@spi_call("wsemu_spi_WSPStringToAddress", SOCKET_ERROR)
def WSPStringToAddress(AddressString, AddressFamily, lpProtocolInfo, lpAddress, lpAddressLength, lpErrno):
    required(lpAddressLength)
    try:
        raw = _table().WSPStringToAddress(wide_in(AddressString), AddressFamily, info_in(lpProtocolInfo),
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

