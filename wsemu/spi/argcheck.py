"""Argument checks for entry points (DESIGN.md §5): a value of the wrong kind is the caller's
error, reported as the WSA code Windows gives for it — never a Python exception.

The C face of an entry point has typed parameters; the Python face takes any object, so each
check answers "could a C caller have passed this?" and, if not, which error the bad pointer or
value would have produced there:

* a SOCKET that is not an integer          → WSAENOTSOCK
* a length or buffer that is not one       → WSAEFAULT (a bad pointer or size)
* a flags word that is not an integer      → WSAEOPNOTSUPP (as unknown flag bits)
* any other integer parameter that is not  → WSAEINVAL (or the code the caller names)

``bool`` is not accepted where an integer is meant (``True`` is not a SOCKET or a length).
Buffers must be bytes-like, C-contiguous and not released; they are returned as a 1-D view of
unsigned bytes, so ``len()`` counts bytes whatever the caller's item format.
"""
from __future__ import annotations

from wsemu import abi as W
from wsemu.errors import WSAError

INT32_MIN, INT32_MAX = -0x80000000, 0x7FFFFFFF


def is_int(value: object) -> bool:
    """An integer a C caller could have passed (any int but bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def socket(s: object) -> int:
    """A SOCKET: an integer, else WSAENOTSOCK."""
    if not is_int(s):
        raise WSAError(W.WSAENOTSOCK)
    return int(s)


def integer(value: object, code: int = W.WSAEINVAL) -> int:
    if not is_int(value):
        raise WSAError(code)
    return int(value)


def int32(value: object, code: int = W.WSAEINVAL) -> int:
    """A C ``int`` parameter: an integer in the 32-bit signed range, else ``code``."""
    value = integer(value, code)
    if not INT32_MIN <= value <= INT32_MAX:
        raise WSAError(code)
    return value


def length(value: object, code: int = W.WSAEFAULT) -> int | None:
    """A length (or a pointer to one): None (NULL / "as large as needed") or an integer."""
    if value is None:
        return None
    return integer(value, code)


def flags(value: object) -> int:
    return integer(value, W.WSAEOPNOTSUPP)


def buffer(value: object, writable: bool = False) -> memoryview:
    """A caller's buffer as a 1-D unsigned-byte view; WSAEFAULT if it is not a usable one."""
    try:
        view = memoryview(value)
    except (TypeError, ValueError):         # not bytes-like, or a released memoryview
        raise WSAError(W.WSAEFAULT) from None
    if not view.c_contiguous or (writable and view.readonly):
        raise WSAError(W.WSAEFAULT)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def optional_buffer(value: object, writable: bool = False) -> memoryview | None:
    return None if value is None else buffer(value, writable)


def optional_callable(value: object) -> object:
    """A function pointer: None or something callable, else WSAEFAULT."""
    if value is not None and not callable(value):
        raise WSAError(W.WSAEFAULT)
    return value


def protocol_info(value: object, optional: bool = True) -> W.WSAPROTOCOL_INFOW | None:
    """A WSAPROTOCOL_INFOW (or its exact 628 bytes); None if ``optional``; else WSAEFAULT."""
    if value is None and optional:
        return None
    if isinstance(value, W.WSAPROTOCOL_INFOW):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = buffer(value)
        if len(raw) == W.WSAPROTOCOL_INFOW_SIZE:
            return W.WSAPROTOCOL_INFOW.from_bytes(raw)
    raise WSAError(W.WSAEFAULT)
