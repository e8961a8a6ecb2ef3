"""The C lanes (native/src/wsemu_events.c): the event layer's common reports posted without
Python. A lane must post exactly what wsemu.events.state posts for the same report, decline
everything else, and never outlive what it refers to (its event object, its descriptor, its
process after fork). Plus the C wait's edges: signals, a monitor stopped under a wait."""
from __future__ import annotations

import os
import select
import signal
import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import fill_send_buffer, monitor_settled, nonblocking_pair, readable, wait_for
from wsemu import ws2
from wsemu._native import ffi, lib
from wsemu.events import registry
from wsemu.events.objects import consume as _signalled
from wsemu.events.objects import events as ws2_events
from wsemu.events import state as S

W = ws2
EPOLLIN, EPOLLOUT, EPOLLPRI = select.EPOLLIN, select.EPOLLOUT, select.EPOLLPRI
DECLINED_BITS = (select.EPOLLERR, select.EPOLLHUP, select.EPOLLRDHUP, EPOLLPRI)
EVENT_BITS = S.READ | S.WRITE | S.OOB | S.ACCEPT | S.CONNECT | S.CLOSE


@pytest.fixture(scope="module")
def stream():
    """(socket with bytes queued on demand, its peer, an eventfd)."""
    a, b = socket.socketpair()
    event = os.eventfd(0, os.EFD_NONBLOCK)
    yield a, b, event
    lib.wsemu_lane_take(a.fileno(), ffi.new("int64_t[3]"))
    a.close(), b.close(), os.close(event)


def _queue(sock: socket.socket, peer: socket.socket, want: int) -> None:
    """Exactly ``want`` bytes waiting on ``sock``."""
    have = len(sock.recv(64, socket.MSG_PEEK | socket.MSG_DONTWAIT)) if readable_now(sock) else 0
    if want > have:
        peer.send(b"x" * (want - have))
    elif have > want:
        sock.recv(have - want)


def readable_now(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _take(fd: int) -> tuple[int, int, int] | None:
    out = ffi.new("int64_t[3]")
    return tuple(out) if lib.wsemu_lane_take(fd, out) else None


def _expected(kind: int, rec: S.Record, seen: int, queued: int, revents: int) -> tuple[S.Record, bool, int]:
    """What the Python shell posts for this report (registry.observe's branch, then state)."""
    ready = arrived = 0
    if kind == lib.WSEMU_LANE_STREAM:
        phase = S.Phase.CONNECTED
        if queued:
            ready = S.Ready.DATA
            arrived = S.Ready.DATA if queued > seen else 0
        seen = queued
    else:
        phase = S.Phase.DATAGRAM
        if revents & EPOLLIN:
            ready = arrived = S.Ready.DATA
    if revents & EPOLLOUT:
        ready |= S.Ready.WRITABLE
    rec, effects = S.post(rec, S.detect(S.Mode.EVENT, phase, ready, arrived))
    return rec, effects.signal, seen


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from([1, 2]), mask=st.integers(0, EVENT_BITS), pending=st.integers(0, EVENT_BITS),
       reported=st.integers(0, EVENT_BITS), seen=st.integers(0, 4), queued=st.integers(0, 4),
       revents=st.sampled_from([0, EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT]))
def test_a_lane_posts_what_the_state_tables_post(stream, kind, mask, pending, reported, seen, queued, revents):
    a, b, event = stream
    _queue(a, b, queued)
    _signalled(event)
    assert lib.wsemu_lane_arm(a.fileno(), kind, event, mask, pending, reported, seen)
    assert lib.wsemu_lane_report(a.fileno(), revents) == 1
    rec = S.Record(S.Mode.EVENT, mask, pending, reported)
    want, signal_, want_seen = _expected(kind, rec, seen, queued, revents)
    assert _take(a.fileno()) == (want.pending, want.reported, want_seen if kind == 1 else seen)
    assert _signalled(event) == signal_


@pytest.mark.parametrize("bit", DECLINED_BITS, ids=["ERR", "HUP", "RDHUP", "PRI"])
def test_a_lane_leaves_closes_errors_and_urgent_data_to_python(stream, bit):
    a, b, event = stream
    _queue(a, b, 1)
    assert lib.wsemu_lane_arm(a.fileno(), lib.WSEMU_LANE_STREAM, event, S.READ, 0, 0, 0)
    assert lib.wsemu_lane_report(a.fileno(), EPOLLIN | bit) == 0
    assert _take(a.fileno()) == (0, 0, 0)            # untouched, still armed until taken
    assert not _signalled(event)


def test_a_taken_lane_declines_and_reports_nothing_twice(stream):
    a, b, event = stream
    _queue(a, b, 1)
    lib.wsemu_lane_arm(a.fileno(), lib.WSEMU_LANE_STREAM, event, S.READ, 0, 0, 0)
    assert _take(a.fileno()) == (0, 0, 0)
    assert _take(a.fileno()) is None
    assert lib.wsemu_lane_report(a.fileno(), EPOLLIN) == 0
    assert lib.wsemu_lane_report(1 << 30, EPOLLIN) == 0     # beyond the table: Python's
    assert not _signalled(event)


# ---------------------------------------------------------------------------------------
# Through ws2: the lane is used, and never outlives what it names
# ---------------------------------------------------------------------------------------
@pytest.fixture
def event(ws):
    handle = ws2.WSACreateEvent()
    yield handle
    if handle in ws2_events.handles:
        ws2.WSACloseEvent(handle)


def _slow_reports(monkeypatch) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    original = registry.monitor.on_report

    def counting(fd: int, revents: int) -> None:
        seen.append((fd, revents))
        original(fd, revents)
    monkeypatch.setattr(registry.monitor, "on_report", counting)
    return seen


def _armed(event: int) -> tuple[int, int]:
    """A pair whose client is registered for FD_READ on ``event`` and has had one byte and
    its recv: its lane is armed (a full look after the re-enabling recv)."""
    client, server = nonblocking_pair()
    ws2.WSAEventSelect(client, event, W.FD_READ)
    ws2.send(server, b"a")
    assert ws2.WSAWaitForMultipleEvents([event], False, 5000) == W.WSA_WAIT_EVENT_0
    ws2.recv(client, 1)
    return client, server


def test_steady_data_wakes_the_waiter_without_python(event, monkeypatch):
    client, server = nonblocking_pair()
    ws2.WSAEventSelect(client, event, W.FD_READ)
    # The registration's own first edge (EPOLLOUT: the socket is writable) may reach the
    # drain before the lane is armed and so go to Python; that is not the steady state.
    monitor_settled()
    slow = _slow_reports(monkeypatch)
    for i in range(50):
        ws2.send(server, b"x")
        assert ws2.WSAWaitForMultipleEvents([event], False, 5000) == W.WSA_WAIT_EVENT_0
        assert ws2.WSAEnumNetworkEvents(client, event).lNetworkEvents == W.FD_READ
        assert ws2.recv(client, 1) == b"x"
    assert slow == []


def test_item_128_new_data_while_reported_through_the_lane(event):
    client, server = nonblocking_pair()
    ws2.WSAEventSelect(client, event, W.FD_READ)
    ws2.send(server, b"a")
    assert ws2.WSAWaitForMultipleEvents([event], False, 5000) == W.WSA_WAIT_EVENT_0
    assert ws2.WSAEnumNetworkEvents(client, event).lNetworkEvents == W.FD_READ
    ws2.send(server, b"b")                         # no recv between: READ is still reported
    assert ws2.WSAWaitForMultipleEvents([event], False, 5000) == W.WSA_WAIT_EVENT_0
    assert ws2.WSAEnumNetworkEvents(client, event).lNetworkEvents == W.FD_READ


def test_a_closed_event_is_never_set_through_its_reused_number(event):
    client, server = _armed(event)
    ws2.WSACloseEvent(event)
    reused = os.eventfd(0, os.EFD_NONBLOCK)
    try:
        assert reused == event                     # (the lowest free number)
        ws2.send(server, b"b")
        assert readable(client)
        ws2.WSAEnumNetworkEvents(client)           # every report handled
        monitor_settled()
        assert not _signalled(reused)
    finally:
        os.close(reused)


def test_a_closed_socket_leaves_no_lane_for_its_number(event):
    client, server = _armed(event)
    ws2.WSAResetEvent(event)
    ws2.closesocket(client)
    assert _take(client) is None


def test_a_send_queue_tail_keeps_fd_write_back_until_it_is_sent(event):
    from wsemu.errors import WSAError
    from wsemu.spi.sendqueue import queue
    client, server = nonblocking_pair()
    ws2.WSAEventSelect(client, event, W.FD_WRITE)
    ws2.WSAEnumNetworkEvents(client, event)        # the first FD_WRITE
    fill_send_buffer(client)                       # a tail queued; a failing send re-enabled FD_WRITE
    assert queue.pending(client)
    assert _take(client) is None                   # no lane while a tail is queued
    ws2.ioctlsocket(server, W.FIONBIO, 1)
    while not ws2.WSAWaitForMultipleEvents([event], False, 0) == W.WSA_WAIT_EVENT_0:
        try:
            ws2.recv(server, 1 << 20)
        except WSAError:
            readable(server, 0.05)                 # (none left: the tail's flush posts soon)
    # Set, and the tail was gone by then (a tail never comes back: nothing more is sent).
    assert not queue.pending(client)
    assert ws2.WSAEnumNetworkEvents(client, event).lNetworkEvents == W.FD_WRITE


def test_a_forked_child_has_no_lanes(event):
    client, server = _armed(event)
    assert registry._local(registry._provider.table.get(client).state).lane
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _take(client) is None else 1)
    assert os.waitpid(pid, 0)[1] == 0


# ---------------------------------------------------------------------------------------
# The C wait's edges
# ---------------------------------------------------------------------------------------
def test_a_signal_during_a_wait_runs_its_handler_and_the_wait_goes_on(event):
    calls = []
    old = signal.signal(signal.SIGALRM, lambda *a: calls.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        assert ws2.WSAWaitForMultipleEvents([event], False, 200) == W.WSA_WAIT_TIMEOUT
        assert calls == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

def test_an_exception_from_a_signal_handler_ends_the_wait(event):

    def interrupt(*_):
        raise KeyboardInterrupt
    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        with pytest.raises(KeyboardInterrupt):
            ws2.WSAWaitForMultipleEvents([event], False, W.WSA_INFINITE)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

def test_wsacleanup_under_a_wait_leaves_the_wait_on_its_events(ws):
    client, server = nonblocking_pair()
    event, other = ws2.WSACreateEvent(), ws2.WSACreateEvent()
    ws2.WSAEventSelect(client, event, W.FD_READ)
    result = []
    waiter = threading.Thread(target=lambda: result.append(ws2.WSAWaitForMultipleEvents([other], False, 5000)))
    waiter.start()
    assert wait_for(lambda: registry.monitor.driving)
    ws2.WSACleanup()                              # closes the monitor's epoll under the wait
    ws2.WSASetEvent(other)
    waiter.join(10)
    assert result == [W.WSA_WAIT_EVENT_0]
    ws2.WSAStartup(0x0202)                        # (closing an event needs Winsock started)
    ws2.WSACloseEvent(event), ws2.WSACloseEvent(other)
