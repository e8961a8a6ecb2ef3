"""Event registrations of this process's sockets: the thin shell around ``state``.

A ``Registration`` hangs on a socket's ``SocketState.events`` (one per underlying socket,
whichever descriptor made it). It holds the pure ``Record`` and what the record's effects
go to: an event object, or a window + message + wParam. Everything that can change a
record — a monitor report, a re-enabling call, a select call, enumeration — takes the one
lock, *looks* at the socket (``observe``: kernel readiness in Windows terms), runs the pure
transition, and applies its effects.

A shared socket has one record for all its processes, in its arena slot (``_Slot``): the
owner's pid and a generation say whose registration it is. Only the owner looks and posts;
another process that re-enables an event changes the record and sends the owner one
datagram (``_Pokes``), and an owner that finds the record taken over drops its own.
"""
from __future__ import annotations

import errno as E
import os
import select as _select
import socket as L
import struct
import sys
import threading
from typing import Callable

from wsemu import abi as W
from wsemu import msgqueue
from wsemu._native import ffi, lib
from wsemu.events import state as S
from wsemu.events.monitor import Monitor
from wsemu.events.objects import events as event_objects
from wsemu.errors import WSAError
from wsemu.spi.sharedstate import this_pid

# TCP states in which the peer's FIN has arrived (linux/tcp_states.h). A socket that had
# shut down its own side and then gets the FIN is TCP_CLOSE (its TIME_WAIT is a separate
# mini-socket); a reset is told apart by its error, looked at first.
_TCP_CLOSE, _TCP_CLOSE_WAIT, _TCP_LAST_ACK, _TCP_CLOSING, _TCP_TIME_WAIT = 7, 8, 9, 11, 6
_PEER_FIN_STATES = (_TCP_CLOSE_WAIT, _TCP_LAST_ACK, _TCP_CLOSING, _TCP_TIME_WAIT, _TCP_CLOSE)
_TCPI_UNACKED_AT = 24      # tcpi_unacked: a listener's accept-queue length

lock = threading.RLock()


class _Provider:
    """The base provider's modules this layer reads (bound at first use: they import it)."""

    def __getattr__(self, name: str):
        from wsemu.spi import descriptor, sendqueue, wselect
        self.wselect, self.send_queue, self.table = wselect, sendqueue.queue, descriptor.table()
        return getattr(self, name)


_provider = _Provider()


class Registration:
    """The event registration of one underlying socket in this process."""

    __slots__ = ("record", "event", "hwnd", "wmsg", "wparam", "desc", "watched", "seen", "generation",
                 "lane")

    def __init__(self, desc, record: S.Record = S.Record()) -> None:
        self.record = record
        self.event = 0            # WSAEVENT (event mode)
        self.hwnd = self.wmsg = self.wparam = 0   # message mode
        self.desc = desc          # the descriptor the monitor watches (any of the socket's)
        self.watched: int | None = None
        self.seen = 0             # bytes queued / connections waiting at the last look
        self.generation = 0       # a shared socket's: the slot's registration this one is
        self.lane = 0             # the kind of C lane armed for ``watched`` (see _hold)

    @property
    def mask(self) -> int:
        return self.record.mask


class RemoteRegistration:
    """Another process holds the shared socket's one registration: its record is in the
    socket's slot, and this process only re-enables and enumerates it."""

    __slots__ = ("raw",)

    def __init__(self, raw) -> None:
        self.raw = raw

    @property
    def mask(self) -> int:
        return self.raw.events.mask


class _Slot:
    """Read-modify-write of a shared socket's record, under the slot's lock (``with``)."""

    __slots__ = ("raw", "rec", "owner", "generation")

    def __init__(self, raw) -> None:
        self.raw = raw

    def __enter__(self) -> "_Slot":
        lib.wsemu_event_lock(self.raw, this_pid[0])
        ev = self.raw.events
        self.rec = S.Record(S.Mode(ev.mode), ev.mask, ev.pending, ev.reported, tuple(ev.errors))
        self.owner, self.generation = ev.owner, ev.generation
        return self

    def __exit__(self, *exc) -> None:
        try:
            ev, rec = self.raw.events, self.rec
            ev.mode, ev.mask, ev.pending, ev.reported = int(rec.mode), rec.mask, rec.pending, rec.reported
            ev.errors = list(rec.errors)
            ev.owner, ev.generation = self.owner, self.generation
        finally:
            lib.wsemu_event_unlock(self.raw)


def _local(state) -> Registration | None:
    """This process's own registration of the socket (not another process's)."""
    return state._events if state.shared else state.events


# ---------------------------------------------------------------------------------------
# Looking at the socket
# ---------------------------------------------------------------------------------------
def phase_of(desc) -> S.Phase:
    state = desc.state
    if not desc.is_stream:
        return S.Phase.DATAGRAM if _bound(desc) else S.Phase.DATAGRAM_UNBOUND
    if state.listening:
        return S.Phase.LISTENING
    if state.connecting:
        return S.Phase.CONNECTING
    if state.ever_connected:
        return S.Phase.CONNECTED
    return S.Phase.IDLE


def _bound(desc) -> bool:
    try:
        return desc.sock.getsockname()[1] != 0
    except OSError:
        return False


def _tcp_info(desc) -> bytes:
    try:
        return desc.sock.getsockopt(L.IPPROTO_TCP, L.TCP_INFO, 32)
    except OSError:
        return b"\x07" + bytes(31)


_seen = ffi.new("int[3]")      # wsemu_sock_observe's answer (used under ``lock`` only)


def observe(desc, reg: Registration, revents: int, phase: S.Phase) -> S.Observation:
    """What holds on the socket now, and what newly arrived since the last look.
    ``revents``: the readiness epoll reported with a wake-up (-1: none, look now); for a
    datagram socket, a wake-up with data means a datagram came."""
    if phase == S.Phase.IDLE:
        return S.Observation()
    report = revents >= 0
    if lib.wsemu_sock_observe(desc.fd, revents, _seen) < 0:
        return S.Observation()
    revents, queued, tcp_state = _seen[0], _seen[1], _seen[2]
    ready = arrived = 0
    connect_error = 0
    state = desc.state
    if phase == S.Phase.CONNECTED:
        ready, arrived = _connected(desc, reg, revents, queued, tcp_state)
    elif phase == S.Phase.CONNECTING:
        _provider.wselect.settle_connect(desc, revents)
        if state.connect_failed:
            ready, connect_error = S.Ready.FAILED, state.so_error
        elif state.ever_connected:
            ready = S.Ready.WRITABLE
    elif phase == S.Phase.LISTENING:
        waiting = struct.unpack_from("@I", _tcp_info(desc), _TCPI_UNACKED_AT)[0] + len(state.deferred)
        if waiting or revents & _select.POLLIN:
            ready |= S.Ready.DATA
        if waiting > reg.seen:
            arrived |= S.Ready.DATA
        reg.seen = waiting
    else:
        if revents & _select.POLLIN:
            ready |= S.Ready.DATA
            if report:
                arrived |= S.Ready.DATA
        if revents & _select.POLLOUT:
            ready |= S.Ready.WRITABLE
    return S.detect(reg.record.mode, phase, ready, arrived, connect_error)


def _connected(desc, reg: Registration, revents: int, queued: int, tcp_state: int) -> tuple[int, int]:
    send_queue = _provider.send_queue
    state = desc.state
    ready = arrived = 0
    if queued:
        ready = S.Ready.DATA
        if queued > reg.seen:
            arrived = S.Ready.DATA
    reg.seen = queued
    if revents & _select.POLLPRI:
        ready |= S.Ready.URGENT
    if revents & _select.POLLOUT and not (send_queue.by_fd and send_queue.pending(desc.fd)):
        ready |= S.Ready.WRITABLE
    if revents & _select.POLLERR and not state.sticky_error:
        err = desc.sock.getsockopt(L.SOL_SOCKET, L.SO_ERROR)
        if err in (E.ECONNRESET, E.EPIPE):
            state.sticky_error = W.WSAECONNRESET      # recv/send report it from now on
    if state.sticky_error:
        ready |= S.Ready.RESET
    elif tcp_state in _PEER_FIN_STATES:
        ready |= S.Ready.PEER_CLOSED
    return ready, arrived


# ---------------------------------------------------------------------------------------
# Applying a transition's effects
# ---------------------------------------------------------------------------------------
def _apply(reg: Registration, effects: S.Effects) -> None:
    if effects.signal and reg.event in event_objects.handles:   # (else closed: nothing to set)
        os.eventfd_write(reg.event, 1)
    for event, error in effects.messages:
        if reg.hwnd:
            msgqueue.PostMessage(reg.hwnd, reg.wmsg, reg.wparam, (error & 0xFFFF) << 16 | event)


def look(desc, reg: Registration, revents: int = -1) -> None:
    """Post what the socket shows now (lock held); then the C lane may post what follows."""
    _hold(reg)
    phase = phase_of(desc)
    _post(desc, reg, observe(desc, reg, revents, phase))
    _arm(desc, reg, phase)


# ---------------------------------------------------------------------------------------
# The C lanes (native/src/wsemu_events.c): the common reports without Python
# ---------------------------------------------------------------------------------------
_took = ffi.new("int64_t[3]")  # wsemu_lane_take's answer (used under ``lock`` only)


def _hold(reg: Registration) -> int:
    """Take the record back from the C lane before reading or changing it (lock held):
    while armed, the lane's pending, reported and seen are the registration's. Returns the
    lane's kind (0: none was armed), for ``_rearm``."""
    kind = reg.lane
    if kind:
        reg.lane = 0
        if lib.wsemu_lane_take(reg.watched, _took):
            reg.record = reg.record._replace(pending=_took[0], reported=_took[1])
            reg.seen = _took[2]
    return kind


def _arm(desc, reg: Registration, phase: S.Phase) -> None:
    """After a full look: arm the lane when the socket's next reports can only be data and
    write space, which the lane posts exactly as ``state`` would — an unshared connected
    stream (no reset seen, no send-queue tail) or bound datagram socket, in event mode."""
    state = desc.state
    if (reg.record.mode != S.Mode.EVENT or state.shared or desc.closing or reg.watched != desc.fd
            or reg.event not in event_objects.handles):
        return
    if phase == S.Phase.CONNECTED:
        send_queue = _provider.send_queue
        if state.sticky_error or (send_queue.by_fd and send_queue.pending(desc.fd)):
            return
        kind = lib.WSEMU_LANE_STREAM
    elif phase == S.Phase.DATAGRAM:
        kind = lib.WSEMU_LANE_DATAGRAM
    else:
        return
    _rearm(reg, kind)


def _rearm(reg: Registration, kind: int) -> None:
    rec = reg.record
    if kind and lib.wsemu_lane_arm(reg.watched, kind, reg.event, rec.mask, rec.pending, rec.reported, reg.seen):
        reg.lane = kind


def _post(desc, reg: Registration, seen: S.Observation) -> None:
    state = desc.state
    if not state.shared:
        reg.record, effects = S.post(reg.record, seen)
    else:
        with _Slot(state._raw) as slot:
            if slot.owner != this_pid[0] or slot.generation != reg.generation:
                effects = None             # another process registered since: ours is over
            else:
                slot.rec, effects = S.post(slot.rec, seen)
                reg.record = slot.rec
        if effects is None:
            _drop(state, reg)
            return
    _apply(reg, effects)


def _drop(state, reg: Registration) -> None:
    """This process's registration is over (lock held)."""
    _unwatch(reg)
    if _local(state) is reg:
        state.events = None


# ---------------------------------------------------------------------------------------
# The monitor
# ---------------------------------------------------------------------------------------
def _on_report(fd: int, revents: int) -> None:
    reader = _readers.get(fd)
    if reader is not None:
        return reader()                # (it takes the locks it needs)
    with lock:
        reg = _watched.get(fd)
        if reg is None or reg.desc.closing:
            if _pokes.sock is not None and fd == _pokes.sock.fileno():
                _pokes.read()
            return
        try:
            look(reg.desc, reg, revents)
        except (OSError, WSAError):
            pass                       # the socket went away under us: nothing to post


monitor = Monitor(_on_report)
event_objects.pump = monitor        # a thread waiting on an event runs the reports itself
_watched: dict[int, Registration] = {}
_readers: dict[int, Callable[[], None]] = {}   # other fds in the epoll: their reader


def watch_reader(fd: int, reader: Callable[[], None]) -> None:
    """Put a descriptor of wsemu's own in the monitor's epoll (the netstate listener):
    ``reader()`` runs, on a draining thread, whenever it has news."""
    _readers[fd] = reader
    monitor.watch(fd)


def unwatch_reader(fd: int) -> None:
    if _readers.pop(fd, None) is not None:
        monitor.unwatch(fd)


def _watch(reg: Registration) -> None:
    fd = reg.desc.fd
    if reg.watched == fd:
        return
    _unwatch(reg)
    _watched[fd] = reg
    reg.watched = fd
    monitor.watch(fd)


def _unwatch(reg: Registration) -> None:
    _hold(reg)
    if reg.watched is not None:
        monitor.unwatch(reg.watched)
        _watched.pop(reg.watched, None)
        reg.watched = None


# ---------------------------------------------------------------------------------------
# The calls
# ---------------------------------------------------------------------------------------
def _registration(desc) -> Registration:
    reg = _local(desc.state)
    if reg is None:
        reg = desc.state.events = Registration(desc)
    return reg


def _register(state, reg: Registration, select) -> tuple[S.Effects, bool]:
    """Make ``reg`` the socket's one registration with ``select`` (record -> (record,
    effects)); for a shared socket this replaces any other process's (lock held). Returns
    the effects, and whether the socket had never been registered."""
    if not state.shared:
        first = reg.record.mode == S.Mode.NONE
        reg.record, effects = select(reg.record)
        return effects, first
    with _Slot(state._raw) as slot:
        first = slot.rec.mode == S.Mode.NONE
        slot.rec, effects = select(slot.rec)
        slot.owner, slot.generation = this_pid[0], slot.generation + 1
        reg.record, reg.generation = slot.rec, slot.generation
    _pokes.listen()
    return effects, first


def event_select(desc, handle: int, mask: int) -> None:
    """WSAEventSelect (arguments checked by the caller)."""
    with lock:
        reg = _registration(desc)
        _hold(reg)
        reg.event, reg.hwnd, reg.wmsg, reg.wparam = handle, 0, 0, 0
        effects, first = _register(desc.state, reg, lambda rec: S.event_select(rec, mask))
        reg.desc = desc
        _watch(reg)
        if first:
            _remember_connect(desc, reg)
        look(desc, reg)
        _apply(reg, effects)


def _remember_connect(desc, reg: Registration) -> None:
    """Event mode remembers what happened before the first registration (item 139): a
    connect that completed (or failed) earlier is still a pending FD_CONNECT."""
    state = desc.state
    if not desc.is_stream or state.accepted:
        return
    if state.connect_failed:
        seen = S.Observation(level=S.CONNECT, errors=((S.CONNECT, state.so_error or W.WSAECONNREFUSED),))
    elif state.ever_connected:
        seen = S.Observation(level=S.CONNECT)
    else:
        return
    _post(desc, reg, seen)


def async_select(desc, handle: int, hwnd: int, message: int, mask: int) -> None:
    """WSAAsyncSelect (arguments checked by the caller); ``handle`` is the wParam."""
    with lock:
        reg = _registration(desc)
        _hold(reg)
        reg.event, reg.hwnd, reg.wmsg, reg.wparam = 0, hwnd, message, handle
        _register(desc.state, reg,
                  lambda rec: (S.async_select(rec, mask) if hwnd else S.Record(S.Mode.MESSAGE, mask), S.NOTHING))
        reg.desc = desc
        reg.seen = 0
        _watch(reg)
        look(desc, reg)


def enumerate_events(desc, handle: int) -> tuple[int, tuple[int, ...]]:
    """WSAEnumNetworkEvents: (events, iErrorCode[10]); resets ``handle`` if given. Reports
    the kernel has made and nobody has handled yet are handled first (not under ``lock``:
    the monitor takes its own lock, then this one)."""
    state = desc.state
    if state.events is not None:
        monitor.drain()
    with lock:
        reg = _local(state)
        if state.shared:
            with _Slot(state._raw) as slot:
                slot.rec, returned, errors = S.enumerate_events(slot.rec)
                if reg is not None:
                    reg.record = slot.rec
        elif reg is None:
            returned, errors = 0, S.NO_ERRORS
        else:
            _hold(reg)
            reg.record, returned, errors = S.enumerate_events(reg.record)
        if handle:
            event_objects.reset(handle)
    return returned, errors


def reenable(desc, call: S.Call) -> None:
    """A call of §2.3's table went through ``desc``: its events may be posted again."""
    state = desc.state
    reg = state.events
    if reg is None:
        return
    if state.shared:
        return _reenable_shared(desc, call)
    with lock:
        lane = _hold(reg)
        record = S.reenable(reg.record, call)
        if record is reg.record:
            return _rearm(reg, lane)       # (nothing changed: the lane may go on)
        reg.record = record
        if not desc.closing:
            look(desc, reg)


def _reenable_shared(desc, call: S.Call) -> None:
    """Through any descriptor in any process: the slot's record; the owner looks again —
    this process at once, another after one datagram (its monitor's poke socket)."""
    state = desc.state
    with lock:
        with _Slot(state._raw) as slot:
            record = S.reenable(slot.rec, call)
            changed, owner = record is not slot.rec, slot.owner
            slot.rec = record
        if not changed or not owner:
            return
        reg = _local(state)
        if owner == this_pid[0] and reg is not None:
            if not desc.closing:
                look(desc, reg)
            return
    _pokes.send(owner, state)


def connected(desc) -> None:
    """A connect completed within the call (a datagram association, or a stream connect
    the kernel finished at once)."""
    reg = _local(desc.state)
    if reg is None:
        return
    with lock:
        _hold(reg)
        if desc.state.shared:
            with _Slot(desc.state._raw) as slot:
                ours = slot.owner == this_pid[0] and slot.generation == reg.generation
                if ours:
                    slot.rec, effects = S.connected(slot.rec, datagram=not desc.is_stream)
            if not ours:
                return _drop(desc.state, reg)
        else:
            reg.record, effects = S.connected(reg.record, datagram=not desc.is_stream)
        _apply(reg, effects)
        look(desc, reg)


def network_changed(desc, event: int) -> None:
    """wsemu.netstate: the change ``desc``'s SIO_*_CHANGE asked about has happened. A
    socket without a registration keeps it pending for its first WSAEventSelect."""
    with lock:
        if desc.closing:
            return
        reg = _registration(desc)
        _hold(reg)
        if desc.state.shared:
            with _Slot(desc.state._raw) as slot:
                slot.rec, effects = S.network_changed(slot.rec, event)
                if slot.owner == this_pid[0] and slot.generation == reg.generation:
                    reg.record = slot.rec
                else:
                    effects = S.NOTHING        # (the owner's objects are not in this process)
        else:
            reg.record, effects = S.network_changed(reg.record, event)
        _apply(reg, effects)
        if reg.watched is not None:
            look(desc, reg)                # (gives the C lane back its record)


def recheck(state) -> None:
    """Something outside any call changed what the socket shows (the send queue finished
    a tail: the buffer is the application's again)."""
    reg = _local(state)
    if reg is not None:
        with lock:
            if not reg.desc.closing:
                look(reg.desc, reg)


def connect_started(desc) -> None:
    """A non-blocking connect is in progress: the monitor must see it finish."""
    reg = _local(desc.state)
    if reg is not None:
        with lock:
            look(desc, reg)


def inherit(listener, new, handle: int) -> None:
    """accept: the new socket gets the listener's registration, fresh sets, wParam = its
    own handle (§2.4), and is non-blocking."""
    reg = _local(listener.state)
    if reg is None or reg.record.mode == S.Mode.NONE:
        return                         # (or another process's: its objects are not here)
    new.set_nonblocking(True)
    with lock:
        child = new.state.events = Registration(new, S.inherit(reg.record))
        child.event, child.hwnd, child.wmsg = reg.event, reg.hwnd, reg.wmsg
        child.wparam = handle if reg.record.mode == S.Mode.MESSAGE else 0
        _watch(child)
        look(new, child)


def closing(desc, others: list) -> None:
    """``desc`` is being closed; ``others`` are the socket's remaining descriptors in this
    process: the registration moves to one of them, or ends with the last."""
    state = desc.state
    reg = _local(state)
    if reg is None:
        return
    with lock:
        _hold(reg)
        if reg.watched == desc.fd:
            _unwatch(reg)
            if others:
                reg.desc = others[0]
                _watch(reg)
        if not others:
            state.events = None
            if state.shared:
                with _Slot(state._raw) as slot:      # the process's last descriptor: its
                    if slot.owner == this_pid[0]:        # registration ends with it
                        slot.owner, slot.rec = 0, slot.rec._replace(mask=0)


def shared(state) -> None:
    """A socket with a registration in this process is shared from now on: its record
    moves into the slot, owned by this process."""
    reg = state._events
    if reg is None:
        return
    with lock:
        _hold(reg)
        _register(state, reg, lambda rec: (reg.record, S.NOTHING))


class _Pokes:
    """One datagram tells a registration's owner that another process re-enabled its
    events: the owner's monitor watches an abstract AF_UNIX datagram socket named after its
    uid and pid, and looks again at the socket (by inode) each datagram names. A forged
    datagram can cause no more than a look."""

    def __init__(self) -> None:
        self.sock: L.socket | None = None
        self.out: L.socket | None = None

    @staticmethod
    def name(pid: int) -> bytes:
        return b"\0wsemu-events-%d-%d" % (os.getuid(), pid)

    def listen(self) -> None:
        if self.sock is not None:
            return
        sock = L.socket(L.AF_UNIX, L.SOCK_DGRAM | L.SOCK_NONBLOCK | L.SOCK_CLOEXEC)
        try:
            sock.bind(self.name(this_pid[0]))
        except OSError:
            sock.close()                   # (the name is taken: no pokes; events still flow)
            return
        self.sock = sock
        monitor.watch(sock.fileno())

    def send(self, pid: int, state) -> None:
        if self.out is None:
            self.out = L.socket(L.AF_UNIX, L.SOCK_DGRAM | L.SOCK_NONBLOCK | L.SOCK_CLOEXEC)
        try:
            self.out.sendto(_INODE.pack(state.inode), self.name(pid))
        except (ConnectionRefusedError, FileNotFoundError):
            with lock, _Slot(state._raw) as slot:   # the owner has gone: so has its registration
                if slot.owner == pid:
                    slot.owner, slot.rec = 0, slot.rec._replace(mask=0)
        except OSError:
            pass                           # (its queue is full: it has a look pending anyway)

    def read(self) -> None:
        states = _provider.table.states
        while True:
            try:
                data = self.sock.recv(64)
            except (BlockingIOError, OSError):
                return
            if len(data) != _INODE.size:
                continue
            state = states.get(_INODE.unpack(data)[0])
            reg = _local(state) if state is not None else None
            if reg is not None:
                with lock:
                    if not reg.desc.closing:
                        look(reg.desc, reg)

    def close(self) -> None:
        for sock in (self.sock, self.out):
            if sock is not None:
                sock.close()
        self.sock = self.out = None


_pokes = _Pokes()
_INODE = struct.Struct("@Q")


def stop() -> None:
    """The last WSACleanup: no socket is left to watch."""
    netstate = sys.modules.get("wsemu.netstate.live")
    if netstate is not None:
        netstate.live.close()          # (its listener is in the monitor's epoll)
    with lock:
        for reg in list(_watched.values()):
            _unwatch(reg)
    monitor.stop()
    _pokes.close()


def _after_fork_in_child() -> None:
    global lock
    lock = threading.RLock()
    for sock in (_pokes.sock, _pokes.out):   # (the parent's name: the child makes its own)
        if sock is not None:
            sock.close()
    _pokes.sock = _pokes.out = None
    for reg in _watched.values():
        reg.watched = None             # the child's monitor watches nothing yet
        reg.lane = 0                   # (and its C lanes are cleared: Monitor.after_fork_in_child)
    _watched.clear()
    _readers.clear()                   # (their owners reopen in the child: wsemu.netstate.live)
    monitor.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)


def check_event_handle(handle: object) -> int:
    try:
        return event_objects.check(handle)
    except WSAError:
        raise WSAError(W.WSAEINVAL) from None

