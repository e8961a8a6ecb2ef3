"""Conformance: ioctlsocket / WSAIoctl (CONFORMANCE.md §6J items 176-182, reference r1 §4).

The Python face: ``ws2.WSAIoctl(s, code, inbuf, outlen)`` returns the output bytes (their
length is what C gets in ``*lpcbBytesReturned``); a failure with a defined byte count carries
it as ``.bytes_returned`` (None = left unchanged). ``ws2.ioctlsocket(s, cmd, arg)`` takes
the value ``*argp`` holds; ``arg=None`` models a NULL ``argp``. C-only cases (a NULL
``lpcbBytesReturned``, a small integer passed as a pointer, an inaccessible output page)
have no Python spelling and are not tested.

FIONREAD and SIOCATMARK follow r1's test_fionread_siocatmark table where Linux can; Linux
keeps a single urgent byte per connection (a second OOB byte turns the first into normal
data), so the rows after a second OOB byte differ and are asserted as Linux allows.
"""
from __future__ import annotations

import select
import socket as _socket
import struct
import uuid

import pytest

from tests.helpers import LOOPBACK, fails, listener, readable, tcp_pair, udp_socket
from wsemu import ws2

W = ws2

WSAID_ACCEPTEX = uuid.UUID("b5367df1-cbac-11cf-95ca-00805f48a192")
UNKNOWN_CODES = [0xDEADBEEF, W.FIOASYNC, 0x667E, W.SIO_FLUSH]
OWN_HANDLE_CODES = [W.SIO_BASE_HANDLE, W.SIO_BSP_HANDLE, W.SIO_BSP_HANDLE_SELECT, W.SIO_BSP_HANDLE_POLL]


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def fionread(s: int) -> int:
    return ws2.ioctlsocket(s, W.FIONREAD)


def atmark(s: int) -> int:
    return ws2.ioctlsocket(s, W.SIOCATMARK)


def urgent_arrived(s: int) -> bool:
    poller = select.poll()
    poller.register(s, select.POLLPRI)
    return any(ev & select.POLLPRI for _, ev in poller.poll(5000))


def kernel_option(s: int, level: int, name: int) -> int:
    sock = _socket.socket(fileno=s)
    try:
        return sock.getsockopt(level, name)
    finally:
        sock.detach()


@pytest.fixture(params=[(W.AF_INET, W.SOCK_STREAM), (W.AF_INET, W.SOCK_DGRAM),
                        (W.AF_INET6, W.SOCK_STREAM), (W.AF_INET6, W.SOCK_DGRAM)],
                ids=["tcp4", "udp4", "tcp6", "udp6"])
def any_socket(ws, request):
    s = ws2.socket(*request.param, 0)
    yield s
    ws2.closesocket(s)


# ---------------------------------------------------------------------------------------
# 176: FIONBIO
# ---------------------------------------------------------------------------------------
def test_item_176_fionbio_missing_or_short_input_is_fault(pair):
    client, _ = pair
    fails(W.WSAEFAULT, ws2.WSAIoctl, client, W.FIONBIO, None, 0)          # NULL input
    fails(W.WSAEFAULT, ws2.WSAIoctl, client, W.FIONBIO, b"", 0)
    fails(W.WSAEFAULT, ws2.WSAIoctl, client, W.FIONBIO, b"\1\0\0", 0)     # 3 bytes
    fails(W.WSAEFAULT, ws2.ioctlsocket, client, W.FIONBIO, None)          # NULL argp
    # Nothing changed: the socket is still blocking (recv with SO_RCVTIMEO times out).
    ws2.setsockopt(client, W.SOL_SOCKET, W.SO_RCVTIMEO, 50)
    fails(W.WSAETIMEDOUT, ws2.recv, client, 1)


def test_item_176_fionbio_success_returns_no_bytes_and_ignores_the_output_buffer(pair):
    client, server = pair
    assert ws2.WSAIoctl(client, W.FIONBIO, u32(1) + b"\0", 0) == b""       # 5 bytes in
    fails(W.WSAEWOULDBLOCK, ws2.recv, client, 1)
    assert ws2.WSAIoctl(client, W.FIONBIO, u32(0), 4096) == b""            # output ignored
    ws2.setsockopt(client, W.SOL_SOCKET, W.SO_RCVTIMEO, 50)
    fails(W.WSAETIMEDOUT, ws2.recv, client, 1)                             # blocking again
    assert ws2.ioctlsocket(client, W.FIONBIO, 7) == 0                      # any non-zero
    fails(W.WSAEWOULDBLOCK, ws2.recv, client, 1)
    assert ws2.WSAGetLastError() == W.WSAEWOULDBLOCK


# ---------------------------------------------------------------------------------------
# 178: unknown codes
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", UNKNOWN_CODES, ids=hex)
def test_item_178_unknown_codes_are_opnotsupp_with_zero_bytes_returned(pair, code):
    client, _ = pair
    err = fails(W.WSAEOPNOTSUPP, ws2.WSAIoctl, client, code, u32(1), 4)
    assert err.bytes_returned == 0
    err = fails(W.WSAEOPNOTSUPP, ws2.WSAIoctl, client, code, None, 0)
    assert err.bytes_returned == 0
    err = fails(W.WSAEOPNOTSUPP, ws2.ioctlsocket, client, code, 1)
    assert err.bytes_returned == 0


# ---------------------------------------------------------------------------------------
# 179: SIO_GET_EXTENSION_FUNCTION_POINTER
# ---------------------------------------------------------------------------------------
def test_item_179_extension_function_pointer(pair):
    client, _ = pair
    out = ws2.WSAIoctl(client, W.SIO_GET_EXTENSION_FUNCTION_POINTER, WSAID_ACCEPTEX.bytes_le, 8)
    assert len(out) == 8                                   # sizeof(void *)
    assert struct.unpack("<Q", out)[0] != 0
    unknown = uuid.UUID("deadbeef-0000-0000-0000-000000000000").bytes_le
    fails(W.WSAEINVAL, ws2.WSAIoctl, client, W.SIO_GET_EXTENSION_FUNCTION_POINTER, unknown, 8)


# ---------------------------------------------------------------------------------------
# 180: SIO_BASE_HANDLE and the SIO_BSP_HANDLE family
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", OWN_HANDLE_CODES, ids=hex)
def test_item_180_base_and_bsp_handles_are_the_socket_itself(any_socket, code):
    out = ws2.WSAIoctl(any_socket, code, b"", 8)
    assert out == struct.pack("<Q", any_socket)            # sizeof(SOCKET) bytes returned
    fails(W.WSAEFAULT, ws2.WSAIoctl, any_socket, code, b"", 4)


# ---------------------------------------------------------------------------------------
# 181: SIO_IDEAL_SEND_BACKLOG_QUERY
# ---------------------------------------------------------------------------------------
def test_item_181_ideal_send_backlog_query(ws):
    client, server = tcp_pair()
    unconnected = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    udp = udp_socket()
    try:
        code = W.SIO_IDEAL_SEND_BACKLOG_QUERY
        fails(W.WSAEFAULT, ws2.WSAIoctl, client, code, b"", 3)            # output < 4 first
        fails(W.WSAEFAULT, ws2.WSAIoctl, udp, code, b"", 0)
        fails(W.WSAEOPNOTSUPP, ws2.WSAIoctl, udp, code, b"", 4)
        fails(W.WSAENOTCONN, ws2.WSAIoctl, unconnected, code, b"", 4)
        assert ws2.WSAIoctl(client, code, b"", 4) == u32(0x10000)
        assert ws2.WSAIoctl(server, code, b"", 8) == u32(0x10000)         # 4 bytes returned
    finally:
        for s in (client, server, unconnected, udp):
            ws2.closesocket(s)


# ---------------------------------------------------------------------------------------
# 182: SIO_KEEPALIVE_VALS
# ---------------------------------------------------------------------------------------
def test_item_182_keepalive_vals_without_input_is_fault_with_zero_bytes(pair):
    client, _ = pair
    for inbuf in (None, b"", u32(1) + u32(1000) + b"\0\0\0"):            # 0 and 11 bytes
        err = fails(W.WSAEFAULT, ws2.WSAIoctl, client, W.SIO_KEEPALIVE_VALS, inbuf, 0)
        assert err.bytes_returned == 0


@pytest.mark.parametrize("onoff,idle,interval", [(0, 0, 0), (1, 0, 0), (1, 1000, 1000),
                                                 (1, 10000, 10000), (1, 100, 100), (0, 100, 100)])
def test_item_182_keepalive_vals_succeed_with_zero_bytes(pair, onoff, idle, interval):
    client, _ = pair
    values = struct.pack("<III", onoff, idle, interval)
    assert ws2.WSAIoctl(client, W.SIO_KEEPALIVE_VALS, values, 0) == b""
    assert ws2.getsockopt(client, W.SOL_SOCKET, W.SO_KEEPALIVE) == onoff
    if onoff:
        # Linux counts whole seconds: milliseconds are rounded, at least one second.
        expected_idle = max(1, (idle + 500) // 1000)
        assert kernel_option(client, _socket.IPPROTO_TCP, _socket.TCP_KEEPIDLE) == expected_idle
        assert kernel_option(client, _socket.IPPROTO_TCP, _socket.TCP_KEEPINTVL) == max(1, (interval + 500) // 1000)


# ---------------------------------------------------------------------------------------
# FIONREAD / SIOCATMARK
# ---------------------------------------------------------------------------------------
def test_fionread_and_siocatmark_need_a_four_byte_output(pair):
    client, _ = pair
    for code in (W.FIONREAD, W.SIOCATMARK):
        err = fails(W.WSAEFAULT, ws2.WSAIoctl, client, code, b"", 3)
        assert getattr(err, "bytes_returned", None) is None               # left unchanged
        assert len(ws2.WSAIoctl(client, code, b"", 4)) == 4               # 4 bytes returned


def test_fionread_siocatmark_table_with_one_urgent_byte(pair):
    """r1 test_fionread_siocatmark, rows 1-3 and the single-urgent-byte path."""
    server, client = pair
    ws2.ioctlsocket(client, W.FIONBIO, 1)
    assert (fionread(client), atmark(client)) == (0, 1)                   # fresh pair
    ws2.send(server, b"data\0")
    assert readable(client)
    assert (fionread(client), atmark(client)) == (5, 1)
    ws2.send(server, b"A", W.MSG_OOB)
    assert urgent_arrived(client)
    assert (fionread(client), atmark(client)) == (5, 0)                   # OOB not counted
    assert ws2.recv(client, 3) == b"dat"
    assert (fionread(client), atmark(client)) == (2, 0)
    assert ws2.recv(client, 1, W.MSG_OOB) == b"A"
    assert (fionread(client), atmark(client)) == (2, 1)
    assert ws2.recv(client, 5) == b"a\0"
    assert (fionread(client), atmark(client)) == (0, 1)
    fails(W.WSAEWOULDBLOCK, ws2.recv, client, 1, W.MSG_OOB)


def test_fionread_siocatmark_table_with_two_urgent_bytes_as_linux_allows(pair):
    """r1 rows 4-8. Windows keeps both urgent bytes apart: FIONREAD 5, 2, 2, 0 and SIOCATMARK
    FALSE until the second recv(MSG_OOB) returns 'B'. Linux keeps one urgent byte per
    connection: when 'B' arrives, 'A' becomes normal data at its place in the stream. So
    FIONREAD counts 'A' (6, then 3), recv returns it with the normal data, the first
    recv(MSG_OOB) returns 'B', and after it no urgent data is pending (TRUE, then
    WSAEWOULDBLOCK for the second recv(MSG_OOB))."""
    server, client = pair
    ws2.ioctlsocket(client, W.FIONBIO, 1)
    ws2.send(server, b"data\0")
    ws2.send(server, b"A", W.MSG_OOB)
    ws2.send(server, b"B", W.MSG_OOB)
    assert urgent_arrived(client)
    assert readable(client)
    assert ws2.recv(client, 3) == b"dat"
    assert (fionread(client), atmark(client)) == (3, 0)                   # Windows: (2, FALSE)
    assert ws2.recv(client, 1, W.MSG_OOB) == b"B"
    assert (fionread(client), atmark(client)) == (3, 1)                   # Windows: (2, FALSE)
    assert ws2.recv(client, 5) == b"a\0A"                                 # Windows: b"a\0"
    assert (fionread(client), atmark(client)) == (0, 1)
    fails(W.WSAEWOULDBLOCK, ws2.recv, client, 1, W.MSG_OOB)               # Windows: b"A"


def test_fionread_siocatmark_with_oobinline(pair):
    """r1 rows 9-11. Windows still calls an urgent byte that arrived *before* SO_OOBINLINE
    was set OOB data (SIOCATMARK FALSE until it is read); Linux cannot tell that byte from
    one that arrived while inline (which Windows reports TRUE), and wsemu answers TRUE for
    both."""
    server, client = pair
    ws2.ioctlsocket(client, W.FIONBIO, 1)
    ws2.send(server, b"C", W.MSG_OOB)
    assert urgent_arrived(client)
    ws2.setsockopt(client, W.SOL_SOCKET, W.SO_OOBINLINE, 1)
    assert (fionread(client), atmark(client)) == (1, 1)                   # Windows: (1, FALSE)
    assert ws2.recv(client, 1) == b"C"
    assert (fionread(client), atmark(client)) == (0, 1)
    ws2.send(server, b"D", W.MSG_OOB)
    assert readable(client)
    assert (fionread(client), atmark(client)) == (1, 1)
    assert ws2.recv(client, 1) == b"D"


def test_fionread_siocatmark_on_unconnected_and_listening_sockets(ws):
    s = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    lst, addr = listener()
    client = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    try:
        assert (fionread(s), atmark(s)) == (0, 1)                         # new, unbound
        ws2.bind(s, (LOOPBACK[W.AF_INET], 0))
        assert (fionread(s), atmark(s)) == (0, 1)                         # bound
        ws2.connect(client, addr)
        assert ws2.select([lst], None, None, 5)[0] == [lst]
        assert (fionread(lst), atmark(lst)) == (0, 1)                     # listener: 0
    finally:
        for sock in (s, lst, client):
            ws2.closesocket(sock)


def test_fionread_counts_data_before_the_peer_close(pair):
    server, client = pair
    ws2.send(server, b"12345")
    ws2.shutdown(server, W.SD_SEND)
    assert readable(client)
    assert fionread(client) == 5                                          # not the FIN
    assert ws2.recv(client, 10) == b"12345"
    assert fionread(client) == 0


def test_fionread_on_udp_is_the_pending_datagram_size(ws):
    s, sender = udp_socket(), udp_socket()
    try:
        assert fionread(s) == 0
        ws2.sendto(sender, b"12345", 0, ws2.getsockname(s))
        assert readable(s)
        assert fionread(s) == 5
    finally:
        ws2.closesocket(s)
        ws2.closesocket(sender)
