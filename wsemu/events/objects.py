"""WSAEVENT objects: manual-reset events on eventfd, so an event is a real fd that poll,
epoll and C code can wait on.

Set = the eventfd's counter is non-zero (readable); reset = drain it. A wait never consumes
it (manual reset). Handles are the fd numbers; only the ones made here are events — any
other value is WSA_INVALID_HANDLE, as Windows says of a handle that is no event.
"""
from __future__ import annotations

import errno as E
import os
import select
import threading
import time
from typing import Sequence

from wsemu import abi as W
from wsemu._native import ffi, lib
from wsemu.errors import WSAError


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
        lib.wsemu_event_mark(fd, 1)            # (the C face checks handles there)
        return fd

    def check(self, handle: object) -> int:
        if handle.__class__ is not int or handle not in self.handles:
            raise WSAError(W.WSA_INVALID_HANDLE)
        return handle

    def set(self, handle: object) -> None:
        os.eventfd_write(self.check(handle), 1)

    def reset(self, handle: object) -> None:
        consume(self.check(handle))

    def is_set(self, handle: int) -> bool:
        return bool(_signalled((self.check(handle),)))

    def close(self, handle: object) -> None:
        with self.lock:
            if handle.__class__ is not int or handle not in self.handles:
                raise WSAError(W.WSA_INVALID_HANDLE)
            self.handles.discard(handle)
        lib.wsemu_event_mark(handle, 0)
        lib.wsemu_lanes_forget_event(handle)   # no C lane may set it once the fd is reused
        os.close(handle)

    def close_all(self) -> None:
        """WSACleanup does not close events (Windows leaves them to CloseHandle); a forked
        child keeps its copies too. Used by tests' teardown only."""
        with self.lock:
            handles, self.handles = self.handles, set()
        for fd in handles:
            lib.wsemu_event_mark(fd, 0)
            lib.wsemu_lanes_forget_event(fd)
            os.close(fd)

    def wait(self, events: Sequence[int], wait_all: bool, timeout_ms: int) -> int:
        """WSAWaitForMultipleEvents: WSA_WAIT_EVENT_0 + the index of the lowest signalled
        event (with ``wait_all``: once all of them are set at the same time), or
        WSA_WAIT_TIMEOUT.

        The wait runs in C (wsemu_events_wait). While sockets are registered it also watches
        the monitor's epoll and, when that has reports, drains it on this thread: the event
        is then set where it is awaited, with no hand-over between threads (a wake-up's
        latency is the point of waiting). Reports the C lanes cannot post come back here."""
        count = len(events)
        if not 0 < count <= W.WSA_MAXIMUM_WAIT_EVENTS:
            raise WSAError(W.WSA_INVALID_PARAMETER)
        handles = self.handles
        for handle in events:
            if handle.__class__ is not int or handle not in handles:
                raise WSAError(W.WSA_INVALID_HANDLE)
        buffers = _buffers()
        if count == 1:
            fds = buffers.one
            fds[0] = events[0]
        else:
            fds = ffi.new("int[]", events)
        pump = self.pump
        if pump is None:
            return _wait(fds, count, wait_all, timeout_ms, None, buffers)
        try:
            return _wait(fds, count, wait_all, timeout_ms, pump, buffers)
        finally:
            pump.done_driving()


def _wait(fds, count: int, wait_all: bool, timeout_ms: int, pump, buffers) -> int:
    forever = timeout_ms == W.WSA_INFINITE
    deadline = 0.0 if forever else time.monotonic() + timeout_ms / 1000
    epfd = pump.drive() if pump is not None else -1
    wait, slow, nslow = lib.wsemu_events_wait, buffers.slow, buffers.nslow
    while True:
        got = wait(fds, count, wait_all, epfd, -1 if forever else min(timeout_ms, _LONGEST),
                   slow, _SLOW_CAP, nslow)
        if got >= 0:
            return W.WSA_WAIT_EVENT_0 + got
        if got == lib.WSEMU_WAIT_TIMEOUT:
            return W.WSA_WAIT_TIMEOUT
        if got == lib.WSEMU_WAIT_REPORTS:
            pump.handle(slow, nslow[0])
        elif got == -E.EBADF and epfd >= 0:
            epfd = pump.current()          # WSACleanup closed the monitor's epoll meanwhile
        elif got != -E.EINTR:              # (EINTR: signal handlers have run; wait on)
            raise WSAError(W.WSA_INVALID_PARAMETER)
        if not forever:
            timeout_ms = max(0, int((deadline - time.monotonic()) * 1000 + 0.999))


# Reports a waiter's drain leaves for Python at a time (the rest stay in the epoll).
_SLOW_CAP = 64
_LONGEST = 0x7FFFFFFF      # ms a C int holds (a longer DWORD timeout waits again)
_per_thread = threading.local()


def _buffers():
    """This thread's buffers for the C wait (made once per thread)."""
    buffers = getattr(_per_thread, "buffers", None)
    if buffers is None:
        buffers = _per_thread.buffers = _Buffers()
    return buffers


class _Buffers:
    __slots__ = ("one", "slow", "nslow")

    def __init__(self) -> None:
        self.one = ffi.new("int[1]")
        self.slow = ffi.new("int[]", 2 * _SLOW_CAP)
        self.nslow = ffi.new("int *")


def consume(fd: int) -> bool:
    """Drain an eventfd (reset it); whether it was set."""
    try:
        os.eventfd_read(fd)
    except BlockingIOError:
        return False
    return True


def _signalled(handles: Sequence[int]) -> set[int]:
    poller = select.poll()
    for handle in set(handles):
        poller.register(handle, select.POLLIN)
    return {fd for fd, _ in poller.poll(0)}


events = EventTable()
