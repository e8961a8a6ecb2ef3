"""The per-process epoll thread that tells registrations their socket has news.

One thread, started by the first registration, stopped by the last WSACleanup, gone in a
forked child (threads do not survive fork; the child starts its own when it registers).
Sockets are watched edge-triggered with a fixed interest set, so the kernel wakes the thread
only when something *happens* (data, a connection, write space after a full buffer, the
peer's FIN, a reset) — an idle registered socket costs nothing, and a reported event that
keeps holding (unread data) never spins it. What happened is decided by the registry's
look at the socket, not by the epoll bits.
"""
from __future__ import annotations

import os
import select
import threading
import time
from typing import Callable

from wsemu._native import ffi, lib
from wsemu.events.objects import consume

# Everything an event can come from; edge-triggered (see the module docstring).
INTEREST = select.EPOLLIN | select.EPOLLPRI | select.EPOLLOUT | select.EPOLLRDHUP | select.EPOLLET
GRACE = 0.005      # seconds without a waiting thread before the monitor thread takes over
DRIVEN_CHECK = 0.05   # how often the standing-by thread looks whether anyone still waits
_SLOW_CAP = 64     # reports handed back to Python per C drain


class Monitor:
    def __init__(self, on_report: Callable[[int, int], None]) -> None:
        self.on_report = on_report        # (watched fd, epoll revents), on a draining thread
        self.lock = threading.Lock()
        self.ready = threading.Condition(threading.Lock())
        self.driving: list[None] = []     # one entry per thread waiting on event objects
        self.last_drive = 0.0
        self.epoll: select.epoll | None = None
        self.wake: int | None = None      # an eventfd that stops the thread
        self.thread: threading.Thread | None = None

    def watch(self, fd: int) -> None:
        with self.lock:
            if self.thread is None:
                self._start()
            self.epoll.register(fd, INTEREST)

    def unwatch(self, fd: int) -> None:
        with self.lock:
            if self.epoll is not None:
                try:
                    self.epoll.unregister(fd)
                except (OSError, ValueError):
                    pass                  # (already closed, or never watched)

    def _start(self) -> None:
        self.epoll = select.epoll()
        lib.wsemu_set_monitor_epoll(self.epoll.fileno())     # for the C face's waits
        self.wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.thread = threading.Thread(target=self._run, args=(self.epoll, self.wake),
                                       name="wsemu-events", daemon=True)
        self.thread.start()

    def _run(self, epoll: select.epoll, wake: int) -> None:
        # Wait for readiness without taking the reports; take them in drain(). A thread
        # waiting on an event object *drives*: it watches the epoll itself and runs the
        # reports on its own thread, so the event is set where it is awaited, with no
        # hand-over. Meanwhile this thread stands by (in Python two threads taking turns
        # at the interpreter cost more than the work), and resumes only once nobody has
        # driven for GRACE: events nobody is waiting for may be a moment late.
        waiter = select.poll()
        waiter.register(epoll.fileno(), select.POLLIN)
        waiter.register(wake, select.POLLIN)
        while True:
            self._stand_by()
            try:
                waiter.poll()
            except InterruptedError:
                continue
            if self.wake is None or consume(wake):
                return
            if not self.driving and not lib.wsemu_drivers():
                self.drain()

    def _stand_by(self) -> None:
        # No notification when drivers come and go (that would cost every wait a lock):
        # look now and then — rarely while a thread waits (it handles every report).
        with self.ready:
            while self.epoll is not None:
                if self.driving or lib.wsemu_drivers():      # (C waiters drive too)
                    self.ready.wait(DRIVEN_CHECK)
                    continue
                quiet = time.monotonic() - max(self.last_drive, lib.wsemu_last_drive_ms() / 1000)
                if quiet >= GRACE:
                    return
                self.ready.wait(GRACE - quiet)

    def drive(self) -> int:
        """A thread starts waiting on event objects: the epoll fd it should watch too (-1
        when no socket is watched). Call ``done_driving`` after. (A list's append and pop
        are atomic: no lock on the way into every wait.)"""
        self.driving.append(None)
        return self.current()

    def current(self) -> int:
        epoll = self.epoll
        return -1 if epoll is None else epoll.fileno()

    def done_driving(self) -> None:
        self.last_drive = time.monotonic()
        self.driving.pop()

    def drain(self) -> None:
        """Handle every report waiting, on the calling thread: the C lanes post what they
        can (wsemu_events_drain), the rest comes back here. Drains are serialised by the C
        drain lock, so a report taken by one thread is posted before another's drain ends
        (WSAEnumNetworkEvents drains first and then sees it)."""
        slow = ffi.new("int[]", 2 * _SLOW_CAP)
        lib.wsemu_drain_lock()
        try:
            while (epoll := self.epoll) is not None:
                taken = lib.wsemu_events_drain(epoll.fileno(), slow, _SLOW_CAP)
                self._report(slow, taken)
                if taken < _SLOW_CAP:
                    return
        finally:
            lib.wsemu_drain_unlock()

    def handle(self, slow, taken: int) -> None:
        """The reports a waiter's C drain left for Python; its drain lock is released here."""
        try:
            self._report(slow, taken)
        finally:
            lib.wsemu_drain_unlock()

    def _report(self, slow, taken: int) -> None:
        on_report = self.on_report
        for i in range(0, 2 * taken, 2):
            on_report(slow[i], slow[i + 1])

    def stop(self) -> None:
        """Stop the thread and close the epoll (WSACleanup of the last user)."""
        with self.lock:
            thread, epoll, wake = self.thread, self.epoll, self.wake
            self.thread = self.epoll = self.wake = None
        if thread is None:
            return
        lib.wsemu_set_monitor_epoll(-1)
        os.eventfd_write(wake, 1)
        with self.ready:
            self.ready.notify_all()
        if thread is not threading.current_thread():
            thread.join()
        lib.wsemu_drain_lock()
        try:
            epoll.close()
        finally:
            lib.wsemu_drain_unlock()
        os.close(wake)

    def idle(self) -> bool:
        """Nothing reported and not yet handled (for tests that prove an absence)."""
        with self.lock:
            epoll = self.epoll
            if epoll is None:
                return True
            if not lib.wsemu_drain_trylock():
                return False               # a drain is posting what it took
            try:
                poller = select.poll()
                poller.register(epoll.fileno(), select.POLLIN)
                return not poller.poll(0)
            finally:
                lib.wsemu_drain_unlock()

    def after_fork_in_child(self) -> None:
        # The thread is not in the child; the epoll and eventfd copies are the parent's.
        self.lock = threading.Lock()
        self.ready = threading.Condition(threading.Lock())
        self.driving = []
        lib.wsemu_events_after_fork()     # (its locks may have been held by parent threads)
        epoll, wake = self.epoll, self.wake
        self.thread = self.epoll = self.wake = None
        if epoll is not None:
            epoll.close()
            os.close(wake)
