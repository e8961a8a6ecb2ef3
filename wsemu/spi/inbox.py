"""Direct delivery of duplicated sockets into their target process: the fast path.

Every process that uses wsemu has an *inbox*: a listening AF_UNIX SOCK_SEQPACKET socket in
the abstract namespace, named after its uid and pid. WSPDuplicateSocket sends the socket
straight into the target's inbox, with the arena slot of its shared state (the arena's memfd
goes along the first time a connection names that arena; wsemu.spi.sharedstate), over a
connection it keeps per target and verified once with SO_PEERCRED (the listener must belong
to the target pid and to this user); the kernel holds them in flight until the target's
WSPSocket claims them, and frees them when the target exits (its inbox closes with it) — Windows' "a duplicated handle lives
in the target process until it is used or the process ends", enforced by the kernel. Neither
side waits for anyone (through the broker, the target pays a round trip to claim).

The broker stays the path when the target has no inbox (it never started wsemu), when its
inbox is not reachable from here (another network or pid namespace), or when it is full.
It is told nothing per delivery: each one is listed in its socket's arena slot (the ledger
of wsemu.spi.sharedstate) until it is claimed, and the broker reads the ledgers for
`wsemu broker status`. Abstract names are per network namespace and free for anyone to bind, so nothing is
trusted by name: the sender checks the listener's credentials, the inbox checks each
sender's (same user, or root), and descriptors from anyone else are closed unread.

Tokens say where to look: 11… a self-duplicate (wsemu.spi.sharing), 10… a delivery into
this inbox, 0… a deposit held by the broker. Inbox tokens are random; should two pending
deliveries ever carry the same one, both are refused rather than risk handing out the wrong
socket.
"""
from __future__ import annotations

import errno
import os
import random as _random
import select
import socket
import threading

from wsemu._native import ffi, lib
from wsemu.broker import fdpass
from wsemu.broker import protocol as P
from wsemu.spi.sharedstate import Arena, SharedSocketState, arenas, settle_delivery

DELIVERED_BIT = 0x80000000
SELF_BIT = 0x40000000
MAX_PENDING = 4096           # deliveries an inbox holds (the kernel bounds the queue too)
MAX_PID = 0x3FFFFFFF         # Linux pids stay below 2**30 (a ledger entry holds an int32)
MAX_TARGETS = 64             # outgoing connections kept (least recently used first out)
_QUEUE_FULL = (-errno.EAGAIN, -errno.EINTR)     # wsemu_inbox_send's "try the broker"
_UID = os.getuid()
_BATCH = 64                  # records per wsemu_inbox_drain call
# The C reader decodes Delivery frames itself: it must agree with the protocol module.
assert (P.MAGIC, P.VERSION, P.Delivery.TYPE, P.DELIVERY_SIZE) == (
    lib.WSEMU_WIRE_MAGIC, lib.WSEMU_WIRE_VERSION, lib.WSEMU_WIRE_DELIVERY, lib.WSEMU_WIRE_DELIVERY_SIZE)


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
        # sender connection fd -> the arenas it delivered (by identity), for later deliveries
        # that name them without passing them again
        self.senders: dict[int, dict[int, Arena]] = {}
        self.pending: dict[int, tuple[int, Arena, int]] = {}
        self.ambiguous: set[int] = set()
        self._records = ffi.new("wsemu_inbox_record[]", _BATCH)

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

    def take(self, token: int) -> tuple[int, Arena, int] | None:
        """The (socket fd, arena, slot) delivered under ``token``, or None."""
        with self.lock:
            # Everything already delivered is read first: a second delivery under the same
            # token, waiting behind the first, must make both ambiguous before either goes.
            self._drain()
            if token in self.ambiguous:
                return None
            return self.pending.pop(token, None)

    def _drain(self) -> None:
        """Accept new senders and read everything they sent (lock held). The reading is C
        (wsemu_inbox_drain: credentials, frame and descriptors checked there); what to make
        of each delivery is decided here."""
        if self.epoll is None:
            return
        records = self._records
        while True:
            count = lib.wsemu_inbox_drain(self.epoll.fileno(), self.listener.fileno(), _UID, records, _BATCH)
            for i in range(count):
                record = records[i]
                kind = record.kind
                if kind == lib.WSEMU_INBOX_DELIVERY:
                    self._deliver(record)
                elif kind == lib.WSEMU_INBOX_ACCEPTED:
                    self.senders[record.conn] = {}
                else:
                    self.senders.pop(record.conn, None)   # (closed by the C side)
            if count < _BATCH:
                return

    def _deliver(self, record) -> None:
        fd, conn, inode = record.fd, record.conn, record.arena
        known = self.senders.get(conn)
        if known is None:
            known = self.senders[conn] = {}
        if record.arena_fd >= 0:
            arena = arenas.adopt(record.arena_fd)
            if arena is None or arena.inode != inode:
                os.close(fd)                  # not an arena, or not the one the frame names
                return
            known[inode] = arena
        else:
            arena = known.get(inode)
            if arena is None:
                os.close(fd)                  # names an arena this sender never passed
                return
        self._store(record.token, (fd, arena, record.slot))

    def _store(self, token: int, delivery: tuple[int, Arena, int]) -> None:
        if not is_delivered(token) or len(self.pending) >= MAX_PENDING:
            _discard(token, delivery)
            return
        if token in self.pending or token in self.ambiguous:
            # Two deliveries under one token: neither can be told apart from the other.
            self.ambiguous.add(token)
            _discard(token, delivery)
            earlier = self.pending.pop(token, None)
            if earlier is not None:
                _discard(token, earlier)
            return
        self.pending[token] = delivery

    def release(self) -> None:
        """Drop unclaimed deliveries and idle sender connections (the last WSACleanup)."""
        with self.lock:
            self._drain()
            for token, delivery in self.pending.items():
                _discard(token, delivery)
            self.pending.clear()
            self.ambiguous.clear()
            self._close_senders()

    def _close_senders(self) -> None:
        for conn in self.senders:
            try:
                self.epoll.unregister(conn)
            except (OSError, ValueError):
                pass
            os.close(conn)
        self.senders.clear()

    def after_fork_in_child(self) -> None:
        # The inbox, its senders and what they delivered are the parent's (so are the holds
        # the deliveries carry: only the descriptors are closed here).
        self.lock = threading.Lock()
        for conn in self.senders:
            os.close(conn)
        self.senders.clear()
        for fd, _, _ in self.pending.values():
            os.close(fd)
        self.pending.clear()
        self.ambiguous.clear()
        if self.epoll is not None:
            self.epoll.close()
            self.epoll = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None


def _discard(token: int, delivery: tuple[int, Arena, int]) -> None:
    """An unclaimed delivery goes: its socket descriptor and the slot hold it carried."""
    fd, arena, slot = delivery
    os.close(fd)
    settle_delivery(arena, slot, token)


# ======================================================================================
# Sending
# ======================================================================================
class Outbox:
    """Connections to other processes' inboxes, one per target, verified when made, each with
    the arenas already passed over it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.targets: dict[int, tuple[socket.socket, set[int]]] = {}

    def deliver(self, pid: int, fd: int, state: SharedSocketState) -> int | None:
        """Put socket ``fd`` (its shared ``state`` holding one hold for the delivery) into
        process ``pid``'s inbox; its token, or None (use the broker: the hold is the
        deposit's then)."""
        if not 0 < pid <= MAX_PID:
            return None                  # no process can have it: the broker path refuses it
        token = new_token()
        arena = state.arena
        # Listed before it leaves: once sent, the target may claim it at once.
        listed = state.list_delivery(token, pid)
        if self._send(pid, fd, arena, token, state.slot):
            return token
        if listed and not state.unlist_delivery(token):
            state.hold()     # the broker gave the hold back meanwhile (the target died): anew
        return None

    def _send(self, pid: int, fd: int, arena: Arena, token: int, slot: int) -> bool:
        with self.lock:
            for attempt in (1, 2):
                target = self.targets.pop(pid, None)
                if target is None:
                    self._prune()
                    conn = _connect(pid)
                    if conn is None:
                        return False
                    target = (conn, set())
                conn, passed = target
                # The arena goes along the first time this connection names it (the frame:
                # P.encode_delivery's, built in C with the send).
                error = lib.wsemu_inbox_send(conn.fileno(), fd, -1 if arena.inode in passed else arena.memfd,
                                             token, slot, arena.inode)
                if error in _QUEUE_FULL:
                    self._keep(pid, target)     # its queue is full: this one goes via the broker
                    return False
                if error:
                    conn.close()                # the target is gone (or is another process now)
                    continue
                passed.add(arena.inode)
                self._keep(pid, target)
                return True
        return False

    def _prune(self) -> None:
        """Close connections to targets that have gone (their inbox hung up): done when a
        new target is reached, so the hand-off to a known one pays nothing for it."""
        if not self.targets:
            return
        poller = select.poll()
        by_fd = {}
        for pid, (conn, _) in self.targets.items():
            by_fd[conn.fileno()] = pid
            poller.register(conn.fileno(), select.POLLRDHUP)
        for fd, _ in poller.poll(0):
            self.targets.pop(by_fd[fd])[0].close()

    def _keep(self, pid: int, target: tuple[socket.socket, set[int]]) -> None:
        self.targets[pid] = target
        if len(self.targets) > MAX_TARGETS:
            oldest = next(iter(self.targets))
            self.targets.pop(oldest)[0].close()

    def release(self) -> None:
        with self.lock:
            for conn, _ in self.targets.values():
                conn.close()
            self.targets.clear()

    def after_fork_in_child(self) -> None:
        self.lock = threading.Lock()
        for conn, _ in self.targets.values():
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
