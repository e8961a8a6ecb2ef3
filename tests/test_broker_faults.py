"""The broker under attack and under failure, against REAL broker processes (DESIGN.md §3.4, §5).

A dedicated broker daemon (``python -m wsemu.broker``) serves this module from its own
WSEMU_RUNTIME_DIR under tmp_path and is SIGTERMed at the end; tests that must kill, restart
or cap a broker get their own directory and broker. The broker's own descriptor count is read
from /proc/<broker pid>/fd and must come back to its baseline after every test. Other
processes are real ones started with multiprocessing 'spawn' (``Peer``: a small RPC child
that runs ws2 calls on command), never mocks.

Since protocol version 2 a duplicated socket reaches a process that has an inbox straight
through it (wsemu.spi.inbox), never through the broker; the tests that are about the broker
holding deposits (caps, exits, restarts, claims) therefore start their targets with
WSEMU_INBOX=0 (``peers(inbox=False)``), so that every hand-off to them is a Lease and a
one-way Deposit at the broker. Raw clients lease their tokens first too; a Deposit has no
reply, so whether it landed is learnt by a later request on the same connection (Status,
Claim, Ping: served in order) or by claiming it.

Waiting is done on pipes, pidfds and polls, except where no event exists: a deposit
disappearing from the status report after its target exits (the broker hears of the exit
through a pidfd, on its own time) — polled until a deadline (``wait_for``). Shared-socket
holders and deliveries into inboxes need no waiting: the broker reads them from the arena
ledgers when asked for its status.

Numbers the tests measure are printed (run with ``-s`` to see them).
"""
from __future__ import annotations

import array
import contextlib
import errno
import importlib
import json
import multiprocessing
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from wsemu import abi as W
from wsemu import ws2
from wsemu._native import ffi, lib
from wsemu.broker import client as broker_client
from wsemu.broker import protocol as P
from wsemu.errors import WSAError
from tests.helpers import wait_for

SPAWN = multiprocessing.get_context("spawn")
CALL_TIMEOUT = 60.0


# ======================================================================================
# A real broker, in its own runtime directory
# ======================================================================================
class BrokerProcess:
    """``python -m wsemu.broker`` serving ``directory`` (in the foreground, our child)."""

    def __init__(self, directory: Path, *extra: str) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory = directory
        self.log_path = directory.parent / f"{directory.name}-broker.log"
        ready_r, ready_w = os.pipe()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wsemu.broker", "--ready-fd", str(ready_w), *extra],
                env=dict(os.environ, WSEMU_RUNTIME_DIR=str(directory)), pass_fds=(ready_w,),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        os.close(ready_w)
        try:
            assert select.select([ready_r], [], [], 30)[0], "the broker did not get ready"
            assert os.read(ready_r, 1) == b"1"
        finally:
            os.close(ready_r)
        self.pid = self.proc.pid
        assert read_lock_pid(directory) == self.pid

    @property
    def socket_path(self) -> str:
        return str(self.directory / "broker.sock")

    def fds(self) -> dict[int, str]:
        return _proc_fds(self.pid)

    def fd_count(self) -> int:
        return len(self.fds())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def internal_errors(self) -> list[str]:
        """Tracebacks in the broker's log: an internal error it survived is still a bug."""
        text = self.log_path.read_text(errors="replace")
        return [chunk[:2000] for chunk in text.split("Traceback (most recent call last):")[1:]]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the broker did not exit on SIGTERM within 10 s") from None


def _proc_fds(pid: int) -> dict[int, str]:
    fds = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            pass
    return fds


def read_lock_pid(directory: Path) -> int | None:
    try:
        return int((directory / "broker.lock").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_foreign_broker(pid: int | None) -> None:
    """SIGTERM a broker that is not our child (auto-started, detached) and wait, by its
    pidfd, until it has gone."""
    if pid is None:
        return
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        if not select.select([pidfd], [], [], 10)[0]:
            os.kill(pid, signal.SIGKILL)
            select.select([pidfd], [], [], 10)
            raise AssertionError(f"auto-started broker {pid} ignored SIGTERM")
    finally:
        os.close(pidfd)


def brokers_serving(directory: Path) -> list[int]:
    """Live broker processes whose runtime directory is ``directory``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{name}/cmdline", "rb").read().split(b"\0")
            if b"wsemu.broker" not in cmdline:
                continue
            environ = open(f"/proc/{name}/environ", "rb").read().split(b"\0")
            state = open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"WSEMU_RUNTIME_DIR={directory}".encode() in environ and state != "Z":
            found.append(int(name))
    return found


@contextlib.contextmanager
def runtime_dir(directory: Path):
    """This process (and the processes it spawns meanwhile) use ``directory``'s broker: a
    fresh broker client (the session's own stays connected to the session broker)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WSEMU_RUNTIME_DIR", str(directory))
        mp.setattr(broker_client, "_client", None)
        try:
            yield
        finally:
            if broker_client._client is not None:
                broker_client._client.close()


def status() -> dict:
    return broker_client.client().request(P.Status()).report


def settle(broker: BrokerProcess, baseline: int, timeout: float = 5.0) -> int:
    """Wait until the broker's descriptor count is back to ``baseline`` (connections close
    asynchronously: no event tells us the broker has processed a hang-up); its final count."""
    wait_for(lambda: broker.fd_count() == baseline, timeout)
    return broker.fd_count()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """The module's broker, and this process connected to it."""
    server = BrokerProcess(tmp_path_factory.mktemp("faults") / "run")
    try:
        with runtime_dir(server.directory):
            assert broker_client.client().request(P.Ping()).broker_pid == server.pid
            yield server
            assert status()["deposits"] == [], "a test left a deposit behind"
    finally:
        assert server.stop() == 0
    assert not brokers_serving(server.directory)
    assert not server.internal_errors(), server.internal_errors()[0]


@pytest.fixture
def clean_broker(broker, ws):
    """The module broker, checked back to its descriptor baseline after the test."""
    baseline = broker.fd_count()
    yield broker
    after = settle(broker, baseline)
    assert after == baseline, f"broker descriptors {baseline} -> {after}: {broker.fds()}"
    assert status()["deposits"] == []


# ======================================================================================
# Raw protocol connections (what a hostile or broken client does)
# ======================================================================================
def raw_connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    sock.connect(path)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", 10, 0))
    return sock


def raw_send(sock: socket.socket, packet: bytes, fds=()) -> None:
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sock.sendmsg([packet], ancillary, socket.MSG_NOSIGNAL)


def raw_receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One packet and the descriptors that came with it; (b"", []) when the broker hung up."""
    try:
        data, ancillary, _, _ = sock.recvmsg(P.MAX_FRAME, socket.CMSG_SPACE(64 * 4), socket.MSG_CMSG_CLOEXEC)
    except ConnectionResetError:
        return b"", []
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            received = array.array("i")
            received.frombytes(payload[:len(payload) - len(payload) % received.itemsize])
            fds.extend(received)
    return data, fds


def raw_request(sock: socket.socket, message: P.Message) -> P.Message:
    raw_send(sock, P.encode(message), message.fds)
    data, fds = raw_receive(sock)
    assert data, "the broker hung up on a valid request"
    return P.decode(data, tuple(fds), expect=P.REPLIES)


def minimal(cls: type[P.Message]) -> P.Message:
    """A well-formed message of ``cls`` (its descriptors are placeholders)."""
    return cls(fds=(0, 0)[:P.fds_expected(cls)])


def raw_lease(sock: socket.socket) -> list[int]:
    """Lease a batch of tokens on this connection (what must precede its deposits)."""
    reply = raw_request(sock, P.Lease())
    assert isinstance(reply, P.Leased) and reply.tokens, reply
    return list(reply.tokens)


def raw_deposit(sock: socket.socket, fds: tuple[int, int], target_pid: int, leased: list[int]) -> int:
    """A one-way Deposit under one of the tokens this connection leased (``leased``: its unused
    ones, refilled by a Lease when empty); the token. No reply: whether it landed shows in a
    later request on the same connection, which the broker serves after it."""
    if not leased:
        leased.extend(raw_lease(sock))
    token = leased.pop()
    raw_send(sock, P.encode(P.Deposit(fds=fds, token=token, target_pid=target_pid)), fds)
    return token


def hung_up(sock: socket.socket) -> bool:
    """The broker dropped this connection (EOF or reset), nothing else arriving first."""
    data, fds = raw_receive(sock)
    for fd in fds:
        os.close(fd)
    return data == b"" and not fds


def only_holder_closed(read_end: int, timeout: float = 5.0) -> bool:
    """After closing our write end of a pipe: EOF on the read end proves that nobody (the
    broker included) kept a copy of the write end we sent around."""
    if not select.select([read_end], [], [], timeout)[0]:
        return False
    return os.read(read_end, 1) == b""


# ======================================================================================
# Peer: a spawned process that runs ws2 calls on command
# ======================================================================================
class _PeerCommands:
    def __init__(self) -> None:
        from wsemu import ws2 as api
        self.ws2 = api
        api.WSAStartup(0x0202)
        self.baseline = len(os.listdir("/proc/self/fd"))
        self.dropped: dict[int, tuple[int, int]] = {}     # grandchild pid -> (to it, from it)

    def ready(self):
        return os.getpid()

    def fds(self):
        return len(os.listdir("/proc/self/fd"))

    def ping(self):
        return broker_client.client().request(P.Ping()).broker_pid

    def cleanup_and_restart(self):
        """WSACleanup (the last one: drops what the inbox holds unclaimed), WSAStartup."""
        self.ws2.WSACleanup()
        self.ws2.WSAStartup(0x0202)

    def connect(self, addr):
        s = self.ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
        self.ws2.connect(s, tuple(addr))
        return s

    def duplicate(self, s, pid):
        return bytes(self.ws2.WSADuplicateSocketW(s, pid))

    def claim(self, info):
        return self.ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info, 0, 0)

    def claim_timed(self, info):
        start = time.monotonic()
        try:
            return ("claimed", self.claim(info), time.monotonic() - start)
        except WSAError as err:
            return ("refused", err.winerror, time.monotonic() - start)

    def send(self, s, data):
        return self.ws2.send(s, data)

    def recv(self, s, n):
        return self.ws2.recv(s, n)

    def closesocket(self, s):
        self.ws2.closesocket(s)

    def exit(self, code):
        os._exit(code)

    def claim_tokens(self, info, seed, count, extra):
        """Claim ``extra`` tokens, then ``count`` random ones; the outcomes, counted."""
        rng = random.Random(seed)
        template = W.WSAPROTOCOL_INFOW.from_bytes(info)
        outcomes: Counter = Counter()
        tokens = list(extra)
        for i in range(count):
            token = rng.getrandbits(31) or 1
            if i % 50 == 0:
                token |= 0x80000000                  # some in the inbox delivery space too
            elif i % 50 == 25:
                token |= 0xC0000000                  # and in the self-duplicate space
            tokens.append(token)
        start = time.monotonic()
        for token in tokens:
            template.dwProviderReserved = token
            try:
                s = self.claim(template)
            except WSAError as err:
                outcomes[err.winerror] += 1
            else:
                outcomes["claimed"] += 1
                self.ws2.closesocket(s)
        return dict(outcomes), len(tokens), time.monotonic() - start

    def raw_deposit_and_wait(self, path, target_pid, payload):
        """Lease and send a Deposit by hand (a socketpair end and a memfd): one-way, so this
        process never learns whether it landed. The other end carries ``payload`` for
        whoever claims it. Then wait to be killed. The token."""
        conn = raw_connect(path)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        memfd = os.memfd_create("state")
        token = raw_deposit(conn, (theirs.fileno(), memfd), target_pid, [])
        theirs.close()
        os.close(memfd)
        mine.sendall(payload)
        self._keep = (conn, mine)
        return token

    def raw_claim_and_wait(self, path, token):
        """Send a Claim by hand and never read the reply (it carries the descriptors)."""
        conn = raw_connect(path)
        raw_send(conn, P.encode(P.Claim(token=token)))
        self._keep = (conn,)
        return "sent"

    # -- a claimer under another uid (see test_claim_from_another_uid_is_refused) ------------
    def fork_claimer(self, uid):
        """Fork a grandchild that connects to the broker as root, waits for an info to claim,
        drops to ``uid`` inside the running interpreter, and claims. Returns its pid."""
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        pid = os.fork()
        if pid == 0:                                            # the grandchild
            code = 3
            try:
                os.close(to_w)
                os.close(from_r)
                broker_client.client().request(P.Ping())       # connect while still root
                info = b""
                while len(info) < W.WSAPROTOCOL_INFOW_SIZE:
                    chunk = os.read(to_r, W.WSAPROTOCOL_INFOW_SIZE - len(info))
                    if not chunk:
                        os._exit(4)
                    info += chunk
                # Import now what the claim path imports lazily (the UTF-16 codec, the shared
                # state module): the new uid could not read them under /root.
                W.WSAPROTOCOL_INFOW.from_bytes(info)
                importlib.import_module("wsemu.spi.sharedstate")
                if uid != os.getuid():
                    os.setgroups([])
                    os.setgid(uid)
                    os.setuid(uid)
                try:
                    s = self.claim(info)
                    result = {"uid": os.getuid(), "claimed": True}
                    self.ws2.closesocket(s)
                except WSAError as err:
                    result = {"uid": os.getuid(), "claimed": False, "error": err.winerror}
                os.write(from_w, json.dumps(result).encode())
                code = 0
            except BaseException as exc:  # noqa: BLE001 — reported to the test
                os.write(from_w, json.dumps({"exception": repr(exc)}).encode())
            finally:
                os._exit(code)
        os.close(to_r)
        os.close(from_w)
        self.dropped[pid] = (to_w, from_r)
        return pid

    def claimer_claim(self, pid, info):
        to_w, from_r = self.dropped.pop(pid)
        try:
            os.write(to_w, info)
            answer = b""
            while chunk := os.read(from_r, 4096):
                answer += chunk
        finally:
            os.close(to_w)
            os.close(from_r)
        _, status = os.waitpid(pid, 0)
        return json.loads(answer) if answer else {"exit": os.waitstatus_to_exitcode(status)}


def _peer_main(conn, inbox: bool = True) -> None:
    if not inbox:
        os.environ["WSEMU_INBOX"] = "0"     # before WSAStartup: duplicates to us go via the broker
    commands = _PeerCommands()
    conn.send(("ok", os.getpid()))
    while True:
        try:
            name, args = conn.recv()
        except EOFError:
            os._exit(0)
        try:
            conn.send(("ok", getattr(commands, name)(*args)))
        except WSAError as err:
            conn.send(("wsa", err.winerror))
        except BaseException as exc:  # noqa: BLE001 — reported to the test
            conn.send(("exc", f"{type(exc).__name__}: {exc}"))


class Peer:
    """A real process (spawned) that runs ws2 calls on command and answers over a pipe.
    With ``inbox=False`` it runs with WSEMU_INBOX=0: it opens no inbox, so every socket
    duplicated to it is deposited at (and claimed from) the broker."""

    def __init__(self, inbox: bool = True) -> None:
        self.conn, child = SPAWN.Pipe()
        self.proc = SPAWN.Process(target=_peer_main, args=(child, inbox), daemon=True)
        self.proc.start()
        child.close()
        self.pid = self.proc.pid
        assert self._answer() == self.pid

    def _answer(self):
        assert self.conn.poll(CALL_TIMEOUT), "the peer did not answer"
        kind, value = self.conn.recv()
        if kind == "wsa":
            raise WSAError(value)
        if kind == "exc":
            raise AssertionError(f"peer {self.pid}: {value}")
        return value

    def __getattr__(self, name):
        def call(*args):
            self.conn.send((name, args))
            return self._answer()
        return call

    def die(self, code: int = 0) -> None:
        """os._exit in the peer; returns once it is gone."""
        self.conn.send(("exit", (code,)))
        self.proc.join(CALL_TIMEOUT)
        assert self.proc.exitcode == code

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.proc.join(CALL_TIMEOUT)

    def close(self) -> None:
        if self.proc.is_alive():
            self.conn.close()                  # EOF: the peer exits
            self.proc.join(10)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        else:
            self.conn.close()
        self.proc.close()


@pytest.fixture
def peers():
    started: list[Peer] = []

    def start(n: int = 1, *, inbox: bool = True):
        new = [Peer(inbox) for _ in range(n)]
        started.extend(new)
        return new if n > 1 else new[0]

    yield start
    for peer in started:
        peer.close()


def tcp_listener() -> tuple[socket.socket, tuple]:
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(16)
    return lst, lst.getsockname()


def ws2_pair() -> tuple[int, socket.socket]:
    """A ws2 TCP socket connected to a plain Python socket (the far end, for checking)."""
    lst, addr = tcp_listener()
    with lst:
        s = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
        ws2.connect(s, addr)
        far, _ = lst.accept()
    far.settimeout(10)
    return s, far


def deposit_gone(token: int) -> bool:
    return all(d["token"] != token for d in status()["deposits"])


def listed(token: int) -> bool:
    """The broker lists this hand-off: a deposit it holds (this process's own Deposits are
    served before this Status, which travels on the same connection) or a delivery into an
    inbox it has heard of (a notice: poll)."""
    return not deposit_gone(token)


def info_token(info: bytes) -> int:
    return W.WSAPROTOCOL_INFOW.from_bytes(info).dwProviderReserved


def went(info: bytes) -> str:
    """Which way a duplicated socket went, by its token: "inbox" (high bit set) or "broker"."""
    return "inbox" if info_token(info) & 0x80000000 else "broker"


# ======================================================================================
# Hostile input
# ======================================================================================
PID_MAX = int(open("/proc/sys/kernel/pid_max").read())
NO_SUCH_PID = PID_MAX + 1                                  # a pid no process can have
REQUEST_TYPES = [cls for cls in P._TYPES.values() if cls in P.REQUESTS]
REPLY_TYPES = [cls for cls in P._TYPES.values() if cls in P.REPLIES]


class HostileFrames:
    """A seeded generator of frames: (packet, descriptors to send with it).

    Deposits need a token leased on the same connection: ``leased`` is what the current
    connection leased and has not used yet (kept by the test loop, which sees the Leased
    replies and the drops)."""

    def __init__(self, seed: int, pipe_w: int, sock_end: int, memfd: int) -> None:
        self.rng = random.Random(seed)
        self.pipe_w, self.sock_end, self.memfd = pipe_w, sock_end, memfd
        self.leased: list[int] = []
        self.kinds = [
            (12, self.random_bytes), (12, self.header_and_junk), (12, self.corrupt_header),
            (14, self.wrong_fd_count), (8, self.wrong_side), (6, self.oversized),
            (20, self.valid_request), (8, self.register_non_arena),
            (8, self.bad_deposit), (3, self.unleased_deposit), (3, self.good_deposit),
        ]
        self.weights = [w for w, _ in self.kinds]

    def __call__(self) -> tuple[str, bytes, tuple[int, ...]]:
        _, kind = self.rng.choices(self.kinds, self.weights)[0]
        packet, fds = kind()
        return kind.__name__, packet, fds

    def real_fds(self, n: int) -> tuple[int, ...]:
        return (self.pipe_w,) * n

    def random_bytes(self):
        n = self.rng.randint(0, 300)
        return self.rng.randbytes(n), self.real_fds(self.rng.choice([0, 0, 0, 1, 2, 3]))

    def header_and_junk(self):
        type_ = self.rng.choice([*range(0, 16), 255, self.rng.randint(0, 255)])
        payload = self.rng.randbytes(self.rng.randint(0, 40))
        return P.HEADER.pack(P.MAGIC, P.VERSION, type_, P.HEADER.size + len(payload)) + payload, ()

    def corrupt_header(self):
        packet = bytearray(self.valid_request()[0])
        how = self.rng.randrange(5)
        if how == 0:
            packet[0:2] = self.rng.randbytes(2)
        elif how == 1:
            packet[2] = self.rng.choice([0, 1, 3, 255])
        elif how == 2:
            struct.pack_into("<I", packet, 4, self.rng.getrandbits(32))
        elif how == 3:
            del packet[self.rng.randrange(len(packet)):]
        else:
            packet += self.rng.randbytes(self.rng.randint(1, 16))
        return bytes(packet), ()

    def wrong_fd_count(self):
        cls = self.rng.choice(REQUEST_TYPES)
        wanted = P.fds_expected(cls)
        count = self.rng.choice([n for n in (0, 1, 2, 3, 4, 6) if n != wanted])
        message = minimal(cls)
        if cls is P.Deposit and self.leased:
            message = P.Deposit(fds=message.fds, token=self.rng.choice(self.leased), target_pid=os.getpid())
        return P.encode(message), self.real_fds(count)

    def wrong_side(self):
        """Replies, and the Delivery that only an inbox takes (with a real socket and page)."""
        cls = self.rng.choice([*REPLY_TYPES, P.Delivery])
        if cls is P.StatusReport:
            return P.encode(cls(report={"deposits": [], "x": self.rng.random()})), ()
        if cls is P.Delivery:
            fds = (self.sock_end, self.memfd)
            return P.encode(P.Delivery(fds=fds, token=self.rng.getrandbits(32))), fds
        if cls is P.Leased:
            return P.encode(P.Leased(tokens=(self.rng.getrandbits(31) or 1,))), ()
        return P.encode(cls(fds=(0, 0)[:P.fds_expected(cls)])), self.real_fds(P.fds_expected(cls))

    def oversized(self):
        n = self.rng.choice([P.MAX_REQUEST + 1, self.rng.randint(P.MAX_REQUEST + 1, 4096),
                             self.rng.randint(4096, 70000)])
        if self.rng.random() < 0.5:
            # a plausible header that announces the whole (oversized) packet
            type_ = self.rng.choice([P.Claim.TYPE, P.Register.TYPE])
            return (P.HEADER.pack(P.MAGIC, P.VERSION, type_, n) + self.rng.randbytes(n - 8),
                    self.real_fds(self.rng.choice([0, 1, 2])))
        return self.rng.randbytes(n), ()

    def valid_request(self):
        cls = self.rng.choice([P.Ping, P.Status, P.Claim, P.Claim, P.Lease])
        if cls is P.Claim:
            return P.encode(P.Claim(token=self.rng.getrandbits(32))), ()
        return P.encode(cls()), ()

    def register_non_arena(self):
        """A Register whose descriptor is no arena (a pipe, a socket, a memfd of the wrong
        size): silently closed, nothing mapped."""
        fd = self.rng.choice([self.pipe_w, self.sock_end, self.memfd])
        return P.encode(P.Register(fds=(fd,))), (fd,)

    def bad_deposit(self):
        """The right number of descriptors, but of the wrong kinds or for a bad target: under
        a leased token, silently refused (the token is never claimable); without one, the
        connection is dropped."""
        target = self.rng.choice([0, 0xFFFFFFFF, 0x40000000, 1 << 31, NO_SUCH_PID, os.getpid()])
        fds = self.rng.choice([(self.pipe_w, self.pipe_w), (self.sock_end, self.pipe_w),
                               (self.memfd, self.memfd), (self.sock_end, self.memfd)])
        if fds == (self.sock_end, self.memfd) and target == os.getpid():
            fds = (self.memfd, self.sock_end)                 # swapped: still wrong kinds
        token = self.rng.choice(self.leased) if self.leased else self.rng.getrandbits(32)
        return P.encode(P.Deposit(fds=fds, token=token, target_pid=target)), fds

    def unleased_deposit(self):
        """A valid deposit under a token this connection did not lease: dropped, and the
        broker keeps neither descriptor."""
        fds = (self.sock_end, self.memfd)
        token = self.rng.getrandbits(32)
        while token in self.leased:
            token = self.rng.getrandbits(32)
        return P.encode(P.Deposit(fds=fds, token=token, target_pid=os.getpid())), fds

    def good_deposit(self):
        """A valid deposit for this very process (claimed back at the end); a Lease first
        when this connection has no token left."""
        if not self.leased:
            return P.encode(P.Lease()), ()
        fds = (self.sock_end, self.memfd)
        return P.encode(P.Deposit(fds=fds, token=self.rng.choice(self.leased), target_pid=os.getpid())), fds


def inbox_token(rng: random.Random) -> int:
    """A token as an inbox delivery has one (high bit set, not a self-duplicate)."""
    return 0x80000000 | rng.getrandbits(30)


def expected_outcome(packet: bytes, nfds: int, leased) -> tuple[str, P.Message | None]:
    """What the broker must do with this packet — "drop" the sender, "reply", or stay
    "silent" (a one-way Deposit or Register) — and the message it is."""
    if not packet or len(packet) > P.MAX_REQUEST or nfds > P.MAX_FDS:
        return "drop", None
    try:
        message = P.decode(packet, tuple(range(nfds)), expect=P.REQUESTS)
    except P.ProtocolError:
        return "drop", None
    if isinstance(message, P.Deposit):
        return ("silent" if message.token in leased else "drop"), message
    return ("silent" if isinstance(message, P.Register) else "reply"), message


def test_hostile_frames_never_take_the_broker_down(clean_broker):
    """100,000 seeded random frames from raw connections; a violator (a malformed frame, a
    Deposit under a token its connection did not lease, a Delivery meant for an inbox) is
    dropped (and reconnects), a valid request answered, a valid one-way message acted on
    silently; the broker survives, keeps no descriptor it was sent, books what it was told,
    and is back to its descriptor baseline."""
    broker = clean_broker
    baseline = broker.fd_count()
    pipe_r, pipe_w = os.pipe2(os.O_CLOEXEC)
    sock_end, sock_far = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    memfd = os.memfd_create("hostile-state", os.MFD_CLOEXEC)
    frames = HostileFrames(20260101, pipe_w, sock_end.fileno(), memfd)
    stats: Counter = Counter()
    tokens: list[int] = []              # real deposits among the noise
    refused: list[int] = []             # leased tokens spent on deposits the broker refused
    peak = baseline
    conn = raw_connect(broker.socket_path)
    start = time.monotonic()
    total = 100_000
    try:
        for i in range(total):
            kind, packet, fds = frames()
            outcome, message = expected_outcome(packet, len(fds), frames.leased)
            stats[kind] += 1
            stats[outcome] += 1
            raw_send(conn, packet, fds)
            if outcome == "drop":
                assert hung_up(conn), f"frame {i} ({kind}) should have been refused: {packet[:32]!r}"
                conn.close()
                conn = raw_connect(broker.socket_path)
                frames.leased.clear()                         # its leases died with it
                continue
            if outcome == "silent":
                if isinstance(message, P.Deposit):
                    frames.leased.remove(message.token)
                    (tokens if kind == "good_deposit" else refused).append(message.token)
                raw_send(conn, P.encode(P.Ping()))          # synchronise: the Pong follows
            data, got = raw_receive(conn)
            assert data, f"frame {i} ({kind}) dropped a well-behaved client: {packet[:32]!r}"
            reply = P.decode(data, tuple(got), expect=P.REPLIES)
            assert not got
            if outcome == "silent":
                assert isinstance(reply, P.Pong), reply
            elif isinstance(message, P.Lease):
                assert isinstance(reply, (P.Leased, P.Error)), reply
                if isinstance(reply, P.Leased):
                    assert reply.tokens and not set(reply.tokens) & set(frames.leased)
                    frames.leased.extend(reply.tokens)
                else:
                    assert reply.code == W.WSAENOBUFS
                    stats[f"lease error {reply.code}"] += 1
            else:
                assert isinstance(reply, (P.Pong, P.StatusReport, P.Error)), reply
                if isinstance(reply, P.Error):
                    assert reply.code == W.WSAEINVAL
                    stats[f"error {reply.code}"] += 1
            if i % 5000 == 0:
                peak = max(peak, broker.fd_count())
        elapsed = time.monotonic() - start
        # Still serving; the deposits among the noise are intact and ours to claim, the
        # refused ones never claimable.
        assert raw_request(conn, P.Ping()).broker_pid == broker.pid
        report = raw_request(conn, P.Status()).report
        assert report["deposit_count"] == len(tokens) and report["arena_count"] == 0, report
        for token in tokens:
            claimed = raw_request(conn, P.Claim(token=token))
            assert isinstance(claimed, P.Claimed) and len(claimed.fds) == 2
            assert os.fstat(claimed.fds[0]).st_ino == os.fstat(sock_end.fileno()).st_ino
            for fd in claimed.fds:
                os.close(fd)
        for token in refused:
            assert raw_request(conn, P.Claim(token=token)) == P.Error(code=W.WSAEINVAL)
        report = raw_request(conn, P.Status()).report
        assert report["deposit_count"] == 0 and report["deposits"] == [], report
    finally:
        conn.close()
        sock_end.close()
        os.close(memfd)
        os.close(pipe_w)
    try:
        assert only_holder_closed(pipe_r), "a descriptor sent to the broker was kept"
    finally:
        os.close(pipe_r)
    sock_far.settimeout(5)
    try:
        assert sock_far.recv(1) == b"", "a deposited socket was kept"
    finally:
        sock_far.close()
    after = settle(broker, baseline)
    print(f"\nhostile: {total} frames in {elapsed:.1f} s ({dict(stats)}); {len(tokens)} real deposits "
          f"claimed back, {len(refused)} refused ones unclaimable; broker fds {baseline} -> peak {peak} -> {after}")
    assert stats["drop"] > 30_000 and stats["reply"] > 20_000 and stats["silent"] > 5_000
    assert len(tokens) > 100 and len(refused) > 300 and stats["register_non_arena"] > 3_000
    assert after == baseline
    assert broker.alive()


def test_an_arena_whose_ledger_names_impossible_pids(tmp_path):
    """A ledger is whatever its processes wrote, so any pid may be in it — 0, negative, one
    beyond pid_max, the largest an int32 holds. A positive one names no live process, so its
    entries are given back (one hold each) at the next sweep; one <= 0 names no process at
    all (a holder entry of 0 is a free one), so nothing is given back for it — above all not
    the free entries. The broker serves on. (Its own broker: a broker this kills must not
    take the module's tests with it.)"""
    impossible = [0, -1, -0x80000000, NO_SUCH_PID, 0x3FFFFFFF, 0x7FFFFFFF]
    memfd = os.memfd_create("hostile-arena", os.MFD_CLOEXEC)
    os.ftruncate(memfd, lib.WSEMU_SLOT_SIZE * lib.WSEMU_ARENA_SLOTS)
    base = lib.wsemu_arena_map(memfd, ffi.new("uint64_t *"))
    server = BrokerProcess(tmp_path / "run")
    try:
        index = lib.wsemu_slot_alloc(base, 7, os.getpid())
        state = lib.wsemu_arena_slot(base, index)
        state.inode = 0xFFFFFFFFFFFFFFFF
        listed = 0
        for i, pid in enumerate(impossible):
            state.holder_pids[i + 1] = pid
            delivery = state.deliveries[i]
            delivery.token, delivery.target_pid, delivery.source_pid = 0x80000000 | i + 2, pid, pid
            delivery.sent_ns = random.Random(i).getrandbits(63) * (-1) ** i
            listed += (pid > 0) + 1                # (a holder entry <= 0 is a free one)
        lib.wsemu_slot_hold(state, listed)
        with raw_connect(server.socket_path) as conn:
            raw_send(conn, P.encode(P.Register(fds=(memfd,))), (memfd,))
            report = raw_request(conn, P.Status()).report       # (a status sweeps first)
            assert report["arena_count"] == 1 and report["shared_count"] == 0, report
            # Left: this process's own hold (a live pid) and the deliveries to pids <= 0.
            garbage = [i for i, pid in enumerate(impossible) if pid <= 0]
            assert state.holders == 1 + len(garbage), state.holders
            assert [pid for pid in state.holder_pids if pid > 0] == [os.getpid()]
            assert [d.token for d in state.deliveries if d.token] == [0x80000000 | i + 2 for i in garbage]
            assert raw_request(conn, P.Ping()).broker_pid == server.pid
    finally:
        code = server.stop()
        lib.wsemu_arena_unmap(base)
        os.close(memfd)
    assert not server.internal_errors(), server.internal_errors()[0]
    assert code == 0


def test_status_with_many_outstanding_deposits(clean_broker):
    """Status while 1,500 deposits are outstanding (their full list would exceed MAX_FRAME):
    the broker answers with a report that fits — counts exact, list cut — and survives."""
    broker = clean_broker
    baseline = broker.fd_count()
    sock_end, sock_far = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    memfd = os.memfd_create("state", os.MFD_CLOEXEC)
    tokens = []
    try:
        with raw_connect(broker.socket_path) as conn:
            leased: list[int] = []
            for _ in range(1500):
                tokens.append(raw_deposit(conn, (sock_end.fileno(), memfd), os.getpid(), leased))
            report = raw_request(conn, P.Status())            # served after every deposit
            assert isinstance(report, P.StatusReport)
            assert report.report["deposit_count"] == 1500
            assert report.report["leased_count"] == len(leased)
            listed = report.report["deposits"]
            assert 0 < len(listed) < 1500 and report.report["truncated"]
            assert {d["token"] for d in listed} <= set(tokens)
            assert raw_request(conn, P.Ping()).broker_pid == broker.pid
            cli = subprocess.run([sys.executable, "-m", "wsemu.cli", "broker", "status"], capture_output=True,
                                 text=True, timeout=30, check=True).stdout
            assert re.search(r"^outstanding deposits: 1500 \(first \d+ listed\)$", cli, re.M), cli[:300]
            for token in tokens:
                claimed = raw_request(conn, P.Claim(token=token))
                for fd in claimed.fds:
                    os.close(fd)
            report = raw_request(conn, P.Status()).report
            assert report["deposits"] == [] and report["deposit_count"] == 0 and not report["truncated"]
    finally:
        sock_end.close()
        sock_far.close()
        os.close(memfd)
    assert settle(broker, baseline) == baseline


def test_a_deposit_under_a_token_it_did_not_lease_drops_the_connection(clean_broker):
    """A Deposit must carry a token its own connection leased and has not used yet. Under a
    made-up token, under another connection's lease, or under a token already spent, the
    sender is dropped and the broker keeps neither descriptor (EOF at the socket's far end);
    the lease another connection tried to use still serves its owner, and what the dropped
    connection deposited before outlives it while its unused leases do not."""
    broker = clean_broker
    baseline = broker.fd_count()
    memfd = os.memfd_create("state", os.MFD_CLOEXEC)

    def deposit_refused(conn: socket.socket, token: int) -> bool:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with mine, theirs:
            fds = (theirs.fileno(), memfd)
            raw_send(conn, P.encode(P.Deposit(fds=fds, token=token, target_pid=os.getpid())), fds)
            theirs.close()
            dropped = hung_up(conn)
            mine.settimeout(5)
            return dropped and mine.recv(1) == b""

    sock_end, sock_far = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        leases_before = status()["leased_count"]
        owner = raw_connect(broker.socket_path)
        with owner:
            leased = raw_lease(owner)
            assert status()["leased_count"] == leases_before + len(leased)
            spent = raw_deposit(owner, (sock_end.fileno(), memfd), os.getpid(), leased)
            stolen = leased[-1]
            made_up = next(t for t in range(1, 2**31) if t not in leased and t != spent)
            for token in (0, made_up, 0xFFFFFFFF, stolen):
                with raw_connect(broker.socket_path) as thief:
                    assert deposit_refused(thief, token), token
            assert raw_deposit(owner, (sock_end.fileno(), memfd), os.getpid(), leased) == stolen
            assert raw_request(owner, P.Ping()).broker_pid == broker.pid   # still served
            assert deposit_refused(owner, spent)                          # a token used twice
        assert wait_for(lambda: status()["leased_count"] == leases_before)
        with raw_connect(broker.socket_path) as conn:
            for token in (spent, stolen):
                claimed = raw_request(conn, P.Claim(token=token))
                assert isinstance(claimed, P.Claimed), (token, claimed)
                assert os.fstat(claimed.fds[0]).st_ino == os.fstat(sock_end.fileno()).st_ino
                for fd in claimed.fds:
                    os.close(fd)
    finally:
        sock_end.close()
        os.close(memfd)
    sock_far.settimeout(5)
    with sock_far:
        assert sock_far.recv(1) == b""
    assert settle(broker, baseline) == baseline


# ======================================================================================
# Descriptor floods
# ======================================================================================
@pytest.mark.parametrize("count", [1, 2, 3, 16, 64, 128, 252, 253])
def test_descriptor_floods_keep_nothing(clean_broker, count):
    """Messages carrying up to SCM_MAX_FD (253) descriptors, on every request type, on a
    Delivery (which only an inbox takes) and on junk: the kernel drops what exceeds the
    broker's ancillary buffer, the broker closes what it got and drops the sender; no copy
    survives (EOF on the pipe we sent). The one message that takes two — a Deposit, under a
    token its connection leased — is refused silently with two pipes (not a socket): its
    token is never claimable and the connection serves on; so is the one that takes one — a
    Register — with a pipe (not an arena)."""
    broker = clean_broker
    baseline = broker.fd_count()
    pipe_r, pipe_w = os.pipe2(os.O_CLOEXEC)
    try:
        messages = [minimal(cls) for cls in (*REQUEST_TYPES, P.Delivery)]
        for message in [*messages, b"junk" * 10, b""]:
            conn = raw_connect(broker.socket_path)
            with conn:
                token = None
                if isinstance(message, P.Deposit):
                    token = raw_lease(conn)[0]                # the count alone is what is wrong
                    message = P.Deposit(fds=message.fds, token=token, target_pid=os.getpid())
                packet = message if isinstance(message, bytes) else P.encode(message)
                raw_send(conn, packet, (pipe_w,) * count)
                if count == 2 and token is not None:
                    # (the claim is served after the deposit: one connection, in order)
                    assert raw_request(conn, P.Claim(token=token)) == P.Error(code=W.WSAEINVAL)
                    assert raw_request(conn, P.Ping()).broker_pid == broker.pid
                elif count == 1 and isinstance(message, P.Register):
                    assert raw_request(conn, P.Ping()).broker_pid == broker.pid
                else:
                    assert hung_up(conn), (type(message).__name__, count)
        with raw_connect(broker.socket_path) as conn:
            assert raw_request(conn, P.Ping()).broker_pid == broker.pid
    finally:
        os.close(pipe_w)
    try:
        assert only_holder_closed(pipe_r)
    finally:
        os.close(pipe_r)
    assert settle(broker, baseline) == baseline


def test_more_than_scm_max_fd_is_refused_by_the_kernel(clean_broker):
    pipe_r, pipe_w = os.pipe2(os.O_CLOEXEC)
    with raw_connect(clean_broker.socket_path) as conn:
        with pytest.raises(OSError) as err:
            raw_send(conn, P.encode(P.Ping()), (pipe_w,) * 254)
        assert err.value.errno == errno.EINVAL
        raw_send(conn, P.encode(P.Ping()), (pipe_w,) * 253)    # the most it takes: dropped
        assert hung_up(conn)
    os.close(pipe_w)
    assert only_holder_closed(pipe_r)
    os.close(pipe_r)


def test_descriptors_on_a_type_that_takes_none(clean_broker):
    """Ping, Status, Claim, Lease with one descriptor each: dropped, the descriptor closed."""
    broker = clean_broker
    baseline = broker.fd_count()
    for message in (P.Ping(), P.Status(), P.Claim(token=5), P.Lease()):
        pipe_r, pipe_w = os.pipe2(os.O_CLOEXEC)
        with raw_connect(broker.socket_path) as conn:
            raw_send(conn, P.encode(message), (pipe_w,))
            os.close(pipe_w)
            assert hung_up(conn)
        assert only_holder_closed(pipe_r), type(message).__name__
        os.close(pipe_r)
    assert settle(broker, baseline) == baseline


# ======================================================================================
# Clients that die or stall
# ======================================================================================
def test_client_killed_after_sending_a_deposit(clean_broker, peers):
    """A client SIGKILLed right after sending a (one-way) Deposit, with leases it never used:
    the broker survives, the deposit lives on for its target (the source may exit, as on
    Windows), the unused leases go with the connection, and the target claims the real
    socket."""
    broker = clean_broker
    source = peers()
    leases_before = status()["leased_count"]
    token = source.raw_deposit_and_wait(broker.socket_path, os.getpid(), b"from a dead source")
    source.kill()

    def from_source() -> list[dict]:
        return [d for d in status()["deposits"] if d["source_pid"] == source.pid]

    # The broker may read the dead client's last packet after our Status: poll for it.
    assert wait_for(lambda: len(from_source()) == 1)
    deposits = from_source()
    assert deposits[0]["target_pid"] == os.getpid() and deposits[0]["token"] == token
    assert wait_for(lambda: status()["leased_count"] == leases_before)
    with raw_connect(broker.socket_path) as conn:
        claimed = raw_request(conn, P.Claim(token=deposits[0]["token"]))
    sock = socket.socket(fileno=claimed.fds[0])
    os.close(claimed.fds[1])
    with sock:
        sock.settimeout(5)
        assert sock.recv(100) == b"from a dead source"
        assert sock.recv(100) == b""                      # its peer died with the source


def test_target_killed_with_a_claim_reply_in_flight(clean_broker, peers):
    """The target sends a Claim and is SIGKILLed before reading the reply that carries the
    descriptors: the kernel frees them with its socket; nobody keeps the socket. Until then
    the broker lists the socket as in flight to the target (in its slot's ledger), and the
    target's exit gives back the slot hold the reply carried (the broker's descriptors come
    back to their baseline: it lets go of the arena when no slot of it is in use)."""
    broker = clean_broker
    target = peers(inbox=False)
    s, far = ws2_pair()
    info = bytes(ws2.WSADuplicateSocketW(s, target.pid))
    ws2.closesocket(s)
    token = info_token(info)

    def held_by() -> list[str]:
        return [d["held_by"] for d in status()["deposits"] if d["token"] == token]

    with far:
        assert target.raw_claim_and_wait(broker.socket_path, token) == "sent"
        assert wait_for(lambda: held_by() == ["claim in flight"])
        target.kill()
        assert far.recv(1) == b""                         # the last copy went with the target
        assert wait_for(lambda: held_by() == [], timeout=1.0)


def test_client_that_never_reads_is_dropped_without_blocking_others(clean_broker):
    """A client that keeps sending Status requests and never reads its replies fills its
    socket buffer; the broker drops it instead of waiting, and serves another client all the
    while (its Ping round trips are timed)."""
    broker = clean_broker
    baseline = broker.fd_count()
    hog = raw_connect(broker.socket_path)
    hog.setblocking(False)
    good = raw_connect(broker.socket_path)
    latencies = []
    sent = 0
    start = time.monotonic()
    try:
        while True:
            try:
                raw_send(hog, P.encode(P.Status()))
                sent += 1
            except BlockingIOError:
                select.select([], [hog], [], 0.05)
            except (BrokenPipeError, ConnectionResetError):
                break
            if sent % 20 == 0:
                t = time.monotonic()
                assert raw_request(good, P.Ping()).broker_pid == broker.pid
                latencies.append(time.monotonic() - t)
            assert time.monotonic() - start < 30, "the hog was never dropped"
        dropped_after = time.monotonic() - start
        assert raw_request(good, P.Ping()).broker_pid == broker.pid
    finally:
        hog.close()
        good.close()
    print(f"\nnon-reader: dropped after {sent} requests / {dropped_after * 1000:.0f} ms; "
          f"{len(latencies)} pings meanwhile, max {max(latencies) * 1000:.1f} ms")
    assert latencies and max(latencies) < 0.5
    assert settle(broker, baseline) == baseline


# ======================================================================================
# Hand-offs between real processes
# ======================================================================================
BOTH_PATHS = pytest.mark.parametrize("inbox", [False, True], ids=["via-broker", "via-inbox"])


@BOTH_PATHS
def test_source_exits_right_after_duplicating(clean_broker, peers, inbox):
    """The source duplicates for the target and os._exit()s at once — its one-way Deposit
    (or its delivery into the target's inbox) already sent, whatever it had yet to tell the
    broker lost; the target claims afterwards and talks on the socket."""
    source, target = peers(2, inbox=inbox)
    lst, addr = tcp_listener()
    with lst:
        s = source.connect(addr)
        far, _ = lst.accept()
    with far:
        far.settimeout(10)
        info = source.duplicate(s, target.pid)
        assert went(info) == ("inbox" if inbox else "broker")
        source.die(0)
        t = target.claim(info)
        assert target.send(t, b"hello from the target") == 21
        assert far.recv(100) == b"hello from the target"
        far.sendall(b"hello back")
        assert target.recv(t, 100) == b"hello back"
        with pytest.raises(WSAError) as err:                  # single use
            target.claim(info)
        assert err.value.winerror == W.WSAEINVAL
        target.closesocket(t)
        assert far.recv(1) == b""


def test_target_exits_without_claiming_frees_the_deposit(clean_broker, peers):
    """The deposit of a target that exits unclaimed disappears from the broker's status
    within 1 s (pidfd), and its descriptors with it."""
    broker = clean_broker
    baseline = broker.fd_count()
    target = peers(inbox=False)
    s, far = ws2_pair()
    with far:
        info = bytes(ws2.WSADuplicateSocketW(s, target.pid))
        token = info_token(info)
        assert went(info) == "broker"
        ws2.closesocket(s)
        assert not deposit_gone(token)                        # (served after our Deposit)
        assert broker.fd_count() > baseline
        target.die(0)
        gone_at = time.monotonic()
        assert wait_for(lambda: deposit_gone(token), timeout=1.0, interval=0.001), "deposit not freed within 1 s"
        freed_in = time.monotonic() - gone_at
        assert far.recv(1) == b""                             # the broker's copy is closed
    print(f"\ndead target's deposit freed in {freed_in * 1000:.1f} ms")


def test_cli_status_shows_deposits(clean_broker, peers):
    """`wsemu broker status` lists an outstanding deposit and no longer after its target exits."""
    broker = clean_broker
    target = peers(inbox=False)
    s, far = ws2_pair()
    with far:
        info = bytes(ws2.WSADuplicateSocketW(s, target.pid))
        ws2.closesocket(s)
        token = info_token(info)

        def cli_status() -> str:
            return subprocess.run([sys.executable, "-m", "wsemu.cli", "broker", "status"], capture_output=True,
                                  text=True, timeout=30, check=True).stdout

        assert listed(token)          # landed: the CLI's Status comes on another connection
        text = cli_status()
        assert f"wsemu broker pid {broker.pid}" in text
        assert f"token {token:#010x}" in text and f"for pid {target.pid}" in text
        target.die(0)
        assert wait_for(lambda: deposit_gone(token), timeout=1.0, interval=0.001)
        assert "outstanding deposits: 0" in cli_status()


@BOTH_PATHS
def test_shared_socket_holders_follow_processes_not_connections(clean_broker, peers, inbox):
    """The broker's list of processes sharing a socket changes when a process closes its
    copy or exits — not when one of its connections closes (a process may reconnect, or
    have spoken on another connection), nor when a holder's connection is dropped. The same
    whether the socket went through the broker or straight into the target's inbox: the
    broker reads it all from the socket's ledger, so every status is current."""
    broker = clean_broker
    me = os.getpid()

    def holders() -> list[int]:
        return next((e["holders"] for e in status()["shared"] if e["inode"] == inode), [])

    def hand_to(s: int, peer: Peer) -> bytes:
        info = bytes(ws2.WSADuplicateSocketW(s, peer.pid))
        assert went(info) == ("inbox" if inbox else "broker")
        assert listed(info_token(info))
        return info

    target = peers(inbox=inbox)
    s, far = ws2_pair()
    inode = os.fstat(s).st_ino
    with far:
        t = target.claim(hand_to(s, target))
        assert holders() == sorted([me, target.pid])
        clients = status()["clients"]
        with raw_connect(broker.socket_path) as conn:     # another connection of this process
            assert raw_request(conn, P.Ping()).broker_pid == broker.pid
        broker_client.client().close()                    # and our own: we reconnect next call
        # Both hang-ups served (the count is back, counting our new connection) and still
        # both processes hold it.
        assert wait_for(lambda: status()["clients"] == clients), "the hang-ups were never served"
        assert holders() == sorted([me, target.pid])
        target.closesocket(t)                             # the target closes its copy
        assert holders() == []
        ws2.closesocket(s)
        # A holder that exits without closing is forgotten too (its pidfd, not its connection).
        s, far2 = ws2_pair()
        inode = os.fstat(s).st_ino
        with far2:
            other = peers(inbox=inbox)
            other.closesocket(other.claim(hand_to(s, other)))
            again = peers(inbox=inbox)
            again.claim(hand_to(s, again))
            assert holders() == sorted([me, again.pid])
            again.kill()
            assert wait_for(lambda: holders() == [], timeout=1.0)
            ws2.closesocket(s)


def _process_state(pid: int) -> str:
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]


def _pidfd_of(broker_pid: int, pid: int) -> int | None:
    """The broker's pidfd watching ``pid`` (from /proc/<broker>/fdinfo)."""
    for fd, link in _proc_fds(broker_pid).items():
        if link == "anon_inode:[pidfd]":
            try:
                info = open(f"/proc/{broker_pid}/fdinfo/{fd}").read()
            except OSError:
                continue
            if f"\nPid:\t{pid}\n" in info:
                return fd
    return None


def test_a_stale_event_never_touches_a_reused_descriptor(tmp_path, ws, peers):
    """One epoll batch: a Status (whose sweep finds that a holder has let go of its last
    shared socket, so the broker stops watching it and closes its pidfd), then another
    client's Deposit (whose socket gets that very fd number), then the holder's exit (the
    stale pidfd event). The stale event must not act on the deposited socket — reading from
    it would eat its data and, on a blocking socket, hang the broker. The broker is
    SIGSTOPped while the three are queued, so they land in one batch in that order (epoll
    reports in order of readiness); a fresh broker keeps the fd numbers known. The holder
    is watched because a sweep found it in the socket's ledger; it lets go (its ledger entry
    cleared) before the broker stops, and the Deposit's token is leased beforehand (a Lease
    carries no descriptor)."""
    server = BrokerProcess(tmp_path / "run")
    closing = contextlib.ExitStack()
    try:
        with runtime_dir(server.directory), closing:
            assert broker_client.client().request(P.Ping()).broker_pid == server.pid
            conn = closing.enter_context(raw_connect(server.socket_path))
            leased = raw_lease(conn)
            holder = peers(inbox=False)
            assert holder.ping() == server.pid
            s, far = ws2_pair()
            closing.enter_context(far)
            held = holder.claim(bytes(ws2.WSADuplicateSocketW(s, holder.pid)))
            # Fill the numbers the claim freed (a deposit for us: it is watched as well).
            filler, filler_far = socket.socketpair()
            closing.enter_context(filler)
            closing.enter_context(filler_far)
            memfd = os.memfd_create("state", os.MFD_CLOEXEC)
            closing.callback(os.close, memfd)
            filler_token = raw_deposit(conn, (filler.fileno(), memfd), os.getpid(), leased)
            raw_request(conn, P.Status())      # (it landed; and a sweep: the holder is watched)
            pidfd = _pidfd_of(server.pid, holder.pid)
            used = set(server.fds()) - {pidfd}
            assert pidfd is not None and pidfd == min(set(range(max(used) + 2)) - used), \
                f"precondition: the holder's pidfd {pidfd} must be the lowest number to free: {server.fds()}"
            lst, addr = tcp_listener()
            closing.enter_context(lst)
            victim = closing.enter_context(socket.create_connection(addr))            # blocking
            victim_far, _ = lst.accept()
            closing.enter_context(victim_far)
            victim_far.sendall(b"canary")
            holder.closesocket(held)               # its ledger entry goes: nobody tells the broker
            sweeper = closing.enter_context(raw_connect(server.socket_path))

            # (Level-triggered epoll keeps the fd it served last at the head of its ready list
            # until it polls again: serve another connection last, so that the three events
            # below are reported in the order they happen.)
            assert broker_client.client().request(P.Ping()).broker_pid == server.pid
            os.kill(server.pid, signal.SIGSTOP)
            try:
                assert wait_for(lambda: _process_state(server.pid) == "T"), "the broker did not stop"
                raw_send(sweeper, P.encode(P.Status()))  # 1: a sweep — the holder holds nothing now
                victim_token = raw_deposit(conn, (victim.fileno(), memfd), os.getpid(),
                                           leased)         # 2: a deposit: fds land on the freed number
                holder.die(0)                             # 3: the pidfd turns readable
            finally:
                os.kill(server.pid, signal.SIGCONT)
            # (times out if the broker hung)
            assert raw_request(conn, P.Ping()).broker_pid == server.pid
            assert isinstance(P.decode(*raw_receive(sweeper)), P.StatusReport)
            victim_fds = [fd for fd, link in server.fds().items()
                          if link == f"socket:[{os.fstat(victim.fileno()).st_ino}]"]
            assert victim_fds == [pidfd], f"the scenario did not happen: the victim is at {victim_fds}, not {pidfd}"
            for token in (filler_token, victim_token):
                claimed = raw_request(conn, P.Claim(token=token))
                sock = socket.socket(fileno=claimed.fds[0])
                os.close(claimed.fds[1])
                if token == victim_token:
                    sock.settimeout(5)
                    assert sock.recv(100) == b"canary", "the broker read from a deposited socket"
                sock.close()
            ws2.closesocket(s)
    finally:
        assert server.stop() == 0
    assert not server.internal_errors(), server.internal_errors()[0]


def _bogus_state_pages(tmp_path: Path) -> dict[str, int]:
    """Regular files a hostile depositor can pass as a socket's "shared state page"."""
    import mmap
    pages = {}
    pages["empty memfd"] = os.memfd_create("bogus", os.MFD_CLOEXEC)
    pages["memfd without the magic"] = os.memfd_create("bogus", os.MFD_CLOEXEC)
    os.ftruncate(pages["memfd without the magic"], mmap.PAGESIZE)
    sealed = os.memfd_create("bogus", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(sealed, mmap.PAGESIZE)
    fcntl_seal = 1033                                        # F_ADD_SEALS
    import fcntl
    fcntl.fcntl(sealed, fcntl_seal, 0x0008 | 0x0002 | 0x0004)  # F_SEAL_WRITE|SHRINK|GROW
    pages["sealed memfd"] = sealed
    path = tmp_path / "readonly-page"
    path.write_bytes(b"\0" * mmap.PAGESIZE)
    pages["read-only file"] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return pages


def test_claims_of_deposits_with_bogus_state_pages_fail_cleanly(clean_broker, peers, tmp_path):
    """A same-user process can deposit any regular file as the state page that travels with a
    socket. The target's claim must fail with WSAEINVAL — not an internal error — and keep
    neither the socket nor the file."""
    broker = clean_broker
    target = peers()            # (an inbox or not: a token the broker issued is claimed there)
    assert target.ping() == broker.pid                    # its broker connection is open
    before = target.fds()
    template = next(i for i in ws2.WSAEnumProtocolsW() if i.iAddressFamily == W.AF_INET
                    and i.iSocketType == W.SOCK_STREAM)
    lst, addr = tcp_listener()
    outcomes = {}
    pages = _bogus_state_pages(tmp_path)
    with lst, raw_connect(broker.socket_path) as conn, contextlib.ExitStack() as closing:
        for page in pages.values():
            closing.callback(os.close, page)
        leased: list[int] = []
        for name, page in pages.items():
            with socket.create_connection(addr) as sock:
                far, _ = lst.accept()
                with far:
                    token = raw_deposit(conn, (sock.fileno(), page), target.pid, leased)
                    assert raw_request(conn, P.Ping()).broker_pid == broker.pid
                    assert listed(token), name            # accepted: only the claim can tell
                    info = bytes(template.copy(dwProviderReserved=token))
                    try:
                        outcomes[name] = ("claimed", target.closesocket(target.claim(info)))
                    except WSAError as err:
                        outcomes[name] = err.winerror
                    sock.close()
                    far.settimeout(5)
                    assert far.recv(1) == b"", f"{name}: the claimed socket was kept"
    assert outcomes == {name: W.WSAEINVAL for name in outcomes}, outcomes
    assert target.fds() == before, "the target kept descriptors of a failed claim"


@BOTH_PATHS
def test_a_third_process_is_refused_and_the_target_still_claims(clean_broker, peers, inbox):
    """Neither a third process nor the source can claim what was duplicated for the target
    (the broker checks the claimer's credentials; an inbox is the target's own)."""
    target, intruder = peers(2, inbox=inbox)
    s, far = ws2_pair()
    with far:
        info = bytes(ws2.WSADuplicateSocketW(s, target.pid))
        assert went(info) == ("inbox" if inbox else "broker")
        ws2.closesocket(s)
        with pytest.raises(WSAError) as err:
            intruder.claim(info)
        assert err.value.winerror == W.WSAEINVAL
        with pytest.raises(WSAError) as err:                  # nor can the source claim it
            ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info, 0, 0)
        assert err.value.winerror == W.WSAEINVAL
        t = target.claim(info)
        far.sendall(b"to the rightful target")
        assert target.recv(t, 100) == b"to the rightful target"
        target.closesocket(t)


def test_forged_tokens_are_refused(clean_broker, peers):
    """The real target presents a real info with forged dwProviderReserved values (near
    misses and random ones, some in the inbox and self-duplicate token spaces): each is
    WSAEINVAL, and the real token still works afterwards."""
    target = peers(inbox=False)
    s, far = ws2_pair()
    with far:
        info = bytes(ws2.WSADuplicateSocketW(s, target.pid))
        ws2.closesocket(s)
        token = info_token(info)
        near = [token ^ 1, token + 1, token - 1, token ^ 0x40000000, token | 0x80000000, 0xFFFFFFFF, 1]
        outcomes, tried, _ = target.claim_tokens(info, 7, 2000, [t for t in near if t != token])
        assert outcomes == {W.WSAEINVAL: tried}, outcomes
        t = target.claim(info)
        far.sendall(b"x")
        assert target.recv(t, 1) == b"x"
        target.closesocket(t)


def test_random_tokens_from_a_non_target(clean_broker, peers):
    """100,000 random claim tokens (and the real ones) from a process that is not the target:
    all WSAEINVAL; the broker still serves, leaks nothing, and the target claims afterwards."""
    broker = clean_broker
    baseline = broker.fd_count()
    target = peers(inbox=False)
    prober = peers()
    assert target.ping() == prober.ping() == broker.pid       # both connected from here on
    pairs = [ws2_pair() for _ in range(5)]
    infos = []
    for s, _ in pairs:
        infos.append(bytes(ws2.WSADuplicateSocketW(s, target.pid)))
        ws2.closesocket(s)
    assert all(listed(info_token(info)) for info in infos)   # (served after our Deposits)
    # We hold none of these sockets any more, so no ledger names us and no sweep watches us:
    # nothing but the probe changes the broker's descriptors.
    assert _pidfd_of(broker.pid, os.getpid()) is None
    during = broker.fd_count()
    outcomes, tried, elapsed = prober.claim_tokens(infos[0], 1234, 100_000, [info_token(i) for i in infos])
    print(f"\nnon-target: {tried} tokens in {elapsed:.1f} s: {outcomes}; broker fds {baseline} -> "
          f"{during} (5 deposits) -> {broker.fd_count()}")
    assert outcomes == {W.WSAEINVAL: tried}
    assert tried == 100_005
    assert broker.fd_count() == during
    assert broker_client.client().request(P.Ping()).broker_pid == broker.pid
    for (_, far), info in zip(pairs, infos):
        with far:
            t = target.claim(info)
            far.sendall(b"still mine")
            assert target.recv(t, 100) == b"still mine"
            target.closesocket(t)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to drop to another uid")
def test_claim_from_another_uid_is_refused(clean_broker, peers):
    """A claim whose kernel credentials carry another uid is refused, even by the target pid.

    The deposit comes from root (this process), and root may claim anything, so the claimer
    must be the one that changes uid. It cannot be a fresh process of uid 65534: the venv's
    interpreter lives under /root (0700), which that uid cannot even exec, and the runtime
    directory is 0700 root as it must be. So a spawned peer forks a grandchild inside its
    already-running interpreter; the grandchild connects to the broker while still root (the
    connection is all it needs from the runtime directory) and receives the info, imports what
    the claim path would import lazily (modules and codecs it could no longer read under
    /root), then drops to uid/gid 65534 with setgroups/setgid/setuid, and only then claims. The broker checks the SCM_CREDENTIALS of
    each message, which the kernel fills in at send time, so the claim arrives as uid 65534
    on a connection root opened. The same dance without the uid change claims fine (the
    control that shows the refusal is the uid's doing, not the dance's); and the refused
    deposit is freed once that grandchild exits.
    """
    helper = peers()
    for uid, should_claim in ((65534, False), (0, True)):
        grandchild = helper.fork_claimer(uid)
        s, far = ws2_pair()
        with far:
            info = bytes(ws2.WSADuplicateSocketW(s, grandchild))
            ws2.closesocket(s)
            result = helper.claimer_claim(grandchild, info)
            assert result.get("uid") == uid, result
            assert result["claimed"] is should_claim, result
            if not should_claim:
                assert result["error"] == W.WSAEINVAL
            assert wait_for(lambda: deposit_gone(info_token(info)), timeout=1.0)
            assert far.recv(1) == b""


# ======================================================================================
# Broker restarts, caps, concurrent start
# ======================================================================================
def test_sigkilled_broker_is_restarted_by_the_next_call(tmp_path, ws, peers):
    """SIGKILL the broker holding a deposit: the target's next claim starts a new broker
    and is refused cleanly (WSAEINVAL, no hang); everyone then talks to the new one."""
    server = BrokerProcess(tmp_path / "run")
    new_pid = None
    try:
        with runtime_dir(server.directory):
            target = peers(inbox=False)
            assert target.ping() == server.pid
            s, far = ws2_pair()
            with far:
                info = bytes(ws2.WSADuplicateSocketW(s, target.pid))
                ws2.closesocket(s)
                assert listed(info_token(info))               # the broker holds it
                server.proc.kill()
                assert server.proc.wait(10) == -signal.SIGKILL
                assert far.recv(1) == b""                     # the deposit died with it
            outcome, code, restart = target.claim_timed(info)
            assert (outcome, code) == ("refused", W.WSAEINVAL)
            new_pid = read_lock_pid(server.directory)
            assert new_pid not in (None, server.pid)
            assert target.ping() == new_pid
            assert broker_client.client().request(P.Ping()).broker_pid == new_pid   # reconnects too
            assert brokers_serving(server.directory) == [new_pid]
            print(f"\nrestart after SIGKILL: refused claim (with the new broker's start) took {restart * 1000:.0f} ms")
            assert restart < 10
    finally:
        if server.alive():
            server.stop()
        restarted = read_lock_pid(server.directory)
        if restarted not in (None, server.pid):
            stop_foreign_broker(restarted)
    assert not brokers_serving(server.directory)


def test_deposit_cap_gives_wsaenobufs_until_claims_free_room(tmp_path, ws, peers):
    """A user's outstanding deposits are capped (4 here). The cap is met when tokens are
    leased, so a duplication beyond it fails at once with WSAENOBUFS (its
    Deposit would get no reply); each claim frees room for one more."""
    server = BrokerProcess(tmp_path / "run", "--max-deposits", "4")
    try:
        with runtime_dir(server.directory):
            target = peers(inbox=False)
            pairs = [ws2_pair() for _ in range(6)]
            infos = [bytes(ws2.WSADuplicateSocketW(s, target.pid)) for s, _ in pairs[:4]]
            for s, _ in pairs[4:]:
                with pytest.raises(WSAError) as err:
                    ws2.WSADuplicateSocketW(s, target.pid)
                assert err.value.winerror == W.WSAENOBUFS
                assert ws2.WSAGetLastError() == W.WSAENOBUFS
            t = target.claim(infos.pop(0))                    # room for one more
            target.closesocket(t)
            infos.append(bytes(ws2.WSADuplicateSocketW(pairs[4][0], target.pid)))
            with pytest.raises(WSAError) as err:
                ws2.WSADuplicateSocketW(pairs[5][0], target.pid)
            assert err.value.winerror == W.WSAENOBUFS
            for info in infos:
                target.closesocket(target.claim(info))
            infos = [bytes(ws2.WSADuplicateSocketW(pairs[5][0], target.pid))]
            target.closesocket(target.claim(infos[0]))
            assert status()["deposits"] == []
            for s, far in pairs:
                ws2.closesocket(s)
                far.close()
    finally:
        assert server.stop() == 0


def test_idle_leases_do_not_use_up_the_cap(tmp_path):
    """Leased tokens are not deposits: connections holding unused leases leave the cap to
    the deposits, and one connection holds one batch at most."""
    server = BrokerProcess(tmp_path / "run", "--max-deposits", "4")
    conns = [raw_connect(server.socket_path) for _ in range(3)]
    try:
        for conn in conns:
            assert len(raw_request(conn, P.Lease()).tokens) == 4
        held = 4
        while isinstance(reply := raw_request(conns[0], P.Lease()), P.Leased):
            held += len(reply.tokens)
        assert reply == P.Error(code=W.WSAENOBUFS) and held == P.LEASE_BATCH     # one batch each
        assert raw_request(conns[0], P.Status()).report["deposit_count"] == 0
    finally:
        for conn in conns:
            conn.close()
        assert server.stop() == 0


def test_deliveries_a_target_drops_unclaimed_leave_the_books(clean_broker, peers):
    """A target's last WSACleanup drops what its inbox still holds, and clears their ledger
    entries: the broker stops listing those deliveries without waiting for the target to
    exit, and their holds are given back (only the source holds the socket then)."""
    target = peers()
    s, far = ws2_pair()
    infos = [bytes(ws2.WSADuplicateSocketW(s, target.pid)) for _ in range(3)]
    assert all(went(info) == "inbox" for info in infos)
    assert all(listed(info_token(info)) for info in infos)
    slot = ws2._fast[s].state._raw
    assert slot.holders == 1 + len(infos)
    target.cleanup_and_restart()
    assert all(deposit_gone(info_token(info)) for info in infos)
    assert slot.holders == 1
    ws2.closesocket(s)
    far.close()


def _autostart_child(go, conn) -> None:
    conn.send("ready")
    go.wait()
    start = time.monotonic()
    try:
        pid = broker_client.client().request(P.Ping()).broker_pid
        conn.send((os.getpid(), pid, time.monotonic() - start))
    except BaseException as exc:  # noqa: BLE001
        conn.send((os.getpid(), repr(exc), 0))


def test_concurrent_auto_start_starts_exactly_one_broker(tmp_path):
    """Ten processes that find no broker at the same moment start exactly one: the one in
    broker.lock, which all ten talk to, and which alone logged that it serves."""
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    started = None
    with runtime_dir(directory):
        go = SPAWN.Event()           # (semaphores only: a Barrier would keep shared memory open)
        pipes, children = [], []
        for _ in range(10):
            r, w = SPAWN.Pipe(duplex=False)
            child = SPAWN.Process(target=_autostart_child, args=(go, w))
            child.start()
            w.close()
            pipes.append(r)
            children.append(child)
        try:
            for r in pipes:
                assert r.poll(CALL_TIMEOUT) and r.recv() == "ready"
            go.set()                 # all ten at once, none of them finding a broker
            answers = []
            for r in pipes:
                assert r.poll(CALL_TIMEOUT)
                answers.append(r.recv())
                r.close()
            for child in children:
                child.join(CALL_TIMEOUT)
                assert child.exitcode == 0
        except BaseException:
            stop_foreign_broker(read_lock_pid(directory))
            raise
        finally:
            started = read_lock_pid(directory)
            for child in children:
                if child.is_alive():
                    child.kill()
                    child.join()
                child.close()
            for r in pipes:
                r.close()
        try:
            pids = {answer[1] for answer in answers}
            assert len(pids) == 1, answers
            assert pids == {started}
            assert brokers_serving(directory) == [started]
            log = (directory / "broker.log").read_text()
            assert log.count(" serving ") == 1, log
            assert "already running" not in log
            print(f"\nconcurrent auto-start: one broker ({started}); slowest first call "
                  f"{max(a[2] for a in answers) * 1000:.0f} ms")
        finally:
            stop_foreign_broker(started)
    assert not brokers_serving(directory)
