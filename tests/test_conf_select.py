"""Conformance: select() (CONFORMANCE.md §6G items 111-122, reference r1 §2).

``ws2.select`` takes and returns lists; the provider's WSPSelect takes Windows ``fd_set``s
(``FdSet``) and rewrites them in place. Properties of the sets themselves (aliasing, sets
left unchanged on failure, more than 64 entries) are tested at the SPI level:
``provider().WSPSelect(0, readfds, writefds, exceptfds, (sec, usec))``.

Items 123 (WSAPoll) and 124 (after WSAEventSelect) belong to later issues.
"""
from __future__ import annotations

import time

import pytest

from tests.helpers import Call, fails, fails_spi, fill_send_buffer, listener, readable, refusing_port, tcp, tcp_pair, udp_socket, wait_for
from wsemu import ws2
from wsemu.errors import WSAError
from wsemu.spi.base import provider
from wsemu.spi.wselect import FdSet

W = ws2


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def spi_select(readfds, writefds, exceptfds, timeout=(0, 0)) -> int:
    return provider().WSPSelect(0, readfds, writefds, exceptfds, timeout)


# ---------------------------------------------------------------------------------------
# 111-113: argument checks
# ---------------------------------------------------------------------------------------
def test_item_111_select_with_no_sets_or_empty_sets_is_inval(ws):
    fails(W.WSAEINVAL, ws2.select, None, None, None, 0.0005)
    fails(W.WSAEINVAL, ws2.select, [], [], [], 0.0005)
    fails_spi(W.WSAEINVAL, spi_select, None, None, None)
    fails_spi(W.WSAEINVAL, spi_select, FdSet(), FdSet(), FdSet())


@pytest.mark.parametrize("where", [0, 1, 2])
def test_item_112_invalid_socket_in_any_set_is_notsock(pair, where):
    client, _ = pair
    sets: list = [[], [], []]
    sets[where] = [W.INVALID_SOCKET]
    fails(W.WSAENOTSOCK, ws2.select, *sets, 0.0005)
    sets = [[client], [client], [client]]
    sets[where].append(W.INVALID_SOCKET)                  # after a valid one
    fails(W.WSAENOTSOCK, ws2.select, *sets, 0.0005)


def test_item_113_closed_socket_in_sets_is_notsock_and_sets_are_unchanged(ws):
    client, server = tcp_pair()
    ws2.closesocket(server)
    try:
        readfds, exceptfds = FdSet([client, server]), FdSet([client, server])
        fails_spi(W.WSAENOTSOCK, spi_select, readfds, None, exceptfds, (0, 500))
        assert readfds.fd_count == 2 and readfds.fd_array == [client, server]
        assert exceptfds.fd_count == 2 and exceptfds.fd_array == [client, server]
    finally:
        ws2.closesocket(client)


def test_fresh_unconnected_tcp_sockets_are_never_ready(ws):
    """r1 test_select step 1: not writable, no hang-up, nothing; timeout {0,0} is a poll."""
    a, b = tcp(), tcp()
    try:
        start = time.monotonic()
        sets = [FdSet([a, b]) for _ in range(3)]
        assert spi_select(*sets, (0, 0)) == 0
        assert time.monotonic() - start < 0.1
        assert all(fds.fd_count == 0 for fds in sets)
        ws2.bind(a, ("127.0.0.1", 0))                    # bound changes nothing
        assert ws2.select([a, b], [a, b], [a, b], 0.0005) == ([], [], [])
    finally:
        ws2.closesocket(a)
        ws2.closesocket(b)


def test_same_socket_twice_in_a_set_counts_once(pair):
    client, _ = pair
    writefds = FdSet.from_array([client, client])
    assert writefds.fd_count == 2
    assert spi_select(None, writefds, None) == 1
    assert writefds.fd_array == [client]


def test_timeout_is_honoured_and_not_modified(pair):
    client, server = pair
    timeout = [0, 250000]                                 # a mutable "struct timeval"
    start = time.monotonic()
    assert spi_select(FdSet([server]), None, None, timeout) == 0
    assert 0.2 <= time.monotonic() - start < 2.0
    assert timeout == [0, 250000]


# ---------------------------------------------------------------------------------------
# 115, 116: aliasing and large sets
# ---------------------------------------------------------------------------------------
def test_item_115_one_fd_set_as_readfds_and_writefds(pair):
    fd_write, fd_read = pair
    fds = FdSet([fd_write])
    assert spi_select(fds, fds, None) == 1
    assert fds.fd_array == [fd_write]
    fds = FdSet([fd_write, fd_read])
    assert spi_select(fds, fds, None) == 2
    assert fds.fd_array == [fd_write, fd_read]
    # fdWrite's send buffer full: fdWrite is neither readable nor writable, fdRead is
    # readable and writable (counted once).
    fill_send_buffer(fd_write)
    assert spi_select(None, FdSet([fd_write]), None) == 0
    fds = FdSet([fd_write, fd_read])
    assert spi_select(fds, fds, None) == 1
    assert fds.fd_array == [fd_read]
    # fdRead answers: fdWrite becomes readable.
    ws2.send(fd_read, b"test")
    assert readable(fd_write)
    fds = FdSet([fd_write, fd_read])
    assert spi_select(fds, fds, None) == 2
    assert fds.fd_array == [fd_write, fd_read]


def test_item_116_two_hundred_sockets_in_writefds_keep_their_order(ws):
    """A C caller may define FD_SETSIZE above 64; select takes fd_count as given."""
    pairs = [tcp_pair() for _ in range(100)]
    sockets = [s for p in pairs for s in p]
    try:
        writefds = FdSet.from_array(sockets, setsize=200)
        assert writefds.fd_count == 200
        assert spi_select(None, writefds, None) == 200
        assert writefds.fd_array == sockets
    finally:
        for s in sockets:
            ws2.closesocket(s)


def test_item_116_ws2_select_takes_more_than_64_sockets(ws):
    """ws2.select takes Python lists: none of their sockets may be dropped silently."""
    pairs = [tcp_pair() for _ in range(50)]
    sockets = [s for p in pairs for s in p]
    try:
        assert ws2.select(None, sockets, None, 0) == ([], sockets, [])
    finally:
        for s in sockets:
            ws2.closesocket(s)


def test_fd_set_macros_follow_windows(ws):
    fds = FdSet()
    for s in range(100, 100 + W.FD_SETSIZE + 5):
        fds.FD_SET(s)
    assert fds.fd_count == W.FD_SETSIZE                  # FD_SET drops entries past 64
    fds.FD_SET(100)
    assert fds.fd_count == W.FD_SETSIZE                  # and skips duplicates
    fds.FD_CLR(100)
    assert not fds.FD_ISSET(100) and fds.FD_ISSET(101)
    big = FdSet(range(200), setsize=200)
    assert big.fd_count == 200
    fds.FD_ZERO()
    assert fds.fd_count == 0


# ---------------------------------------------------------------------------------------
# 117, 118: listener, connect completion, data, urgent data
# ---------------------------------------------------------------------------------------
def test_item_117_pending_connection_is_readable_and_completed_connect_writable(ws):
    lst, addr = listener()
    connector = tcp()
    accepted = None
    try:
        assert ws2.select([lst], [lst], [lst], 0) == ([], [], [])
        ws2.ioctlsocket(connector, W.FIONBIO, 1)
        try:
            ws2.connect(connector, addr)
        except WSAError as err:
            assert err.winerror == W.WSAEWOULDBLOCK
        assert ws2.select([lst], [lst], [lst], 1.25) == ([lst], [], [])   # never writable
        accepted, _ = ws2.accept(lst)
        every = [lst, accepted, connector]
        assert ws2.select(every, every, every, 1.25) == ([], [accepted, connector], [])
        assert ws2.getsockopt(connector, W.SOL_SOCKET, W.SO_ERROR) == 0
    finally:
        for s in (lst, connector, accepted):
            if s is not None:
                ws2.closesocket(s)


def test_item_118_data_is_readable_not_except_and_oob_is_except(pair):
    fd_write, fd_read = pair
    lst, _ = listener()
    try:
        ws2.send(fd_write, b"1234")
        assert ws2.select([lst, fd_read], [lst], [lst, fd_read], 1.25) == ([fd_read], [], [])
        assert ws2.select([fd_read], [fd_read], [fd_read], 1.25) == ([fd_read], [fd_read], [])
        assert ws2.recv(fd_read, 10) == b"1234"
        ws2.send(fd_write, b"A", W.MSG_OOB)
        assert ws2.select([lst, fd_read], [lst], [lst, fd_read], 1.25) == ([], [], [fd_read])
        assert ws2.recv(fd_read, 1, W.MSG_OOB) == b"A"
    finally:
        ws2.closesocket(lst)


def test_item_118_oob_with_oobinline_is_readable(pair):
    fd_write, fd_read = pair
    ws2.setsockopt(fd_read, W.SOL_SOCKET, W.SO_OOBINLINE, 1)
    ws2.send(fd_write, b"A", W.MSG_OOB)
    assert ws2.select([fd_read], [], [fd_read], 1.25) == ([fd_read], [], [])
    fails(W.WSAEINVAL, ws2.recv, fd_read, 1, W.MSG_OOB)
    assert ws2.recv(fd_read, 1) == b"A"
    ws2.ioctlsocket(fd_read, W.FIONBIO, 1)
    fails(W.WSAEWOULDBLOCK, ws2.recv, fd_read, 1)        # delivered once only


def test_peer_close_is_readable_and_recv_returns_zero(pair):
    fd_write, fd_read = pair
    ws2.closesocket(fd_read)
    assert ws2.select([fd_write], None, None, 1.25) == ([fd_write], [], [])
    assert ws2.recv(fd_write, 10) == b""


# ---------------------------------------------------------------------------------------
# 120: a failed non-blocking connect
# ---------------------------------------------------------------------------------------
def test_item_120_refused_nonblocking_connect_is_except_only_with_sticky_so_error(ws):
    holder, port = refusing_port()
    lst, addr = listener()
    s = tcp()
    accepted = None
    try:
        ws2.ioctlsocket(s, W.FIONBIO, 1)
        fails(W.WSAEWOULDBLOCK, ws2.connect, s, ("127.0.0.1", port))
        sets = [FdSet([s]) for _ in range(3)]
        timeout = [10, 250000]
        assert spi_select(*sets, timeout) == 1
        assert [fds.fd_array for fds in sets] == [[], [], [s]]
        assert timeout == [10, 250000]
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == W.WSAECONNREFUSED
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == W.WSAECONNREFUSED   # not cleared
        assert ws2.select([s], [s], [s], 0) == ([], [], [s])
        # A new attempt at the refusing port: in progress again, fails again.
        fails(W.WSAEWOULDBLOCK, ws2.connect, s, ("127.0.0.1", port))
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == W.WSAECONNREFUSED
        assert ws2.select([s], [s], [s], 10) == ([], [], [s])
        # A successful connect clears SO_ERROR.
        fails(W.WSAEWOULDBLOCK, ws2.connect, s, addr)
        assert ws2.select(None, [s], [s], 1) == ([], [s], [])
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == 0
        accepted, _ = ws2.accept(lst)
    finally:
        for sock in (s, lst, holder, accepted):
            if sock is not None:
                ws2.closesocket(sock)


def test_item_120_so_error_reports_a_refused_connect_without_select(ws):
    """SO_ERROR is set when the connect fails, not only once select has looked at it."""
    holder, port = refusing_port()
    s = tcp()
    try:
        ws2.ioctlsocket(s, W.FIONBIO, 1)
        fails(W.WSAEWOULDBLOCK, ws2.connect, s, ("127.0.0.1", port))
        assert readable(s)                                 # the kernel has seen the RST
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == W.WSAECONNREFUSED
    finally:
        ws2.closesocket(s)
        ws2.closesocket(holder)


def test_blocking_refused_connect_is_except_in_select(ws):
    """r1 §2: after a blocking refused connect select reports except (SO_ERROR stays 0)."""
    holder, port = refusing_port()
    s = tcp()
    try:
        fails(W.WSAECONNREFUSED, ws2.connect, s, ("127.0.0.1", port))
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == 0
        assert ws2.select([s], [s], [s], 0) == ([], [], [s])
    finally:
        ws2.closesocket(s)
        ws2.closesocket(holder)


# ---------------------------------------------------------------------------------------
# 121: closesocket from another thread during select
# ---------------------------------------------------------------------------------------
def test_item_121_closed_during_select_in_readfds_returns_it_readable(pair):
    fd_write, _ = pair
    call = Call(ws2.select, [fd_write], None, [fd_write], 5)
    call.start()
    assert wait_for(lambda: call.blocked_in(fd_write))
    ws2.closesocket(fd_write)
    call.join(5)
    assert not call.is_alive(), "closesocket did not wake select"
    assert call.error is None, call.error
    assert call.result == ([fd_write], [], [])


def test_item_121_closed_during_select_only_in_exceptfds_is_notsock(pair):
    fd_write, _ = pair
    call = Call(ws2.select, None, None, [fd_write], 5)
    call.start()
    assert wait_for(lambda: call.blocked_in(fd_write))
    ws2.closesocket(fd_write)
    call.join(5)
    assert not call.is_alive(), "closesocket did not wake select"
    assert isinstance(call.error, WSAError) and call.error.winerror == W.WSAENOTSOCK


def test_item_121_closed_during_select_clears_exceptfds_at_the_spi(pair):
    fd_write, _ = pair
    exceptfds = FdSet([fd_write])
    call = Call(spi_select, None, None, exceptfds, (5, 0))
    call.start()
    assert wait_for(lambda: call.blocked_in(fd_write))
    ws2.closesocket(fd_write)
    call.join(5)
    assert isinstance(call.error, WSAError) and call.error.winerror == W.WSAENOTSOCK
    assert exceptfds.fd_count == 0                        # rewritten before the failure


# ---------------------------------------------------------------------------------------
# 122: datagram sockets
# ---------------------------------------------------------------------------------------
def test_item_122_unbound_udp_socket_is_immediately_writable(ws):
    s = udp_socket(bind=False)
    try:
        assert ws2.select([s], [s], [s], 0.25) == ([], [s], [])
        sets = [FdSet([s]) for _ in range(3)]
        assert spi_select(*sets, (0, 250000)) == 1
    finally:
        ws2.closesocket(s)


def test_udp_datagram_makes_it_readable(ws):
    s, sender = udp_socket(), udp_socket()
    try:
        ws2.sendto(sender, b"x", 0, ws2.getsockname(s))
        assert ws2.select([s], [s], [s], 1) == ([s], [s], [])
    finally:
        ws2.closesocket(s)
        ws2.closesocket(sender)
