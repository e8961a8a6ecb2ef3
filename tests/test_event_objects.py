"""Event objects (WSACreateEvent...WSAWaitForMultipleEvents), window message queues
(wsemu.msgqueue), and the monitor thread's life (lazy start, WSACleanup stop, fork)."""
from __future__ import annotations

import os
import threading
import time

import pytest

from tests.helpers import fails, tcp_pair
from wsemu import msgqueue, ws2
from wsemu.errors import WSAError
from wsemu.events import registry

W = ws2


@pytest.fixture
def events(ws):
    made: list[int] = []

    def make(n: int = 1) -> list[int]:
        made.extend(ws2.WSACreateEvent() for _ in range(n))
        return made[-n:]
    yield make
    for handle in made:
        ws2.WSACloseEvent(handle)


# ======================================================================================
# Event objects
# ======================================================================================
def test_an_event_is_a_manual_reset_eventfd_made_unset(events):
    (e,) = events()
    assert os.readlink(f"/proc/self/fd/{e}") == "anon_inode:[eventfd]"
    assert ws2.WSAWaitForMultipleEvents([e], False, 0) == W.WSA_WAIT_TIMEOUT
    assert ws2.WSASetEvent(e) is True
    for _ in range(3):                                    # manual reset: waits do not consume it
        assert ws2.WSAWaitForMultipleEvents([e], False, 0) == W.WSA_WAIT_EVENT_0
    assert ws2.WSAResetEvent(e) is True
    assert ws2.WSAWaitForMultipleEvents([e], False, 0) == W.WSA_WAIT_TIMEOUT
    assert ws2.WSAResetEvent(e) is True                   # resetting an unset event is fine


def test_wait_any_returns_the_lowest_signalled_index(events):
    a, b, c = events(3)
    ws2.WSASetEvent(c)
    ws2.WSASetEvent(b)
    assert ws2.WSAWaitForMultipleEvents([a, b, c], False, 0) == W.WSA_WAIT_EVENT_0 + 1


def test_wait_all_waits_until_every_event_is_set(events):
    a, b = events(2)
    ws2.WSASetEvent(a)
    assert ws2.WSAWaitForMultipleEvents([a, b], True, 30) == W.WSA_WAIT_TIMEOUT
    threading.Timer(0.05, ws2.WSASetEvent, (b,)).start()
    assert ws2.WSAWaitForMultipleEvents([a, b], True, W.WSA_INFINITE) == W.WSA_WAIT_EVENT_0


def test_a_wait_is_woken_by_another_thread_and_times_out_on_time(events):
    (e,) = events()
    start = time.monotonic()
    assert ws2.WSAWaitForMultipleEvents([e], False, 100) == W.WSA_WAIT_TIMEOUT
    assert 0.09 <= time.monotonic() - start < 2.0
    threading.Timer(0.05, ws2.WSASetEvent, (e,)).start()
    assert ws2.WSAWaitForMultipleEvents([e], False, W.WSA_INFINITE) == W.WSA_WAIT_EVENT_0


def test_sixty_four_events_are_the_most(events):
    many = events(W.WSA_MAXIMUM_WAIT_EVENTS + 1)
    ws2.WSASetEvent(many[63])
    assert ws2.WSAWaitForMultipleEvents(many[:64], False, 0) == W.WSA_WAIT_EVENT_0 + 63
    fails(W.WSA_INVALID_PARAMETER, ws2.WSAWaitForMultipleEvents, many, False, 0)
    fails(W.WSA_INVALID_PARAMETER, ws2.WSAWaitForMultipleEvents, [], False, 0)


def test_bad_handles_are_wsa_invalid_handle(events):
    (e,) = events()
    client, server = tcp_pair()
    for bad in (0, -1, 0xDEAD, client, "e", None, 1.5):
        fails(W.WSA_INVALID_HANDLE, ws2.WSAWaitForMultipleEvents, [e, bad], False, 0)
        fails(W.WSA_INVALID_HANDLE, ws2.WSASetEvent, bad)
        fails(W.WSA_INVALID_HANDLE, ws2.WSAResetEvent, bad)
        fails(W.WSA_INVALID_HANDLE, ws2.WSACloseEvent, bad)
    closed = ws2.WSACreateEvent()
    ws2.WSACloseEvent(closed)
    fails(W.WSA_INVALID_HANDLE, ws2.WSACloseEvent, closed)
    for s in (client, server):
        ws2.closesocket(s)


def test_a_bad_timeout_or_event_list_is_refused_cleanly(events):
    (e,) = events()
    fails(W.WSA_INVALID_PARAMETER, ws2.WSAWaitForMultipleEvents, [e], False, "soon")
    fails(W.WSAEFAULT, ws2.WSAWaitForMultipleEvents, 5, False, 0)


def test_upcalls_make_the_same_events():
    from wsemu.spi.upcalls import upcalls
    e = upcalls.WPUCreateEvent()
    assert upcalls.WPUSetEvent(e) and ws2.WSAWaitForMultipleEvents([e], False, 0) == 0
    assert upcalls.WPUResetEvent(e) and ws2.WSAWaitForMultipleEvents([e], False, 0) == W.WSA_WAIT_TIMEOUT
    hwnd = msgqueue.CreateWindow()
    assert upcalls.WPUPostMessage(hwnd, 0x401, 7, ws2.WSAMAKESELECTREPLY(W.FD_READ, 0))
    assert msgqueue.GetMessage(hwnd, 0) == msgqueue.MSG(hwnd, 0x401, 7, W.FD_READ)
    msgqueue.DestroyWindow(hwnd)
    assert upcalls.WPUPostMessage(hwnd, 0x401, 7, 0) is False          # a gone window: dropped
    assert upcalls.WPUCloseEvent(e)


# ======================================================================================
# Message queues
# ======================================================================================
def test_messages_come_out_in_posting_order_and_peek_can_leave_them():
    hwnd = msgqueue.CreateWindow()
    for n in range(3):
        msgqueue.PostMessage(hwnd, 0x400, n, n * 2)
    assert msgqueue.PeekMessage(hwnd, remove=False).wParam == 0
    assert [msgqueue.GetMessage(hwnd, 0).wParam for _ in range(3)] == [0, 1, 2]
    assert msgqueue.PeekMessage(hwnd) is None
    assert msgqueue.GetMessage(hwnd, 20) is None                       # timed out
    msgqueue.DestroyWindow(hwnd)


def test_get_message_waits_for_a_post_from_another_thread():
    hwnd = msgqueue.CreateWindow()
    threading.Timer(0.05, msgqueue.PostMessage, (hwnd, 0x400, 1, 2)).start()
    assert msgqueue.GetMessage(hwnd) == msgqueue.MSG(hwnd, 0x400, 1, 2)
    msgqueue.DestroyWindow(hwnd)


def test_a_bad_or_destroyed_window_is_invalid_window_handle():
    hwnd = msgqueue.CreateWindow()
    msgqueue.DestroyWindow(hwnd)
    for call in (lambda: msgqueue.GetMessage(hwnd, 0), lambda: msgqueue.PeekMessage(hwnd),
                 lambda: msgqueue.DestroyWindow(hwnd), lambda: msgqueue.GetMessage("w", 0)):
        with pytest.raises(WSAError) as info:
            call()
        assert info.value.winerror == msgqueue.ERROR_INVALID_WINDOW_HANDLE


def test_destroying_a_window_wakes_its_waiter():
    hwnd = msgqueue.CreateWindow()
    threading.Timer(0.05, msgqueue.DestroyWindow, (hwnd,)).start()
    with pytest.raises(WSAError):
        msgqueue.GetMessage(hwnd, 5000)


# ======================================================================================
# The monitor's life
# ======================================================================================
def test_the_monitor_starts_with_the_first_registration_and_stops_with_wsacleanup():
    ws2.WSAStartup(0x0202)
    assert registry.monitor.thread is None
    client, server = tcp_pair()
    e = ws2.WSACreateEvent()
    ws2.WSAEventSelect(server, e, W.FD_READ)
    thread = registry.monitor.thread
    assert thread is not None and thread.is_alive()
    ws2.WSAStartup(0x0202)
    ws2.WSACleanup()
    assert registry.monitor.thread is thread                           # one user left
    ws2.WSACleanup()
    assert registry.monitor.thread is None and not thread.is_alive()
    ws2.WSACloseEvent(e)


def test_closing_the_last_descriptor_ends_the_registration(ws):
    client, server = tcp_pair()
    e = ws2.WSACreateEvent()
    ws2.WSAEventSelect(server, e, W.FD_READ)
    ws2.closesocket(server)
    assert not registry._watched
    ws2.closesocket(client)
    ws2.WSACloseEvent(e)


def test_a_forked_child_registers_with_its_own_monitor(ws):
    client, server = tcp_pair()
    e = ws2.WSACreateEvent()
    ws2.WSAEventSelect(server, e, W.FD_READ)
    report_r, report_w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(report_r)
            mine = ws2.WSACreateEvent()
            ws2.WSAEventSelect(server, mine, W.FD_READ)
            ws2.send(client, b"x")
            got = ws2.WSAWaitForMultipleEvents([mine], False, 5000)
            os.write(report_w, bytes([got == 0 and registry.monitor.thread is not None]))
        finally:
            os._exit(0)
    os.close(report_w)
    try:
        assert os.read(report_r, 1) == b"\x01"
    finally:
        os.close(report_r)
        os.waitpid(child, 0)
    ws2.WSACloseEvent(e)
    for s in (client, server):
        ws2.closesocket(s)
