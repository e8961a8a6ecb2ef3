"""WSAPROTOCOL_INFOW/A between C buffers and wsemu.ws2 (which takes the W structure).

The A structure is the W one with a CHAR[256] szProtocol instead of WCHAR[256]: every field
before szProtocol has the same offset in both, so A input becomes W bytes by copying that
prefix and widening the name, and W output becomes A bytes with ``to_ansi_bytes``.
"""
from __future__ import annotations

from wsemu import abi as W
from wsemu.cface import ffi
from wsemu.errors import WSAError

_ffi = ffi()
_NAME_AT = _ffi.offsetof("WSAPROTOCOL_INFOW", "szProtocol")
assert _NAME_AT == _ffi.offsetof("WSAPROTOCOL_INFOA", "szProtocol")


def w_in(info) -> bytes | None:
    """The caller's WSAPROTOCOL_INFOW (NULL: None)."""
    return None if info == _ffi.NULL else bytes(_ffi.buffer(info))


def a_in(info) -> bytes | None:
    """The caller's WSAPROTOCOL_INFOA as the W structure's bytes (NULL: None)."""
    if info == _ffi.NULL:
        return None
    name = _ffi.string(info.szProtocol, W.WSAPROTOCOL_LEN).decode("latin-1")
    return (bytes(_ffi.buffer(info, _NAME_AT))
            + name.encode("utf-16-le").ljust(W.WSAPROTOCOL_INFOW_SIZE - _NAME_AT, b"\0"))


def write(out, info: W.WSAPROTOCOL_INFOW, ansi: bool) -> None:
    """Fill the caller's structure (A or W) with ``info``; NULL: WSAEFAULT."""
    if out == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    raw = info.to_ansi_bytes() if ansi else bytes(info)
    _ffi.memmove(out, raw, len(raw))


def size(ansi: bool) -> int:
    return W.WSAPROTOCOL_INFOA_SIZE if ansi else W.WSAPROTOCOL_INFOW_SIZE
