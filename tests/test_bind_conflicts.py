"""Windows bind conflicts with real kernel sockets through the base provider.

The same items as test_bindrules.py (CONFORMANCE.md 68-77), plus what only real sockets show:
which listener gets a connection, that ephemeral ports never land on a held port, that
TIME_WAIT does not block a bind, and that the rules hold across processes.
"""
from __future__ import annotations

import fcntl
import multiprocessing
import os
import select
import socket as L
import struct
import threading

import pytest

from tests.test_bindrules import EXCLUSIVE_TABLE
from wsemu import abi as W
from wsemu.errors import WSAError
from wsemu.spi import bindrules
from wsemu.spi.base import provider
from wsemu.spi.bindrules import Binding

ACCES, INUSE, OK = W.WSAEACCES, W.WSAEADDRINUSE, None
TRANSPORTS = {"tcp": (W.SOCK_STREAM, W.IPPROTO_TCP), "udp": (W.SOCK_DGRAM, W.IPPROTO_UDP)}
ANY4, LOOP4, ANY6, LOOP6 = "0.0.0.0", "127.0.0.1", "::", "::1"
FAMILIES = {"ipv4": (W.AF_INET, ANY4, LOOP4), "ipv6": (W.AF_INET6, ANY6, LOOP6)}
IP_LOCAL_PORT_RANGE = 51          # Linux 6.3+: a per-socket ephemeral port range
WAIT = 30                         # seconds; only ever reached when something is broken


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path, monkeypatch):
    """Keep the bind lock out of the user's real runtime dir."""
    monkeypatch.setenv("WSEMU_RUNTIME_DIR", str(tmp_path / "runtime"))


class Sockets:
    """wsemu sockets of one test; whatever the test leaves open is closed at teardown."""

    def __init__(self) -> None:
        self.handles: list[int] = []

    def new(self, family: int, transport: str = "tcp", *, reuseaddr: bool = False,
            exclusive: bool = False, v6only: bool = True) -> int:
        type_, protocol = TRANSPORTS[transport]
        info = W.WSAPROTOCOL_INFOW(dwCatalogEntryId=1001, iAddressFamily=family,
                                   iSocketType=type_, iProtocol=protocol)
        s = self.track(provider().WSPSocket(family, type_, protocol, info))
        if reuseaddr:
            set_option(s, W.SOL_SOCKET, W.SO_REUSEADDR, 1)
        if exclusive:
            set_option(s, W.SOL_SOCKET, W.SO_EXCLUSIVEADDRUSE, 1)
        if family == W.AF_INET6:
            set_option(s, W.IPPROTO_IPV6, W.IPV6_V6ONLY, int(v6only))
        return s

    def like(self, binding: Binding, transport: str) -> int:
        """A socket with a Binding's options (its dual_stack as IPV6_V6ONLY 0)."""
        return self.new(binding.family, transport, reuseaddr=binding.reuseaddr,
                        exclusive=binding.exclusive, v6only=not binding.dual_stack)

    def track(self, s: int) -> int:
        self.handles.append(s)
        return s

    def close(self, s: int) -> None:
        self.handles.remove(s)
        provider().WSPCloseSocket(s)

    def close_all(self) -> None:
        while self.handles:
            self.close(self.handles[-1])


@pytest.fixture
def sockets():
    opened = Sockets()
    yield opened
    opened.close_all()


def set_option(s: int, level: int, name: int, value: int) -> None:
    provider().WSPSetSockOpt(s, level, name, value.to_bytes(4, "little"))


def bind(s: int, host: str, port: int = 0) -> int:
    """Bind and return the bound port."""
    provider().WSPBind(s, (host, port))
    return provider().WSPGetSockName(s)[1]


def bind_error(s: int, host: str, port: int) -> int | None:
    """The WSA error of the bind, or None if it succeeded."""
    try:
        provider().WSPBind(s, (host, port))
    except WSAError as err:
        return err.winerror
    return None


def listener_taking(sockets: Sockets, listeners: list[int], family: int, host: str,
                    port: int) -> int:
    """Connect to host:port; return the index of the listener the connection reached."""
    client = sockets.new(family)
    provider().WSPConnect(client, (host, port))
    ready, _, _ = select.select(listeners, [], [], WAIT)
    assert len(ready) == 1
    accepted, _ = provider().WSPAccept(ready[0])
    provider().WSPCloseSocket(accepted)
    sockets.close(client)
    return listeners.index(ready[0])


# ======================================================================================
# One process
# ======================================================================================
@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("first, second, expected", [row[1:] for row in EXCLUSIVE_TABLE],
                         ids=[row[0] for row in EXCLUSIVE_TABLE])
def test_item_76_exclusiveaddruse_table(sockets, transport, first, second, expected) -> None:
    port = bind(sockets.like(first, transport), first.address)
    assert bind_error(sockets.like(second, transport), second.address, port) == expected


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_item_77_exclusive_dual_stack_any_refuses_reuseaddr_any4(sockets, transport) -> None:
    port = bind(sockets.new(W.AF_INET6, transport, exclusive=True, v6only=False), ANY6)
    assert bind_error(sockets.new(W.AF_INET, transport, reuseaddr=True), ANY4, port) == ACCES


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_70_same_address_twice_is_in_use(sockets, transport, fam) -> None:
    family, _, loop = FAMILIES[fam]
    port = bind(sockets.new(family, transport), loop)
    assert bind_error(sockets.new(family, transport), loop, port) == INUSE


@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_70_listening_socket_keeps_its_address(sockets, fam) -> None:
    family, _, loop = FAMILIES[fam]
    first = sockets.new(family)
    port = bind(first, loop)
    provider().WSPListen(first, 5)
    assert bind_error(sockets.new(family), loop, port) == INUSE


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_71_reuseaddr_beside_plain_is_access_denied(sockets, transport, fam) -> None:
    family, _, loop = FAMILIES[fam]
    port = bind(sockets.new(family, transport), loop)
    assert bind_error(sockets.new(family, transport, reuseaddr=True), loop, port) == ACCES


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_71_reuseaddr_sockets_share_plain_ones_do_not_join(sockets, transport, fam) -> None:
    family, _, loop = FAMILIES[fam]
    port = bind(sockets.new(family, transport, reuseaddr=True), loop)
    second = sockets.new(family, transport)
    assert bind_error(second, loop, port) == INUSE
    set_option(second, W.SOL_SOCKET, W.SO_REUSEADDR, 1)
    assert bind_error(second, loop, port) is OK


@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_71_reuseaddr_listeners_first_takes_connections_until_closed(sockets, fam) -> None:
    family, _, loop = FAMILIES[fam]
    first = sockets.new(family, reuseaddr=True)
    port = bind(first, loop)
    second = sockets.new(family, reuseaddr=True)
    bind(second, loop, port)
    provider().WSPListen(first, 5)
    provider().WSPListen(second, 5)
    listeners = [first, second]
    assert [listener_taking(sockets, listeners, family, loop, port) for _ in range(8)] == [0] * 8
    sockets.close(first)
    assert listener_taking(sockets, [second], family, loop, port) == 0


def test_reuseaddr_listeners_take_over_in_binding_order(sockets) -> None:
    """The s1..s4 scenario of test_reuseaddr: the oldest listening reuser gets connections."""
    s1, s2, s3, s4 = (sockets.new(W.AF_INET, reuseaddr=True) for _ in range(4))
    port = bind(s1, LOOP4)
    bind(s2, LOOP4, port)
    provider().WSPListen(s1, 5)
    provider().WSPListen(s2, 5)
    assert listener_taking(sockets, [s1, s2], W.AF_INET, LOOP4, port) == 0
    sockets.close(s1)
    bind(s3, LOOP4, port)
    assert listener_taking(sockets, [s2], W.AF_INET, LOOP4, port) == 0
    sockets.close(s2)
    bind(s4, LOOP4, port)
    provider().WSPListen(s3, 5)
    assert listener_taking(sockets, [s3], W.AF_INET, LOOP4, port) == 0
    sockets.close(s3)
    provider().WSPListen(s4, 5)
    assert listener_taking(sockets, [s4], W.AF_INET, LOOP4, port) == 0


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_73_wildcard_twice_is_in_use(sockets, transport, fam) -> None:
    family, any_, _ = FAMILIES[fam]
    port = bind(sockets.new(family, transport), any_)
    assert bind_error(sockets.new(family, transport), any_, port) == INUSE


@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_74_specific_listener_beside_wildcard_gets_its_connections(sockets, fam) -> None:
    family, any_, loop = FAMILIES[fam]
    wildcard = sockets.new(family)
    port = bind(wildcard, any_)
    provider().WSPListen(wildcard, 5)
    specific = sockets.new(family)
    assert bind_error(specific, loop, port) is OK
    provider().WSPListen(specific, 5)
    assert listener_taking(sockets, [wildcard, specific], family, loop, port) == 1


@pytest.mark.parametrize("fam", list(FAMILIES))
def test_item_75_wildcard_listener_beside_specific_leaves_it_its_connections(sockets, fam) -> None:
    family, any_, loop = FAMILIES[fam]
    specific = sockets.new(family)
    port = bind(specific, loop)
    provider().WSPListen(specific, 5)
    wildcard = sockets.new(family)
    assert bind_error(wildcard, any_, port) is OK
    provider().WSPListen(wildcard, 5)
    assert listener_taking(sockets, [specific, wildcard], family, loop, port) == 0


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_item_74_75_bound_specific_and_wildcard_coexist(sockets, transport) -> None:
    port = bind(sockets.new(W.AF_INET, transport), ANY4)
    assert bind_error(sockets.new(W.AF_INET, transport), LOOP4, port) is OK
    port = bind(sockets.new(W.AF_INET, transport), LOOP4)
    assert bind_error(sockets.new(W.AF_INET, transport), ANY4, port) is OK


def test_udp_reuseaddr_datagrams_reach_the_first_socket(sockets) -> None:
    first = sockets.new(W.AF_INET, "udp", reuseaddr=True)
    port = bind(first, LOOP4)
    second = sockets.new(W.AF_INET, "udp", reuseaddr=True)
    bind(second, LOOP4, port)
    for _ in range(8):
        sender = sockets.new(W.AF_INET, "udp")   # a new source port each time: a new hash
        provider().WSPSendTo(sender, [b"x"], 1, 0, (LOOP4, port))
        ready, _, _ = select.select([first, second], [], [], WAIT)
        assert ready == [first]
        provider().WSPRecvFrom(first, [bytearray(8)])
        sockets.close(sender)


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_ipv6only_wildcard_leaves_ipv4_wildcard_free(sockets, transport) -> None:
    port = bind(sockets.new(W.AF_INET6, transport), ANY6)
    assert bind_error(sockets.new(W.AF_INET, transport), ANY4, port) is OK


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_item_68_non_local_address_is_reported_before_a_conflict(sockets, transport) -> None:
    port = bind(sockets.new(W.AF_INET, transport, exclusive=True), ANY4)
    assert bind_error(sockets.new(W.AF_INET, transport), "192.0.2.1", port) == W.WSAEADDRNOTAVAIL


def test_time_wait_does_not_block_a_bind(sockets) -> None:
    listener = sockets.new(W.AF_INET)
    port = bind(listener, LOOP4)
    provider().WSPListen(listener, 5)
    client = sockets.new(W.AF_INET)
    provider().WSPConnect(client, (LOOP4, port))
    accepted = sockets.track(provider().WSPAccept(listener)[0])
    sockets.close(accepted)          # the server side closes first: its end goes to TIME_WAIT
    sockets.close(client)
    sockets.close(listener)
    assert bind_error(sockets.new(W.AF_INET), LOOP4, port) is OK


def test_socket_closed_without_release_does_not_hold_its_port(sockets) -> None:
    stale = sockets.new(W.AF_INET, reuseaddr=True)
    port = bind(stale, LOOP4)
    sockets.handles.remove(stale)
    provider().table.close(provider().lookup(stale))   # a close path that skips bindrules
    assert bind_error(sockets.new(W.AF_INET), LOOP4, port) is OK


# -- ephemeral ports ---------------------------------------------------------------------
def only_ephemeral_port(s: int, port: int) -> None:
    """Narrow the socket's ephemeral range to one port (skip where Linux is older than 6.3)."""
    try:
        provider().lookup(s).sock.setsockopt(L.IPPROTO_IP, IP_LOCAL_PORT_RANGE,
                                             struct.pack("=I", port | port << 16))
    except OSError:
        pytest.skip("IP_LOCAL_PORT_RANGE is not supported by this kernel")


@pytest.mark.parametrize("reuseaddr, expected", [(False, INUSE), (True, ACCES)],
                         ids=["plain", "reuseaddr"])
@pytest.mark.parametrize("transport, listening", [("tcp", False), ("tcp", True), ("udp", False)],
                         ids=["tcp-bound", "tcp-listening", "udp"])
def test_port_0_bind_never_takes_a_held_port(
        sockets, transport, listening, reuseaddr, expected) -> None:
    holder = sockets.new(W.AF_INET, transport, reuseaddr=True)
    port = bind(holder, LOOP4)
    if listening:
        provider().WSPListen(holder, 5)
    newcomer = sockets.new(W.AF_INET, transport, reuseaddr=reuseaddr)
    only_ephemeral_port(newcomer, port)
    # The only ephemeral port it may use is held: the kernel must refuse rather than share.
    assert bind_error(newcomer, ANY4, 0) == expected


def test_implicit_udp_bind_never_takes_a_held_port(sockets) -> None:
    port = bind(sockets.new(W.AF_INET, "udp", reuseaddr=True), ANY4)
    sender = sockets.new(W.AF_INET, "udp")
    only_ephemeral_port(sender, port)
    with pytest.raises(WSAError):
        provider().WSPSendTo(sender, [b"x"], 1, 0, (LOOP4, port))


def test_implicit_tcp_bind_never_takes_a_held_port(sockets) -> None:
    listener = sockets.new(W.AF_INET, reuseaddr=True)
    port = bind(listener, LOOP4)
    provider().WSPListen(listener, 5)
    client = sockets.new(W.AF_INET)
    only_ephemeral_port(client, port)
    with pytest.raises(WSAError):
        provider().WSPConnect(client, (LOOP4, port))


# ======================================================================================
# Across processes
# ======================================================================================
def test_bind_lock_is_not_left_held_by_a_child_forked_while_a_thread_holds_it() -> None:
    entered, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with bindrules.lock():
            entered.set()
            leave.wait(WAIT)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(WAIT)
    go_read, go_write = os.pipe()
    child = os.fork()
    if child == 0:                   # only os calls here: this is a copy of a threaded process
        os.read(go_read, 1)
        fd = os.open(os.path.join(os.environ["WSEMU_RUNTIME_DIR"], "bind.lock"), os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os._exit(1)
        os._exit(0)
    os.close(go_read)
    leave.set()
    holder.join(WAIT)
    os.write(go_write, b"x")         # the holder is gone: the lock must be free for anyone
    os.close(go_write)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def hold_binding(conn, family: int, transport: str, host: str, options: dict, listen: bool) -> None:
    """Process A: bind (host, 0), report the port, keep the socket until told to exit."""
    s = Sockets().new(family, transport, **options)
    port = bind(s, host)
    if listen:
        provider().WSPListen(s, 5)
    conn.send(port)
    conn.recv()                      # the socket and its marker die with this process


class OtherProcess:
    """A spawned (not forked) process holding one binding."""

    def __init__(self, family: int, transport: str, host: str, listen: bool = False,
                 **options: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=hold_binding,
                                        args=(theirs, family, transport, host, options, listen))
        self._process.start()
        theirs.close()
        assert self._conn.poll(WAIT), "process A did not report its port"
        self.port: int = self._conn.recv()

    def exit(self) -> None:
        if self._process.exitcode is None:
            self._conn.send("exit")
            self._process.join(WAIT)
        assert self._process.exitcode == 0

    def close(self) -> None:
        try:
            self.exit()
        finally:
            if self._process.exitcode is None:
                self._process.kill()
                self._process.join()
            self._process.close()
            self._conn.close()


@pytest.fixture
def other_process():
    started: list[OtherProcess] = []

    def start(*args, **kwargs) -> OtherProcess:
        started.append(OtherProcess(*args, **kwargs))
        return started[-1]

    yield start
    for process in started:
        process.close()


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_cross_process_exclusive_wildcard_refuses_loopback_until_its_owner_exits(
        sockets, other_process, transport) -> None:
    owner = other_process(W.AF_INET, transport, ANY4, exclusive=True)
    mine = sockets.new(W.AF_INET, transport)
    assert bind_error(mine, LOOP4, owner.port) == ACCES
    owner.exit()
    assert bind_error(mine, LOOP4, owner.port) is OK


@pytest.mark.parametrize("transport, listen", [("tcp", False), ("tcp", True), ("udp", False)],
                         ids=["tcp-bound", "tcp-listening", "udp"])
def test_cross_process_plain_same_address_is_in_use(
        sockets, other_process, transport, listen) -> None:
    owner = other_process(W.AF_INET, transport, LOOP4, listen=listen)
    assert bind_error(sockets.new(W.AF_INET, transport), LOOP4, owner.port) == INUSE


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_cross_process_reuseaddr_sockets_share(sockets, other_process, transport) -> None:
    owner = other_process(W.AF_INET, transport, LOOP4, reuseaddr=True)
    assert bind_error(sockets.new(W.AF_INET, transport), LOOP4, owner.port) == INUSE
    assert bind_error(sockets.new(W.AF_INET, transport, reuseaddr=True), LOOP4, owner.port) is OK


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_cross_process_item_71_reuseaddr_beside_plain_is_access_denied(
        sockets, other_process, transport) -> None:
    owner = other_process(W.AF_INET, transport, LOOP4)
    assert bind_error(sockets.new(W.AF_INET, transport, reuseaddr=True), LOOP4, owner.port) == ACCES


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_cross_process_item_77_dual_stack_exclusive_any(sockets, other_process, transport) -> None:
    owner = other_process(W.AF_INET6, transport, ANY6, exclusive=True, v6only=False)
    assert bind_error(sockets.new(W.AF_INET, transport, reuseaddr=True), ANY4, owner.port) == ACCES


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_cross_process_plain_dual_stack_any_leaves_ipv4_any_free(
        sockets, other_process, transport) -> None:
    owner = other_process(W.AF_INET6, transport, ANY6, v6only=False)
    assert bind_error(sockets.new(W.AF_INET, transport), ANY4, owner.port) is OK
