"""The wsemu broker: one per user, the authority over sockets shared between processes.

Like wineserver for Wine, it owns what no single process can: duplicated sockets in transit.
``WSPDuplicateSocket`` deposits a socket (and the arena of its shared state) for a target process and
gets a single-use token; the target's ``WSPSocket`` claims it with that token. A deposit lives
until it is claimed or its target exits (watched through a pidfd), like a handle duplicated
into a Windows process; the source may exit at once. Which processes hold a shared socket,
and which sockets went straight into a target's inbox, the broker reads from the arenas of
shared state it is given (wsemu.broker.ledger): no process tells it per hand-off. It watches
every process those name, and gives back what one that exits without letting go held.

One thread, one epoll loop, nothing ever blocks on a client: requests are read without
waiting, replies are sent without waiting, and a client whose socket will not take a reply,
or that breaks the protocol, is dropped. Identity is the kernel's: every message carries the
sender's SCM_CREDENTIALS (the socket has SO_PASSCRED), never a pid or uid it wrote itself.
"""
from __future__ import annotations

import argparse
import collections
import fcntl
import json
import logging
import os
import resource
import secrets
import select
import signal
import socket
import stat
import sys
import time
from dataclasses import dataclass, field

from wsemu import abi as W
from wsemu import runtime
from wsemu._native import lib
from wsemu.broker import fdpass
from wsemu.broker import protocol as P
from wsemu.broker.ledger import LedgerArena

log = logging.getLogger("wsemu.broker")

_SEND_FLAGS = int(socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)   # plain int: IntFlag arithmetic is slow
MAX_CLIENTS = 4096
MAX_EARLY_CLAIMS = 4096
MAX_ARENAS = 1024                # arenas mapped (each: a descriptor, and pages as slots are used)
INBOX_BIT = 0x80000000           # inbox tokens have it (wsemu.spi.inbox); broker tokens never
SWEEP_INTERVAL = 1.0             # seconds between readings of the ledgers (new pids to watch)
REPORT_BUDGET = P.MAX_FRAME - P.HEADER.size - 1024    # the report's lists; the rest is headroom


@dataclass
class Deposit:
    token: int
    sock_fd: int
    state_fd: int                 # the arena of the socket's shared state...
    target_pid: int
    source_pid: int
    uid: int
    inode: int
    slot: int = 0                 # ...and its slot, whose hold the deposit carries
    arena: int = 0                # (the arena's inode)
    created: float = field(default_factory=time.monotonic)


@dataclass
class Target:
    """A process the broker watches — deposits wait for it, or it holds a shared socket —
    through a pidfd that turns readable when it exits."""
    pid: int
    pidfd: int
    uid: int                      # its owner, when the watch began (a pidfd pins the process)
    tokens: set[int] = field(default_factory=set)     # deposits waiting for it
    listed: bool = False                               # named in a ledger at the last sweep


@dataclass
class Client:
    sock: socket.socket
    leases: set[int] = field(default_factory=set)  # tokens leased to this connection, unused


class Broker:
    def __init__(self, listener: socket.socket, idle_exit: float | None = None,
                 max_deposits_per_uid: int | None = None) -> None:
        self.listener = listener
        self.listener.setblocking(False)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.epoll = select.epoll()
        self.epoll.register(listener.fileno(), select.EPOLLIN)
        self.clients: dict[int, Client] = {}
        self.deposits: dict[int, Deposit] = {}
        self.arenas: dict[int, LedgerArena] = {}        # by inode
        self.last_sweep = 0.0
        self.leases: dict[int, tuple[Client, int]] = {}   # token -> (leasing connection, uid)
        self._catching_up: list[Client] = []
        self.targets: dict[int, Target] = {}          # by pidfd
        self.target_by_pid: dict[int, Target] = {}
        self.per_uid: dict[int, int] = {}
        self.idle_exit = idle_exit
        self.last_busy = time.monotonic()
        self.running = True
        # Each deposit holds two descriptors plus (at most) a pidfd: stay within the limit.
        self.max_deposits = max_deposits_per_uid or max(16, min(8192, (_raise_fd_limit() - 64) // 3))

    # ----------------------------------------------------------------------------------
    # The loop
    # ----------------------------------------------------------------------------------
    def serve(self) -> None:
        while self.running:
            timeout = SWEEP_INTERVAL if self.idle_exit or self.arenas else None
            try:
                events = self.epoll.poll(timeout)
            except InterruptedError:
                continue
            # Whose event each one is, decided for the whole batch before handling any: an
            # earlier handler may close an fd (a client dropped, a pidfd no longer needed) and
            # a later one reuse its number (a received deposit), and that number's event in
            # this batch is stale — it must not be taken for the new owner's.
            listener = self.listener.fileno()
            owners = [(fd, mask, self.clients.get(fd) or self.targets.get(fd)) for fd, mask in events]
            for fd, mask, owner in owners:
                if fd == listener:
                    self._accept()
                elif owner is None:
                    _drain(fd)                     # the signal wakeup pipe (all else is known)
                elif isinstance(owner, Target):
                    if self.targets.get(fd) is owner:
                        self._process_exited(owner.pid, owner)
                elif self.clients.get(fd) is owner:
                    self._serve_client(fd, mask)
            now = time.monotonic()
            if self.arenas and now - self.last_sweep >= SWEEP_INTERVAL:
                self.sweep()
            if events:
                self.last_busy = now
            elif (self.idle_exit and not self.clients and not self.deposits and not self.arenas
                  and now - self.last_busy > self.idle_exit):
                log.info("idle for %.0f s: exiting", self.idle_exit)
                self.running = False

    def close(self) -> None:
        for client in list(self.clients.values()):
            self._drop(client, "broker exiting")
        for deposit in list(self.deposits.values()):
            self._forget_deposit(deposit)
        for arena in self.arenas.values():
            arena.close()
        self.arenas.clear()
        self.epoll.close()

    # ----------------------------------------------------------------------------------
    # Connections
    # ----------------------------------------------------------------------------------
    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # Out of descriptors: let the backlog wait rather than spin.
                log.warning("accept: %s", exc)
                return
            if len(self.clients) >= MAX_CLIENTS:
                sock.close()
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            self.clients[sock.fileno()] = Client(sock)
            self.epoll.register(sock.fileno(), select.EPOLLIN)

    def _drop(self, client: Client, reason: str) -> None:
        log.debug("dropping client: %s", reason)
        fd = client.sock.fileno()
        self.clients.pop(fd, None)
        try:
            self.epoll.unregister(fd)
        except (OSError, ValueError):
            pass
        client.sock.close()
        for token in client.leases:
            del self.leases[token]
        client.leases.clear()
        # What the processes that spoke here hold is theirs until they close it or exit
        # (pidfd): a connection is not a process, it may reconnect or have others.

    def _serve_client(self, fd: int, mask: int) -> None:
        # One message per wake-up: epoll is level-triggered, so the next one wakes us again,
        # every client gets its turn, and no "would block" exception is paid per message.
        client = self.clients[fd]
        try:
            data, ancillary, flags, _ = client.sock.recvmsg(
                P.MAX_REQUEST, P.ANCILLARY_SPACE, socket.MSG_CMSG_CLOEXEC)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._drop(client, f"recv: {exc}")
            return
        fds, creds = fdpass.unpack(ancillary)
        if not data and not fds:
            self._drop(client, "closed")
            return
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or creds is None:
            fdpass.close_all(fds)
            self._drop(client, "oversized message or missing credentials")
            return
        try:
            message = P.decode(data, tuple(fds), expect=P.REQUESTS)
        except P.ProtocolError as exc:
            fdpass.close_all(exc.fds)
            self._drop(client, f"protocol error: {exc}")
            return
        pid, uid, _ = creds
        reply = self._handle(client, message, pid, uid)
        if reply is not None:
            self._send(client, reply)

    def _catch_up(self, client: Client, limit: int = 256) -> None:
        """Serve what a connection has already sent (a bounded number of messages)."""
        if client in self._catching_up:
            return                     # a claim inside this catch-up: no deeper recursion
        self._catching_up.append(client)
        try:
            fd = client.sock.fileno()
            for _ in range(limit):
                if self.clients.get(fd) is not client or not _readable(fd):
                    return
                self._serve_client(fd, select.EPOLLIN)
        finally:
            self._catching_up.remove(client)

    def _send(self, client: Client, reply: P.Message) -> bool:
        try:
            client.sock.sendmsg([P.encode(reply)], fdpass.rights(reply.fds), _SEND_FLAGS)
            return True
        except OSError as exc:
            # A client that does not read its replies is dropped, never waited for.
            self._drop(client, f"send: {exc}")
            return False
        finally:
            fdpass.close_all(reply.fds)      # the message carries its own copies

    # ----------------------------------------------------------------------------------
    # Requests
    # ----------------------------------------------------------------------------------
    def _handle(self, client: Client, message: P.Message, pid: int, uid: int) -> P.Message | None:
        if isinstance(message, P.Deposit):
            self._deposit(client, message, pid, uid)
            return None
        if isinstance(message, P.Claim):
            return self._claim(message, pid, uid)
        if isinstance(message, P.Lease):
            return self._lease(client, uid)
        if isinstance(message, P.Register):
            self._register(message.fds[0], uid)
            return None
        if isinstance(message, P.Status):
            self.sweep()
            return P.StatusReport(report=self.report())
        return P.Pong(broker_pid=os.getpid())

    def _lease(self, client: Client, uid: int) -> P.Message:
        """Reserve tokens for this connection's coming deposits. The per-user cap on deposits
        is checked here, so a duplication that would exceed it fails at once (WSAENOBUFS)
        although the deposit itself gets no reply. A lease is not a deposit and does not
        count: idle processes holding unused tokens never use up the cap. (Deposits racing
        past the cap from several connections are refused on arrival: their claims fail.)"""
        room = self.max_deposits - self.per_uid.get(uid, 0)
        if room <= 0:
            return P.Error(code=W.WSAENOBUFS)
        wanted = min(P.LEASE_BATCH - len(client.leases), room)
        if wanted <= 0:
            return P.Error(code=W.WSAENOBUFS)    # a connection holds one batch at most
        tokens = tuple(self._new_token() for _ in range(wanted))
        for token in tokens:
            self.leases[token] = (client, uid)
            client.leases.add(token)
        return P.Leased(tokens=tokens)

    def _deposit(self, client: Client, message: P.Deposit, pid: int, uid: int) -> None:
        lease = self.leases.get(message.token)
        if lease is None or lease[0] is not client:
            # A token this connection did not lease: a broken or hostile client.
            fdpass.close_all(message.fds)
            self._drop(client, "deposit under a token it was not leased")
            return
        del self.leases[message.token]
        client.leases.discard(message.token)
        sock_fd, state_fd = message.fds
        target = None
        if self.per_uid.get(uid, 0) < self.max_deposits and not self._check_deposit(
                sock_fd, state_fd, message.target_pid, uid):
            target = self._watch(message.target_pid)
        if target is None:
            # Refused (over the cap, no such target, not this user's, not a socket): the
            # token is simply never redeemable, exactly like a forged one.
            _drop_deposit_fds(sock_fd, state_fd, message.slot)
            return
        inode = os.fstat(sock_fd).st_ino
        arena = os.fstat(state_fd).st_ino
        self._count(uid, 1)
        self.deposits[message.token] = Deposit(message.token, sock_fd, state_fd, message.target_pid, pid, uid,
                                               inode, message.slot, arena)
        target.tokens.add(message.token)
        if arena not in self.arenas:
            self._register(os.dup(state_fd), uid)    # its ledger: who holds the socket

    def _register(self, memfd: int, uid: int) -> None:
        """Read the ledgers of the arena ``memfd`` from now on (until none of its slots is in
        use: then the next process to take one registers it again)."""
        if os.fstat(memfd).st_ino in self.arenas or len(self.arenas) >= MAX_ARENAS:
            os.close(memfd)               # known already, or no room: its ledgers go unread
            return
        arena = LedgerArena.map(memfd, uid)
        if arena is not None:
            self.arenas[arena.inode] = arena

    # ----------------------------------------------------------------------------------
    # The ledgers
    # ----------------------------------------------------------------------------------
    def sweep(self) -> None:
        """Read every ledger: watch each process named there, give back what those that have
        exited held, and let go of arenas with no slot in use."""
        self.last_sweep = time.monotonic()
        named: set[int] = set()
        for arena in self.arenas.values():
            for view in arena.read():
                named |= view.pids
        for target in list(self.targets.values()):
            if target.pid not in named:
                target.listed = False
                self._unwatch_if_idle(target)
        for pid in named:
            target = self._watch(pid)
            if target is None or _exited(target.pidfd):
                self._process_exited(pid, target)     # gone before (or since) we looked
            else:
                target.listed = True
        for inode, arena in list(self.arenas.items()):
            if arena.let_go():
                del self.arenas[inode]

    def _process_exited(self, pid: int, target: Target | None) -> None:
        """What process ``pid`` held goes: the deposits waiting for it, its holds and the
        deliveries in flight to it in every ledger."""
        if target is not None:
            for token in list(target.tokens):
                deposit = self.deposits.get(token)
                if deposit is not None:
                    self._forget_deposit(deposit)
            self._unwatch(target)
        for arena in self.arenas.values():
            arena.forget(pid)

    def _count(self, uid: int, delta: int) -> None:
        """Tokens leased or deposits held by ``uid`` (what the per-user cap bounds)."""
        count = self.per_uid.get(uid, 0) + delta
        if count:
            self.per_uid[uid] = count
        else:
            self.per_uid.pop(uid, None)

    def _watch(self, pid: int) -> Target | None:
        """The watch on process ``pid`` (started if need be); None if there is no such process."""
        target = self.target_by_pid.get(pid)
        if target is None:
            if not 0 < pid <= 0x3FFFFFFF:
                return None                         # no such pid can exist (pidfd_open would overflow)
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                return None
            try:
                uid = os.stat(f"/proc/{pid}").st_uid
            except OSError:
                os.close(pidfd)
                return None
            target = Target(pid, pidfd, uid)
            self.targets[pidfd] = target
            self.target_by_pid[pid] = target
            self.epoll.register(pidfd, select.EPOLLIN)
        return target

    def _check_deposit(self, sock_fd: int, state_fd: int, target_pid: int, uid: int) -> int:
        try:
            if not stat.S_ISSOCK(os.fstat(sock_fd).st_mode) or not stat.S_ISREG(os.fstat(state_fd).st_mode):
                return W.WSAEINVAL
        except OSError:
            return W.WSAEINVAL
        return _check_target(target_pid, uid)

    def _new_token(self) -> int:
        while True:
            token = secrets.randbits(31)
            # (never 0, nor 1: a ledger entry being written; wsemu.broker.ledger)
            if token > 1 and token not in self.deposits and token not in self.leases:
                return token

    def _claim(self, message: P.Claim, pid: int, uid: int) -> P.Message:
        deposit = self.deposits.get(message.token)
        lease = self.leases.get(message.token) if deposit is None else None
        if lease is not None:
            # The claim overtook its deposit: the source sent the deposit before it sent the
            # info to the target, so it is already queued on the source's connection.
            self._catch_up(lease[0])
            deposit = self.deposits.get(message.token)
        # An unknown, consumed, forged or foreign token: the same answer for each.
        if deposit is None or deposit.target_pid != pid or (uid != 0 and uid != deposit.uid):
            return P.Error(code=W.WSAEINVAL)
        target = self.target_by_pid.get(pid)
        if target is None or _exited(target.pidfd):
            # The target died and this is a new process with a recycled pid.
            if target is not None:
                self._process_exited(target.pid, target)
            return P.Error(code=W.WSAEINVAL)
        # The deposit's hold goes to the claimer with the reply: listed as in flight to it,
        # so that if it dies before taking the socket over, its exit gives the hold back.
        arena = self.arenas.get(deposit.arena)
        if arena is not None and arena.list_delivery(deposit.slot, deposit.token, pid, deposit.source_pid):
            target.listed = True          # (watched until a sweep finds it named nowhere)
        self._take(deposit)
        return P.Claimed(fds=(deposit.sock_fd, deposit.state_fd), slot=deposit.slot)   # _send closes ours

    # ----------------------------------------------------------------------------------
    # Deposit bookkeeping
    # ----------------------------------------------------------------------------------
    def _take(self, deposit: Deposit) -> None:
        """Remove a deposit from the books (its descriptors are the caller's business)."""
        del self.deposits[deposit.token]
        self._count(deposit.uid, -1)
        target = self.target_by_pid.get(deposit.target_pid)
        if target is not None:
            target.tokens.discard(deposit.token)
            self._unwatch_if_idle(target)

    def _forget_deposit(self, deposit: Deposit) -> None:
        self._take(deposit)
        _drop_deposit_fds(deposit.sock_fd, deposit.state_fd, deposit.slot)

    def _unwatch_if_idle(self, target: Target) -> None:
        if not target.tokens and not target.listed:
            self._unwatch(target)

    def _unwatch(self, target: Target) -> None:
        if self.targets.pop(target.pidfd, None) is None:
            return
        self.target_by_pid.pop(target.pid, None)
        try:
            self.epoll.unregister(target.pidfd)
        except (OSError, ValueError):
            pass
        os.close(target.pidfd)

    def report(self) -> dict:
        """What the broker holds, as one StatusReport frame: the counts are exact; the lists
        are cut (``truncated``) where their JSON would not fit in MAX_FRAME — thousands of
        deposits would not, and a report that cannot be sent must not stop the broker."""
        now = time.monotonic()
        # By socket: the pids holding it (a socket shared twice over may have two slots).
        holders: dict[int, set[int]] = {}
        delivered = []
        unlisted = 0
        held_here = collections.Counter((d.arena, d.slot) for d in self.deposits.values())
        for arena in self.arenas.values():
            for view in arena.read():
                holders.setdefault(view.inode, set()).update(view.holders)
                delivered += [(arena.uid, view.inode, d) for d in view.deliveries]
                # Holds the ledger had no room to list (deposits held here are listed above).
                unlisted += max(0, view.holds - len(view.holders) - len(view.deliveries)
                                - held_here[arena.inode, view.slot])
        shared = [(inode, pids) for inode, pids in holders.items() if len(pids) > 1]
        budget = REPORT_BUDGET // 2          # half each; what the deposits leave goes to shared
        truncated = False

        def fit(entries) -> list:
            nonlocal budget, truncated
            kept = []
            for entry in entries:
                size = len(json.dumps(entry, separators=(",", ":"))) + 1
                if size > budget:
                    truncated = True
                    break
                budget -= size
                kept.append(entry)
            return kept

        deposits = fit([*({"token": d.token, "target_pid": d.target_pid, "source_pid": d.source_pid,
                           "uid": d.uid, "inode": d.inode, "age_s": round(now - d.created, 3),
                           "held_by": "broker"} for d in self.deposits.values()),
                        *({"token": d.token, "target_pid": d.target_pid, "source_pid": d.source_pid,
                           "uid": uid, "inode": inode, "age_s": round(d.age_s, 3),
                           "held_by": "target inbox" if d.token & INBOX_BIT else "claim in flight"}
                          for uid, inode, d in delivered)])
        budget += REPORT_BUDGET - REPORT_BUDGET // 2
        return {
            "broker_pid": os.getpid(),
            "clients": len(self.clients),
            "deposit_count": len(self.deposits) + len(delivered),
            "arena_count": len(self.arenas),
            "unlisted_count": unlisted,
            "leased_count": len(self.leases),
            "shared_count": len(shared),
            "truncated": truncated,
            "deposits": deposits,
            "shared": fit({"inode": inode, "holders": sorted(pids)} for inode, pids in shared),
        }


# ======================================================================================
# Helpers
# ======================================================================================
def _drop_deposit_fds(sock_fd: int, state_fd: int, slot: int) -> None:
    """A deposit that will never be claimed: its descriptors go, and the hold it carried on
    its state's slot is given back (a memfd that is no arena is only closed)."""
    lib.wsemu_arena_release(state_fd, slot)
    fdpass.close_all((sock_fd, state_fd))


def _check_target(pid: int, uid: int) -> int:
    """0 if ``pid`` is a live process that user ``uid`` may hand sockets to, else WSAEINVAL
    (pid 0, ~0 and beyond Linux's pid range included)."""
    if not 0 < pid <= 0x3FFFFFFF:
        return W.WSAEINVAL
    try:
        target_uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return W.WSAEINVAL                      # gone, or never was
    if uid != 0 and target_uid != uid:
        return W.WSAEINVAL                      # like OpenProcess refusing another user's
    return 0


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except OSError:
        pass


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _exited(pidfd: int) -> bool:
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(0))


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
        except (ValueError, OSError):
            pass
    return soft


# ======================================================================================
# Running it
# ======================================================================================
def _systemd_listener() -> socket.socket | None:
    """The socket systemd passed (socket activation: LISTEN_FDS=1, LISTEN_PID=us, fd 3)."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
        return None
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    return socket.socket(fileno=3)


def _hold_instance_lock(directory) -> int | None:
    """One broker per user: the running broker holds broker.lock for its lifetime."""
    fd = os.open(directory / runtime.BROKER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _bind_listener(path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        os.unlink(path)           # we hold the instance lock: any socket file there is stale
    except FileNotFoundError:
        pass
    old = os.umask(0o177)         # the socket is 0600 from birth, not after a chmod
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    listener.listen(128)
    return listener


def run(idle_exit: float | None = None, ready_fd: int | None = None,
        max_deposits_per_uid: int | None = None) -> int:
    """Serve until SIGTERM/SIGINT (or idle_exit seconds without clients or deposits)."""
    directory = runtime.runtime_dir()
    listener = _systemd_listener()
    lock_fd = None
    if listener is None:
        lock_fd = _hold_instance_lock(directory)
        if lock_fd is None:
            log.info("a broker is already running for this user")
            _signal_ready(ready_fd)
            return 0
        listener = _bind_listener(directory / runtime.BROKER_SOCKET)
    broker = Broker(listener, idle_exit, max_deposits_per_uid)

    def stop(signum, frame):
        broker.running = False

    # Python retries an epoll_wait a signal interrupted (PEP 475); the wakeup descriptor,
    # which the signal machinery writes to, is what makes the loop look at `running` again.
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    broker.epoll.register(wake_r, select.EPOLLIN)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _signal_ready(ready_fd)
    log.info("broker %d serving %s", os.getpid(), directory / runtime.BROKER_SOCKET)
    try:
        broker.serve()
    finally:
        signal.set_wakeup_fd(-1)
        broker.close()
        os.close(wake_r)
        os.close(wake_w)
        if lock_fd is not None:
            try:
                os.unlink(directory / runtime.BROKER_SOCKET)
            except FileNotFoundError:
                pass
            os.close(lock_fd)
        listener.close()
    return 0


def _signal_ready(ready_fd: int | None) -> None:
    if ready_fd is not None:
        try:
            os.write(ready_fd, b"1")
        except OSError:
            pass
        os.close(ready_fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wsemu broker", description="run the wsemu broker in the foreground")
    parser.add_argument("--idle-exit", type=float, default=None,
                        help="exit after this many seconds without clients or deposits")
    parser.add_argument("--daemon", action="store_true",
                        help="detach (used when a client starts the broker on first need)")
    parser.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    # Tests only: a small cap on outstanding deposits per uid, to reach WSAENOBUFS.
    parser.add_argument("--max-deposits", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s wsemu-broker[%(process)d] %(message)s")
    if args.daemon:
        # Detach: the starter waits for this process to exit, so no zombie is left behind,
        # and the broker itself lives on, reparented, in its own session.
        if os.fork():
            os._exit(0)
        os.setsid()
    return run(args.idle_exit, args.ready_fd, args.max_deposits)


if __name__ == "__main__":
    sys.exit(main())
