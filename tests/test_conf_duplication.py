"""CONFORMANCE.md §6C (duplication) and §1: WSADuplicateSocket, WSASocket with the info, and
the semantics of a socket shared by several descriptors in several processes.

Cross-process tests use real processes started with the 'spawn' method; the info travels as
the 628 bytes a Windows program would send over a pipe.
"""
from __future__ import annotations

import multiprocessing
import os

import pytest

from tests.helpers import fails, tcp, tcp_pair, udp_socket
from wsemu import abi as W
from wsemu import ws2
from wsemu.errors import WSAError

ctx = multiprocessing.get_context("spawn")


def claim(info, flags: int = 0) -> int:
    return ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info, 0, flags)


# --------------------------------------------------------------------------------------
# children (module-level: spawn imports them)
# --------------------------------------------------------------------------------------
def _child_claim_and_echo(conn) -> None:
    """Claim the socket whose info arrives, report what it sees, echo one message."""
    ws2.WSAStartup(0x0202)
    conn.send(os.getpid())
    s = claim(conn.recv())
    conn.send({
        "rcvtimeo": ws2.getsockopt(s, W.SOL_SOCKET, W.SO_RCVTIMEO),
        "so_error": ws2.getsockopt(s, W.SOL_SOCKET, W.SO_ERROR),
        "exclusive": ws2.getsockopt(s, W.SOL_SOCKET, W.SO_EXCLUSIVEADDRUSE),
        "reuseaddr": ws2.getsockopt(s, W.SOL_SOCKET, W.SO_REUSEADDR),
        "rcvbuf": ws2.getsockopt(s, W.SOL_SOCKET, W.SO_RCVBUF),
        "peer": ws2.getpeername(s),
    })
    ws2.send(s, ws2.recv(s, 100).upper())
    conn.recv()                      # set options from this side now
    ws2.setsockopt(s, W.SOL_SOCKET, W.SO_SNDTIMEO, 4242)
    ws2.setsockopt(s, W.SOL_SOCKET, W.SO_ERROR, 777)
    ws2.ioctlsocket(s, W.FIONBIO, 1)
    conn.send("set")
    conn.recv()                      # close now
    ws2.closesocket(s)
    ws2.WSACleanup()
    conn.send("closed")


def _child_claim_twice(conn) -> None:
    ws2.WSAStartup(0x0202)
    conn.send(os.getpid())
    data = conn.recv()
    first = claim(data)
    try:
        claim(data)
        second = 0
    except WSAError as err:
        second = err.winerror
    ws2.closesocket(first)
    ws2.WSACleanup()
    conn.send(second)


def _child_accept_on_shared_listener(conn) -> None:
    ws2.WSAStartup(0x0202)
    conn.send(os.getpid())
    lst = claim(conn.recv())
    s, peer = ws2.accept(lst)
    ws2.send(s, b"accepted-by-child")
    ws2.closesocket(s)
    ws2.closesocket(lst)
    ws2.WSACleanup()
    conn.send("done")


def finish(proc, conn) -> None:
    proc.join(30)
    assert proc.exitcode == 0
    proc.close()
    conn.close()


def _start(target):
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child,))
    proc.start()
    child.close()
    return proc, parent, parent.recv()


# --------------------------------------------------------------------------------------
# argument checks (items 20-23)
# --------------------------------------------------------------------------------------
def test_item_20_duplicate_of_socket_0_to_pid_0_is_notsock(ws):
    fails(W.WSAENOTSOCK, ws2.WSADuplicateSocketW, 0, 0)


def test_item_21_valid_socket_pid_0_is_inval_before_any_buffer_check(ws):
    s = tcp()
    fails(W.WSAEINVAL, ws2.WSADuplicateSocketW, s, 0)
    ws2.closesocket(s)


def test_item_22_pid_all_ones_and_a_dead_pid_are_inval(ws):
    s = tcp()
    fails(W.WSAEINVAL, ws2.WSADuplicateSocketW, s, 0xFFFFFFFF)
    proc = ctx.Process(target=os.getpid)
    proc.start()
    proc.join()
    dead = proc.pid
    proc.close()
    fails(W.WSAEINVAL, ws2.WSADuplicateSocketW, s, dead)       # exited: no such process
    ws2.closesocket(s)


def test_item_23_non_socket_to_own_pid_is_notsock(ws):
    fails(W.WSAENOTSOCK, ws2.WSADuplicateSocketW, 0, os.getpid())
    read_end, write_end = os.pipe()
    fails(W.WSAENOTSOCK, ws2.WSADuplicateSocketW, read_end, os.getpid())
    os.close(read_end)
    os.close(write_end)


# --------------------------------------------------------------------------------------
# the info and the claim (items 25, 27, 31)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("af,type_,protocol", [(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP),
                                               (W.AF_INET, W.SOCK_DGRAM, W.IPPROTO_UDP),
                                               (W.AF_INET6, W.SOCK_STREAM, W.IPPROTO_TCP),
                                               (W.AF_INET6, W.SOCK_DGRAM, W.IPPROTO_UDP)])
def test_item_25_self_duplicate_info_is_the_catalog_entry_and_claims_a_distinct_socket(ws, af, type_, protocol):
    s = ws2.socket(af, type_, protocol)
    info = ws2.WSADuplicateSocketW(s, os.getpid())
    own = ws2.getsockopt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW)
    assert (info.iAddressFamily, info.iSocketType, info.iProtocol) == (af, type_, protocol)
    assert info.dwProviderReserved != 0
    assert info.copy(dwProviderReserved=0) == own      # identical to SO_PROTOCOL_INFOW but the token
    dup = ws2.WSASocketW(0, 0, 0, info, 0, 0)
    assert dup != s
    assert ws2.getsockopt(dup, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW) == own
    ws2.closesocket(dup)
    ws2.closesocket(s)


def test_item_27_duplicate_made_before_bind_still_behaves_unbound(ws):
    """[todo_wine] Windows caches 'bound' per descriptor: the source binds after the duplicate
    was made, sends to itself, and recvfrom on the duplicate fails with WSAEINVAL."""
    source = udp_socket(bind=False)
    dup = claim(ws2.WSADuplicateSocketW(source, os.getpid()))
    ws2.bind(source, ("127.0.0.1", 0))
    ws2.sendto(source, b"hi", 0, ws2.getsockname(source))
    fails(W.WSAEINVAL, ws2.recvfrom, dup, 10)
    assert ws2.recvfrom(source, 10)[0] == b"hi"        # the source's own view is bound
    ws2.closesocket(dup)
    ws2.closesocket(source)


def test_item_31_the_info_is_single_use_in_the_same_process(ws):
    s = tcp()
    info = ws2.WSADuplicateSocketW(s, os.getpid())
    dup = claim(info)
    fails(W.WSAEINVAL, claim, info)
    fails(W.WSAEINVAL, claim, bytes(info))
    ws2.closesocket(dup)
    ws2.closesocket(s)


def test_item_31_the_info_is_single_use_in_the_target_process(ws):
    s = tcp()
    proc, conn, pid = _start(_child_claim_twice)
    conn.send(bytes(ws2.WSADuplicateSocketW(s, pid)))
    assert conn.recv() == W.WSAEINVAL
    finish(proc, conn)
    ws2.closesocket(s)


def test_forged_or_unknown_tokens_are_refused_alike(ws):
    s = tcp()
    real = ws2.WSADuplicateSocketW(s, os.getpid())
    for forged in (real.dwProviderReserved ^ 0x5A5A, 0x12345678, 0x80000001, 1):
        fails(W.WSAEINVAL, claim, real.copy(dwProviderReserved=forged))
    dup = claim(real)                                   # the real one still works
    ws2.closesocket(dup)
    ws2.closesocket(s)


def test_wsa_flag_no_handle_inherit_makes_the_claimed_descriptor_close_on_exec(ws):
    s = tcp()
    inheritable = claim(ws2.WSADuplicateSocketW(s, os.getpid()))
    private = claim(ws2.WSADuplicateSocketW(s, os.getpid()), W.WSA_FLAG_NO_HANDLE_INHERIT)
    assert os.get_inheritable(inheritable)
    assert not os.get_inheritable(private)
    for x in (inheritable, private, s):
        ws2.closesocket(x)


# --------------------------------------------------------------------------------------
# one socket, many descriptors (item 34 and §1.2)
# --------------------------------------------------------------------------------------
def test_item_34_state_is_shared_across_processes_both_ways(ws):
    """Options and wsemu's own per-socket state set through one descriptor are seen through
    the other, in either process: stored timeouts, SO_ERROR, SO_EXCLUSIVEADDRUSE/REUSEADDR
    bookkeeping, echoed buffer sizes, and the (kernel-shared) non-blocking mode."""
    client, server = tcp_pair()
    ws2.setsockopt(client, W.SOL_SOCKET, W.SO_RCVTIMEO, 63000)
    ws2.setsockopt(client, W.SOL_SOCKET, W.SO_ERROR, 1234)
    ws2.setsockopt(client, W.SOL_SOCKET, W.SO_REUSEADDR, 1)
    ws2.setsockopt(client, W.SOL_SOCKET, W.SO_RCVBUF, 0)
    proc, conn, pid = _start(_child_claim_and_echo)
    conn.send(bytes(ws2.WSADuplicateSocketW(client, pid)))
    seen = conn.recv()
    assert seen["rcvtimeo"] == 63000 and seen["so_error"] == 1234
    assert seen["reuseaddr"] == 1 and seen["exclusive"] == 0 and seen["rcvbuf"] == 0
    assert seen["peer"] == ws2.getsockname(server)
    ws2.send(server, b"hello")
    assert ws2.recv(server, 100) == b"HELLO"
    conn.send("set")
    assert conn.recv() == "set"
    assert ws2.getsockopt(client, W.SOL_SOCKET, W.SO_SNDTIMEO) == 4242
    assert ws2.getsockopt(client, W.SOL_SOCKET, W.SO_ERROR) == 777
    with pytest.raises(WSAError) as err:                # the child made the socket non-blocking
        ws2.recv(client, 10)
    assert err.value.winerror == W.WSAEWOULDBLOCK
    conn.send("close")
    assert conn.recv() == "closed"
    finish(proc, conn)
    ws2.send(client, b"still open")                     # the child's close left ours working
    assert ws2.recv(server, 100) == b"still open"
    ws2.closesocket(client)
    assert ws2.recv(server, 100) == b""                 # the last descriptor closed it
    ws2.closesocket(server)


def test_closing_one_descriptor_keeps_the_connection_until_the_last_one(ws):
    client, server = tcp_pair()
    dup = claim(ws2.WSADuplicateSocketW(client, os.getpid()))
    ws2.closesocket(client)
    ws2.send(dup, b"through the duplicate")
    assert ws2.recv(server, 100) == b"through the duplicate"
    ws2.ioctlsocket(server, W.FIONBIO, 1)
    with pytest.raises(WSAError) as err:                # no EOF yet: one descriptor remains
        ws2.recv(server, 10)
    assert err.value.winerror == W.WSAEWOULDBLOCK
    ws2.closesocket(dup)
    ws2.ioctlsocket(server, W.FIONBIO, 0)
    assert ws2.recv(server, 10) == b""
    ws2.closesocket(server)


def test_non_blocking_mode_is_shared_by_every_descriptor(ws):
    client, server = tcp_pair()
    dup = claim(ws2.WSADuplicateSocketW(server, os.getpid()))
    ws2.ioctlsocket(server, W.FIONBIO, 1)
    fails(W.WSAEWOULDBLOCK, ws2.recv, dup, 10)
    for s in (dup, client, server):
        ws2.closesocket(s)


def test_a_shared_listening_socket_accepts_in_the_target(ws):
    lst = tcp()
    ws2.bind(lst, ("127.0.0.1", 0))
    ws2.listen(lst, 5)
    proc, conn, pid = _start(_child_accept_on_shared_listener)
    conn.send(bytes(ws2.WSADuplicateSocketW(lst, pid)))
    client = tcp()
    ws2.connect(client, ws2.getsockname(lst))
    assert ws2.recv(client, 100) == b"accepted-by-child"
    assert conn.recv() == "done"
    finish(proc, conn)
    ws2.connect(tcp_client := tcp(), ws2.getsockname(lst))  # the parent's listener still works
    accepted, _ = ws2.accept(lst)
    for s in (client, tcp_client, accepted, lst):
        ws2.closesocket(s)
