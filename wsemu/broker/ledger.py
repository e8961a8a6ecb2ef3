"""The broker's view of shared-state arenas: who holds which shared socket, what is in flight.

Processes never report a hand-off to the broker. Each slot of an arena (wsemu.spi.sharedstate)
carries a *ledger* — the pids of the processes holding the socket and the deliveries in
flight to target processes — kept with atomic operations by the processes themselves; each
entry stands for one of the slot's holds. The broker maps the arenas it is given (a Register
from the process that made one, or the arena a deposit carries) and reads them: for
`wsemu broker status`, and to give back what a process that exited without letting go held
(``forget``), which frees slots that would otherwise stay taken. Reading races with the
processes writing, as any snapshot does. The broker writes only entries for holds that are
its own to hand over or give back: a claimed deposit in flight (``list_delivery``), a dead
process's (``forget``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from wsemu._native import ffi, lib

BUSY = lib.WSEMU_LEDGER_BUSY


@dataclass(frozen=True)
class Delivery:
    """A socket delivered into a target's inbox, not claimed yet."""
    token: int
    target_pid: int
    source_pid: int
    age_s: float


@dataclass(frozen=True)
class SlotView:
    """What one slot in use said when it was read."""
    slot: int
    inode: int                    # the shared socket's
    holds: int                    # all of them, listed or not
    holders: list[int]            # the pids listed as holding it
    deliveries: list[Delivery]    # listed as in flight

    @property
    def pids(self) -> set[int]:
        """The processes whose exit must give something of this slot back (a pid <= 0 names
        none: such an entry is garbage, and stays)."""
        return {*self.holders, *(d.target_pid for d in self.deliveries if d.target_pid > 0)}


class LedgerArena:
    """One arena, mapped by the broker, which marks it as read (a process that takes a slot in
    an arena no broker reads registers it again)."""

    def __init__(self, memfd: int, base, inode: int, uid: int) -> None:
        self.memfd, self.base, self.inode, self.uid = memfd, base, inode, uid

    @classmethod
    def map(cls, memfd: int, uid: int) -> "LedgerArena | None":
        """The arena behind ``memfd`` (owned by this call: kept, or closed); None if it is
        not one."""
        inode = ffi.new("uint64_t *")
        base = lib.wsemu_arena_map(memfd, inode)
        if base == ffi.NULL:
            os.close(memfd)
            return None
        lib.wsemu_arena_set_registered(base)
        return cls(memfd, base, inode[0], uid)

    def let_go(self) -> bool:
        """Stop reading the arena if none of its slots is in use (True: it is closed)."""
        if not lib.wsemu_arena_unregister(self.base):
            return False
        self.close()
        return True

    def close(self) -> None:
        lib.wsemu_arena_unmap(self.base)
        os.close(self.memfd)

    # -- reading -------------------------------------------------------------------------
    def read(self, now_ns: int | None = None) -> list[SlotView]:
        """The slots in use, as they are now."""
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        views = []
        slot = lib.wsemu_arena_next(self.base, 0)
        while slot >= 0:
            state = lib.wsemu_arena_slot(self.base, slot)
            if state != ffi.NULL:
                views.append(SlotView(
                    slot, state.inode, state.holders, [pid for pid in state.holder_pids if pid > 0],
                    [Delivery(entry.token, entry.target_pid, entry.source_pid,
                              max(0.0, (now_ns - entry.sent_ns) / 1e9))
                     for entry in state.deliveries if entry.token > BUSY]))
            slot = lib.wsemu_arena_next(self.base, slot + 1)
        return views

    # -- writing -------------------------------------------------------------------------
    def list_delivery(self, slot: int, token: int, target_pid: int, source_pid: int) -> bool:
        """List a deposit's hold as in flight to its claimer (who clears the entry when it
        takes the socket over, or whose exit gives the hold back); False: not listed."""
        state = lib.wsemu_arena_slot(self.base, slot)
        return state != ffi.NULL and bool(lib.wsemu_slot_send(state, token, target_pid, source_pid))

    # -- giving back ---------------------------------------------------------------------
    def forget(self, pid: int) -> int:
        """Give back the holds of process ``pid``, which has exited: as its holder, and the
        deliveries in flight to it (the kernel closed them with its inbox)."""
        return lib.wsemu_arena_forget_pid(self.base, pid)
