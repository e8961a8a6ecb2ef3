"""Conformance: bind argument checks, listen, naming, accept, connect (CONFORMANCE.md §6E).

Items 67-96 except the bind-conflict rules (70-77, tested elsewhere), plus UDP
connect/disconnect (r2 §4.2) and connect to the wildcard address (r2 §4.1).

Every call goes through the public ``ws2`` API over real kernel sockets. The ``namelen`` /
``addrlen`` arguments model the C length a caller passes: ``None`` is the Python default
(enough room), an int is the value of ``*namelen`` on entry.
"""
from __future__ import annotations

import struct

import pytest

from tests.helpers import Call, fails, full_backlog_listener, listener, readable, refusing_port, tcp, tcp_pair, udp_socket, wait_for
from wsemu import sockaddr, ws2
from wsemu.errors import WSAError

W = ws2


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def sin(host: str, port: int) -> bytes:
    """A Windows SOCKADDR_IN (16 bytes)."""
    return sockaddr.encode(W.AF_INET, (host, port))


def descriptor(s: int):
    return ws2._base_provider.table.get(s)


# ---------------------------------------------------------------------------------------
# 67, 68: bind argument checks
# ---------------------------------------------------------------------------------------
def test_item_67_bind_null_or_short_name_is_fault_and_unknown_family_is_afnosupport(ws):
    s = tcp()
    try:
        fails(W.WSAEFAULT, ws2.bind, s, None)                     # bind(s, NULL, 0)
        fails(W.WSAEFAULT, ws2.bind, s, None, 16)                 # bind(s, NULL, 16)
        fails(W.WSAEFAULT, ws2.bind, s, sin("127.0.0.1", 0), 0)   # valid sockaddr, namelen 0
        fails(W.WSAEFAULT, ws2.bind, s, sin("127.0.0.1", 0), 15)  # one byte short
        bogus = struct.pack("<H", 0xDEAD) + bytes(14)
        fails(W.WSAEAFNOSUPPORT, ws2.bind, s, bogus, 16)
        # None of the failures bound the socket.
        fails(W.WSAEINVAL, ws2.getsockname, s)
        ws2.bind(s, sin("127.0.0.1", 0), 16)
        assert ws2.WSAGetLastError() == 0
        assert ws2.getsockname(s)[1] != 0
    finally:
        ws2.closesocket(s)


@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_item_68_bind_to_non_local_address_is_addrnotavail(ws, kind):
    if kind == "tcp":
        s = tcp()
    else:
        s = udp_socket(bind=False)
    try:
        # 192.0.2.0 is a network address, never an interface address (in this sandbox
        # 192.0.2.0/24 is the local subnet and 192.0.2.0 still is not local).
        fails(W.WSAEADDRNOTAVAIL, ws2.bind, s, ("192.0.2.0", 0))
        fails(W.WSAEINVAL, ws2.getsockname, s)
    finally:
        ws2.closesocket(s)


# ---------------------------------------------------------------------------------------
# 78-81: listen
# ---------------------------------------------------------------------------------------
def test_item_78_listen_on_non_socket_handles_is_notsock(ws):
    # Handle 0 is stdin (never a socket under pytest); 0xdeadbeef is no open descriptor.
    fails(W.WSAENOTSOCK, ws2.listen, 0, 0)
    fails(W.WSAENOTSOCK, ws2.listen, 0xDEADBEEF, 0)


def test_item_79_listen_on_udp_is_opnotsupp(ws):
    s = udp_socket()
    try:
        fails(W.WSAEOPNOTSUPP, ws2.listen, s, 5)
    finally:
        ws2.closesocket(s)


@pytest.mark.parametrize("backlog", [-2, 1, W.SOMAXCONN])
def test_item_80_listen_on_unbound_tcp_is_inval_whatever_the_backlog(ws, backlog):
    s = tcp()
    try:
        fails(W.WSAEINVAL, ws2.listen, s, backlog)
        # Linux would have bound an ephemeral port and listened; Windows leaves it unbound.
        fails(W.WSAEINVAL, ws2.getsockname, s)
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ACCEPTCONN) == 0
    finally:
        ws2.closesocket(s)


def test_item_81_listen_twice_succeeds_and_still_accepts(ws):
    s = tcp()
    try:
        ws2.bind(s, ("127.0.0.1", 0))
        ws2.listen(s, 0)
        ws2.listen(s, W.SOMAXCONN)
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ACCEPTCONN) == 1
        client = tcp()
        try:
            ws2.connect(client, ws2.getsockname(s))
            new, _ = ws2.accept(s)
            ws2.closesocket(new)
        finally:
            ws2.closesocket(client)
    finally:
        ws2.closesocket(s)


# ---------------------------------------------------------------------------------------
# 83: getpeername / getsockname argument rules
# ---------------------------------------------------------------------------------------
def test_item_83_getpeername_invalid_socket_is_notsock_before_anything_else(ws):
    fails(W.WSAENOTSOCK, ws2.getpeername, W.INVALID_SOCKET)
    fails(W.WSAENOTSOCK, ws2.getpeername, W.INVALID_SOCKET, 0)


def test_item_83_getpeername_unconnected_udp_is_notconn_even_after_sendto(ws):
    s = udp_socket(bind=False)
    peer = udp_socket()
    try:
        fails(W.WSAENOTCONN, ws2.getpeername, s)
        fails(W.WSAENOTCONN, ws2.getpeername, s, 0)     # NOTCONN is checked before the length
        ws2.sendto(s, b"x", 0, ws2.getsockname(peer))
        fails(W.WSAENOTCONN, ws2.getpeername, s)         # sendto does not connect
    finally:
        ws2.closesocket(s)
        ws2.closesocket(peer)


def test_item_83_getpeername_connected_udp_checks_the_length(ws):
    s = udp_socket(bind=False)
    try:
        target = ("127.0.0.1", 139)
        ws2.connect(s, target)
        fails(W.WSAEFAULT, ws2.getpeername, s, 0)        # (buf, &len=0)
        fails(W.WSAEFAULT, ws2.getpeername, s, 15)       # one byte short of SOCKADDR_IN
        assert ws2.getpeername(s, 128) == target         # sizeof(SOCKADDR_STORAGE)
        assert ws2.getpeername(s, 16) == target
        assert len(sockaddr.encode(W.AF_INET, ws2.getpeername(s))) == 16
    finally:
        ws2.closesocket(s)


def test_item_83_getsockname_unbound_is_inval_and_short_length_is_fault(ws):
    s = tcp()
    try:
        fails(W.WSAEINVAL, ws2.getsockname, s)
        fails(W.WSAEINVAL, ws2.getsockname, s, 0)        # unbound is checked before the length
        ws2.bind(s, ("0.0.0.0", 0))
        fails(W.WSAEFAULT, ws2.getsockname, s, 15)
        host, port = ws2.getsockname(s, 16)
        assert host == "0.0.0.0" and port != 0           # INADDR_ANY stays 0.0.0.0
        assert ws2.getsockname(s, 128) == (host, port)
    finally:
        ws2.closesocket(s)


def test_item_83_getpeername_and_getsockname_of_a_pair_mirror_each_other(ws):
    client, server = tcp_pair()
    try:
        assert ws2.getpeername(client) == ws2.getsockname(server)
        assert ws2.getpeername(server) == ws2.getsockname(client)
    finally:
        ws2.closesocket(client)
        ws2.closesocket(server)


# ---------------------------------------------------------------------------------------
# 84, 85: WSAAccept condition functions, accept address length
# ---------------------------------------------------------------------------------------
def test_item_84_cf_defer_is_try_again_and_the_next_accept_returns_that_connection(ws):
    lst, addr = listener()
    client = tcp()
    seen = []

    def defer(caller_id, caller_data, sqos, gqos, callee_id, callee_data, g, data):
        seen.append((caller_id, callee_id, data))
        return W.CF_DEFER

    try:
        ws2.connect(client, addr)
        fails(W.WSATRY_AGAIN, ws2.WSAAccept, lst, None, defer, 0x1234)
        fails(W.WSATRY_AGAIN, ws2.WSAAccept, lst, None, defer, 0x1234)   # deferred again
        caller_id, callee_id, data = seen[0]
        assert sockaddr.decode(caller_id) == (W.AF_INET, ws2.getsockname(client))
        assert sockaddr.decode(callee_id) == (W.AF_INET, ws2.getpeername(client))
        assert data == 0x1234
        # The deferred connection is still announced as pending and comes back first.
        assert ws2.select([lst], [], [], 0)[0] == [lst]
        new, peer = ws2.accept(lst)
        try:
            assert peer == ws2.getsockname(client)
            ws2.send(client, b"same")
            assert ws2.recv(new, 4) == b"same"
        finally:
            ws2.closesocket(new)
    finally:
        ws2.closesocket(client)
        ws2.closesocket(lst)


def test_item_84_cf_reject_is_connrefused_and_resets_the_client(ws):
    lst, addr = listener()
    client = tcp()
    try:
        ws2.connect(client, addr)
        fails(W.WSAECONNREFUSED, ws2.WSAAccept, lst, None, lambda *args: W.CF_REJECT, 0)
        assert readable(client)
        fails(W.WSAECONNRESET, ws2.recv, client, 10)
        # The rejected connection is gone: nothing is pending any more.
        assert ws2.select([lst], [], [], 0)[0] == []
    finally:
        ws2.closesocket(client)
        ws2.closesocket(lst)


def test_item_84_cf_accept_returns_the_new_socket(ws):
    lst, addr = listener()
    client = tcp()
    try:
        ws2.connect(client, addr)
        new, peer = ws2.WSAAccept(lst, None, lambda *args: W.CF_ACCEPT, 0)
        try:
            assert peer == ws2.getsockname(client)
            ws2.send(new, b"ok")
            assert ws2.recv(client, 2) == b"ok"
        finally:
            ws2.closesocket(new)
    finally:
        ws2.closesocket(client)
        ws2.closesocket(lst)


@pytest.mark.parametrize("use_wsaaccept", [False, True])
def test_item_85_accept_with_addrlen_zero_is_fault_and_the_connection_stays_queued(ws, use_wsaaccept):
    lst, addr = listener()
    client = tcp()
    try:
        ws2.connect(client, addr)
        if use_wsaaccept:
            fails(W.WSAEFAULT, ws2.WSAAccept, lst, 0)
            fails(W.WSAEFAULT, ws2.WSAAccept, lst, 15)
        else:
            fails(W.WSAEFAULT, ws2.accept, lst, 0)
            fails(W.WSAEFAULT, ws2.accept, lst, 15)
        new, peer = ws2.accept(lst, 16)
        try:
            assert peer == ws2.getsockname(client)
        finally:
            ws2.closesocket(new)
    finally:
        ws2.closesocket(client)
        ws2.closesocket(lst)


# ---------------------------------------------------------------------------------------
# 87: closesocket of a listener another thread is blocked on in accept
# ---------------------------------------------------------------------------------------
def test_item_87_closesocket_of_listener_fails_a_blocked_accept_with_eintr(ws):
    lst, _ = listener()
    call = Call(ws2.accept, lst)
    call.start()
    assert wait_for(lambda: call.blocked_in(lst))
    ws2.closesocket(lst)
    call.join(5)
    assert not call.is_alive(), "closesocket did not wake the blocked accept"
    assert isinstance(call.error, WSAError), call.error
    assert call.error.winerror == W.WSAEINTR
    fails(W.WSAENOTSOCK, ws2.getsockname, lst)


# ---------------------------------------------------------------------------------------
# 88, 89, 91, 92: connect
# ---------------------------------------------------------------------------------------
def test_item_88_blocking_connect_to_closed_port_is_connrefused_and_not_writable(ws):
    holder, port = refusing_port()
    s = tcp()
    try:
        fails(W.WSAECONNREFUSED, ws2.connect, s, ("127.0.0.1", port))
        assert ws2.select(None, [s], None, 0.05) == ([], [], [])
    finally:
        ws2.closesocket(s)
        ws2.closesocket(holder)


def test_item_89_connect_on_listening_socket_is_inval(ws):
    lst, addr = listener()
    try:
        fails(W.WSAEINVAL, ws2.connect, lst, addr)
    finally:
        ws2.closesocket(lst)


def test_item_91_nonblocking_connect_in_progress(ws):
    """Connect to a listener whose accept queue is full (see full_backlog_listener: the
    sandbox has no address that silently drops SYNs)."""
    lst, addr, first = full_backlog_listener()
    s = tcp()
    try:
        ws2.ioctlsocket(s, W.FIONBIO, 1)
        fails(W.WSAEWOULDBLOCK, ws2.connect, s, addr)
        fails(W.WSAEALREADY, ws2.connect, s, addr)
        host, port = ws2.getsockname(s)                  # implicitly bound
        assert host == "127.0.0.1" and port != 0
        assert ws2.getpeername(s) == addr                # named while connecting
        fails(W.WSAENOTCONN, ws2.recv, s, 10)
        fails(W.WSAENOTCONN, ws2.send, s, b"x")
        # Still in progress: neither writable nor failed.
        assert ws2.select(None, [s], [s], 0) == ([], [], [])
    finally:
        ws2.closesocket(s)
        ws2.closesocket(first)
        ws2.closesocket(lst)


def test_item_92_socket_is_reusable_after_failed_blocking_connect(ws):
    holder, port = refusing_port()
    lst, addr = listener()
    s = tcp()
    try:
        fails(W.WSAECONNREFUSED, ws2.connect, s, ("127.0.0.1", port))
        assert ws2.ioctlsocket(s, W.FIONBIO, 1) == 0
        try:
            ws2.connect(s, addr)
        except WSAError as err:
            assert err.winerror == W.WSAEWOULDBLOCK
        new, peer = ws2.accept(lst)
        try:
            assert peer == ws2.getsockname(s)
            assert ws2.select(None, [s], None, 5)[1] == [s]
            assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == 0
            ws2.send(new, b"hi")
            assert readable(s)
            assert ws2.recv(s, 2) == b"hi"
        finally:
            ws2.closesocket(new)
    finally:
        ws2.closesocket(s)
        ws2.closesocket(lst)
        ws2.closesocket(holder)


@pytest.mark.parametrize("selected", [True, False], ids=["after-select", "unobserved"])
def test_item_92_blocking_connect_after_failed_nonblocking_connect_makes_a_new_attempt(ws, selected):
    """The reverse of item 92: Linux answers the next connect with the old asynchronous
    failure (ECONNREFUSED, or ECONNABORTED once SO_ERROR was read) without trying;
    Windows makes a new attempt, which succeeds against a live listener."""
    holder, port = refusing_port()
    lst, addr = listener()
    s = tcp()
    new = None
    try:
        ws2.ioctlsocket(s, W.FIONBIO, 1)
        fails(W.WSAEWOULDBLOCK, ws2.connect, s, ("127.0.0.1", port))
        assert readable(s)                                 # the RST has arrived
        if selected:
            assert ws2.select([s], [s], [s], 0) == ([], [], [s])
        ws2.ioctlsocket(s, W.FIONBIO, 0)
        ws2.connect(s, addr)
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR) == 0
        new, peer = ws2.accept(lst)
        assert peer == ws2.getsockname(s)
    finally:
        for sock in (s, lst, holder, new):
            if sock is not None:
                ws2.closesocket(sock)


# ---------------------------------------------------------------------------------------
# 94, 95, 96: datagram binding, ICMP, address arguments on stream sockets
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["sendto", "WSASendTo"])
def test_sendto_an_address_of_the_other_family_is_afnosupport(ws, how):
    """Found by the bad-input sweep: WSASendTo (the WSABUF path) raised a TypeError for an
    IPv6 address on an IPv4 socket, where sendto says WSAEAFNOSUPPORT."""
    s = udp_socket(bind=False)
    try:
        if how == "sendto":
            fails(W.WSAEAFNOSUPPORT, ws2.sendto, s, b"x", 0, ("::1", 9, 0, 0))
        else:
            fails(W.WSAEAFNOSUPPORT, ws2.WSASendTo, s, [b"", b""], 0, ("::1", 9, 0, 0))
    finally:
        ws2.closesocket(s)


@pytest.mark.parametrize("how", ["sendto", "WSASendTo"])
def test_item_94_sendto_on_unbound_udp_binds_it_implicitly(ws, how):
    s = udp_socket(bind=False)
    peer = udp_socket()
    try:
        fails(W.WSAEINVAL, ws2.getsockname, s)
        if how == "sendto":
            assert ws2.sendto(s, b"ping", 0, ws2.getsockname(peer)) == 4
        else:
            assert ws2.WSASendTo(s, [b"pi", b"ng"], 0, ws2.getsockname(peer)) == 4
        host, port = ws2.getsockname(s)
        assert host == "0.0.0.0" and port != 0
        data, source = ws2.recvfrom(peer, 10)
        assert data == b"ping" and source[1] == port
    finally:
        ws2.closesocket(s)
        ws2.closesocket(peer)


def test_item_95_connected_udp_keeps_sending_to_a_closed_port(ws):
    gone = udp_socket()
    closed_port = ws2.getsockname(gone)[1]
    ws2.closesocket(gone)
    s = udp_socket(bind=False)
    try:
        ws2.connect(s, ("127.0.0.1", closed_port))
        for _ in range(10):           # each send draws an ICMP port unreachable on loopback
            assert ws2.send(s, b"hello") == 5
        assert ws2.select(None, [s], None, 0)[1] == [s]
    finally:
        ws2.closesocket(s)


def test_item_96_sendto_and_recvfrom_on_connected_tcp_ignore_the_address(ws):
    client, server = tcp_pair()
    garbage = bytes(range(0x40, 0x50))     # family 0x4140: not even a known family
    try:
        assert ws2.sendto(client, b"abc", 0, garbage, 16) == 3
        assert ws2.sendto(client, b"def", 0, ("1.2.3.4", 9)) == 3
        assert readable(server)
        data, address = ws2.recvfrom(server, 10, 0, 0xC0FFEE11)
        assert data.startswith(b"abc") and address is None
        assert garbage == bytes(range(0x40, 0x50))
    finally:
        ws2.closesocket(client)
        ws2.closesocket(server)


# ---------------------------------------------------------------------------------------
# UDP connect / disconnect, connect to the wildcard address (r2 §4)
# ---------------------------------------------------------------------------------------
def test_udp_connect_retargets_and_af_unspec_disconnects(ws):
    a, b = udp_socket(), udp_socket()
    s = udp_socket(bind=False)
    try:
        fails(W.WSAENOTCONN, ws2.send, s, b"x")          # unconnected UDP send
        ws2.connect(s, ws2.getsockname(a))
        assert ws2.getpeername(s) == ws2.getsockname(a)
        assert ws2.getsockname(s)[1] != 0                # connect binds implicitly
        ws2.send(s, b"to-a")
        assert ws2.recvfrom(a, 10)[0] == b"to-a"
        ws2.connect(s, ws2.getsockname(b))               # re-targets
        assert ws2.getpeername(s) == ws2.getsockname(b)
        ws2.send(s, b"to-b")
        assert ws2.recvfrom(b, 10)[0] == b"to-b"
        unspec = struct.pack("<H", W.AF_UNSPEC) + bytes(14)
        ws2.connect(s, unspec, 16)                       # dissolves the association
        fails(W.WSAENOTCONN, ws2.getpeername, s)
        fails(W.WSAENOTCONN, ws2.send, s, b"x")
        assert ws2.sendto(s, b"again", 0, ws2.getsockname(a)) == 5   # still usable
        assert ws2.recvfrom(a, 10)[0] == b"again"
    finally:
        for sock in (a, b, s):
            ws2.closesocket(sock)


@pytest.mark.parametrize("target", [("0.0.0.0", 80), ("127.0.0.1", 0)])
def test_tcp_connect_to_wildcard_address_or_port_zero_is_addrnotavail(ws, target):
    lst, addr = listener()
    s = tcp()
    try:
        if target[1] == 80:
            target = ("0.0.0.0", addr[1])     # Linux would reach our own listener here
        fails(W.WSAEADDRNOTAVAIL, ws2.connect, s, target)
        assert ws2.select([lst], [], [], 0)[0] == []   # nothing reached the listener
    finally:
        ws2.closesocket(s)
        ws2.closesocket(lst)
