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
from typing import Callable

# Everything an event can come from; edge-triggered (see the module docstring).
INTEREST = select.EPOLLIN | select.EPOLLPRI | select.EPOLLOUT | select.EPOLLRDHUP | select.EPOLLET


class Monitor:
    def __init__(self, on_report: Callable[[int], None]) -> None:
        self.on_report = on_report        # called with the watched fd, on the monitor thread
        self.lock = threading.Lock()
        self.epoll: select.epoll | None = None
        self.wake: int | None = None      # an eventfd that stops the thread
        self.thread: threading.Thread | None = None
        self.busy = False

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
        self.wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.epoll.register(self.wake, select.EPOLLIN)
        self.thread = threading.Thread(target=self._run, args=(self.epoll, self.wake),
                                       name="wsemu-events", daemon=True)
        self.thread.start()

    def _run(self, epoll: select.epoll, wake: int) -> None:
        # Wait for readiness without taking the reports, and take them only while busy: so
        # "not readable and not busy" (idle()) really means every report was handled.
        waiter = select.poll()
        waiter.register(epoll.fileno(), select.POLLIN)
        while True:
            try:
                waiter.poll()
            except InterruptedError:
                continue
            self.busy = True
            try:
                for fd, _ in epoll.poll(0):
                    if fd == wake:
                        return
                    self.on_report(fd)
            finally:
                self.busy = False

    def stop(self) -> None:
        """Stop the thread and close the epoll (WSACleanup of the last user)."""
        with self.lock:
            thread, epoll, wake = self.thread, self.epoll, self.wake
            self.thread = self.epoll = self.wake = None
        if thread is None:
            return
        os.eventfd_write(wake, 1)
        if thread is not threading.current_thread():
            thread.join()
        epoll.close()
        os.close(wake)

    def idle(self) -> bool:
        """Nothing reported and not yet handled (for tests that prove an absence)."""
        with self.lock:
            epoll = self.epoll
            if epoll is None:
                return True
            poller = select.poll()
            poller.register(epoll.fileno(), select.POLLIN)
            return not poller.poll(0) and not self.busy

    def after_fork_in_child(self) -> None:
        # The thread is not in the child; the epoll and eventfd copies are the parent's.
        self.lock = threading.Lock()
        epoll, wake = self.epoll, self.wake
        self.thread = self.epoll = self.wake = None
        self.busy = False
        if epoll is not None:
            epoll.close()
            os.close(wake)
