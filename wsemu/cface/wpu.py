"""The WPU upcalls for C (reference/spi.md §1.3), both ways.

Out: libwsemu exports the 15 WPU functions of WSPUPCALLTABLE (and WPUCompleteOverlappedRequest,
which is no table entry) over ws2's own upcalls (``wsemu.spi.upcalls``): the table
``wsemu_upcall_table()`` returns is what ws2_32 would give a provider.

In: ``CUpcallTable`` is a C WSPUPCALLTABLE, as passed to WSPStartup, in the Python form the
base provider calls (``WPUModifyIFSHandle(catalog id, handle)`` raising WSAError), so the
provider registers its sockets through the caller's table, as on Windows.
"""
from __future__ import annotations

import threading

from wsemu import abi as W
from wsemu.cface import INVALID_SOCKET, SOCKET_ERROR, ffi
from wsemu.cface.spi_boundary import (FALSE, NULL, guid_in, handle_in, handle_out, path_out, required,
                                      spi_call)
from wsemu.errors import WSAError
from wsemu.events.objects import events
from wsemu.spi.upcalls import HANDLES, upcalls

_ffi = ffi()


# ---------------------------------------------------------------------------------------
# libwsemu's upcalls
# ---------------------------------------------------------------------------------------
@spi_call("wsemu_WPUModifyIFSHandle", INVALID_SOCKET)
def WPUModifyIFSHandle(dwCatalogEntryId: int, ProposedHandle: int, lpErrno) -> int:
    return upcalls.WPUModifyIFSHandle(dwCatalogEntryId, ProposedHandle)


@spi_call("wsemu_WPUCreateSocketHandle", INVALID_SOCKET)
def WPUCreateSocketHandle(dwCatalogEntryId: int, dwContext: int, lpErrno) -> int:
    return upcalls.WPUCreateSocketHandle(dwCatalogEntryId, dwContext)


@spi_call("wsemu_WPUQuerySocketHandleContext", SOCKET_ERROR)
def WPUQuerySocketHandleContext(s: int, lpContext, lpErrno) -> int:
    required(lpContext)[0] = upcalls.WPUQuerySocketHandleContext(s)
    return 0


@spi_call("wsemu_WPUCloseSocketHandle", SOCKET_ERROR)
def WPUCloseSocketHandle(s: int, lpErrno) -> int:
    upcalls.WPUCloseSocketHandle(s)
    return 0


@spi_call("wsemu_WPUGetProviderPath", SOCKET_ERROR)
def WPUGetProviderPath(lpProviderId, lpszProviderDllPath, lpProviderDllPathLen, lpErrno) -> int:
    return path_out(upcalls.WPUGetProviderPath(guid_in(lpProviderId)), lpszProviderDllPath, lpProviderDllPathLen)


@spi_call("wsemu_WPUCreateEvent", NULL)
def WPUCreateEvent(lpErrno):
    return handle_out(upcalls.WPUCreateEvent())


def _event_call(name: str, upcall) -> None:
    """WPUSetEvent/WPUResetEvent/WPUCloseEvent: BOOL (hEvent, lpErrno)."""
    @spi_call(name, FALSE)
    def call(hEvent, lpErrno) -> int:
        upcall(handle_in(hEvent))
        return 1


_event_call("wsemu_WPUSetEvent", upcalls.WPUSetEvent)
_event_call("wsemu_WPUResetEvent", upcalls.WPUResetEvent)
_event_call("wsemu_WPUCloseEvent", upcalls.WPUCloseEvent)


@_ffi.def_extern(name="wsemu_WPUPostMessage", onerror=lambda *_: FALSE)
def WPUPostMessage(hWnd, Msg: int, wParam: int, lParam: int) -> int:
    try:
        return int(bool(upcalls.WPUPostMessage(handle_in(hWnd), Msg, wParam, lParam)))
    except WSAError:
        return FALSE             # (no lpErrno: BOOL only)


@spi_call("wsemu_WPUQueryBlockingCallback", SOCKET_ERROR)
def WPUQueryBlockingCallback(dwCatalogEntryId: int, lplpfnCallback, lpdwContext, lpErrno) -> int:
    required(lplpfnCallback)
    required(lpdwContext)
    upcalls.WPUQueryBlockingCallback(dwCatalogEntryId)     # Winsock 2: never a blocking hook
    lplpfnCallback[0] = NULL
    lpdwContext[0] = 0
    return 0


@spi_call("wsemu_WPUOpenCurrentThread", SOCKET_ERROR)
def WPUOpenCurrentThread(lpThreadId, lpErrno) -> int:
    thread, reserved = upcalls.WPUOpenCurrentThread()
    required(lpThreadId).ThreadHandle = handle_out(thread)
    lpThreadId.Reserved = reserved
    return 0


@spi_call("wsemu_WPUCloseThread", SOCKET_ERROR)
def WPUCloseThread(lpThreadId, lpErrno) -> int:
    upcalls.WPUCloseThread(required(lpThreadId))
    return 0


@spi_call("wsemu_WPUQueueApc", SOCKET_ERROR)
def WPUQueueApc(lpThreadId, lpfnUserApc, dwContext: int, lpErrno) -> int:
    upcalls.WPUQueueApc(lpThreadId, lpfnUserApc, dwContext)   # (no APCs before overlapped I/O)
    return 0


@spi_call("wsemu_WPUCompleteOverlappedRequest", SOCKET_ERROR)
def WPUCompleteOverlappedRequest(s: int, lpOverlapped, dwError: int, cbTransferred: int, lpErrno) -> int:
    """Completion for a handle of WPUCreateSocketHandle (others: WSAEINVAL, as documented):
    InternalHigh gets the byte count, then Internal leaves WSS_OPERATION_IN_PROGRESS (it takes
    the status), then hEvent is signalled. (No completion ports yet, so no port is posted.)"""
    entry = HANDLES.get(s)
    if entry is None or entry.ifs:
        raise WSAError(W.WSAEINVAL)
    required(lpOverlapped).InternalHigh = cbTransferred
    lpOverlapped.Internal = dwError
    if lpOverlapped.hEvent != NULL:
        events.set(handle_in(lpOverlapped.hEvent))
    return 0


# ---------------------------------------------------------------------------------------
# A caller's table, as the provider's upcalls
# ---------------------------------------------------------------------------------------
class CUpcallTable:
    """The socket-handle upcalls go through the C table (the provider's only ones); event,
    message and thread upcalls, which the base provider makes through ws2's objects, stay
    Python's own."""

    def __init__(self, table) -> None:
        self._table = _ffi.new("WSPUPCALLTABLE *", required(table)[0])   # the caller's goes away
        if NULL in (self._table.lpWPUModifyIFSHandle, self._table.lpWPUCloseSocketHandle):
            raise WSAError(W.WSAEINVAL)  # the provider could register (or drop) no socket
        self._errno = threading.local()

    def _err(self):
        err = getattr(self._errno, "cell", None)
        if err is None:
            err = self._errno.cell = _ffi.new("int32_t *")
        err[0] = 0
        return err

    def _check(self, result: int, failure: int, err) -> int:
        if result == failure:
            raise WSAError(err[0] or W.WSASYSCALLFAILURE)   # as ws2_32 maps a 0 *lpErrno
        return result

    def WPUModifyIFSHandle(self, dwCatalogEntryId: int, ProposedHandle: int) -> int:
        err = self._err()
        return self._check(self._table.lpWPUModifyIFSHandle(dwCatalogEntryId, ProposedHandle, err),
                           INVALID_SOCKET, err)

    def WPUCloseSocketHandle(self, s: int) -> None:
        err = self._err()
        self._check(self._table.lpWPUCloseSocketHandle(s, err), SOCKET_ERROR, err)

    def __getattr__(self, name: str):
        return getattr(upcalls, name)
