"""Windows' all-or-nothing non-blocking send (wsemu.spi.sendqueue; reference r2 §5.2).

A non-blocking stream send returns the full length or WSAEWOULDBLOCK, never a partial count;
the tail still reaches the peer, in order, also across a graceful closesocket.
"""
from __future__ import annotations

import threading

import pytest

from wsemu import ws2
from wsemu.errors import WSAError
from tests.helpers import tcp_pair, wait_for

BIG = 4 * 1024 * 1024


def _drain(s: int, expected: int, into: bytearray) -> None:
    while len(into) < expected:
        chunk = ws2.recv(s, 1 << 20)
        if not chunk:
            break
        into += chunk


def _pattern(n: int, seed: int) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(256)) * (n // 256)


def test_nonblocking_send_is_all_or_wouldblock_and_the_tail_arrives_in_order(ws):
    client, server = tcp_pair()
    ws2.ioctlsocket(client, ws2.FIONBIO, 1)
    first = _pattern(BIG, 1)
    assert ws2.send(client, first) == len(first)          # never a partial count
    with pytest.raises(WSAError) as err:                  # the tail is still going out
        ws2.send(client, b"second")
    assert err.value.winerror == ws2.WSAEWOULDBLOCK
    assert ws2.select([], [client], [], 0) == ([], [], [])  # not writable meanwhile
    received = bytearray()
    reader = threading.Thread(target=_drain, args=(server, len(first), received))
    reader.start()
    reader.join(30)
    assert bytes(received) == first
    assert wait_for(lambda: ws2.select([], [client], [], 0)[1] == [client])
    assert ws2.send(client, b"second") == 6
    assert ws2.recv(server, 100) == b"second"
    ws2.closesocket(client)
    ws2.closesocket(server)


def test_graceful_closesocket_still_delivers_the_queued_tail(ws):
    client, server = tcp_pair()
    ws2.ioctlsocket(client, ws2.FIONBIO, 1)
    data = _pattern(BIG, 3)
    assert ws2.send(client, data) == len(data)
    ws2.closesocket(client)                               # graceful: the tail is still sent
    received = bytearray()
    _drain(server, len(data) + 1, received)               # reads until the peer's FIN
    assert bytes(received) == data
    ws2.closesocket(server)


def test_shutdown_send_waits_for_the_tail_before_the_fin(ws):
    client, server = tcp_pair()
    ws2.ioctlsocket(client, ws2.FIONBIO, 1)
    data = _pattern(BIG, 5)
    assert ws2.send(client, data) == len(data)
    ws2.shutdown(client, ws2.SD_SEND)
    with pytest.raises(WSAError) as err:
        ws2.send(client, b"x")
    assert err.value.winerror == ws2.WSAESHUTDOWN
    received = bytearray()
    _drain(server, len(data) + 1, received)
    assert bytes(received) == data                        # all of it, then the FIN
    ws2.closesocket(client)
    ws2.closesocket(server)


def test_a_blocking_send_waits_for_a_queued_tail(ws):
    client, server = tcp_pair()
    ws2.ioctlsocket(client, ws2.FIONBIO, 1)
    data = _pattern(BIG, 7)
    assert ws2.send(client, data) == len(data)
    ws2.ioctlsocket(client, ws2.FIONBIO, 0)
    received = bytearray()
    reader = threading.Thread(target=_drain, args=(server, len(data) + 5, received))
    reader.start()
    assert ws2.send(client, b"after") == 5                # goes out only after the tail
    reader.join(30)
    assert bytes(received) == data + b"after"
    ws2.closesocket(client)
    ws2.closesocket(server)
