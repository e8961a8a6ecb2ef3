"""The wsemu broker: one per user, the authority over sockets shared between processes.

Like wineserver for Wine, it owns what no single process can: duplicated sockets in transit.
``WSPDuplicateSocket`` deposits a socket (and the arena of its shared state) for a target process and
gets a single-use token; the target's ``WSPSocket`` claims it with that token. A deposit lives
until it is claimed or its target exits (watched through a pidfd), like a handle duplicated
into a Windows process; the source may exit at once. Which processes hold a shared socket is
kept per process, not per connection: a holder is let go when it releases the socket or exits
(its pidfd again), never because one of its connections closed.

One thread, one epoll loop, nothing ever blocks on a client: requests are read without
waiting, replies are sent without waiting, and a client whose socket will not take a reply,
or that breaks the protocol, is dropped. Identity is the kernel's: every message carries the
sender's SCM_CREDENTIALS (the socket has SO_PASSCRED), never a pid or uid it wrote itself.
"""
from __future__ import annotations

import argparse
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

log = logging.getLogger("wsemu.broker")

_SEND_FLAGS = int(socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)   # plain int: IntFlag arithmetic is slow
MAX_CLIENTS = 4096
MAX_EARLY_CLAIMS = 4096
MAX_DELIVERED = 65536            # inbox deliveries booked (status only: the kernel holds them)
DELIVERED_BIT = 0x80000000       # inbox tokens have it (wsemu.spi.inbox); broker tokens never
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
    created: float = field(default_factory=time.monotonic)

    @property
    def in_inbox(self) -> bool:
        """Delivered straight into the target's inbox (the broker only keeps the books)."""
        return self.sock_fd < 0


@dataclass
class Target:
    """A process the broker watches — deposits wait for it, or it holds a shared socket —
    through a pidfd that turns readable when it exits."""
    pid: int
    pidfd: int
    uid: int                      # its owner, when the watch began (a pidfd pins the process)
    tokens: set[int] = field(default_factory=set)
    holds: set[int] = field(default_factory=set)      # inodes of the shared sockets it holds


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
        self.delivered: dict[int, Deposit] = {}         # deliveries into targets' inboxes
        # token -> (pid, inode, released since): claims heard before their delivery
        self.early_claims: dict[int, tuple[int, int, bool]] = {}
        self.leases: dict[int, tuple[Client, int]] = {}   # token -> (leasing connection, uid)
        self._catching_up: list[Client] = []
        self.targets: dict[int, Target] = {}          # by pidfd
        self.target_by_pid: dict[int, Target] = {}
        self.per_uid: dict[int, int] = {}
        self.shared: dict[int, set[int]] = {}          # socket inode -> pids holding it
        self.deposited: dict[int, int] = {}            # socket inode -> outstanding deposits
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
            timeout = 1.0 if self.idle_exit else None
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
                        self._target_exited(owner)
                elif self.clients.get(fd) is owner:
                    self._serve_client(fd, mask)
            if events:
                self.last_busy = time.monotonic()
            elif (self.idle_exit and not self.clients and not self.deposits and not self.delivered
                  and time.monotonic() - self.last_busy > self.idle_exit):
                log.info("idle for %.0f s: exiting", self.idle_exit)
                self.running = False

    def close(self) -> None:
        for client in list(self.clients.values()):
            self._drop(client, "broker exiting")
        for deposit in list(self.deposits.values()):
            self._forget_deposit(deposit)
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
        # What the processes that spoke here hold is theirs until they close it (a RELEASED
        # notice) or exit (pidfd): a connection is not a process, it may reconnect or have others.

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
        if isinstance(message, P.Notices):
            self._notices(message.records, pid, uid)
            return None
        if isinstance(message, P.Status):
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
        self._count(uid, 1)
        self.deposits[message.token] = Deposit(message.token, sock_fd, state_fd, message.target_pid, pid, uid,
                                               inode, message.slot)
        target.tokens.add(message.token)
        self.deposited[inode] = self.deposited.get(inode, 0) + 1
        self._hold(pid, inode)

    def _notices(self, records, pid: int, uid: int) -> None:
        """Book what a process reports about direct deliveries (for status only: the kernel,
        not the broker, holds those sockets). Notices from different processes race, so a
        claim may be heard before its delivery: it is remembered for a while."""
        for kind, token, target_pid, inode in records:
            if kind == P.DELIVERED:
                self._note_delivery(token, target_pid, inode, pid, uid)
            elif kind == P.CLAIMED:
                self._note_claim(token, inode, pid)
            elif kind == P.DISCARDED:
                record = self.delivered.get(token)
                if record is not None and record.target_pid == pid:
                    self._forget_deposit(record)   # the target's WSACleanup dropped it unclaimed
            else:
                self._release(inode, pid)
                if self.early_claims:
                    # A claim heard before its delivery, now released as well: when the
                    # delivery is heard, the target no longer holds the socket.
                    for early, (holder, held, _) in list(self.early_claims.items()):
                        if holder == pid and held == inode:
                            self.early_claims[early] = (holder, held, True)

    def _note_delivery(self, token: int, target_pid: int, inode: int, pid: int, uid: int) -> None:
        early = self.early_claims.pop(token, None)
        if early is not None and early[:2] == (target_pid, inode):
            self._hold(pid, inode)            # claimed already: both processes hold it...
            if not early[2]:
                self._hold(target_pid, inode)
            self._tidy(inode)                 # ...unless the target has released it too
            return
        if not token & DELIVERED_BIT or token in self.delivered or len(self.delivered) >= MAX_DELIVERED:
            return                     # not an inbox token, or no room to book it
        target = self._watch(target_pid)
        if target is None:
            return                     # the target is gone: the kernel freed the delivery
        if uid != 0 and target.uid != uid:
            return                     # not a process of this user's
        self.delivered[token] = Deposit(token, -1, -1, target_pid, pid, uid, inode)
        target.tokens.add(token)
        self.deposited[inode] = self.deposited.get(inode, 0) + 1
        self._hold(pid, inode)

    def _note_claim(self, token: int, inode: int, pid: int) -> None:
        record = self.delivered.get(token)
        if record is None:
            # Heard before the delivery it claims (bounded: the oldest are forgotten).
            self.early_claims[token] = (pid, inode, False)
            while len(self.early_claims) > MAX_EARLY_CLAIMS:
                del self.early_claims[next(iter(self.early_claims))]
            return
        if record.target_pid != pid or record.inode != inode:
            return                     # only the target itself can say it claimed
        self._hold(pid, record.inode)
        self._take(record)
        self._tidy(record.inode)

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

    def _hold(self, pid: int, inode: int) -> None:
        """Process ``pid`` holds the socket ``inode`` (until it releases it or exits)."""
        target = self._watch(pid)
        if target is None:
            return                                  # already gone: it holds nothing
        target.holds.add(inode)
        self.shared.setdefault(inode, set()).add(pid)

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
            if token and token not in self.deposits and token not in self.leases:
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
                self._target_exited(target)
            return P.Error(code=W.WSAEINVAL)
        self._hold(pid, deposit.inode)
        self._take(deposit)
        self._tidy(deposit.inode)
        return P.Claimed(fds=(deposit.sock_fd, deposit.state_fd), slot=deposit.slot)   # _send closes ours

    def _release(self, inode: int, pid: int) -> None:
        holders = self.shared.get(inode)
        if holders is not None:
            holders.discard(pid)
            self._tidy(inode)
        self._let_go(pid, inode)

    def _let_go(self, pid: int, inode: int) -> None:
        target = self.target_by_pid.get(pid)
        if target is not None:
            target.holds.discard(inode)
            self._unwatch_if_idle(target)

    def _tidy(self, inode: int) -> None:
        """Forget a socket nobody shares any more (fewer than two holders, nothing deposited)."""
        holders = self.shared.get(inode)
        if holders is not None and len(holders) < 2 and not self.deposited.get(inode):
            del self.shared[inode]
            for pid in holders:
                self._let_go(pid, inode)

    # ----------------------------------------------------------------------------------
    # Deposit bookkeeping
    # ----------------------------------------------------------------------------------
    def _take(self, deposit: Deposit) -> None:
        """Remove a deposit from the books (its descriptors are the caller's business)."""
        if deposit.in_inbox:
            del self.delivered[deposit.token]
        else:
            del self.deposits[deposit.token]
            self._count(deposit.uid, -1)
        self.deposited[deposit.inode] -= 1
        if not self.deposited[deposit.inode]:
            del self.deposited[deposit.inode]
        target = self.target_by_pid.get(deposit.target_pid)
        if target is not None:
            target.tokens.discard(deposit.token)
            self._unwatch_if_idle(target)

    def _forget_deposit(self, deposit: Deposit) -> None:
        self._take(deposit)
        if not deposit.in_inbox:
            _drop_deposit_fds(deposit.sock_fd, deposit.state_fd, deposit.slot)
        self._tidy(deposit.inode)

    def _target_exited(self, target: Target) -> None:
        for token in list(target.tokens):
            deposit = self.deposits.get(token) or self.delivered.get(token)
            if deposit is not None:
                self._forget_deposit(deposit)
        for inode in list(target.holds):
            self._release(inode, target.pid)
        self._unwatch(target)

    def _unwatch_if_idle(self, target: Target) -> None:
        if not target.tokens and not target.holds:
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
        shared = [(inode, pids) for inode, pids in self.shared.items() if len(pids) > 1]
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

        deposits = fit({"token": d.token, "target_pid": d.target_pid, "source_pid": d.source_pid,
                        "uid": d.uid, "inode": d.inode, "age_s": round(now - d.created, 3),
                        "held_by": "target inbox" if d.in_inbox else "broker"}
                       for d in (*self.deposits.values(), *self.delivered.values()))
        budget += REPORT_BUDGET - REPORT_BUDGET // 2
        return {
            "broker_pid": os.getpid(),
            "clients": len(self.clients),
            "deposit_count": len(self.deposits) + len(self.delivered),
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
