"""The calls of libwsemu (the C face, DESIGN.md §3.3) that run in its embedded Python.

libwsemu.so is a cffi embedding library (native/build_cface.py): each ``wsemu_*`` function
of a face header's EMBEDDED block is implemented in one of this package's modules, over
``wsemu.ws2``, and bound when the library's interpreter starts (``bind``). The conversion of
errors happens at this one boundary: a WSAError becomes the C thread's last error and the
function's Windows failure value (SOCKET_ERROR, INVALID_SOCKET); a NULL or short C buffer is
WSAEFAULT; nothing else escapes into C (an unexpected Python exception is WSAEINVAL, never a
crash).

Every module of this package is one area of the API; ``bind`` imports them all, and their
``@_call`` functions make up the embedded API.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Callable

from wsemu import abi as W
from wsemu import sockaddr
from wsemu.errors import WSAError
from wsemu.spi import cgate

SOCKET_ERROR = -1
INVALID_SOCKET = (1 << 64) - 1

_ffi = _lib = None


def bind(ffi, lib) -> None:
    """Called by libwsemu's init code with the library's own ffi and lib."""
    global _ffi, _lib
    _ffi, _lib = ffi, lib
    cgate.enable()                  # C's data path runs here: ws2's sockets get gates
    for area in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{area.name}")
    for name, (func, failure) in _CALLS.items():
        ffi.def_extern(name=name, onerror=_on_error(failure))(_guarded(func, failure))


def _guarded(func: Callable, failure: int) -> Callable:
    @functools.wraps(func)
    def call(*args):
        try:
            result = func(*args)
        except WSAError as err:
            _lib.wsemu_set_last_error(err.winerror)
            return failure
        _lib.wsemu_set_last_error(0)
        return result
    return call


def _on_error(failure: int) -> Callable:
    def onerror(exception, exc_value, traceback) -> int:
        _lib.wsemu_set_last_error(W.WSAEINVAL)      # a bug here must not take the program down
        return failure
    return onerror


_CALLS: dict[str, tuple[Callable, int]] = {}


def _call(failure: int = SOCKET_ERROR) -> Callable:
    def register(func: Callable) -> Callable:
        _CALLS["wsemu_" + func.__name__.strip("_")] = (func, failure)
        return func
    return register


# ---------------------------------------------------------------------------------------
# Marshalling
# ---------------------------------------------------------------------------------------
def ffi():
    """libwsemu's ffi (the areas' modules are imported by ``bind``, after it is set)."""
    return _ffi


def lib():
    return _lib


def _in(pointer, length: int) -> bytes:
    """A C input buffer; NULL with a non-zero length, or a negative length: WSAEFAULT."""
    if length < 0 or (length and pointer == _ffi.NULL):
        raise WSAError(W.WSAEFAULT)
    return bytes(_ffi.buffer(pointer, length)) if length else b""


def fd_set_in(fds) -> list[int] | None:
    """The sockets of a C fd_set (NULL: None): its fd_count first entries, within the
    structure's FD_SETSIZE (a wild count reads no further)."""
    if fds == _ffi.NULL:
        return None
    return list(fds.fd_array[0:min(fds.fd_count, W.FD_SETSIZE)])


def fd_set_out(fds, sockets) -> None:
    """Rewrite a C fd_set (not NULL) to hold ``sockets``, in order."""
    fds.fd_count = len(sockets)
    for i, s in enumerate(sockets):
        fds.fd_array[i] = s


def _name_out(name, namelen, family: int, address) -> None:
    """Write a socket address into the caller's buffer and length (too short: WSAEFAULT)."""
    raw = sockaddr.encode(family, address)
    if name == _ffi.NULL or namelen == _ffi.NULL or namelen[0] < len(raw):
        raise WSAError(W.WSAEFAULT)
    _ffi.memmove(name, raw, len(raw))
    namelen[0] = len(raw)
