"""Windows socket state shared between processes: one arena slot per shared socket.

Windows keeps a socket's state on the socket object, so every descriptor in every process
sees the same SO_ERROR, stored timeouts, SO_EXCLUSIVEADDRUSE, shutdown state... (CONFORMANCE.md
§1.2; item 34). The kernel shares what it holds itself; the rest of wsemu's ``SocketState``
lives, once a socket is duplicated to another process, in a slot of an *arena*: a memfd of
WSEMU_ARENA_SLOTS fixed-size slots (``wsemu_shared_state`` in native/src/wsemu_native.h) made
by the process that first shares one of its sockets. The arena travels with the socket, and a
process maps each arena once, however many sockets live in it — so a hand-off passes no
descriptor for the state and maps nothing once the arena is known (ReactOS's msafd moves
SOCK_SHARED_INFO into a section per socket instead; one per process is what keeps the claim
cheap). Reads stay plain memory reads; no message on the data path.

A slot counts its *holders*: processes that hold a descriptor of the socket, plus deliveries
in flight to one. The last to let go frees the slot for the next socket. Its *ledger* says
who they are — a pid per holding process, a (token, target pid) per delivery in flight — so
the broker learns everything `wsemu broker status` lists by reading arenas (each process
registers the arenas it makes, once), and gives back what a process that died without
letting go held; no process reports a hand-off to anyone. Holds beyond the ledger's room are
counted but not listed; those of a process that crashes stay taken until the arena's last
mapper exits.

``SharedSocketState`` has the same attributes as ``SocketState``; the shared ones are
properties over the slot (``SHARED_FIELDS``), the per-process ones stay ordinary slots.
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import Callable

from wsemu import sockaddr
from wsemu._native import ffi, lib
from wsemu.broker.client import client, on_connect
from wsemu.broker.protocol import Register
from wsemu.spi.descriptor import SocketState

ARENA_SIZE = lib.WSEMU_SLOT_SIZE * lib.WSEMU_ARENA_SLOTS
this_pid = [os.getpid()]     # how ledgers and event records name this process (a fork renames it)

_UNSET = -1


def _flag(name: str) -> tuple[str, Callable, Callable]:
    return name, lambda raw: bool(getattr(raw, name)), lambda raw, v: setattr(raw, name, 1 if v else 0)


def _plain(name: str) -> tuple[str, Callable, Callable]:
    return name, lambda raw: getattr(raw, name), lambda raw, v: setattr(raw, name, v & 0xFFFFFFFF)


def _optional(name: str) -> tuple[str, Callable, Callable]:
    def get(raw):
        value = getattr(raw, name)
        return None if value == _UNSET else value
    return name, get, lambda raw, v: setattr(raw, name, _UNSET if v is None else v)


def _get_linger(raw):
    return None if raw.linger_onoff == _UNSET else (raw.linger_onoff, raw.linger_secs)


def _set_linger(raw, value) -> None:
    raw.linger_onoff, raw.linger_secs = (_UNSET, 0) if value is None else value


def _get_connected_at(raw):
    return None if raw.connected_at < 0 else raw.connected_at


def _set_connected_at(raw, value) -> None:
    raw.connected_at = -1.0 if value is None else value


def _get_target(raw):
    if not raw.connect_target_len:
        return None
    return sockaddr.decode(bytes(ffi.buffer(raw.connect_target, raw.connect_target_len)))[1]


def _set_target(raw, value) -> None:
    if value is None:
        raw.connect_target_len = 0
        return
    family = sockaddr.AF_INET6 if len(value) == 4 else sockaddr.AF_INET
    encoded = sockaddr.encode(family, value)
    ffi.memmove(raw.connect_target, encoded, len(encoded))
    raw.connect_target_len = len(encoded)


# attribute -> (read from the mapping, write to the mapping)
SHARED_FIELDS: dict[str, tuple[Callable, Callable]] = {
    name: (get, set_) for name, get, set_ in (
        _plain("so_error"), _plain("rcvtimeo_ms"), _plain("sndtimeo_ms"), _plain("sticky_error"),
        _optional("dontroute"), _optional("sndbuf"), _optional("rcvbuf"),
        ("linger_raw", _get_linger, _set_linger), ("connected_at", _get_connected_at, _set_connected_at),
        ("connect_target", _get_target, _set_target),
        _flag("exclusive"), _flag("reuseaddr"), _flag("debug"), _flag("shut_rd"), _flag("shut_wr"),
        _flag("connecting"), _flag("connect_failed"), _flag("ever_connected"), _flag("listening"),
        _flag("nonblocking"),
    )
}
PROCESS_FIELDS = ("inode", "refs", "deferred", "bind_entries", "events", "accepted")


class Arena:
    """One mapped arena: its memfd (kept open, to pass on with its sockets) and identity."""

    __slots__ = ("memfd", "inode", "base", "__weakref__")

    def __init__(self, memfd: int, base, inode: int) -> None:
        self.memfd, self.inode = memfd, inode
        # Unmapped (and its descriptor closed) with the last reference: a state, a pending
        # delivery, an inbox connection that delivered it.
        self.base = ffi.gc(base, lambda base, fd=memfd: (lib.wsemu_arena_unmap(base), os.close(fd)))

    def slot(self, index: int):
        """The state in slot ``index`` (a cdata pointer), or None if it is not one in use."""
        state = lib.wsemu_arena_slot(self.base, index)
        return None if state == ffi.NULL else state


class Arenas:
    """The arenas this process maps, by identity, and the one it allocates new slots from."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mapped: weakref.WeakValueDictionary[int, Arena] = weakref.WeakValueDictionary()
        self.own: Arena | None = None
        self.hint = 0
        # the arenas this process made, which it registers with every broker it connects to
        self.made: weakref.WeakValueDictionary[int, Arena] = weakref.WeakValueDictionary()

    def adopt(self, memfd: int) -> Arena | None:
        """The arena behind a received ``memfd`` (which this call owns from now on: kept, or
        closed when the arena is mapped already); None if it is not an arena."""
        inode = ffi.new("uint64_t *")
        base = lib.wsemu_arena_map(memfd, inode)
        if base == ffi.NULL:
            os.close(memfd)
            return None
        with self.lock:
            known = self.mapped.get(inode[0])
            if known is not None:
                lib.wsemu_arena_unmap(base)
                os.close(memfd)
                return known
            arena = self.mapped[inode[0]] = Arena(memfd, base, inode[0])
            return arena

    def allocate(self) -> tuple[Arena, int]:
        """A free slot (holders = 1: this process, in the ledger) in this process's arena, a
        new arena when it is full; the arena is registered with the broker if no broker
        reads it (a new one, or one the broker let go of while none of its slots was used)."""
        with self.lock:
            for _ in (1, 2):
                if self.own is not None:
                    index = lib.wsemu_slot_alloc(self.own.base, self.hint, this_pid[0])
                    if index >= 0:
                        self.hint = index
                        arena = self.own
                        break
                self.own = self._new_arena()
                self.hint = 0
            else:
                raise MemoryError("no free shared-state slot")
        if not lib.wsemu_arena_registered(arena.base):
            client().tell(Register(fds=(arena.memfd,)))
        return arena, index

    def _new_arena(self) -> Arena:
        memfd = os.memfd_create("wsemu-socket-states", os.MFD_CLOEXEC)
        try:
            os.ftruncate(memfd, ARENA_SIZE)       # sparse: pages appear as slots are used
            inode = ffi.new("uint64_t *")
            base = lib.wsemu_arena_map(memfd, inode)
            if base == ffi.NULL:
                raise OSError("cannot map a shared-state arena")
        except BaseException:
            os.close(memfd)
            raise
        arena = self.mapped[inode[0]] = self.made[inode[0]] = Arena(memfd, base, inode[0])
        return arena

    def register_made(self, send: Callable[[Register], None]) -> None:
        """Register the arenas this process made with a broker it has just connected to."""
        for arena in list(self.made.values()):
            send(Register(fds=(arena.memfd,)))

    def release(self) -> None:
        """Stop allocating from this process's arena (the last WSACleanup): it is unmapped
        and closed when no socket uses it any more."""
        with self.lock:
            self.own = None

    def after_fork_in_child(self) -> None:
        # The mappings are inherited (and stay valid); allocating in the parent's arena is
        # safe too (slots are taken atomically). Registering its arenas is the parent's job.
        this_pid[0] = os.getpid()
        self.lock = threading.Lock()
        self.made = weakref.WeakValueDictionary()


arenas = Arenas()
os.register_at_fork(after_in_child=arenas.after_fork_in_child)
on_connect.append(arenas.register_made)


class SharedSocketState(SocketState):
    """A SocketState whose Windows fields live in an arena slot shared with other processes."""

    __slots__ = ("arena", "slot", "_raw", "_events")
    shared = True

    @property
    def events(self):
        """This process's registration of the socket (wsemu.events.registry), or — when
        another process holds the socket's one registration — a ``RemoteRegistration`` for
        the record in the slot; None when nobody has one."""
        owner = self._raw.events.owner
        if owner == this_pid[0] or not owner:
            return self._events if owner else None   # (no owner: whatever was ours is over)
        from wsemu.events.registry import RemoteRegistration
        return RemoteRegistration(self._raw)

    @events.setter
    def events(self, value) -> None:
        self._events = value

    def __init__(self, inode: int, arena: Arena, slot: int, raw, local: SocketState | None = None) -> None:
        # No SocketState.__init__: the shared fields are already (or about to be) in the slot.
        self.arena, self.slot, self._raw = arena, slot, raw
        if local is None:
            self.inode, self.refs, self.deferred, self.bind_entries, self.events = inode, 0, [], [], None
            self.accepted = False
        else:
            for name in PROCESS_FIELDS:
                object.__setattr__(self, name, getattr(local, name))

    @classmethod
    def create(cls, local: SocketState) -> "SharedSocketState":
        """Move a process-local state into a new slot (first duplication)."""
        arena, slot = arenas.allocate()
        raw = arena.slot(slot)
        raw.inode = local.inode
        state = cls(local.inode, arena, slot, raw, local)
        for name in SHARED_FIELDS:
            setattr(state, name, getattr(local, name))
        if state._events is not None:
            from wsemu.events import registry     # (the events layer imports this one)
            registry.shared(state)
        return state

    @classmethod
    def attach(cls, inode: int, arena: Arena, slot: int, token: int,
               local: SocketState | None) -> "SharedSocketState":
        """The state of a socket claimed under ``token``, in the slot its delivery named: this
        process joins its holders and the delivery's hold is given back. The slot's values
        win over a process-local state this process may already have for the same socket.
        ValueError when the slot is not one in use for this socket."""
        raw = arena.slot(slot)
        if raw is None or raw.inode != inode:
            raise ValueError("not a wsemu shared socket state")
        state = cls(inode, arena, slot, raw, local)
        state.join()
        lib.wsemu_slot_settle(raw, token)
        return state

    def hold(self) -> None:
        """One more hold, for a delivery about to leave (listed by wsemu_slot_send, or held by
        the broker)."""
        lib.wsemu_slot_hold(self._raw, 1)

    def unhold(self) -> None:
        """Give back a hold taken by ``hold`` for a delivery that never left."""
        lib.wsemu_slot_hold(self._raw, -1)

    def list_delivery(self, token: int, target_pid: int) -> bool:
        """List the delivery (under ``token``, to ``target_pid``) that the last ``hold`` was
        taken for; False when the ledger has no room (it is counted, not listed)."""
        return bool(lib.wsemu_slot_send(self._raw, token, target_pid, this_pid[0]))

    def unlist_delivery(self, token: int) -> bool:
        """Take back a listed delivery that did not leave: True if its hold is still ours,
        False if the broker gave it back meanwhile (its target died)."""
        return bool(lib.wsemu_slot_unsend(self._raw, token))

    def join(self, pid: int | None = None) -> None:
        """This process holds the socket from now on (a claim; a fork, which names the child
        itself: its fork hook may run before this module's has renamed it)."""
        lib.wsemu_slot_join(self._raw, this_pid[0] if pid is None else pid)

    def close(self) -> None:
        """This process lets go of the slot (its last descriptor of the socket is gone)."""
        lib.wsemu_slot_leave(self._raw, this_pid[0])


def settle_delivery(arena: Arena, slot: int, token: int) -> None:
    """A delivery's hold is given back: claimed by a process that holds the socket already
    (or joined it first), or never to be claimed."""
    raw = arena.slot(slot)
    if raw is not None:
        lib.wsemu_slot_settle(raw, token)


def _property(name: str, get: Callable, set_: Callable) -> property:
    return property(lambda self: get(self._raw), lambda self, value: set_(self._raw, value),
                    doc=f"{name}, in the socket's shared page")


for _name, (_get, _set) in SHARED_FIELDS.items():
    setattr(SharedSocketState, _name, _property(_name, _get, _set))
del _name, _get, _set
