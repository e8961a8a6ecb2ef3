"""What the C face's data path (native/src/wsemu_fast.c) may know of a base-provider socket.

libwsemu's send/recv family and select run in C on the common case and leave the rest to the
Python provider; this module keeps the C side's view in step with the Python state:

* a *slot* per SocketState: a word of WSEMU_SLOT_* bits derived from the state (``bits``),
  rewritten whenever a watched attribute of the state is set (SocketState.__setattr__ calls
  ``changed``) — so no code path that changes the state can forget to tell C;
* a *gate* per fd: the descriptor's kind, family and bound flag, and its state's slot. It is
  opened when ws2 tracks the socket for its own fast path, refreshed after every call C left
  to Python (the descriptor may have changed there), and closed before the fd is.

A shared socket's state lives in another class and its slot says SHARED for good: every
call on it goes to Python.

Gates exist only in a process where the C face runs (``enable``, called when libwsemu binds
its Python side): elsewhere nothing can read them, so ws2 keeps none.
"""
from __future__ import annotations

import os

from wsemu._native import ffi, lib

# SocketState attributes the bits depend on.
WATCHED = frozenset((
    "nonblocking", "shut_rd", "shut_wr", "sticky_error", "events", "connecting",
    "connect_failed", "ever_connected", "listening", "tail", "dgram_connected",
))

_CAP = 8                          # threads blocked in C per fd (wsemu_fast.c's GATE_TIDS)
_enabled = False                  # the C face runs in this process


def enable() -> None:
    """libwsemu is loaded: from now on ws2's sockets get gates (earlier ones stay Python's)."""
    global _enabled
    _enabled = True


def bits(state) -> int:
    """The WSEMU_SLOT_* word of a SocketState."""
    if state.shared:
        return lib.WSEMU_SLOT_SHARED
    word = lib.WSEMU_SLOT_NONBLOCK if state.nonblocking else 0
    if state.shut_rd:
        word |= lib.WSEMU_SLOT_SHUT_RD
    if state.shut_wr:
        word |= lib.WSEMU_SLOT_SHUT_WR
    if state.sticky_error:
        word |= lib.WSEMU_SLOT_STICKY
    if state.events is not None:
        word |= lib.WSEMU_SLOT_EVENTS
    if state.tail:
        word |= lib.WSEMU_SLOT_TAIL
    if state.connecting or state.connect_failed or state.deferred:
        word |= lib.WSEMU_SLOT_SPECIAL
    if state.listening:
        word |= lib.WSEMU_SLOT_LISTENING
    elif state.ever_connected or state.dgram_connected:
        word |= lib.WSEMU_SLOT_CONNECTED
    return word


def changed(state) -> None:
    """A watched attribute of ``state`` was set: rewrite its slot (if C has one)."""
    slot = state.cslot
    if slot >= 0:
        lib.wsemu_slot_set(slot, bits(state))


def release_slot(state) -> None:
    slot = state.cslot
    if slot >= 0:
        state.cslot = -1
        lib.wsemu_slot_free(slot)


def open_gate(desc) -> None:
    """Let C take calls on ``desc``'s fd (a base-provider socket ws2 tracks)."""
    if not _enabled:
        return
    state = desc.state
    if state.shared or desc.adopted or desc.closing:
        close_gate(desc.fd)
        return
    if state.cslot < 0:
        slot = lib.wsemu_slot_new(bits(state))
        if slot < 0:
            return
        from wsemu.spi.descriptor import GatedSocketState    # (descriptor imports this module)
        state.__class__ = GatedSocketState      # from now on its writes reach the slot
        state.cslot = slot
    else:
        changed(state)        # (the deferred list changes without a setattr)
    kind = lib.WSEMU_GATE_STREAM if desc.is_stream else lib.WSEMU_GATE_DATAGRAM
    lib.wsemu_gate_set(desc.fd, state.cslot, kind, desc.family, bool(desc.bound))


def close_gate(fd: int) -> list[int]:
    """C takes no new call on ``fd``; the threads blocked in C on it, to interrupt."""
    if not _enabled:
        return []
    tids = ffi.new("uint64_t[]", _CAP)
    n = lib.wsemu_gate_close(fd, tids, _CAP)
    return [int(tids[i]) for i in range(n)]


def blocked_in_c(fd: int) -> bool:
    return _enabled and lib.wsemu_gate_blocked(fd) > 0


def after_fork_in_child() -> None:
    lib.wsemu_fast_after_fork()


os.register_at_fork(after_in_child=after_fork_in_child)
