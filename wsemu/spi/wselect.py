"""WSPSelect: Windows select() semantics over poll(2), and the Windows ``fd_set``.

What Windows reports, per socket (CONFORMANCE.md §6G, reference r1 §2):

* read   — data, a pending connection on a listener, the peer's close or a reset; with
           SO_OOBINLINE also urgent data;
* write  — a completed connect, send space, any datagram socket (even unbound);
* except — a failed connect (sticky until the next connect), urgent data without SO_OOBINLINE.

A TCP socket that never connected reports nothing (Linux would say POLLOUT|POLLHUP), a listener
is never writable, and a failed connect is only "except". Each round polls every socket once
without waiting, turns kernel bits + Windows state into those three answers, and only then
blocks — on the sockets whose kernel condition can still change — so a permanent POLLHUP that
means nothing to Windows never makes select spin.

Results follow Windows exactly: every given set is emptied first (the same set may be passed
twice), sockets are appended in input order without duplicates, and the return value counts
the (set, socket) additions. A socket closed by another thread during the wait counts as
readable if it was in readfds, otherwise the call fails with WSAENOTSOCK.
"""
from __future__ import annotations

import os
import select as _select
import socket as L
import threading
import time
from typing import Iterable, Iterator

from wsemu import abi as W
from wsemu.errors import WSAError, wsa_from_errno
from wsemu.spi.descriptor import Descriptor, table
from wsemu.spi.sendqueue import queue as send_queue

_POLLIN, _POLLPRI, _POLLOUT = _select.POLLIN, _select.POLLPRI, _select.POLLOUT
_POLLERR, _POLLHUP, _POLLNVAL = _select.POLLERR, _select.POLLHUP, _select.POLLNVAL
_BROKEN = _POLLERR | _POLLHUP


class FdSet:
    """A Windows fd_set: a counted array of at most FD_SETSIZE SOCKETs.

    FD_SETSIZE is 64 unless the C program defines it larger before including winsock2.h
    (``setsize``); select itself reads ``fd_count`` entries whatever the size was.
    ``FD_SET`` skips duplicates and silently drops entries past ``setsize``, as the Windows
    macro does; ``FdSet.from_array`` builds a set exactly as a C caller could fill
    ``fd_array`` by hand (duplicates included).
    """

    __slots__ = ("fd_array", "setsize")

    def __init__(self, sockets: Iterable[int] = (), setsize: int = W.FD_SETSIZE) -> None:
        self.fd_array: list[int] = []
        self.setsize = setsize
        for s in sockets:
            self.FD_SET(s)

    @classmethod
    def from_array(cls, sockets: Iterable[int], setsize: int = W.FD_SETSIZE) -> "FdSet":
        fds = cls(setsize=setsize)
        fds.fd_array = list(sockets)[:setsize]
        return fds

    @property
    def fd_count(self) -> int:
        return len(self.fd_array)

    def FD_SET(self, s: int) -> None:
        if s not in self.fd_array and len(self.fd_array) < self.setsize:
            self.fd_array.append(s)

    def FD_CLR(self, s: int) -> None:
        if s in self.fd_array:
            self.fd_array.remove(s)

    def FD_ISSET(self, s: int) -> bool:
        return s in self.fd_array

    def FD_ZERO(self) -> None:
        self.fd_array.clear()

    def __contains__(self, s: object) -> bool:
        return s in self.fd_array

    def __iter__(self) -> Iterator[int]:
        return iter(self.fd_array)

    def __len__(self) -> int:
        return len(self.fd_array)

    def __repr__(self) -> str:
        return f"FdSet({self.fd_array})"


# ---------------------------------------------------------------------------------------
# Readiness: kernel poll bits + Windows socket state -> (read, write, except)
# ---------------------------------------------------------------------------------------
def settle_connect(desc: Descriptor, revents: int) -> None:
    """A pending non-blocking connect finished: record success or the (sticky) failure."""
    state = desc.state
    if revents & _BROKEN:
        err = desc.sock.getsockopt(L.SOL_SOCKET, L.SO_ERROR)
        state.connecting = False
        state.connect_failed = True
        state.so_error = wsa_from_errno(err) if err else W.WSAECONNREFUSED
    elif revents & _POLLOUT:
        state.mark_connected()


def settle(desc: Descriptor) -> None:
    """Record the outcome of a non-blocking connect that finished since anyone looked, so
    that getsockopt(SO_ERROR) shows a failure without a select first (item 120)."""
    if not desc.state.connecting or desc.closing:
        return
    poller = _select.poll()
    poller.register(desc.fd, _POLLOUT)
    for _, revents in poller.poll(0):
        if revents & (_POLLOUT | _BROKEN):
            settle_connect(desc, revents)


def readiness(desc: Descriptor, revents: int) -> tuple[bool, bool, bool]:
    """Windows' (readable, writable, exceptional) for a socket whose poll returned ``revents``."""
    state = desc.state
    if not desc.is_stream:
        return bool(revents & (_POLLIN | _POLLERR)), bool(revents & _POLLOUT), False
    if state.connecting:
        settle_connect(desc, revents)
    if state.connect_failed and not state.connecting:
        return False, False, True
    if state.listening:
        return bool(revents & _POLLIN) or bool(state.deferred), False, False
    if not state.ever_connected:
        return False, False, False            # never connected: nothing at all
    urgent = bool(revents & _POLLPRI)
    inline = urgent and desc.sock.getsockopt(L.SOL_SOCKET, L.SO_OOBINLINE)
    readable = bool(revents & (_POLLIN | _BROKEN)) or bool(inline)
    # While the send queue holds a tail, the socket's send buffer counts as full.
    writable = bool(revents & _POLLOUT) and not (send_queue.by_fd and send_queue.pending(desc.fd))
    return readable, writable, urgent and not inline


def _quiet(desc: Descriptor, revents: int) -> bool:
    """Can this socket's kernel condition still change in a way Windows would report?"""
    state = desc.state
    if desc.is_stream and (not state.ever_connected and not state.connecting and not state.listening):
        return False
    return not revents & (_BROKEN | _POLLNVAL)


# ---------------------------------------------------------------------------------------
# The call
# ---------------------------------------------------------------------------------------
def _timeout_seconds(timeout: object) -> float | None:
    if timeout is None:
        return None
    try:
        sec, usec = timeout
    except (TypeError, ValueError):
        raise WSAError(W.WSAEFAULT) from None
    # Windows' timeval holds two 32-bit longs.
    if not all(type(v) is int and 0 <= v <= 0x7FFFFFFF for v in (sec, usec)):
        raise WSAError(W.WSAEINVAL)
    return sec + usec / 1e6


def select(provider, readfds: FdSet | None, writefds: FdSet | None, exceptfds: FdSet | None,
           timeout: object) -> int:
    """WSPSelect. The sets are FdSet objects (or None) and are rewritten in place."""
    inputs = [list(fds.fd_array) if fds is not None else [] for fds in (readfds, writefds, exceptfds)]
    if not any(inputs):
        raise WSAError(W.WSAEINVAL)
    seconds = _timeout_seconds(timeout)
    descs: dict[int, Descriptor] = {}
    for s in (s for fds in inputs for s in fds):
        if s not in descs:
            descs[s] = provider.lookup(s)       # WSAENOTSOCK: no set is modified
    deadline = None if seconds is None else time.monotonic() + seconds
    tid = threading.get_ident()
    wake = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    for desc in descs.values():
        desc.blocked.add(tid)                   # closesocket parks the fd instead of freeing it
    waiters = table().waiters
    waiters.add(wake)
    try:
        ready = _wait(descs, inputs, deadline, wake)
    finally:
        waiters.discard(wake)
        os.close(wake)
        for desc in descs.values():
            desc.blocked.discard(tid)
            if desc.closing and not desc.blocked:
                table().release(desc)
    return _write_results(readfds, writefds, exceptfds, inputs, ready, descs)


def _wait(descs: dict[int, Descriptor], inputs: list[list[int]], deadline: float | None,
          wake: int) -> dict[int, tuple[bool, bool, bool]]:
    wants = [set(fds) for fds in inputs]
    while True:
        ready, blocking = _round(descs, wants)
        if ready:
            return ready
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return {}
        poller = _select.poll()
        poller.register(wake, _POLLIN)
        for fd, mask in blocking.items():
            poller.register(fd, mask)
        # poll() takes milliseconds: round up so a short timeout never becomes 0 (a busy loop).
        poller.poll(None if remaining is None else max(1, int(remaining * 1000 + 0.999)))
        try:
            os.eventfd_read(wake)
        except BlockingIOError:
            pass


def _round(descs: dict[int, Descriptor], wants: list[set[int]]):
    """One non-blocking look at every socket: what is ready, and what to block on."""
    probe = _select.poll()
    for desc in descs.values():
        if not desc.closing:
            probe.register(desc.fd, _POLLIN | _POLLPRI | _POLLOUT)
    revents = dict(probe.poll(0))
    ready: dict[int, tuple[bool, bool, bool]] = {}
    blocking: dict[int, int] = {}
    for s, desc in descs.items():
        if desc.closing:
            ready[s] = ("closed", False, False)
            continue
        bits = revents.get(desc.fd, 0)
        r, w, x = readiness(desc, bits)
        r, w, x = r and s in wants[0], w and s in wants[1], x and s in wants[2]
        if r or w or x:
            ready[s] = (r, w, x)
        elif _quiet(desc, bits) or desc.state.connecting:
            mask = (_POLLIN | _POLLPRI if s in wants[0] else 0) | (_POLLOUT if s in wants[1] else 0) \
                | (_POLLPRI if s in wants[2] else 0) | (_POLLOUT if desc.state.connecting else 0)
            blocking[desc.fd] = mask
    return ready, blocking


def _write_results(readfds, writefds, exceptfds, inputs, ready, descs) -> int:
    outputs = (readfds, writefds, exceptfds)
    for fds in outputs:
        if fds is not None:
            fds.fd_array.clear()            # first, because the same set may be passed twice
    count = 0
    closed_elsewhere = False
    for index, fds in enumerate(outputs):
        if fds is None:
            continue
        for s in inputs[index]:
            flags = ready.get(s)
            if flags is None:
                continue
            if flags[0] == "closed":
                if index == 0:
                    hit = True
                else:
                    closed_elsewhere = s not in inputs[0]
                    continue
            else:
                hit = flags[index]
            if hit and s not in fds.fd_array:
                fds.fd_array.append(s)
                count += 1
    if closed_elsewhere:
        raise WSAError(W.WSAENOTSOCK)
    return count
