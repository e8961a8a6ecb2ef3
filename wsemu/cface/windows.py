"""libwsemu's <windows.h> calls that run in Python: the message queue of the C face's windows
(wsemu.msgqueue, where WSAAsyncSelect posts) and the waits and closes of WSAEVENTs
(wsemu.ws2). The Win32 functions themselves are C (native/src/cface_windows.c); these are
the embedded helpers they call. A C HWND is the msgqueue window's number, a C WSAEVENT the
event's handle number (an eventfd)."""
from __future__ import annotations

from wsemu import abi as W
from wsemu import msgqueue, ws2
from wsemu.cface import _call, ffi
from wsemu.errors import WSAError

_ffi = ffi()


def _handle(pointer) -> int:
    return int(_ffi.cast("uintptr_t", pointer))


@_call(failure=0)
def win_queue_create() -> int:
    return msgqueue.CreateWindow()


@_call(failure=-1)
def win_queue_destroy(hwnd: int) -> int:
    msgqueue.DestroyWindow(hwnd)
    return 0


@_call(failure=0)
def win_queue_post(hwnd: int, message: int, wparam: int, lparam: int) -> int:
    if not msgqueue.PostMessage(hwnd, message, wparam, lparam):
        raise WSAError(W.ERROR_INVALID_WINDOW_HANDLE)
    return 1


@_call(failure=-1)
def win_queue_quit(exit_code: int) -> int:
    msgqueue.PostQuitMessage(exit_code)
    return 0


@_call(failure=-1)
def win_queue_take(msg, hwnd: int, first: int, last: int, remove: int, wait: int) -> int:
    """Fill ``*msg`` with the next message (1), or 0 when a peek finds none. ``hwnd`` 0 is
    any window or the queue itself, -1 the queue itself only (msgqueue.THREAD_ONLY)."""
    target = msgqueue.ANY if hwnd == 0 else hwnd
    if wait:
        got = msgqueue.GetMessage(target, W.WSA_INFINITE, first, last)
    else:
        got = msgqueue.PeekMessage(target, bool(remove), first, last)
    if got is None:
        return 0
    msg.hwnd = _ffi.cast("HWND", got.hwnd)
    msg.message, msg.wParam, msg.lParam, msg.time = got.message, got.wParam, got.lParam, got.time
    msg.pt.x = msg.pt.y = msg.lPrivate = 0          # (no cursor here)
    return 1


@_call(failure=W.WSA_WAIT_FAILED)
def win_wait_events(handles, count: int, wait_all: int, timeout_ms: int) -> int:
    """WaitForMultipleObjects on WSAEVENTs: WAIT_OBJECT_0 + index or WAIT_TIMEOUT; a handle
    that is no event is ERROR_INVALID_HANDLE (= WSA_INVALID_HANDLE)."""
    events = [_handle(handles[i]) for i in range(count)]
    return ws2.WSAWaitForMultipleEvents(events, bool(wait_all), timeout_ms)


@_call(failure=0)
def win_close_event(handle) -> int:
    ws2.WSACloseEvent(_handle(handle))
    return 1
