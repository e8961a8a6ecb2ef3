"""Windows for WSAAsyncSelect: a window is a per-process message queue.

``CreateWindow() -> hwnd``, ``PostMessage(hwnd, message, wParam, lParam)``,
``GetMessage(hwnd, timeout_ms=WSA_INFINITE) -> MSG | None`` (None when the timeout passes),
``PeekMessage(hwnd, remove=True) -> MSG | None``, ``DestroyWindow(hwnd)``. Messages come out
in the order they were posted. A bad or destroyed window is ERROR_INVALID_WINDOW_HANDLE
(1400) as a WSAError; a message posted to a window that has gone is dropped, as Windows
drops it.
"""
from __future__ import annotations

import collections
import dataclasses
import itertools
import os
import threading
import time

from wsemu import abi as W
from wsemu.errors import WSAError

ERROR_INVALID_WINDOW_HANDLE = W.ERROR_INVALID_WINDOW_HANDLE


@dataclasses.dataclass(frozen=True)
class MSG:
    hwnd: int
    message: int
    wParam: int
    lParam: int


class _Window:
    __slots__ = ("queue", "ready")

    def __init__(self, lock: threading.Lock) -> None:
        self.queue: collections.deque[MSG] = collections.deque()
        self.ready = threading.Condition(lock)


class _Windows:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.windows: dict[int, _Window] = {}
        self.numbers = itertools.count(0x10010, 2)   # HWNDs are even, non-zero

    def after_fork_in_child(self) -> None:
        # Windows belong to the thread (here: process) that made them, not to a forked child.
        self.lock = threading.Lock()
        self.windows = {}

    def window(self, hwnd: object) -> _Window:
        window = self.windows.get(hwnd) if hwnd.__class__ is int else None
        if window is None:
            raise WSAError(ERROR_INVALID_WINDOW_HANDLE)
        return window


_state = _Windows()
os.register_at_fork(after_in_child=_state.after_fork_in_child)


def CreateWindow() -> int:
    with _state.lock:
        hwnd = next(_state.numbers)
        _state.windows[hwnd] = _Window(_state.lock)
    return hwnd


def IsWindow(hwnd: object) -> bool:
    return hwnd.__class__ is int and hwnd in _state.windows


def DestroyWindow(hwnd: int) -> None:
    with _state.lock:
        window = _state.window(hwnd)
        del _state.windows[hwnd]
        window.ready.notify_all()


def PostMessage(hwnd: int, message: int, wParam: int, lParam: int) -> bool:
    """Queue a message; False (and nothing queued) when the window has gone."""
    with _state.lock:
        window = _state.windows.get(hwnd)
        if window is None:
            return False
        window.queue.append(MSG(hwnd, message & 0xFFFFFFFF, wParam, lParam & 0xFFFFFFFF))
        window.ready.notify()
    return True


def PeekMessage(hwnd: int, remove: bool = True) -> MSG | None:
    with _state.lock:
        window = _state.window(hwnd)
        if not window.queue:
            return None
        return window.queue.popleft() if remove else window.queue[0]


def GetMessage(hwnd: int, timeout_ms: int = W.WSA_INFINITE) -> MSG | None:
    """The next message, waiting up to ``timeout_ms`` (WSA_INFINITE: for ever)."""
    deadline = None if timeout_ms == W.WSA_INFINITE else time.monotonic() + timeout_ms / 1000
    with _state.lock:
        window = _state.window(hwnd)
        while not window.queue:
            if _state.windows.get(hwnd) is not window:
                raise WSAError(ERROR_INVALID_WINDOW_HANDLE)      # destroyed while waiting
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            window.ready.wait(remaining)
        return window.queue.popleft()
