"""Conformance: shutdown, close, reset and the send/recv edge cases (CONFORMANCE.md §6F,
reference r2 §5).

Items 97, 99, 100, 102, 105, 106 and 107 without their overlapped parts (overlapped I/O is
a later issue), the r2 §5.1 shutdown table (UDP SD_RECEIVE/SD_SEND, connect after shutdown)
and the r2 §5.2 send/recv edge cases: recv length -1, truncated datagrams, a short fromlen,
several WSABUFs, MSG_PEEK, MSG_OOB with and without SO_OOBINLINE, MSG_WAITALL and
SO_RCVTIMEO.
"""
from __future__ import annotations

import select
import threading
import time

import pytest

from tests.helpers import fails, readable, tcp, tcp_pair, udp_socket, wait_for
from wsemu import ws2

W = ws2


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def kernel_event(s: int, events: int, timeout: float = 5.0) -> int:
    """Wait for a kernel poll condition on ``s`` (e.g. POLLERR once a reset arrived)."""
    poller = select.poll()
    poller.register(s, events)
    got = poller.poll(int(timeout * 1000))
    return got[0][1] if got else 0


def urgent_pending(s: int, timeout: float = 5.0) -> bool:
    return bool(kernel_event(s, select.POLLPRI, timeout) & select.POLLPRI)


def reset_by_peer(victim: int, peer: int) -> None:
    """The peer aborts (SO_LINGER {1,0} + closesocket): an RST reaches ``victim``."""
    ws2.setsockopt(peer, W.SOL_SOCKET, W.SO_LINGER, (1, 0))
    ws2.closesocket(peer)
    assert kernel_event(victim, select.POLLERR | select.POLLHUP)


# ---------------------------------------------------------------------------------------
# 97, 100: argument and state checks
# ---------------------------------------------------------------------------------------
def test_item_97_shutdown_of_unconnected_or_listening_tcp_is_notconn(ws):
    s = tcp()
    lst = tcp()
    try:
        for how in (W.SD_SEND, W.SD_RECEIVE, W.SD_BOTH):
            fails(W.WSAENOTCONN, ws2.shutdown, s, how)
        ws2.bind(lst, ("127.0.0.1", 0))
        ws2.listen(lst, 5)
        for how in (W.SD_SEND, W.SD_RECEIVE):
            fails(W.WSAENOTCONN, ws2.shutdown, lst, how)
        assert ws2.getsockopt(lst, W.SOL_SOCKET, W.SO_ACCEPTCONN) == 1   # still listening
    finally:
        ws2.closesocket(s)
        ws2.closesocket(lst)


def test_item_100_shutdown_with_bad_how_is_inval(pair):
    client, server = pair
    fails(W.WSAEINVAL, ws2.shutdown, client, 0xDEADBEEF)
    fails(W.WSAEINVAL, ws2.shutdown, client, 3)
    ws2.send(client, b"ok")                               # nothing was shut down
    assert ws2.recv(server, 2) == b"ok"


# ---------------------------------------------------------------------------------------
# 99, 102 and the r2 §5.1 table
# ---------------------------------------------------------------------------------------
def test_item_99_sd_receive_fails_recv_with_eshutdown_but_send_works(pair):
    client, server = pair
    ws2.shutdown(server, W.SD_RECEIVE)
    assert ws2.WSAGetLastError() == 0
    fails(W.WSAESHUTDOWN, ws2.recv, server, 10)
    fails(W.WSAESHUTDOWN, ws2.recv, server, 10)           # every time
    fails(W.WSAESHUTDOWN, ws2.WSARecv, server, [bytearray(4)])
    assert ws2.send(server, b"still") == 5
    assert ws2.recv(client, 5) == b"still"
    # The peer's data is still accepted without an error on its side.
    assert ws2.send(client, b"late") == 4
    fails(W.WSAESHUTDOWN, ws2.recv, server, 10)


def test_item_102_sd_both_fails_recv_and_send_and_the_peer_reads_eof(pair):
    client, server = pair
    ws2.shutdown(server, W.SD_BOTH)
    fails(W.WSAESHUTDOWN, ws2.recv, server, 10)
    fails(W.WSAESHUTDOWN, ws2.send, server, b"x")
    assert readable(client)
    assert ws2.recv(client, 10) == b""
    assert ws2.recv(client, 10) == b""                    # repeatedly
    # The names survive the shutdown.
    assert ws2.getpeername(server) == ws2.getsockname(client)
    assert ws2.getsockname(server) == ws2.getpeername(client)


def test_shutdown_sd_send_fails_local_send_peer_reads_eof_and_can_still_send(pair):
    client, server = pair
    ws2.shutdown(client, W.SD_SEND)
    ws2.shutdown(client, W.SD_SEND)                       # twice is fine
    fails(W.WSAESHUTDOWN, ws2.send, client, b"x")
    assert readable(server)
    assert ws2.recv(server, 10) == b""
    assert ws2.recv(server, 10) == b""
    ws2.send(server, b"reply")                            # half-close: the other way works
    assert readable(client)
    assert ws2.recv(client, 10) == b"reply"


@pytest.mark.parametrize("how", [W.SD_RECEIVE, W.SD_SEND, W.SD_BOTH])
def test_connect_after_shutdown_is_isconn(pair, how):
    client, server = pair
    ws2.shutdown(client, how)
    fails(W.WSAEISCONN, ws2.connect, client, ws2.getpeername(client))


def test_udp_shutdown_receive_fails_recvfrom_with_eshutdown(ws):
    s = udp_socket()
    sender = udp_socket()
    try:
        ws2.shutdown(s, W.SD_RECEIVE)
        ws2.sendto(sender, b"x", 0, ws2.getsockname(s))
        fails(W.WSAESHUTDOWN, ws2.recvfrom, s, 10)
        fails(W.WSAESHUTDOWN, ws2.recv, s, 10)
        assert ws2.sendto(s, b"y", 0, ws2.getsockname(sender)) == 1   # sending still works
    finally:
        ws2.closesocket(s)
        ws2.closesocket(sender)


def test_udp_shutdown_send_twice_then_sendto_is_eshutdown(ws):
    s = udp_socket(bind=False)
    peer = udp_socket()
    try:
        ws2.shutdown(s, W.SD_SEND)
        ws2.shutdown(s, W.SD_SEND)
        fails(W.WSAESHUTDOWN, ws2.sendto, s, b"x", 0, ws2.getsockname(peer))
        fails(W.WSAESHUTDOWN, ws2.WSASendTo, s, [b"x"], 0, ws2.getsockname(peer))
    finally:
        ws2.closesocket(s)
        ws2.closesocket(peer)


# ---------------------------------------------------------------------------------------
# 105, 106, 107: closed and reset peers
# ---------------------------------------------------------------------------------------
def test_item_105_send_to_a_closed_peer_succeeds_then_recv_is_connaborted(pair):
    client, server = pair
    ws2.shutdown(server, W.SD_SEND)
    ws2.closesocket(server)
    assert readable(client)
    assert ws2.send(client, b"hello") == 5                # the peer answers it with an RST
    assert kernel_event(client, select.POLLERR)
    fails(W.WSAECONNABORTED, ws2.recv, client, 10)


def test_item_106_after_reset_recv_and_send_fail_connreset_repeatedly(pair):
    client, server = pair
    reset_by_peer(client, server)
    for _ in range(2):
        fails(W.WSAECONNRESET, ws2.recv, client, 10)
        fails(W.WSAECONNRESET, ws2.send, client, b"x")
    fails(W.WSAECONNRESET, ws2.WSARecv, client, [bytearray(4)])
    assert ws2.getsockopt(client, W.SOL_SOCKET, W.SO_ERROR) == 0   # SO_ERROR stays 0


def test_item_106_after_reset_select_reports_readable_and_writable_not_except(pair):
    client, server = pair
    reset_by_peer(client, server)
    assert ws2.select([client], [client], [client], 0) == ([client], [client], [])
    fails(W.WSAECONNRESET, ws2.recv, client, 10)
    assert ws2.select([client], [client], [client], 0) == ([client], [client], [])


def test_item_107_nonblocking_wsasend_after_reset_is_connreset_immediately(pair):
    client, server = pair
    ws2.ioctlsocket(client, W.FIONBIO, 1)
    reset_by_peer(client, server)
    fails(W.WSAECONNRESET, ws2.WSASend, client, [b"data"])
    fails(W.WSAECONNRESET, ws2.WSASend, client, [b"da", b"ta"])
    fails(W.WSAECONNRESET, ws2.send, client, b"x")


# ---------------------------------------------------------------------------------------
# r2 §5.2: recv / recvfrom edge cases
# ---------------------------------------------------------------------------------------
def test_recv_with_length_minus_one_is_fault_and_keeps_the_data(pair):
    client, server = pair
    ws2.send(client, b"data")
    assert readable(server)
    fails(W.WSAEFAULT, ws2.recv, server, -1)
    assert ws2.recv(server, 10) == b"data"


def test_recv_of_zero_bytes_returns_empty_and_consumes_nothing(pair):
    client, server = pair
    ws2.send(client, b"data")
    assert readable(server)
    assert ws2.recv(server, 0) == b""
    assert ws2.recv(server, 10) == b"data"


def test_datagram_larger_than_buffer_is_msgsize_with_first_part_and_is_consumed(ws):
    s = udp_socket()
    sender = udp_socket()
    try:
        ws2.sendto(sender, b"0123456789", 0, ws2.getsockname(s))
        ws2.sendto(sender, b"next", 0, ws2.getsockname(s))
        assert readable(s)
        buf = bytearray(b"." * 4)
        fails(W.WSAEMSGSIZE, ws2.WSARecv, s, [buf])
        assert buf == b"0123"                             # the first part landed
        assert ws2.recv(s, 100) == b"next"                # the rest was discarded
        ws2.sendto(sender, b"abcdefgh", 0, ws2.getsockname(s))
        assert readable(s)
        fails(W.WSAEMSGSIZE, ws2.recv, s, 3)
        ws2.ioctlsocket(s, W.FIONBIO, 1)
        fails(W.WSAEWOULDBLOCK, ws2.recv, s, 100)         # consumed
    finally:
        ws2.closesocket(s)
        ws2.closesocket(sender)


def test_recvfrom_with_too_small_fromlen_is_fault_and_the_datagram_stays_queued(ws):
    s = udp_socket()
    sender = udp_socket()
    try:
        ws2.sendto(sender, b"payload", 0, ws2.getsockname(s))
        assert readable(s)
        fails(W.WSAEFAULT, ws2.recvfrom, s, 100, 0, 1)
        fails(W.WSAEFAULT, ws2.recvfrom, s, 100, 0, 15)
        data, source = ws2.recvfrom(s, 100, 0, 16)
        assert data == b"payload" and source == ws2.getsockname(sender)
    finally:
        ws2.closesocket(s)
        ws2.closesocket(sender)


def test_wsarecv_fills_several_buffers_in_order(pair):
    client, server = pair
    ws2.send(client, b"deadbeefs")
    assert readable(server)
    first, second = bytearray(4), bytearray(5)
    nbytes, flags = ws2.WSARecv(server, [first, second])
    assert (nbytes, flags) == (9, 0)
    assert first == b"dead" and second == b"beefs"


def test_wsarecv_with_no_buffers_is_inval(pair):
    client, server = pair
    fails(W.WSAEINVAL, ws2.WSARecv, server, [])


def test_msg_peek_does_not_consume(pair):
    client, server = pair
    ws2.send(client, b"peekaboo")
    assert readable(server)
    assert ws2.recv(server, 4, W.MSG_PEEK) == b"peek"
    assert ws2.recv(server, 4, W.MSG_PEEK) == b"peek"
    assert ws2.recv(server, 100) == b"peekaboo"


def test_msg_oob_without_oobinline_is_read_apart_from_normal_data(pair):
    client, server = pair
    ws2.send(client, b"norm")
    ws2.send(client, b"A", W.MSG_OOB)
    assert urgent_pending(server)
    assert ws2.recv(server, 1, W.MSG_OOB) == b"A"
    assert ws2.recv(server, 100) == b"norm"               # the urgent byte is not in the stream


def test_msg_oob_with_no_urgent_data_is_wouldblock_on_a_nonblocking_socket(pair):
    """Windows: WSAEWOULDBLOCK (Linux says EINVAL: no urgent data, or already read)."""
    client, server = pair
    ws2.ioctlsocket(server, W.FIONBIO, 1)
    fails(W.WSAEWOULDBLOCK, ws2.recv, server, 1, W.MSG_OOB)
    ws2.send(client, b"B", W.MSG_OOB)
    assert urgent_pending(server)
    assert ws2.recv(server, 1, W.MSG_OOB) == b"B"
    fails(W.WSAEWOULDBLOCK, ws2.recv, server, 1, W.MSG_OOB)   # already read


def test_msg_oob_with_oobinline_is_inval_and_the_byte_arrives_inline(pair):
    client, server = pair
    ws2.setsockopt(server, W.SOL_SOCKET, W.SO_OOBINLINE, 1)
    ws2.send(client, b"A", W.MSG_OOB)
    assert readable(server)
    fails(W.WSAEINVAL, ws2.recv, server, 1, W.MSG_OOB)
    assert ws2.recv(server, 10) == b"A"


def test_msg_waitall_is_opnotsupp_on_nonblocking_udp_or_with_peek_or_oob(ws):
    client, server = tcp_pair()
    u = udp_socket()
    try:
        fails(W.WSAEOPNOTSUPP, ws2.recv, u, 10, W.MSG_WAITALL)            # datagram
        fails(W.WSAEOPNOTSUPP, ws2.recv, server, 10, W.MSG_WAITALL | W.MSG_PEEK)
        fails(W.WSAEOPNOTSUPP, ws2.recv, server, 10, W.MSG_WAITALL | W.MSG_OOB)
        ws2.ioctlsocket(server, W.FIONBIO, 1)
        ws2.send(client, b"data")
        assert readable(server)
        fails(W.WSAEOPNOTSUPP, ws2.recv, server, 10, W.MSG_WAITALL)       # non-blocking
        assert ws2.recv(server, 10) == b"data"            # nothing was consumed
    finally:
        for s in (client, server, u):
            ws2.closesocket(s)


def test_msg_waitall_on_blocking_stream_waits_until_the_buffer_is_full(pair):
    client, server = pair
    ws2.send(client, b"abc")
    assert readable(server)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(ws2.recv(server, 6, W.MSG_WAITALL)),
                              daemon=True)
    thread.start()
    desc = ws2._base_provider.table.get(server)
    assert wait_for(lambda: thread.ident in desc.blocked)
    assert thread.is_alive() and not result               # 3 of 6 bytes: still waiting
    ws2.send(client, b"def")
    thread.join(5)
    assert result == [b"abcdef"]


def test_msg_waitall_returns_what_arrived_when_the_peer_closes(pair):
    client, server = pair
    ws2.send(client, b"abc")
    ws2.shutdown(client, W.SD_SEND)
    assert ws2.recv(server, 6, W.MSG_WAITALL) == b"abc"
    assert ws2.recv(server, 6, W.MSG_WAITALL) == b""


def test_blocking_recv_with_rcvtimeo_is_timedout_and_the_socket_stays_usable(pair):
    client, server = pair
    ws2.setsockopt(server, W.SOL_SOCKET, W.SO_RCVTIMEO, 100)
    assert ws2.getsockopt(server, W.SOL_SOCKET, W.SO_RCVTIMEO) == 100
    start = time.monotonic()
    fails(W.WSAETIMEDOUT, ws2.recv, server, 10)
    elapsed = time.monotonic() - start
    assert 0.08 <= elapsed < 1.0, elapsed
    fails(W.WSAETIMEDOUT, ws2.WSARecv, server, [bytearray(4)])
    ws2.send(client, b"x")
    assert ws2.recv(server, 10) == b"x"
