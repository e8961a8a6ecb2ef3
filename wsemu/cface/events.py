"""libwsemu's event objects and network-event calls. A WSAEVENT in C is the provider's
event handle number (an eventfd) as a pointer; WSA_INVALID_EVENT (NULL) is 0, which ws2
refuses as a handle. An HWND is likewise the msgqueue window number as a pointer."""
from __future__ import annotations

from wsemu import abi as W
from wsemu import ws2
from wsemu.cface import _call, ffi
from wsemu.errors import WSAError

_ffi = ffi()
FALSE = 0


def _handle(pointer) -> int:
    return int(_ffi.cast("uintptr_t", pointer))


@_call(failure=_ffi.NULL)
def WSACreateEvent():
    return _ffi.cast("WSAEVENT", ws2.WSACreateEvent())


@_call(failure=FALSE)
def WSASetEvent(event) -> int:
    return int(ws2.WSASetEvent(_handle(event)))


@_call(failure=FALSE)
def WSAResetEvent(event) -> int:
    return int(ws2.WSAResetEvent(_handle(event)))


@_call(failure=FALSE)
def WSACloseEvent(event) -> int:
    return int(ws2.WSACloseEvent(_handle(event)))


@_call()
def WSAEventSelect(s: int, event, mask: int) -> int:
    ws2.WSAEventSelect(s, _handle(event), mask)
    return 0


@_call()
def WSAEnumNetworkEvents(s: int, event, out) -> int:
    if out == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)     # before the call, which would reset the event and lose the report
    found = ws2.WSAEnumNetworkEvents(s, _handle(event))
    out.lNetworkEvents = found.lNetworkEvents
    out.iErrorCode = found.iErrorCode
    return 0


@_call()
def WSAAsyncSelect(s: int, hwnd, msg: int, mask: int) -> int:
    ws2.WSAAsyncSelect(s, _handle(hwnd), msg, mask)
    return 0
