"""Windows for WSAAsyncSelect: a window is a message queue of this process.

``CreateWindow() -> hwnd``, ``PostMessage(hwnd, message, wParam, lParam)``,
``GetMessage(hwnd, timeout_ms=WSA_INFINITE) -> MSG | None`` (None when the timeout passes),
``PeekMessage(hwnd, remove=True) -> MSG | None``, ``DestroyWindow(hwnd)``. Messages come out
in the order they were posted. A bad or destroyed window is ERROR_INVALID_WINDOW_HANDLE
(1400) as a WSAError; a message posted to a window that has gone is dropped, as Windows
drops it.

The rest of a Windows thread queue, for the C face's GetMessageW/PeekMessageW
(wsemu.cface.windows): what Windows keeps per thread is kept per process here (windows
belong to the process that made them). ``hwnd=ANY`` takes the oldest message of any window
or of the queue itself, ``THREAD_ONLY`` only those posted to the queue itself
(``PostMessage(NO_WINDOW, ...)``, Windows' PostMessage(NULL) / PostThreadMessage);
``first``/``last`` filter by message number as Windows does; ``PostQuitMessage(code)`` makes
the next take that finds no matching posted message return WM_QUIT (Windows keeps the quit
as a flag, delivered after the posted messages and whatever the filters).
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
WM_QUIT = 0x0012

ANY = None          # GetMessage/PeekMessage: a message of any window or of the queue itself
THREAD_ONLY = -1    # ... only one posted to the queue itself (Windows' hWnd == (HWND)-1)
NO_WINDOW = 0       # the hwnd of a message posted to the queue itself


@dataclasses.dataclass(frozen=True)
class MSG:
    hwnd: int
    message: int
    wParam: int
    lParam: int
    time: int = dataclasses.field(default=0, compare=False)     # GetTickCount when posted


def tick_count() -> int:
    """Windows' GetTickCount: milliseconds since boot, wrapping at 2**32."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000) & 0xFFFFFFFF


class _Queue:
    """The process's windows and its one queue of posted messages (every window's and the
    queue's own, in posting order: Windows' GetMessage(NULL) sees them in that order)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ready = threading.Condition(self.lock)
        self.windows: set[int] = set()
        self.workers: set[int] = set()          # windows of a provider's own worker thread
        self.posted: collections.deque[MSG] = collections.deque()
        self.quit: int | None = None            # PostQuitMessage's exit code, until taken
        self.numbers = itertools.count(0x10010, 2)   # HWNDs are even, non-zero

    def after_fork_in_child(self) -> None:
        # Windows belong to the thread (here: process) that made them, not to a forked child.
        self.__init__()

    def check(self, hwnd: object) -> int:
        if hwnd.__class__ is not int or hwnd not in self.windows:
            raise WSAError(ERROR_INVALID_WINDOW_HANDLE)
        return hwnd

    def take(self, hwnd: int | None, first: int, last: int, remove: bool) -> MSG | None:
        """The oldest posted message that matches, else a pending quit, else None."""
        for index, msg in enumerate(self.posted):
            if _wanted(msg, hwnd, first, last) and (hwnd is not ANY or msg.hwnd not in self.workers):
                if remove:
                    del self.posted[index]
                return msg
        if self.quit is None or hwnd in self.workers:
            return None
        msg = MSG(NO_WINDOW, WM_QUIT, self.quit, 0, tick_count())
        if remove:
            self.quit = None
        return msg


def _wanted(msg: MSG, hwnd: int | None, first: int, last: int) -> bool:
    if hwnd is not ANY and msg.hwnd != (NO_WINDOW if hwnd == THREAD_ONLY else hwnd):
        return False
    if not first and not last:
        return True
    # (Windows reads first > last as "outside last..first")
    return first <= msg.message <= last if first <= last else not last < msg.message < first


_state = _Queue()
os.register_at_fork(after_in_child=_state.after_fork_in_child)


def CreateWindow(worker: bool = False) -> int:
    """A new window. ``worker``: one of a provider's worker thread (a layered provider's relay
    window): on Windows another thread's window, so the application's GetMessage(ANY) and its
    quit message are not this window's."""
    with _state.lock:
        hwnd = next(_state.numbers)
        _state.windows.add(hwnd)
        if worker:
            _state.workers.add(hwnd)
    return hwnd


def IsWindow(hwnd: object) -> bool:
    return hwnd.__class__ is int and hwnd in _state.windows


def DestroyWindow(hwnd: int) -> None:
    """The window goes, and the messages still queued for it with it."""
    with _state.lock:
        _state.windows.discard(_state.check(hwnd))
        _state.workers.discard(hwnd)
        _state.posted = collections.deque(m for m in _state.posted if m.hwnd != hwnd)
        _state.ready.notify_all()


def PostMessage(hwnd: int, message: int, wParam: int, lParam: int) -> bool:
    """Queue a message; False (and nothing queued) when the window has gone.
    ``NO_WINDOW`` posts to the queue itself. WPARAM is an unsigned 64-bit value, LPARAM a
    signed one (Win64)."""
    with _state.lock:
        if hwnd != NO_WINDOW and not IsWindow(hwnd):
            return False
        lParam = (lParam + (1 << 63)) % (1 << 64) - (1 << 63)
        _state.posted.append(MSG(hwnd, message & 0xFFFFFFFF, wParam & 0xFFFFFFFFFFFFFFFF, lParam,
                                 tick_count()))
        _state.ready.notify_all()
    return True


def PostQuitMessage(exit_code: int) -> None:
    with _state.lock:
        _state.quit = exit_code & 0xFFFFFFFF
        _state.ready.notify_all()


def _target(hwnd: object) -> int | None:
    return hwnd if hwnd is ANY or hwnd == THREAD_ONLY else _state.check(hwnd)


def PeekMessage(hwnd: int | None, remove: bool = True, first: int = 0, last: int = 0) -> MSG | None:
    with _state.lock:
        return _state.take(_target(hwnd), first, last, remove)


def GetMessage(hwnd: int | None, timeout_ms: int = W.WSA_INFINITE, first: int = 0,
               last: int = 0) -> MSG | None:
    """The next message, waiting up to ``timeout_ms`` (WSA_INFINITE: for ever)."""
    deadline = None if timeout_ms == W.WSA_INFINITE else time.monotonic() + timeout_ms / 1000
    with _state.lock:
        target = _target(hwnd)
        while True:
            msg = _state.take(target, first, last, True)
            if msg is not None:
                return msg
            if target not in (ANY, THREAD_ONLY) and target not in _state.windows:
                raise WSAError(ERROR_INVALID_WINDOW_HANDLE)      # destroyed while waiting
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            _state.ready.wait(remaining)
