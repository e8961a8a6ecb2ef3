"""Windows' all-or-nothing non-blocking send, over Linux's partial writes.

A non-blocking stream send on Windows returns either the full length or WSAEWOULDBLOCK, never
a partial count: AFD keeps what the transport could not take yet and sends it in the
background, and a graceful closesocket still delivers it (reference r2 §5.2). Linux returns
partial counts, and Windows programs written against the documented behaviour lose the tail.

So when the kernel takes only part of a buffer, the remainder goes here. One flusher thread
per process (started on first need) sends it when the socket is writable, then performs the
shutdown or close that was asked for meanwhile. While a remainder is pending the socket is
"full": the next send gets WSAEWOULDBLOCK, select does not report it writable, and a blocking
send waits for the remainder first so the byte stream keeps its order.
"""
from __future__ import annotations

import errno as E
import os
import select
import socket as L
import threading
from dataclasses import dataclass, field

from wsemu import abi as W
from wsemu.errors import WSAError, wsa_from_errno


@dataclass
class Pending:
    """The unsent tail of one socket, and what to do once it is gone."""

    sock: L.socket
    data: bytearray
    state: object                          # SocketState: sticky errors land there
    then_shutdown: bool = False            # shutdown(SD_SEND) came while data was pending
    then_close: bool = False               # closesocket came: close after the last byte
    drained: threading.Event = field(default_factory=threading.Event)


class SendQueue:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_fd: dict[int, Pending] = {}
        self.epoll: select.epoll | None = None
        self.thread: threading.Thread | None = None

    # -- called by the provider -------------------------------------------------------
    def pending(self, fd: int) -> Pending | None:
        return self.by_fd.get(fd)

    def enqueue(self, sock: L.socket, state: object, remainder) -> None:
        with self.lock:
            self._start()
            fd = sock.fileno()
            self.by_fd[fd] = Pending(sock, bytearray(remainder), state)
            state.tail = True
            self.epoll.register(fd, select.EPOLLOUT | select.EPOLLONESHOT)

    def wait(self, desc) -> None:
        """A blocking send must not overtake a tail still being flushed. closesocket from
        another thread ends the wait with WSAEINTR, as it ends any blocking call."""
        pending = self.by_fd.get(desc.fd)
        while pending is not None and not pending.drained.wait(0.05):
            if desc.closing:
                raise WSAError(W.WSAEINTR)

    def shutdown_after(self, fd: int) -> bool:
        """Defer shutdown(SD_SEND) until the tail is sent; False if nothing is pending."""
        with self.lock:
            pending = self.by_fd.get(fd)
            if pending is None:
                return False
            pending.then_shutdown = True
            return True

    def close_after(self, fd: int, abortive: bool) -> None:
        """closesocket with a tail pending: graceful → the queue keeps its own descriptor of
        the socket and closes it after the last byte (the caller closes ``fd`` as usual);
        abortive (SO_LINGER {1,0}) → the tail is dropped."""
        with self.lock:
            pending = self.by_fd.get(fd)
            if pending is None:
                return
            if abortive:
                self._forget(fd, pending)
                return
            self.epoll.unregister(fd)
            del self.by_fd[fd]
            pending.sock = pending.sock.dup()
            pending.then_close = True
            own = pending.sock.fileno()
            self.by_fd[own] = pending
            self.epoll.register(own, select.EPOLLOUT | select.EPOLLONESHOT)

    # -- the flusher ---------------------------------------------------------------------
    def _start(self) -> None:
        """Start the flusher (lock held) unless it runs; it stops by itself when idle."""
        if self.thread is not None:
            return
        # epoll_wait in the flusher sees sockets registered later by other threads.
        self.epoll = select.epoll()
        self.thread = threading.Thread(target=self._run, name="wsemu-send-queue", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        epoll = self.epoll
        while True:
            for fd, _ in epoll.poll(1.0):
                self._flush(fd)
            with self.lock:
                if not self.by_fd:
                    # Idle: stop, and hold no descriptor while nothing is queued.
                    self.thread = None
                    self.epoll = None
                    epoll.close()
                    return

    def _flush(self, fd: int) -> None:
        with self.lock:
            pending = self.by_fd.get(fd)
        if pending is None:
            return
        try:
            while pending.data:
                sent = pending.sock.send(pending.data, L.MSG_DONTWAIT | L.MSG_NOSIGNAL)
                del pending.data[:sent]
        except BlockingIOError:
            with self.lock:
                self.epoll.modify(fd, select.EPOLLOUT | select.EPOLLONESHOT)
            return
        except OSError as exc:
            # The connection failed under the tail: later calls report it (as Windows does).
            pending.state.sticky_error = (W.WSAECONNRESET if exc.errno in (E.EPIPE, E.ECONNRESET)
                                          else wsa_from_errno(exc.errno or 0))
        with self.lock:
            self._forget(fd, pending)
        if pending.state.events is not None and not pending.then_close:
            from wsemu.events import registry   # (the events layer imports the provider's)
            registry.recheck(pending.state)

    def _forget(self, fd: int, pending: Pending) -> None:
        """Drop the entry (lock held), then carry out the deferred shutdown/close."""
        self.by_fd.pop(fd, None)
        pending.state.tail = False
        try:
            self.epoll.unregister(fd)
        except (OSError, ValueError):
            pass
        if pending.then_shutdown and not pending.then_close:
            try:
                pending.sock.shutdown(L.SHUT_WR)
            except OSError:
                pass
        if pending.then_close:
            pending.sock.close()
        pending.drained.set()

    def after_fork_in_child(self) -> None:
        # The flusher thread does not exist in a forked child; the parent sends its tails.
        self.lock = threading.Lock()
        self.by_fd.clear()
        self.thread = None
        if self.epoll is not None:
            self.epoll.close()
            self.epoll = None


queue = SendQueue()
os.register_at_fork(after_in_child=queue.after_fork_in_child)
