"""Direct delivery of duplicated sockets into their target process: the fast path.

Every process that uses wsemu has an *inbox*: a listening AF_UNIX SOCK_SEQPACKET socket in
the abstract namespace, named after its uid and pid. WSPDuplicateSocket sends the socket and
its shared-state page straight into the target's inbox, over a connection it keeps per target
and verified once with SO_PEERCRED (the listener must belong to the target pid and to this
user); the kernel holds them in flight until the target's WSPSocket claims them, and frees
them when the target exits (its inbox closes with it) — Windows' "a duplicated handle lives
in the target process until it is used or the process ends", enforced by the kernel. Neither
side waits for anyone (through the broker, the target pays a round trip to claim).

The broker stays the path when the target has no inbox (it never started wsemu), when its
inbox is not reachable from here (another network or pid namespace), or when it is full;
and it is told about every delivery and claim (one-way), so that `wsemu broker status` lists
them. Abstract names are per network namespace and free for anyone to bind, so nothing is
trusted by name: the sender checks the listener's credentials, the inbox checks each
sender's (same user, or root), and descriptors from anyone else are closed unread.

Tokens say where to look: 11… a self-duplicate (wsemu.spi.sharing), 10… a delivery into
this inbox, 0… a deposit held by the broker. Inbox tokens are random; should two pending
deliveries ever carry the same one, both are refused rather than risk handing out the wrong
socket.
"""
from __future__ import annotations

import os
import random as _random
import select
import socket
import threading

from wsemu.broker import fdpass
from wsemu.broker import protocol as P

DELIVERED_BIT = 0x80000000
SELF_BIT = 0x40000000
MAX_PENDING = 4096           # deliveries an inbox holds (the kernel bounds the queue too)
MAX_TARGETS = 64             # outgoing connections kept (least recently used first out)
# Plain ints: flag arithmetic on the socket module's IntFlag members is slow.
_SEND_FLAGS = int(socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
_CLOEXEC = int(socket.MSG_CMSG_CLOEXEC)
_TRUNCATED = int(socket.MSG_TRUNC | socket.MSG_CTRUNC)
_UID = os.getuid()


def is_delivered(token: int) -> bool:
    return token & (DELIVERED_BIT | SELF_BIT) == DELIVERED_BIT


def new_token() -> int:
    # Not a secret (only this user's processes can deliver, only the target can claim), so
    # the fast generator; the random module reseeds itself in a forked child.
    return DELIVERED_BIT | _random.getrandbits(30)


def inbox_name(pid: int, uid: int | None = None) -> bytes:
    return f"\0wsemu/{os.getuid() if uid is None else uid}/inbox/{pid}".encode()


# ======================================================================================
# Receiving
# ======================================================================================
class Inbox:
    """This process's inbox: pending deliveries by token."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.epoll: select.epoll | None = None
        self.senders: dict[int, socket.socket] = {}
        self.pending: dict[int, tuple[int, int]] = {}
        self.ambiguous: set[int] = set()

    def open(self) -> None:
        """Create the inbox (idempotent). Without one, duplicates reach us via the broker —
        always so with WSEMU_INBOX=0 (every hand-off then shows in `wsemu broker status`)."""
        with self.lock:
            if self.listener is not None or os.environ.get("WSEMU_INBOX") == "0":
                return
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
            try:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
                listener.bind(inbox_name(os.getpid()))
                listener.listen(128)
            except OSError:
                listener.close()       # the name is taken (squatted?): use the broker path
                return
            self.listener = listener
            self.epoll = select.epoll()
            self.epoll.register(listener.fileno(), select.EPOLLIN)

    def take(self, token: int) -> tuple[int, int] | None:
        """The (socket fd, state memfd) delivered under ``token``, or None."""
        with self.lock:
            # Everything already delivered is read first: a second delivery under the same
            # token, waiting behind the first, must make both ambiguous before either goes.
            while self._drain():
                pass
            if token in self.ambiguous:
                return None
            return self.pending.pop(token, None)

    def _drain(self) -> bool:
        """Accept new senders and read one message from each sender that has one (lock
        held); False when nothing was waiting."""
        if self.epoll is None:
            return False
        ready = self.epoll.poll(0)
        for fd, _ in ready:
            if self.listener is not None and fd == self.listener.fileno():
                self._accept()
            else:
                conn = self.senders.get(fd)
                if conn is not None:
                    self._read(conn)
        return bool(ready)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return                 # out of descriptors: the sender falls back later
            _, uid, _ = fdpass.CREDENTIALS.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, fdpass.CREDENTIALS.size))
            if uid not in (0, os.getuid()):
                conn.close()           # another user's process: not ours to hear
                continue
            conn.setblocking(False)
            self.senders[conn.fileno()] = conn
            self.epoll.register(conn.fileno(), select.EPOLLIN)
            self._read(conn)           # what it sent before we accepted is already queued
            # (anything more wakes the next poll: epoll is level-triggered)

    def _read(self, conn: socket.socket) -> None:
        """Read one message (epoll is level-triggered: more wake the next poll)."""
        try:
            data, ancillary, flags, _ = conn.recvmsg(P.MAX_REQUEST, P.ANCILLARY_SPACE, _CLOEXEC)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary, flags = b"", [], 0
        fds, creds = fdpass.unpack(ancillary)
        uid = creds[1] if creds is not None else None
        if not data and not fds:
            self._forget_sender(conn)         # the sender went away
            return
        if flags & _TRUNCATED or (uid != _UID and uid != 0):
            fdpass.close_all(fds)
            self._forget_sender(conn)
            return
        delivery = P.decode_delivery(data, fds)
        if delivery is None:
            fdpass.close_all(fds)
            self._forget_sender(conn)
            return
        self._store(*delivery)

    def _store(self, token: int, fds: tuple[int, int]) -> None:
        if not is_delivered(token) or len(self.pending) >= MAX_PENDING:
            fdpass.close_all(fds)
            return
        if token in self.pending or token in self.ambiguous:
            # Two deliveries under one token: neither can be told apart from the other.
            self.ambiguous.add(token)
            fdpass.close_all(fds + self.pending.pop(token, ()))
            return
        self.pending[token] = fds

    def _forget_sender(self, conn: socket.socket) -> None:
        self.senders.pop(conn.fileno(), None)
        try:
            self.epoll.unregister(conn.fileno())
        except (OSError, ValueError):
            pass
        conn.close()

    def release(self) -> None:
        """Drop unclaimed deliveries and idle sender connections (the last WSACleanup)."""
        from wsemu.broker.client import notices
        with self.lock:
            while self._drain():
                pass
            for token, fds in self.pending.items():
                fdpass.close_all(fds)
                notices.post(P.DISCARDED, token, 0, 0)   # off the broker's books too
            self.pending.clear()
            self.ambiguous.clear()
            for conn in list(self.senders.values()):
                self._forget_sender(conn)

    def after_fork_in_child(self) -> None:
        # The inbox, its senders and what they delivered are the parent's.
        self.lock = threading.Lock()
        for conn in self.senders.values():
            conn.close()
        self.senders.clear()
        for fds in self.pending.values():
            fdpass.close_all(fds)
        self.pending.clear()
        self.ambiguous.clear()
        if self.epoll is not None:
            self.epoll.close()
            self.epoll = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None


# ======================================================================================
# Sending
# ======================================================================================
class Outbox:
    """Connections to other processes' inboxes, one per target, verified when made."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.targets: dict[int, socket.socket] = {}

    def deliver(self, pid: int, fds: tuple[int, int]) -> int | None:
        """Put a socket into process ``pid``'s inbox; its token, or None (use the broker)."""
        token = new_token()
        frame = P.encode_delivery(token)
        ancillary = fdpass.rights(fds)
        with self.lock:
            for attempt in (1, 2):
                conn = self.targets.pop(pid, None)
                if conn is None:
                    self._prune()
                    conn = _connect(pid)
                if conn is None:
                    return None
                try:
                    conn.sendmsg([frame], ancillary, _SEND_FLAGS)
                except (BlockingIOError, InterruptedError):
                    self._keep(pid, conn)       # its queue is full: this one goes via the broker
                    return None
                except OSError:
                    conn.close()                # the target is gone (or is another process now)
                    continue
                self._keep(pid, conn)
                return token
        return None

    def _prune(self) -> None:
        """Close connections to targets that have gone (their inbox hung up): done when a
        new target is reached, so the hand-off to a known one pays nothing for it."""
        if not self.targets:
            return
        poller = select.poll()
        by_fd = {}
        for pid, conn in self.targets.items():
            by_fd[conn.fileno()] = pid
            poller.register(conn.fileno(), select.POLLRDHUP)
        for fd, _ in poller.poll(0):
            self.targets.pop(by_fd[fd]).close()

    def _keep(self, pid: int, conn: socket.socket) -> None:
        self.targets[pid] = conn
        if len(self.targets) > MAX_TARGETS:
            oldest = next(iter(self.targets))
            self.targets.pop(oldest).close()

    def release(self) -> None:
        with self.lock:
            for conn in self.targets.values():
                conn.close()
            self.targets.clear()

    def after_fork_in_child(self) -> None:
        self.lock = threading.Lock()
        for conn in self.targets.values():
            conn.close()
        self.targets.clear()


def _connect(pid: int) -> socket.socket | None:
    """A connection to process ``pid``'s inbox, if it has one that really is its own."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        conn.connect(inbox_name(pid))
        owner_pid, owner_uid, _ = fdpass.CREDENTIALS.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                   fdpass.CREDENTIALS.size))
    except OSError:
        conn.close()
        return None
    # The listener must be that process's own, and ours to reach (root reaches anyone).
    if owner_pid != pid or (owner_uid != os.getuid() and os.getuid() != 0):
        conn.close()                   # a squatter on the name: never hand it a socket
        return None
    return conn


inbox = Inbox()
outbox = Outbox()
os.register_at_fork(after_in_child=inbox.after_fork_in_child)
os.register_at_fork(after_in_child=outbox.after_fork_in_child)
