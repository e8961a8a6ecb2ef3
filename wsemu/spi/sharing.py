"""Socket duplication: the deposit behind WSPDuplicateSocket, the claim behind WSPSocket.

A duplicated WSAPROTOCOL_INFOW is the socket's own catalog entry with a 32-bit token in
``dwProviderReserved`` (the field Microsoft reserves for exactly this; every other field may be
rewritten by layered providers). The token is single-use, and only the target process can
redeem it; an unknown, consumed, forged or foreign token fails with WSAEINVAL, the same for each.

Another process: the socket goes straight into the target's inbox (wsemu.spi.inbox), or is
deposited at the broker, which checks the claimer's kernel credentials; either way with the
arena slot that holds its shared Windows state (wsemu.spi.sharedstate), whose ledger lists
the delivery until it is claimed. This process (``socket.dup()``-style self-sharing, as
CPython does on Windows): a private table, no broker round trip. Tokens say which: see
wsemu.spi.inbox (self-duplicate, delivered into the target's inbox, or held by the broker).
"""
from __future__ import annotations

import fcntl
import os
import secrets
import threading

from wsemu import abi as W
from wsemu.broker import protocol as P
from wsemu.broker.client import client
from wsemu.errors import WSAError
from wsemu.spi import inbox
from wsemu.spi.sharedstate import arenas

MAX_LOCAL_DEPOSITS = 4096


class LocalDeposits:
    """Duplicates a process makes for itself: token -> a dup of the socket's fd."""

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}
        self.lock = threading.Lock()

    def deposit(self, fd: int) -> int:
        with self.lock:
            if len(self.fds) >= MAX_LOCAL_DEPOSITS:
                raise WSAError(W.WSAENOBUFS)
            try:
                copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 0)
            except OSError:
                raise WSAError(W.WSAEMFILE) from None
            while True:
                token = inbox.DELIVERED_BIT | inbox.SELF_BIT | secrets.randbits(30)
                if token not in self.fds:
                    break
            self.fds[token] = copy
            return token

    def claim(self, token: int) -> int:
        with self.lock:
            fd = self.fds.pop(token, None)
        if fd is None:
            raise WSAError(W.WSAEINVAL)
        return fd

    def release_all(self) -> None:
        """Close unclaimed self-duplicates (the last WSPCleanup: the process is done)."""
        with self.lock:
            fds, self.fds = list(self.fds.values()), {}
        for fd in fds:
            os.close(fd)

    def after_fork_in_child(self) -> None:
        # The child is another process: the parent's self-duplicates are not its to claim.
        self.lock = threading.Lock()
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


local_deposits = LocalDeposits()
os.register_at_fork(after_in_child=local_deposits.after_fork_in_child)


def check_target(pid: int) -> None:
    """What WSPDuplicateSocket checks of the target before anything else (this process is
    always a valid one)."""
    if pid != os.getpid():
        _check_target(pid)


def _check_target(pid: int) -> None:
    """WSAEINVAL for pid 0, ~0, or a process that does not exist or is not ours to reach."""
    if not 0 < pid <= 0x3FFFFFFF:      # Linux pids stay below 2**30; 0 and ~0 are never one
        raise WSAError(W.WSAEINVAL)
    try:
        os.kill(pid, 0)
        owner = os.stat(f"/proc/{pid}").st_uid
    except (ProcessLookupError, PermissionError, FileNotFoundError):
        raise WSAError(W.WSAEINVAL) from None
    if os.getuid() != 0 and owner != os.getuid():
        raise WSAError(W.WSAEINVAL)  # another user's process: OpenProcess would refuse too


def duplicate(table, desc, pid: int) -> int:
    """Deposit ``desc``'s socket for process ``pid``; the token for dwProviderReserved."""
    if pid == os.getpid():
        return local_deposits.deposit(desc.fd)
    state = table.share(desc)       # from now on its Windows state lives in a shared slot
    try:
        # Straight into the target's inbox (its identity checked when the connection was made)...
        token = inbox.outbox.deliver(pid, desc.fd, state)
        if token is not None:
            return token
        # ...else the broker holds it: only now is it worth asking whether the target is valid.
        _check_target(pid)
        return client().deposit((desc.fd, state.arena.memfd), state.slot, pid)
    except BaseException:
        state.unhold()              # the hold taken for a delivery that never left
        raise


def claim(token: int):
    """Redeem a token: (socket fd, arena, slot) — arena and slot None for a self-duplicate."""
    if token & inbox.DELIVERED_BIT:
        if token & inbox.SELF_BIT:
            return local_deposits.claim(token), None, None
        delivered = inbox.inbox.take(token)
        if delivered is None:
            raise WSAError(W.WSAEINVAL)
        return delivered
    reply = client().request(P.Claim(token=token))
    fd, memfd = reply.fds
    arena = arenas.adopt(memfd)
    if arena is None:
        os.close(fd)
        raise WSAError(W.WSAEINVAL)
    return fd, arena, reply.slot
