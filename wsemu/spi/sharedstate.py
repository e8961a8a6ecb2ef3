"""Windows socket state shared between processes: one memfd page per shared socket.

Windows keeps a socket's state on the socket object, so every descriptor in every process
sees the same SO_ERROR, stored timeouts, SO_EXCLUSIVEADDRUSE, shutdown state... (CONFORMANCE.md
§1.2; item 34). The kernel shares what it holds itself; the rest of wsemu's ``SocketState``
lives, once a socket is duplicated to another process, in a small memfd-backed structure
(``wsemu_shared_state`` in native/src/wsemu_native.h) that travels with the socket through the
broker and that every holder maps — as ReactOS's msafd moves SOCK_SHARED_INFO into a section
on first duplication. Reads stay plain memory reads; no message on the data path.

``SharedSocketState`` has the same attributes as ``SocketState``; the shared ones are
properties over the mapping (``SHARED_FIELDS``), the per-process ones stay ordinary slots.
"""
from __future__ import annotations

import mmap
import os
from typing import Callable

from wsemu import sockaddr
from wsemu._native import ffi, lib
from wsemu.spi.descriptor import SocketState

MAGIC = 0x57535331          # "WSS1": layout version of wsemu_shared_state
SIZE = mmap.PAGESIZE

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
PROCESS_FIELDS = ("inode", "refs", "deferred", "bind_entries", "events")


class SharedSocketState(SocketState):
    """A SocketState whose Windows fields live in a memfd page shared with other processes."""

    __slots__ = ("memfd", "_raw")

    def __init__(self, inode: int, memfd: int, local: SocketState | None = None) -> None:
        # No SocketState.__init__: the shared fields are already (or about to be) in the page.
        raw = lib.wsemu_state_map(memfd, SIZE, 0 if local is not None else MAGIC)
        if raw == ffi.NULL:
            raise ValueError("not a wsemu shared socket state")
        self.memfd = memfd
        # Unmapped when the last reference goes (close drops ours): a thread still reading a
        # field through its own reference never touches an unmapped page.
        self._raw = ffi.gc(raw, _unmap, size=SIZE)
        if local is None:
            self.inode, self.refs, self.deferred, self.bind_entries, self.events = inode, 0, [], [], None
        else:
            for name in PROCESS_FIELDS:
                object.__setattr__(self, name, getattr(local, name))
            self._raw.magic = MAGIC
            for name in SHARED_FIELDS:
                setattr(self, name, getattr(local, name))

    @classmethod
    def create(cls, local: SocketState) -> "SharedSocketState":
        """Move a process-local state into a new shared page (first duplication)."""
        memfd = os.memfd_create("wsemu-socket-state", os.MFD_CLOEXEC)
        try:
            os.ftruncate(memfd, SIZE)
            return cls(local.inode, memfd, local)
        except BaseException:
            os.close(memfd)
            raise

    @classmethod
    def attach(cls, inode: int, memfd: int, local: SocketState | None) -> "SharedSocketState":
        """Map a page received with a duplicated socket; the page's values win over a
        process-local state this process may already have for the same socket. A page that
        is not one (too small, unmappable, no magic) raises ValueError
        raises with ``memfd`` still open: it is the caller's to close."""
        state = cls(inode, memfd)       # (checks the size and the magic)
        if local is not None:
            for name in PROCESS_FIELDS:
                setattr(state, name, getattr(local, name))
        return state

    def close(self) -> None:
        self._raw = None
        os.close(self.memfd)


def _unmap(raw) -> None:
    lib.wsemu_state_unmap(raw, SIZE)


def _property(name: str, get: Callable, set_: Callable) -> property:
    return property(lambda self: get(self._raw), lambda self, value: set_(self._raw, value),
                    doc=f"{name}, in the socket's shared page")


for _name, (_get, _set) in SHARED_FIELDS.items():
    setattr(SharedSocketState, _name, _property(_name, _get, _set))
del _name, _get, _set
