"""One event registration per underlying socket, across processes (CONFORMANCE.md §2.5,
items 32-33; the issue's routing rule): real spawned processes sharing a socket through
WSADuplicateSocket."""
from __future__ import annotations

import multiprocessing
import os

import pytest

from tests.helpers import fails, monitor_settled as settle, nonblocking_pair
from wsemu import msgqueue, ws2
from wsemu.errors import WSAError

W = ws2
SPAWN = multiprocessing.get_context("spawn")
FPI = W.FROM_PROTOCOL_INFO
WM_SOCKET = 0x0401


def _peer_main(conn) -> None:
    from wsemu import msgqueue as queues, ws2 as api
    api.WSAStartup(0x0202)
    conn.send(os.getpid())
    while True:
        try:
            name, args = conn.recv()
        except EOFError:
            os._exit(0)
        if name == "exit":
            os._exit(0)
        module = queues if name in ("CreateWindow", "GetMessage") else api
        try:
            result = getattr(module, name)(*args)
            conn.send(("ok", (result.wParam, result.lParam) if name == "GetMessage" and result else
                       result.lNetworkEvents if name == "WSAEnumNetworkEvents" else result))
        except WSAError as err:
            conn.send(("wsa", err.winerror))


class Peer:
    def __init__(self) -> None:
        self.conn, child = SPAWN.Pipe()
        self.proc = SPAWN.Process(target=_peer_main, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.pid = self.conn.recv()

    def __call__(self, name: str, *args):
        self.conn.send((name, args))
        kind, value = self.conn.recv()
        if kind == "wsa":
            raise WSAError(value)
        return value

    def claim(self, s: int) -> int:
        return self("WSASocketW", FPI, FPI, FPI, bytes(ws2.WSADuplicateSocketW(s, self.pid)), 0, 0)

    def exit(self) -> None:
        if self.proc.is_alive():
            self.conn.send(("exit", ()))
        self.proc.join(10)
        self.proc.close()
        self.conn.close()


@pytest.fixture
def peer(ws):
    p = Peer()
    yield p
    p.exit()


def is_set(event: int) -> bool:
    return ws2.WSAWaitForMultipleEvents([event], False, 0) == W.WSA_WAIT_EVENT_0


def test_only_the_last_registrant_is_signalled_whichever_process_made_it(peer):
    client, server = nonblocking_pair()
    theirs = peer.claim(server)
    mine = ws2.WSACreateEvent()
    ws2.WSAEventSelect(server, mine, W.FD_READ)
    event = peer("WSACreateEvent")
    peer("WSAEventSelect", theirs, event, W.FD_WRITE)
    assert peer("WSAWaitForMultipleEvents", [event], False, 5000) == 0   # FD_WRITE, over there
    ws2.send(client, b"data")
    settle()
    assert not is_set(mine)                                  # FD_READ goes to nobody here
    assert peer("WSAEnumNetworkEvents", theirs, event) == W.FD_WRITE
    assert ws2.WSAEnumNetworkEvents(server).lNetworkEvents == 0   # the one record, here too
    ws2.WSACloseEvent(mine)
    for s in (client, server):
        ws2.closesocket(s)


def test_cancelling_in_the_other_process_silences_this_one(peer):
    client, server = nonblocking_pair()
    theirs = peer.claim(server)
    mine = ws2.WSACreateEvent()
    ws2.WSAEventSelect(server, mine, W.FD_READ)
    peer("WSAEventSelect", theirs, 0, 0)
    ws2.send(client, b"data")
    settle()
    assert not is_set(mine)
    ws2.WSACloseEvent(mine)
    for s in (client, server):
        ws2.closesocket(s)


@pytest.mark.parametrize("mode", ["event", "message"])
def test_a_partial_recv_in_the_other_process_re_arms_fd_read_here(peer, mode):
    client, server = nonblocking_pair()
    theirs = peer.claim(server)
    if mode == "event":
        mine = ws2.WSACreateEvent()
        ws2.WSAEventSelect(server, mine, W.FD_READ)
    else:
        hwnd = msgqueue.CreateWindow()
        ws2.WSAAsyncSelect(server, hwnd, WM_SOCKET, W.FD_READ)

    def told() -> bool:
        if mode == "event":
            got = ws2.WSAWaitForMultipleEvents([mine], False, 5000) == 0
            return got and ws2.WSAEnumNetworkEvents(server, mine).lNetworkEvents == W.FD_READ
        msg = msgqueue.GetMessage(hwnd, 5000)
        return msg is not None and (msg.wParam, msg.lParam) == (server, W.FD_READ)
    ws2.send(client, b"0123456789")
    assert told()
    assert peer("recv", theirs, 2) == b"01"                 # re-enables FD_READ: data remains
    assert told()
    assert peer("recv", theirs, 8) == b"23456789"
    settle()
    assert not (is_set(mine) if mode == "event" else msgqueue.PeekMessage(hwnd))
    if mode == "event":
        ws2.WSACloseEvent(mine)
    else:
        msgqueue.DestroyWindow(hwnd)
    for s in (client, server):
        ws2.closesocket(s)


def test_a_recv_here_re_arms_the_registration_in_the_other_process(peer):
    client, server = nonblocking_pair()
    theirs = peer.claim(server)
    hwnd = peer("CreateWindow")
    peer("WSAAsyncSelect", theirs, hwnd, WM_SOCKET, W.FD_READ)
    ws2.send(client, b"abcdef")
    assert peer("GetMessage", hwnd, 5000) == (theirs, W.FD_READ)
    assert ws2.recv(server, 2) == b"ab"                      # one datagram to the peer's monitor
    assert peer("GetMessage", hwnd, 5000) == (theirs, W.FD_READ)
    assert ws2.recv(server, 4) == b"cdef"
    assert peer("GetMessage", hwnd, 100) is None
    for s in (client, server):
        ws2.closesocket(s)


def test_the_registrant_dies_and_this_process_registers_and_gets_events(peer):
    client, server = nonblocking_pair()
    theirs = peer.claim(server)
    event = peer("WSACreateEvent")
    peer("WSAEventSelect", theirs, event, W.FD_READ)
    peer.proc.kill()
    peer.proc.join(10)
    mine = ws2.WSACreateEvent()
    ws2.WSAEventSelect(server, mine, W.FD_READ)
    ws2.send(client, b"x")
    assert ws2.WSAWaitForMultipleEvents([mine], False, 5000) == 0
    assert ws2.WSAEnumNetworkEvents(server, mine).lNetworkEvents == W.FD_READ
    ws2.WSACloseEvent(mine)
    for s in (client, server):
        ws2.closesocket(s)


def test_a_registration_made_before_sharing_moves_into_the_slot(peer):
    client, server = nonblocking_pair()
    mine = ws2.WSACreateEvent()
    ws2.WSAEventSelect(server, mine, W.FD_READ)
    theirs = peer.claim(server)                              # shared only now
    ws2.send(client, b"0123")
    assert ws2.WSAWaitForMultipleEvents([mine], False, 5000) == 0
    assert peer("WSAEnumNetworkEvents", theirs, 0) == W.FD_READ   # the one record, over there
    ws2.WSACloseEvent(mine)
    for s in (client, server):
        ws2.closesocket(s)


def test_the_registrants_last_close_ends_its_registration(peer):
    client, server = nonblocking_pair()
    theirs = peer.claim(server)
    event = peer("WSACreateEvent")
    peer("WSAEventSelect", theirs, event, W.FD_READ)
    assert ws2.WSAEnumNetworkEvents(server).lNetworkEvents == 0
    fails(W.WSAEINVAL, ws2.ioctlsocket, server, W.FIONBIO, 0)   # registered over there
    peer("closesocket", theirs)
    assert ws2.ioctlsocket(server, W.FIONBIO, 0) == 0        # no registration any more
    ws2.ioctlsocket(server, W.FIONBIO, 1)
    ws2.send(client, b"x")
    assert ws2.recv(server, 1) == b"x"                       # and nobody is told of anything
    for s in (client, server):
        ws2.closesocket(s)
