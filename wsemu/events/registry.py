"""Event registrations of this process's sockets: the thin shell around ``state``.

A ``Registration`` hangs on a socket's ``SocketState.events`` (one per underlying socket,
whichever descriptor made it). It holds the pure ``Record`` and what the record's effects
go to: an event object, or a window + message + wParam. Everything that can change a
record — a monitor report, a re-enabling call, a select call, enumeration — takes the one
lock, *looks* at the socket (``observe``: kernel readiness in Windows terms), runs the pure
transition, and applies its effects.
"""
from __future__ import annotations

import errno as E
import os
import select as _select
import socket as L
import struct
import threading

from wsemu import abi as W
from wsemu import msgqueue
from wsemu._native import ffi, lib
from wsemu.events import state as S
from wsemu.events.monitor import Monitor
from wsemu.events.objects import events as event_objects
from wsemu.errors import WSAError

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
        from wsemu.spi import sendqueue, wselect
        self.wselect, self.send_queue = wselect, sendqueue.queue
        return getattr(self, name)


_provider = _Provider()


class Registration:
    """The event registration of one underlying socket in this process."""

    __slots__ = ("record", "event", "hwnd", "wmsg", "wparam", "desc", "watched", "seen")

    def __init__(self, desc, record: S.Record = S.Record()) -> None:
        self.record = record
        self.event = 0            # WSAEVENT (event mode)
        self.hwnd = self.wmsg = self.wparam = 0   # message mode
        self.desc = desc          # the descriptor the monitor watches (any of the socket's)
        self.watched: int | None = None
        self.seen = 0             # bytes queued / connections waiting at the last look

    @property
    def mask(self) -> int:
        return self.record.mask


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


def observe(desc, reg: Registration, revents: int = -1) -> S.Observation:
    """What holds on the socket now, and what newly arrived since the last look.
    ``revents``: the readiness epoll reported with a wake-up (-1: none, look now); for a
    datagram socket, a wake-up with data means a datagram came."""
    phase = phase_of(desc)
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
    if effects.signal and reg.event:
        try:
            os.eventfd_write(reg.event, 1)
        except OSError:
            return                     # the application closed its event: nothing to set
        monitor.signalled.add(reg.event)
    for event, error in effects.messages:
        if reg.hwnd:
            msgqueue.PostMessage(reg.hwnd, reg.wmsg, reg.wparam, (error & 0xFFFF) << 16 | event)


def look(desc, reg: Registration, revents: int = -1) -> None:
    """Post what the socket shows now (lock held)."""
    reg.record, effects = S.post(reg.record, observe(desc, reg, revents))
    _apply(reg, effects)


# ---------------------------------------------------------------------------------------
# The monitor
# ---------------------------------------------------------------------------------------
def _on_report(fd: int, revents: int) -> None:
    with lock:
        reg = _watched.get(fd)
        if reg is None or reg.desc.closing:
            return
        try:
            look(reg.desc, reg, revents)
        except (OSError, WSAError):
            pass                       # the socket went away under us: nothing to post


monitor = Monitor(_on_report)
event_objects.pump = monitor        # a thread waiting on an event runs the reports itself
_watched: dict[int, Registration] = {}


def _watch(reg: Registration) -> None:
    fd = reg.desc.fd
    if reg.watched == fd:
        return
    _unwatch(reg)
    _watched[fd] = reg
    reg.watched = fd
    monitor.watch(fd)


def _unwatch(reg: Registration) -> None:
    if reg.watched is not None:
        monitor.unwatch(reg.watched)
        _watched.pop(reg.watched, None)
        reg.watched = None


# ---------------------------------------------------------------------------------------
# The calls
# ---------------------------------------------------------------------------------------
def _registration(desc) -> Registration:
    reg = desc.state.events
    if reg is None:
        reg = desc.state.events = Registration(desc)
    return reg


def event_select(desc, handle: int, mask: int) -> None:
    """WSAEventSelect (arguments checked by the caller)."""
    with lock:
        reg = _registration(desc)
        first = reg.record.mode == S.Mode.NONE
        reg.event, reg.hwnd, reg.wmsg, reg.wparam = handle, 0, 0, 0
        reg.record, effects = S.event_select(reg.record, mask)
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
    reg.record, effects = S.post(reg.record, seen)
    _apply(reg, effects)


def async_select(desc, handle: int, hwnd: int, message: int, mask: int) -> None:
    """WSAAsyncSelect (arguments checked by the caller); ``handle`` is the wParam."""
    with lock:
        reg = _registration(desc)
        reg.event, reg.hwnd, reg.wmsg, reg.wparam = 0, hwnd, message, handle
        reg.record = S.async_select(reg.record, mask) if hwnd else S.Record(S.Mode.MESSAGE, mask)
        reg.desc = desc
        reg.seen = 0
        _watch(reg)
        look(desc, reg)


def enumerate_events(desc, handle: int) -> tuple[int, tuple[int, ...]]:
    """WSAEnumNetworkEvents: (events, iErrorCode[10]); resets ``handle`` if given. Reports
    the kernel has made and nobody has handled yet are handled first (not under ``lock``:
    the monitor takes its own lock, then this one)."""
    if desc.state.events is not None:
        monitor.drain()
    with lock:
        reg = desc.state.events
        if reg is None:
            returned, errors = 0, S.NO_ERRORS
        else:
            reg.record, returned, errors = S.enumerate_events(reg.record)
        if handle:
            event_objects.reset(handle)
    return returned, errors


def reenable(desc, call: S.Call) -> None:
    """A call of §2.3's table went through ``desc``: its events may be posted again."""
    reg = desc.state.events
    if reg is None:
        return
    with lock:
        record = S.reenable(reg.record, call)
        if record is reg.record:
            return
        reg.record = record
        if not desc.closing:
            look(desc, reg)


def connected(desc) -> None:
    """A connect completed within the call (a datagram association, or a stream connect
    the kernel finished at once)."""
    reg = desc.state.events
    if reg is None:
        return
    with lock:
        reg.record, effects = S.connected(reg.record, datagram=not desc.is_stream)
        _apply(reg, effects)
        look(desc, reg)


def recheck(state) -> None:
    """Something outside any call changed what the socket shows (the send queue finished
    a tail: the buffer is the application's again)."""
    reg = state.events
    if reg is not None:
        with lock:
            if not reg.desc.closing:
                look(reg.desc, reg)


def connect_started(desc) -> None:
    """A non-blocking connect is in progress: the monitor must see it finish."""
    reg = desc.state.events
    if reg is not None:
        with lock:
            look(desc, reg)


def inherit(listener, new, handle: int) -> None:
    """accept: the new socket gets the listener's registration, fresh sets, wParam = its
    own handle (§2.4), and is non-blocking."""
    reg = listener.state.events
    if reg is None or reg.record.mode == S.Mode.NONE:
        return
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
    reg = desc.state.events
    if reg is None:
        return
    with lock:
        if reg.watched == desc.fd:
            _unwatch(reg)
            if others:
                reg.desc = others[0]
                _watch(reg)
        if not others:
            desc.state.events = None


def stop() -> None:
    """The last WSACleanup: no socket is left to watch."""
    with lock:
        for reg in list(_watched.values()):
            _unwatch(reg)
    monitor.stop()


def _after_fork_in_child() -> None:
    global lock
    lock = threading.RLock()
    for reg in _watched.values():
        reg.watched = None             # the child's monitor watches nothing yet
    _watched.clear()
    monitor.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)


def check_event_handle(handle: object) -> int:
    try:
        return event_objects.check(handle)
    except WSAError:
        raise WSAError(W.WSAEINVAL) from None

