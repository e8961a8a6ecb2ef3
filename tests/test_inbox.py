"""Direct delivery of duplicated sockets into the target's inbox (wsemu.spi.inbox): the
hand-off's fast path, its fallbacks to the broker, what an inbox refuses, and the arena
ledgers from which `wsemu broker status` lists deliveries and holders without any process
telling the broker of a hand-off.

Targets are real processes started with 'spawn'. The broker reads the ledgers when asked for
its status, so what a call did shows in the next status at once.
"""
from __future__ import annotations

import array
import gc
import multiprocessing
import os
import select
import socket
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import tcp_pair, wait_for
from tests.test_broker_protocol import near_frames
from wsemu import abi as W
from wsemu import ws2
from wsemu.broker import protocol as P
from wsemu.broker.client import client
from wsemu.errors import WSAError
from wsemu._native import ffi, lib
from wsemu.spi import inbox, sharedstate

ctx = multiprocessing.get_context("spawn")
TIMEOUT = 30.0


def claim(info: bytes) -> int:
    fpi = W.FROM_PROTOCOL_INFO
    return ws2.WSASocketW(fpi, fpi, fpi, info, 0, 0)


def token_of(info) -> int:
    return int.from_bytes(bytes(info)[112:116], "little")


def _target_main(conn, inbox_enabled: bool) -> None:
    if not inbox_enabled:
        os.environ["WSEMU_INBOX"] = "0"
    ws2.WSAStartup(0x0202)
    conn.send(os.getpid())
    while True:
        try:
            command, argument = conn.recv()
        except EOFError:
            os._exit(0)
        try:
            if command == "claim":
                result = claim(argument)
            elif command == "recv":
                result = ws2.recv(argument, 100)
            elif command == "close":
                result = ws2.closesocket(argument)
            else:
                os._exit(0)
            conn.send(("ok", result))
        except WSAError as err:
            conn.send(("wsa", err.winerror))


class Target:
    """A spawned process that claims and uses sockets on command."""

    def __init__(self, inbox_enabled: bool = True) -> None:
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_target_main, args=(theirs, inbox_enabled), daemon=True)
        self.proc.start()
        theirs.close()
        assert self.conn.poll(TIMEOUT)
        self.pid = self.conn.recv()

    def __call__(self, command: str, argument=None):
        self.conn.send((command, argument))
        assert self.conn.poll(TIMEOUT), f"target did not answer {command}"
        kind, value = self.conn.recv()
        if kind == "wsa":
            raise WSAError(value)
        return value

    def exit(self) -> None:
        self.conn.send(("exit", None))
        self.proc.join(TIMEOUT)
        assert self.proc.exitcode == 0

    def close(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(TIMEOUT)
        self.conn.close()
        self.proc.close()


@pytest.fixture
def targets():
    started: list[Target] = []

    def start(inbox_enabled: bool = True) -> Target:
        started.append(Target(inbox_enabled))
        return started[-1]
    yield start
    for target in started:
        target.close()


def status() -> dict:
    return client().request(P.Status()).report


def holders(inode: int) -> list[int] | None:
    for entry in status()["shared"]:
        if entry["inode"] == inode:
            return entry["holders"]
    return None


def peer_closed(s: int, timeout: float = 10.0) -> bool:
    """The connection's other end has gone (every descriptor of it, in every process,
    including any still in flight, is closed): recv returns 0 bytes."""
    return wait_for(lambda: ws2.select([s], [], [], 0)[0] != [] and ws2.recv(s, 10) == b"", timeout)


def inode_of(s: int) -> int:
    return os.fstat(s).st_ino


# ======================================================================================
# The fast path and its fallbacks
# ======================================================================================
def test_a_duplicate_to_a_wsemu_process_goes_straight_into_its_inbox(ws, targets):
    target = targets()
    client_s, server_s = tcp_pair()
    info = ws2.WSADuplicateSocketW(client_s, target.pid)
    assert token_of(info) & inbox.DELIVERED_BIT and not token_of(info) & inbox.SELF_BIT
    theirs = target("claim", bytes(info))
    ws2.send(server_s, b"hello")
    assert target("recv", theirs) == b"hello"
    # The broker reads the slot's ledger: both processes hold the socket, nothing is in flight.
    assert holders(inode_of(client_s)) == sorted([os.getpid(), target.pid])
    assert all(d["token"] != token_of(info) for d in status()["deposits"])
    target("close", theirs)
    assert holders(inode_of(client_s)) is None
    ws2.closesocket(client_s)
    ws2.closesocket(server_s)


def test_a_target_without_an_inbox_gets_the_socket_through_the_broker(ws, targets):
    target = targets(inbox_enabled=False)
    client_s, server_s = tcp_pair()
    info = ws2.WSADuplicateSocketW(client_s, target.pid)
    assert not token_of(info) & inbox.DELIVERED_BIT
    assert any(d["token"] == token_of(info) and d["held_by"] == "broker" for d in status()["deposits"])
    theirs = target("claim", bytes(info))
    ws2.send(server_s, b"via broker")
    assert target("recv", theirs) == b"via broker"
    ws2.closesocket(client_s)
    ws2.closesocket(server_s)


def test_a_full_inbox_overflows_to_the_broker_and_every_socket_is_claimed(ws, targets):
    """The kernel bounds what a connection holds in flight; beyond it, the broker holds the
    rest. The target claims every one, whichever path it took."""
    target = targets()
    client_s, server_s = tcp_pair()
    infos = [bytes(ws2.WSADuplicateSocketW(client_s, target.pid)) for _ in range(400)]
    paths = {bool(token_of(info) & inbox.DELIVERED_BIT) for info in infos}
    assert paths == {True, False}, "expected both the inbox and the broker to carry some"
    claimed = [target("claim", info) for info in infos]
    assert len(set(claimed)) == len(claimed)
    for s in claimed:
        target("close", s)
    ws2.closesocket(client_s)
    assert peer_closed(server_s)
    ws2.closesocket(server_s)


def test_a_target_that_exits_without_claiming_frees_the_delivery(ws, targets):
    target = targets()
    client_s, server_s = tcp_pair()
    info = ws2.WSADuplicateSocketW(client_s, target.pid)
    assert token_of(info) & inbox.DELIVERED_BIT
    assert any(d["token"] == token_of(info) and d["target_pid"] == target.pid and d["held_by"] == "target inbox"
               for d in status()["deposits"])
    slot = sharedstate.arenas.own.slot(ws2._fast[client_s].state.slot)
    assert slot.holders == 2                   # this process, and the delivery in flight
    target.exit()                              # never claimed: the kernel frees what it held
    # The broker gives back the hold the delivery carried: status shows it gone within 1 s.
    assert wait_for(lambda: all(d["token"] != token_of(info) for d in status()["deposits"]), timeout=1.0)
    assert slot.holders == 1
    ws2.closesocket(client_s)                  # ... so this was the last descriptor
    assert peer_closed(server_s)
    ws2.closesocket(server_s)


# ======================================================================================
# What an inbox refuses
# ======================================================================================
def test_a_squatter_on_a_processes_inbox_name_never_gets_a_socket(ws):
    """Abstract names are free for anyone to bind: a sender checks that the listener is the
    target's own (SO_PEERCRED) before it hands anything over."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    squatter = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        squatter.bind(inbox.inbox_name(bystander.pid))
        squatter.listen(8)
        client_s, server_s = tcp_pair()
        info = ws2.WSADuplicateSocketW(client_s, bystander.pid)
        assert not token_of(info) & inbox.DELIVERED_BIT      # the broker holds it instead
        squatter.setblocking(False)
        while True:
            try:
                conn, _ = squatter.accept()
            except BlockingIOError:
                break
            with conn:
                data, ancillary, _, _ = conn.recvmsg(100, socket.CMSG_SPACE(64))
                assert not ancillary and not data, "the squatter was handed something"
        ws2.closesocket(client_s)
        ws2.closesocket(server_s)
    finally:
        squatter.close()
        bystander.kill()
        bystander.wait()


def _raw_delivery(conn: socket.socket, token: int, fds: tuple[int, ...], slot: int = 0, arena: int = 0) -> None:
    conn.sendmsg([P.encode(P.Delivery(fds=fds, token=token, slot=slot, arena=arena))],
                 [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])


def hung_up(end: socket.socket) -> bool:
    """The other end of ``end``'s pair was closed — every copy of it, the kernel's included."""
    return bool(select.select([end], [], [], 10)[0]) and end.recv(1) == b""


def refused(token: int, end: socket.socket) -> bool:
    """The inbox has nothing under ``token``, and the socket delivered under it was closed."""
    return inbox.inbox.take(token) is None and hung_up(end)


def slot_holders(arena: sharedstate.Arena, slot: int) -> int:
    return lib.wsemu_arena_slot(arena.base, slot).holders if arena.slot(slot) is not None else 0


def test_two_deliveries_under_one_token_are_both_refused_and_closed(ws):
    """...and give back the slot holds they carried."""
    a1, b1 = socket.socketpair()
    a2, b2 = socket.socketpair()
    arena, slot = sharedstate.arenas.allocate()        # holders 1: "the source"
    lib.wsemu_slot_hold(arena.slot(slot), 2)           # one per delivery in flight
    conn = inbox._connect(os.getpid())
    assert conn is not None
    token = inbox.new_token()
    try:
        _raw_delivery(conn, token, (a1.fileno(), arena.memfd), slot, arena.inode)
        _raw_delivery(conn, token, (a2.fileno(),), slot, arena.inode)   # (arena passed already)
        a1.close()
        a2.close()
        assert inbox.inbox.take(token) is None
        assert inbox.inbox.take(token) is None
        for b in (b1, b2):                         # every copy was closed: EOF
            assert hung_up(b)
        assert slot_holders(arena, slot) == 1
    finally:
        conn.close()
        b1.close()
        b2.close()
        lib.wsemu_slot_hold(arena.slot(slot), -1)
    ws2.WSACleanup()                               # forgets the ambiguous token


def test_a_delivery_naming_an_arena_its_connection_never_passed_is_refused(ws):
    a, b = socket.socketpair()
    arena, slot = sharedstate.arenas.allocate()
    conn = inbox._connect(os.getpid())
    token = inbox.new_token()
    try:
        _raw_delivery(conn, token, (a.fileno(),), slot, arena.inode)
        a.close()
        assert refused(token, b)
    finally:
        conn.close()
        b.close()
        lib.wsemu_slot_hold(arena.slot(slot), -1)


def test_a_delivery_whose_arena_is_not_one_is_refused(ws):
    """An empty memfd, one of the wrong size, or an arena that is not the one the frame names."""
    other, other_slot = sharedstate.arenas.allocate()
    small = os.memfd_create("small")
    os.ftruncate(small, 4096)
    try:
        for memfd, slot, named in ((os.memfd_create("empty"), 0, 1), (os.dup(small), 0, os.fstat(small).st_ino),
                                   (os.dup(other.memfd), other_slot, other.inode + 1)):
            a, b = socket.socketpair()
            conn = inbox._connect(os.getpid())
            token = inbox.new_token()
            _raw_delivery(conn, token, (a.fileno(), memfd), slot, named)
            a.close()
            os.close(memfd)
            try:
                assert refused(token, b)
            finally:
                conn.close()
                b.close()
    finally:
        os.close(small)
        lib.wsemu_slot_hold(other.slot(other_slot), -1)


def inet_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        a = socket.create_connection(server.getsockname())
        b, _ = server.accept()
    return a, b


def claim_token(token: int) -> int:
    return claim(bytes(ws2.WSAEnumProtocolsW()[0].copy(dwProviderReserved=token)))


def test_a_claim_whose_slot_is_free_or_another_sockets_fails_and_closes_the_socket(ws):
    """The slot a delivery names must be in use, by this very socket (its inode); the hold
    the delivery carried comes back either way."""
    arena, slot = sharedstate.arenas.allocate()
    lib.wsemu_arena_slot(arena.base, slot).inode = 1             # some other socket's
    free = next(n for n in range(slot + 1, lib.WSEMU_ARENA_SLOTS) if arena.slot(n) is None)
    conn = inbox._connect(os.getpid())
    try:
        for named in (slot, free):
            a, b = inet_pair()
            token = inbox.new_token()
            if named == slot:
                lib.wsemu_slot_hold(arena.slot(slot), 1)
            _raw_delivery(conn, token, (a.fileno(), arena.memfd), named, arena.inode)
            a.close()
            with pytest.raises(WSAError) as err:
                claim_token(token)
            assert err.value.winerror == W.WSAEINVAL
            assert hung_up(b)
            b.close()
            assert slot_holders(arena, slot) == 1
            assert arena.slot(free) is None
    finally:
        conn.close()
        lib.wsemu_slot_hold(arena.slot(slot), -1)


def test_a_delivered_socket_of_another_family_is_refused_and_closed_once(ws):
    """Regression: the failed claim closed the fd while a socket object still owned it, so
    collecting that object later closed whatever had reused the number since."""
    a, b = socket.socketpair()                         # AF_UNIX: no Winsock family
    arena, slot = sharedstate.arenas.allocate()
    lib.wsemu_slot_hold(arena.slot(slot), 1)
    conn = inbox._connect(os.getpid())
    token = inbox.new_token()
    try:
        _raw_delivery(conn, token, (a.fileno(), arena.memfd), slot, arena.inode)
        a.close()
        try:
            claim_token(token)
        except WSAError as exc:
            assert exc.winerror == W.WSAEINVAL
            reused_r, reused_w = os.pipe()             # takes the freed numbers...
        # ...before the failed call's frames (and whatever they held) are gone
        gc.collect()
        assert hung_up(b)
        os.write(reused_w, b"x")                       # both still open: nobody closed them again
        assert os.read(reused_r, 1) == b"x"
        os.close(reused_r)
        os.close(reused_w)
        assert slot_holders(arena, slot) == 1
    finally:
        conn.close()
        b.close()
        lib.wsemu_slot_hold(arena.slot(slot), -1)


def test_a_malformed_frame_closes_its_descriptors_and_the_connection(ws):
    a, b = socket.socketpair()
    page = os.memfd_create("page")    # (a stand-in: nothing about it is looked at)
    conn = inbox._connect(os.getpid())
    try:
        conn.sendmsg([P.encode(P.Ping())], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", (a.fileno(), page)))])
        a.close()
        assert inbox.inbox.take(inbox.new_token()) is None
        assert hung_up(b)
        assert select.select([conn], [], [], 10)[0] and conn.recv(10) == b""     # dropped
    finally:
        conn.close()
        os.close(page)
        b.close()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_deliveries_from_another_user_are_closed_unread(ws):
    a, b = socket.socketpair()
    page = os.memfd_create("page")
    token = inbox.new_token()
    name = inbox.inbox_name(os.getpid())
    pid = os.fork()
    if pid == 0:                                   # a process of another user, nothing else
        try:
            os.setgid(65534)
            os.setuid(65534)
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            conn.connect(name)
            _raw_delivery(conn, token, (a.fileno(), page))
            conn.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    a.close()
    os.close(page)
    try:
        assert refused(token, b)
    finally:
        b.close()


def test_a_forked_child_has_no_inbox_of_its_parents(ws):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write_end, bytes([inbox.inbox.listener is None and not inbox.inbox.pending]))
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        assert os.read(read_end, 1) == b"\x01"
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


# ======================================================================================
# The ledger
# ======================================================================================
def test_deliveries_are_listed_until_claimed_and_counted_beyond_the_ledgers_room(ws, targets):
    """No process tells the broker of a hand-off: it reads the socket's slot. The first
    WSEMU_LEDGER_DELIVERIES deliveries in flight are listed, the rest counted as unlisted."""
    target = targets()
    client_s, server_s = tcp_pair()
    extra = 5
    infos = [bytes(ws2.WSADuplicateSocketW(client_s, target.pid)) for _ in range(lib.WSEMU_LEDGER_DELIVERIES + extra)]
    assert all(token_of(info) & inbox.DELIVERED_BIT for info in infos)
    report = status()
    listed = {d["token"] for d in report["deposits"] if d["held_by"] == "target inbox"}
    assert listed == {token_of(info) for info in infos[:lib.WSEMU_LEDGER_DELIVERIES]}
    assert report["unlisted_count"] == extra
    for info in infos:
        target("close", target("claim", info))
    report = status()
    assert not listed & {d["token"] for d in report["deposits"]} and report["unlisted_count"] == 0
    assert holders(inode_of(client_s)) is None
    ws2.closesocket(client_s)
    ws2.closesocket(server_s)


def test_a_forked_child_is_a_holder_and_its_crash_gives_its_hold_back(ws, targets):
    """A child forked while a socket is shared holds it too (it has the descriptor): the
    ledger names it. When it dies without closing (os._exit: no cleanup at all), the broker
    gives its hold back on its next sweep, and lists only the live holders."""
    target = targets()
    client_s, server_s = tcp_pair()
    theirs = target("claim", bytes(ws2.WSADuplicateSocketW(client_s, target.pid)))
    slot = ws2._fast[client_s].state._raw
    assert slot.holders == 2
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    child = os.fork()
    if child == 0:                                    # the child: report, then die uncleanly
        os.close(go_w)
        os.write(report_w, b"%d" % slot.holders)
        os.read(go_r, 1)                              # (EOF once the parent has looked)
        os._exit(0)
    os.close(report_w)
    os.close(go_r)
    try:
        assert int(os.read(report_r, 16)) == 3
        assert holders(inode_of(client_s)) == sorted([os.getpid(), target.pid, child])
    finally:
        os.close(go_w)                                # the child's read returns: it exits
        os.close(report_r)
        os.waitpid(child, 0)
    assert wait_for(lambda: holders(inode_of(client_s)) == sorted([os.getpid(), target.pid]), timeout=3.0)
    assert slot.holders == 2
    target("close", theirs)
    ws2.closesocket(client_s)
    ws2.closesocket(server_s)


def test_connections_to_targets_that_have_gone_are_closed_when_a_new_one_is_reached(ws, targets):
    first, second = targets(), targets()
    client_s, server_s = tcp_pair()
    ws2.WSADuplicateSocketW(client_s, first.pid)
    assert first.pid in inbox.outbox.targets          # kept: the next hand-off is one sendmsg
    first.exit()
    ws2.WSADuplicateSocketW(client_s, second.pid)
    assert first.pid not in inbox.outbox.targets and second.pid in inbox.outbox.targets
    ws2.closesocket(client_s)
    ws2.closesocket(server_s)


# ---------------------------------------------------------------------------------------
# The C reader (wsemu_inbox_drain) takes exactly the Delivery frames the protocol module
# decodes for an inbox, and closes everything else
# ---------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), st.booleans())
def test_the_c_sender_sends_what_encode_makes_of_a_delivery(token, slot, arena, with_arena):
    """wsemu_inbox_send's frame is the protocol module's Delivery, byte for byte, with the
    socket (and the arena's memfd when asked) as its descriptors."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    read_end, write_end = os.pipe()
    try:
        assert lib.wsemu_inbox_send(ours.fileno(), read_end, write_end if with_arena else -1, token, slot, arena) == 0
        data, ancillary, flags, _ = theirs.recvmsg(64, socket.CMSG_SPACE(3 * 4))
        fds = array.array("i")
        for level, kind, payload in ancillary:
            assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
            fds.frombytes(payload)
        try:
            assert not flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) and len(fds) == 1 + with_arena
            message = P.Delivery(fds=tuple(fds), token=token, slot=slot, arena=arena)
            assert data == P.encode(message) and P.decode(data, tuple(fds), expect=P.INBOX) == message
            assert [os.fstat(fd).st_ino for fd in fds] == [os.fstat(fd).st_ino for fd in (read_end, write_end)][:len(fds)]
        finally:
            for fd in fds:
                os.close(fd)
    finally:
        ours.close()
        theirs.close()
        os.close(read_end)
        os.close(write_end)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(near_frames(), st.binary(max_size=40),
                 st.builds(lambda token, slot, arena: P.encode(P.Delivery(fds=(0,), token=token, slot=slot,
                                                                           arena=arena)),
                           st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1))),
       st.integers(0, 3))
def test_the_c_reader_accepts_exactly_what_decode_accepts_on_an_inbox(packet, nfds):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    listener.bind(b"\0wsemu-test-reader-%d" % os.getpid())
    listener.listen(4)
    poller = select.epoll()
    poller.register(listener.fileno(), select.EPOLLIN)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    read_end, write_end = os.pipe()
    records = ffi.new("wsemu_inbox_record[]", 8)
    try:
        sender.connect(listener.getsockname())
        fds = [os.dup(write_end) for _ in range(nfds)]
        sender.sendmsg([packet], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else [])
        for fd in fds:
            os.close(fd)
        try:
            message = P.decode(packet, tuple(fds), expect=P.INBOX)
        except P.ProtocolError:
            message = None
        got = []
        while True:
            count = lib.wsemu_inbox_drain(poller.fileno(), listener.fileno(), os.getuid(), records, 8)
            got += [(r.kind, r.conn, r.token, r.slot, r.arena, r.fd, r.arena_fd) for r in records[0:count]]
            if count < 8:
                break
        kinds = [g[0] for g in got]
        assert kinds[0] == lib.WSEMU_INBOX_ACCEPTED
        if message is None:
            assert kinds[1:] == [lib.WSEMU_INBOX_GONE]        # dropped, descriptors closed
        else:
            assert kinds[1:] == [lib.WSEMU_INBOX_DELIVERY]
            _, conn, token, slot, arena, fd, arena_fd = got[1]
            assert (token, slot, arena) == (message.token, message.slot, message.arena)
            assert (arena_fd >= 0) == (nfds == 2)
            for received in (fd, arena_fd):
                if received >= 0:
                    os.close(received)
            os.close(conn)
        os.close(write_end)
        write_end = -1
        # Every copy of the write end is closed (ours, the kernel's, the reader's): EOF.
        assert os.read(read_end, 1) == b""
    finally:
        if write_end >= 0:
            os.close(write_end)
        os.close(read_end)
        sender.close()
        poller.close()
        listener.close()
