"""Descriptors of the base provider: one kernel fd per SOCKET, and the Windows state around it.

Two records, because Windows keeps two kinds of state:

* ``SocketState`` — per *underlying socket* (one per sockfs inode in this process): what
  Windows keeps on the socket object and Linux cannot hold for us — the stored SO_ERROR, the
  exact millisecond timeouts, SO_EXCLUSIVEADDRUSE, local shutdown, the sticky reset error,
  connect progress, deferred WSAAccept connections. Every descriptor of the socket in this
  process points at the same record.
* ``Descriptor`` — per *SOCKET value*: the kernel fd, the Python socket object used for the
  data path, the catalog entry, and the per-descriptor context Windows caches in user mode
  (whether the descriptor has seen the socket bound: CONFORMANCE.md item 27).

A blocking kernel call made through a descriptor registers its thread, so that
``closesocket`` from another thread can wake it (items 87, 121): the fd slot is atomically
re-pointed at /dev/null with dup2, the threads get a signal whose handler does nothing (so
their system call returns EINTR), and the retried call fails on the dead slot. The fd number
itself is released when the last such thread has left.
"""
from __future__ import annotations

import fcntl
import os
import signal
import socket as _socket
import stat
import struct
import sys
import threading
import time
from typing import Callable

from wsemu import abi
from wsemu._native import lib
from wsemu.spi import cgate
from wsemu.errors import WSAError

# Linux <-> Windows values for the three socket-creation numbers.
LINUX_FAMILY = {abi.AF_INET: _socket.AF_INET, abi.AF_INET6: _socket.AF_INET6}
WINDOWS_FAMILY = {v: k for k, v in LINUX_FAMILY.items()}
# SOCK_* and IPPROTO_* numbers are the same on both systems.

WAKE_SIGNAL = int(os.environ.get("WSEMU_WAKE_SIGNAL", signal.SIGRTMAX - 6))


class SocketState:
    """Windows state of one underlying socket (see module docstring)."""

    shared = False                   # True for SharedSocketState (wsemu.spi.sharedstate)

    __slots__ = (
        "inode", "refs", "so_error", "rcvtimeo_ms", "sndtimeo_ms", "exclusive", "reuseaddr",
        "shut_rd", "shut_wr", "sticky_error", "connecting", "connect_target", "connected_at",
        "ever_connected", "deferred", "sndbuf", "rcvbuf", "debug", "dontroute", "linger_raw",
        "bind_entries", "events", "nonblocking", "listening", "connect_failed", "accepted",
        "tail", "dgram_connected", "cslot",
    )

    def __init__(self, inode: int) -> None:
        self.cslot = -1              # the C face's slot (wsemu.spi.cgate), none yet
        self.inode = inode
        self.refs = 0
        self.so_error = 0            # Windows SO_ERROR: settable, sticky until a connect succeeds
        self.rcvtimeo_ms = 0         # exact DWORD values (the kernel rounds to jiffies)
        self.sndtimeo_ms = 0
        self.exclusive = False       # SO_EXCLUSIVEADDRUSE
        self.reuseaddr = False       # Windows SO_REUSEADDR (the kernel flag is always on: bindrules)
        self.shut_rd = False
        self.shut_wr = False
        self.sticky_error = 0        # WSAECONNRESET/WSAECONNABORTED once a reset has been seen
        self.connecting = False
        self.connect_target: tuple | None = None
        self.connected_at: float | None = None
        self.ever_connected = False
        self.deferred: list[Descriptor] = []   # CF_DEFER'd connections, returned first by accept
        self.sndbuf: int | None = None          # echoed SO_SNDBUF/SO_RCVBUF (Windows echoes them)
        self.rcvbuf: int | None = None
        self.debug = False
        self.dontroute: int | None = None
        self.linger_raw: tuple[int, int] | None = None
        self.bind_entries: list = []
        self.events = None           # the event registration (wsemu.events.registry)
        # Cache of the kernel's O_NONBLOCK, kept by wsemu's own FIONBIO/event-select calls; it
        # only decides whether a call registers for cancellation. Errors consult the kernel.
        self.nonblocking = False
        self.listening = False
        self.connect_failed = False  # a connect failed: select reports "except" until the next one
        self.accepted = False        # came from accept (its FD_CONNECT never happened here)
        self.tail = False            # the send queue holds a tail of this socket
        self.dgram_connected = False # a datagram socket with a default peer

    def mark_connected(self) -> None:
        self.connect_failed = False
        self.connecting = False
        self.connect_target = None
        self.ever_connected = True
        self.connected_at = time.monotonic()
        self.so_error = 0



class GatedSocketState(SocketState):
    """A SocketState the C face's data path has a slot for (wsemu.spi.cgate.open_gate turns a
    state into one). Every change C depends on reaches the slot here, whatever code path makes
    it. A separate class so that states C never sees (every one in a process without the C
    face) pay nothing for it: a Python __setattr__ costs each attribute write ~0.4 µs."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name in cgate.WATCHED and self.cslot >= 0:
            cgate.changed(self)

    def __del__(self) -> None:
        if self.cslot >= 0:
            cgate.release_slot(self)


class Descriptor:
    """One SOCKET of the base provider (see module docstring)."""

    __slots__ = (
        "fd", "sock", "state", "info", "family", "type", "protocol", "bound", "overlapped",
        "adopted", "blocked", "closing", "is_stream",
    )

    def __init__(self, sock: _socket.socket, state: SocketState, info: abi.WSAPROTOCOL_INFOW,
                 family: int, type_: int, protocol: int, *, adopted: bool = False,
                 overlapped: bool = False) -> None:
        self.fd = sock.fileno()
        self.sock = sock
        self.state = state
        self.info = info
        self.family = family          # Windows values
        self.type = type_
        self.protocol = protocol
        self.is_stream = type_ == abi.SOCK_STREAM
        self.bound = False
        self.overlapped = overlapped
        self.adopted = adopted
        self.blocked: set[int] = set()   # threads inside a blocking kernel call on this fd
        self.closing = False

    def is_nonblocking(self) -> bool:
        """The kernel's O_NONBLOCK (shared by every descriptor of the socket, in any process)."""
        return bool(fcntl.fcntl(self.fd, fcntl.F_GETFL) & os.O_NONBLOCK)

    def set_nonblocking(self, on: bool) -> None:
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK if on else flags & ~os.O_NONBLOCK)
        self.state.nonblocking = on

    def blocking_call(self, call: Callable, *args):
        """Run a kernel call that may block, so that closesocket can interrupt it."""
        tid = threading.get_ident()
        self.blocked.add(tid)
        try:
            return call(*args)
        finally:
            self.blocked.discard(tid)
            if self.closing and not self.blocked:
                _table.release(self)


class Waiters:
    """Threads blocked in select: one eventfd each, written when another thread closes a
    socket or changes its connection state (a select must then look again)."""

    def __init__(self) -> None:
        self.fds: set[int] = set()
        self.lock = threading.Lock()

    def add(self, fd: int) -> None:
        with self.lock:
            self.fds.add(fd)

    def discard(self, fd: int) -> None:
        with self.lock:
            self.fds.discard(fd)

    def kick(self) -> None:
        if self.fds:
            with self.lock:
                for fd in self.fds:
                    os.eventfd_write(fd, 1)


class DescriptorTable:
    """The base provider's descriptors by SOCKET value, and their shared states by inode."""

    def __init__(self) -> None:
        self.waiters = Waiters()
        self.by_fd: dict[int, Descriptor] = {}
        self.states: dict[int, SocketState] = {}
        self.lock = threading.RLock()
        self._dead_fd: int | None = None
        self._wake_installed = False
        self.closing_in_c: dict[int, Descriptor] = {}   # closed while C threads were blocked

    # -- registration --------------------------------------------------------------------
    def state_for(self, fd: int) -> SocketState:
        inode = os.fstat(fd).st_ino
        with self.lock:
            state = self.states.get(inode)
            if state is None:
                state = self.states[inode] = SocketState(inode)
            return state

    def share(self, desc: Descriptor):
        """Move the socket's Windows state into a shared slot (if not there yet); the state
        (a SharedSocketState), with one more hold taken for the delivery about to leave."""
        with self.lock:
            state = desc.state
            if not state.shared:
                self._replace_state(state, _sharedstate().SharedSocketState.create(state))
            desc.state.hold()
            return desc.state

    def attach(self, fd: int, arena, slot: int, token: int) -> SocketState:
        """The state of a socket claimed from another process under ``token``: the slot it
        came with, which this process joins (or whose delivery hold it gives back, when it
        holds the socket already)."""
        sharedstate = _sharedstate()
        inode = os.fstat(fd).st_ino
        with self.lock:
            local = self.states.get(inode)
            if local is not None and local.shared:
                sharedstate.settle_delivery(arena, slot, token)   # this process holds that slot already
                return local
            try:
                state = sharedstate.SharedSocketState.attach(inode, arena, slot, token, local)
            except ValueError:
                sharedstate.settle_delivery(arena, slot, token)
                raise
            if local is not None:
                self._replace_state(local, state)
            self.states[inode] = state
            return state

    def _replace_state(self, old: SocketState, new: SocketState) -> None:
        """Every descriptor of the socket in this process now uses ``new`` (lock held)."""
        self.states[old.inode] = new
        for desc in self.by_fd.values():
            if desc.state is old:
                desc.state = new
                cgate.open_gate(desc)      # (a shared state: C leaves the socket to Python)

    def add(self, desc: Descriptor) -> None:
        with self.lock:
            desc.state.refs += 1
            self.by_fd[desc.fd] = desc

    def get(self, fd: int) -> Descriptor | None:
        return self.by_fd.get(fd)

    # -- closing ------------------------------------------------------------------------
    def close(self, desc: Descriptor) -> None:
        """closesocket: forget the descriptor; wake threads blocked in it; close the fd."""
        with self.lock:
            if self.by_fd.get(desc.fd) is not desc:
                return
            del self.by_fd[desc.fd]
            self._leave_registration(desc)
            desc.closing = True
            last = self._drop_ref(desc)
            in_c = cgate.close_gate(desc.fd)
            if in_c:
                self.closing_in_c[desc.fd] = desc
            blocked = list(desc.blocked) + in_c
        if last:
            self._hand_to_send_queue(desc)
        if not blocked:
            self.release(desc)
            self.waiters.kick()
            return
        # Re-point the fd slot at /dev/null first, so a thread that has not yet entered its
        # call fails too, then interrupt those inside one.
        self._ensure_wake_signal()
        os.dup2(self._dead(), desc.fd)
        for tid in blocked:
            try:
                signal.pthread_kill(tid, WAKE_SIGNAL)
            except (ProcessLookupError, OSError):
                pass
        self.waiters.kick()

    def release(self, desc: Descriptor) -> None:
        """Close the fd number (after the last blocked thread has left)."""
        if desc.fd in self.closing_in_c and cgate.blocked_in_c(desc.fd):
            return                   # the last thread out of C releases it (released_in_c)
        self.closing_in_c.pop(desc.fd, None)
        sock, desc.sock = desc.sock, None
        if sock is not None:
            if desc.adopted:
                sock.detach()        # someone else owns this fd (it was adopted, not created)
            else:
                sock.close()

    def released_in_c(self, fd: int) -> None:
        """The last thread blocked in C on closed ``fd`` has left it."""
        desc = self.closing_in_c.get(fd)
        if desc is not None and not desc.blocked:
            self.release(desc)

    def forget(self, desc: Descriptor) -> None:
        """Drop an adopted descriptor without closing its fd (WSACleanup)."""
        cgate.close_gate(desc.fd)
        with self.lock:
            if self.by_fd.pop(desc.fd, None) is desc:
                self._leave_registration(desc)
                self._drop_ref(desc)
        desc.sock.detach()

    def _leave_registration(self, desc: Descriptor) -> None:
        """The socket's event registration stops using ``desc`` (lock held, desc removed),
        and so do its SIO_*_CHANGE requests."""
        netstate = sys.modules.get("wsemu.netstate.live")
        if netstate is not None:
            netstate.live.forget(desc)
        if desc.state.events is not None:
            from wsemu.events import registry   # (the events layer imports this module)
            registry.closing(desc, [d for d in self.by_fd.values() if d.state is desc.state])

    def _drop_ref(self, desc: Descriptor) -> bool:
        """One descriptor fewer on the socket (lock held); True when it was the last one, in
        which case the socket's Windows state goes: deferred connections, bind registration."""
        state = desc.state
        state.refs -= 1
        if state.refs:
            return False
        self.states.pop(state.inode, None)
        for queued in state.deferred:
            queued.sock.close()
        state.deferred.clear()
        from wsemu.spi import bindrules   # (bindrules imports this module)
        bindrules.release(desc)
        if state.shared:
            state.close()          # a shared socket: this process is out of its slot's holders
        return True

    @staticmethod
    def _hand_to_send_queue(desc: Descriptor) -> None:
        """A graceful close still delivers a tail the send queue holds (Windows AFD does)."""
        from wsemu.spi.sendqueue import queue
        if desc.sock is None or not queue.pending(desc.fd):
            return
        onoff, linger = struct.unpack("@ii", desc.sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_LINGER, 8))
        queue.close_after(desc.fd, abortive=bool(onoff) and linger == 0)

    def _dead(self) -> int:
        if self._dead_fd is None:
            self._dead_fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        return self._dead_fd

    def _ensure_wake_signal(self) -> None:
        if not self._wake_installed:
            if lib.wsemu_install_wake_signal(WAKE_SIGNAL) != 0:
                raise OSError("cannot install the wsemu wake signal")
            self._wake_installed = True

    def after_fork_in_child(self) -> None:
        """Threads do not survive fork: nothing is blocked in the child. The child holds
        every shared socket its parent held (it has the descriptors): one more holder each."""
        self.lock = threading.RLock()
        self.waiters = Waiters()
        for desc in self.by_fd.values():
            desc.blocked.clear()
        for state in self.states.values():
            if state.shared:
                state.join(os.getpid())


def _sharedstate():
    # (wsemu.spi.sharedstate imports this module: bound at first use)
    global _shared_module
    if _shared_module is None:
        from wsemu.spi import sharedstate
        _shared_module = sharedstate
    return _shared_module


_shared_module = None
_table = DescriptorTable()
os.register_at_fork(after_in_child=_table.after_fork_in_child)


def table() -> DescriptorTable:
    return _table


def wrap_fd(fd: int, family: int = -1, type_: int = -1, proto: int = -1) -> _socket.socket:
    """A Python socket object on an existing ``fd`` that leaves the fd's blocking mode as it
    is. Python's constructor applies ``socket.getdefaulttimeout()``: once a program has set
    one, wrapping an fd makes it non-blocking — and O_NONBLOCK belongs to the open socket,
    shared with its owner (the Python socket wsemu adopted, the process a duplicate came
    from). The wrapper is then set to agree with the fd's own mode (a blocking fd is
    non-blocking for the instant in between: Python has no constructor that skips the default
    timeout). Without a default timeout (the usual case) this is the plain constructor."""
    if _socket.getdefaulttimeout() is None:
        return _socket.socket(family, type_, proto, fileno=fd)
    blocking = os.get_blocking(fd)
    sock = _socket.socket(family, type_, proto, fileno=fd)
    sock.setblocking(blocking)
    return sock


def probe_socket(fd: int) -> tuple[int, int, int]:
    """(Linux family, type, protocol) of a kernel socket fd; WSAENOTSOCK if it is not one."""
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            raise WSAError(abi.WSAENOTSOCK)
        probe = wrap_fd(fd)
    except (OSError, ValueError, OverflowError, TypeError):
        raise WSAError(abi.WSAENOTSOCK) from None
    try:
        return probe.family, probe.type, probe.proto
    finally:
        probe.detach()
