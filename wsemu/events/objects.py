"""WSAEVENT objects: manual-reset events on eventfd, so an event is a real fd that poll,
epoll and C code can wait on.

Set = the eventfd's counter is non-zero (readable); reset = drain it. A wait never consumes
it (manual reset). Handles are the fd numbers; only the ones made here are events — any
other value is WSA_INVALID_HANDLE, as Windows says of a handle that is no event.
"""
from __future__ import annotations

import os
import select
import threading
import time
from typing import Sequence

from wsemu import abi as W
from wsemu.errors import WSAError

_POLLIN = select.POLLIN


class EventTable:
    """The event objects of this process."""

    def __init__(self) -> None:
        self.handles: set[int] = set()
        self.lock = threading.Lock()
        self.pump = None           # the events monitor (wsemu.events.registry sets it)

    def create(self) -> int:
        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        with self.lock:
            self.handles.add(fd)
        return fd

    def check(self, handle: object) -> int:
        if handle.__class__ is not int or handle not in self.handles:
            raise WSAError(W.WSA_INVALID_HANDLE)
        return handle

    def set(self, handle: object) -> None:
        os.eventfd_write(self.check(handle), 1)

    def reset(self, handle: object) -> None:
        try:
            os.eventfd_read(self.check(handle))
        except BlockingIOError:
            pass                       # not set: nothing to drain

    def is_set(self, handle: int) -> bool:
        return bool(_signalled((self.check(handle),)))

    def close(self, handle: object) -> None:
        with self.lock:
            if handle.__class__ is not int or handle not in self.handles:
                raise WSAError(W.WSA_INVALID_HANDLE)
            self.handles.discard(handle)
        os.close(handle)

    def close_all(self) -> None:
        """WSACleanup does not close events (Windows leaves them to CloseHandle); a forked
        child keeps its copies too. Used by tests' teardown only."""
        with self.lock:
            handles, self.handles = self.handles, set()
        for fd in handles:
            os.close(fd)

    def wait(self, events: Sequence[int], wait_all: bool, timeout_ms: int) -> int:
        """WSAWaitForMultipleEvents: WSA_WAIT_EVENT_0 + the index of the lowest signalled
        event (with ``wait_all``: once all of them are set at the same time), or
        WSA_WAIT_TIMEOUT.

        While sockets are registered, the wait also watches the monitor's epoll and, when
        it has reports, runs them itself: the event is then set on this thread, without a
        hand-over from the monitor thread (a wake-up's latency is the point of waiting)."""
        if not 0 < len(events) <= W.WSA_MAXIMUM_WAIT_EVENTS:
            raise WSAError(W.WSA_INVALID_PARAMETER)
        handles = self.handles
        for handle in events:
            if handle.__class__ is not int or handle not in handles:
                raise WSAError(W.WSA_INVALID_HANDLE)
        deadline = None if timeout_ms == W.WSA_INFINITE else time.monotonic() + timeout_ms / 1000
        pump = self.pump
        if pump is None:
            return self._wait(events, wait_all, deadline, None)
        try:
            return self._wait(events, wait_all, deadline, pump)
        finally:
            pump.done_driving()

    @staticmethod
    def _wait(events: Sequence[int], wait_all: bool, deadline: float | None, pump) -> int:
        unset = tuple(set(events)) if len(events) > 1 else tuple(events)
        epoll = pump.drive() if pump is not None else None
        while True:
            poller = _poller(unset if epoll is None else unset + (epoll,))
            if deadline is None:
                wait_ms = None
            else:
                wait_ms = max(0, int((deadline - time.monotonic()) * 1000 + 0.999))
            ready = {fd for fd, _ in poller.poll(wait_ms)}
            if epoll in ready:
                ready.discard(epoll)
                ready |= pump.drain().intersection(unset)
                if not ready:
                    continue
            if ready:
                if not wait_all:
                    if len(events) == 1:
                        return W.WSA_WAIT_EVENT_0
                    return W.WSA_WAIT_EVENT_0 + next(i for i, h in enumerate(events) if h in ready)
                unset = tuple(set(unset) - ready)
                if not unset:
                    now = _signalled(events)
                    if len(now) == len(set(events)):          # still all set at once
                        return W.WSA_WAIT_EVENT_0
                    unset = tuple(set(events) - now)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                return W.WSA_WAIT_TIMEOUT


_per_thread = threading.local()      # (poll objects cannot be shared between threads)


def _poller(fds: tuple[int, ...]) -> select.poll:
    """A poll object for ``fds``, kept per thread: a waiting loop polls the same set each
    time, and making one costs a system call per descriptor."""
    cache = getattr(_per_thread, "pollers", None)
    if cache is None:
        cache = _per_thread.pollers = {}
    poller = cache.get(fds)
    if poller is None:
        if len(cache) >= 64:
            cache.clear()
        poller = cache[fds] = select.poll()
        for fd in fds:
            poller.register(fd, _POLLIN)
    return poller


def _signalled(handles: Sequence[int]) -> set[int]:
    poller = select.poll()
    for handle in set(handles):
        poller.register(handle, _POLLIN)
    return {fd for fd, _ in poller.poll(0)}


events = EventTable()
