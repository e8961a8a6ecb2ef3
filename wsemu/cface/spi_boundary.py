"""The SPI's calling convention at libwsemu's boundary, and the C layouts its calls share.

SPI functions (WSP*, WPU*, WSC*) report failure through their own ``LPINT lpErrno``, not the
thread's last error (that is ws2_32's business, one level up): ``spi_call`` registers such a
function, puts a WSAError's code in ``*lpErrno`` and returns the Windows failure value.
WSPStartup and WSCWriteProviderOrder return their error code instead (``code_call``). As in
``wsemu.cface``, an unexpected Python exception is WSAEINVAL, never a crash.
"""
from __future__ import annotations

import functools
import os
import struct
import traceback
import uuid
from typing import Callable

from wsemu import abi as W
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.cface import ffi
from wsemu.errors import WSAError

_ffi = ffi()
NULL = _ffi.NULL
FALSE = 0                          # a BOOL's failure value
INFO_SIZE = _ffi.sizeof("WSAPROTOCOL_INFOW")
SOCKADDR_MAX = _ffi.sizeof("struct WS_sockaddr_storage")
SMALL_MAX = 4096                   # most read of an option or ioctl input (all are a few bytes)
_BUFFERS_MAX = 65536               # most WSABUFs read (far above Linux's IOV_MAX of 1024)
_WIDE_MAX = 32768                  # longest WCHAR string read from a caller (a path, an address)


def _unexpected() -> None:
    """A wsemu bug reached the boundary: under WSEMU_STRICT (the tests) say where on stderr;
    the caller sees WSAEINVAL either way."""
    if os.environ.get("WSEMU_STRICT"):
        traceback.print_exc()


def spi_guard(func: Callable, failure: object) -> Callable:
    """``func`` as a C SPI function: its last argument is the caller's lpErrno, which gets a
    WSAError's code (an unexpected exception: WSAEINVAL) while ``failure`` is returned."""
    @functools.wraps(func)
    def call(*args):
        try:
            return func(*args)
        except WSAError as err:
            code = err.winerror
        except Exception:
            _unexpected()
            code = W.WSAEINVAL
        if args[-1] != NULL:
            args[-1][0] = code
        return failure
    return call


def spi_call(name: str, failure: object) -> Callable:
    """Bind ``func`` as libwsemu's ``name`` (``spi_guard``'s convention)."""
    def register(func: Callable) -> Callable:
        _ffi.def_extern(name=name, onerror=lambda *_: failure)(spi_guard(func, failure))
        return func
    return register


def code_call(name: str) -> Callable:
    """Bind ``func`` as libwsemu's ``name``, which returns 0 or the Windows error code."""
    def register(func: Callable) -> Callable:
        @functools.wraps(func)
        def call(*args):
            try:
                func(*args)
            except WSAError as err:
                return err.winerror
            except Exception:
                _unexpected()
                return W.WSAEINVAL
            return 0
        _ffi.def_extern(name=name, onerror=lambda *_: W.WSAEINVAL)(call)
        return func
    return register


# ---------------------------------------------------------------------------------------
# C layouts in and out (NULL where the argument is required: WSAEFAULT)
# ---------------------------------------------------------------------------------------
def required(pointer):
    if pointer == NULL:
        raise WSAError(W.WSAEFAULT)
    return pointer


def optional(pointer):
    """A C pointer argument as the Python SPI takes it: None for NULL."""
    return None if pointer == NULL else pointer


def name_in(name, namelen: int) -> bytes | None:
    """A SOCKADDR argument (None for NULL): at most a SOCKADDR_STORAGE is read, whatever the
    length says, so a wild length cannot make this read past the caller's structure."""
    if name == NULL:
        return None
    if namelen < 0:
        raise WSAError(W.WSAEFAULT)
    return bytes(_ffi.buffer(name, min(namelen, SOCKADDR_MAX)))


def bytes_in(pointer, length: int) -> bytes | None:
    """A small input buffer (option value, ioctl input; None for NULL), read up to SMALL_MAX
    bytes: the provider checks ``length`` itself, and a wild one must not read past the
    caller's buffer."""
    if pointer == NULL:
        return None
    if length < 0:
        raise WSAError(W.WSAEFAULT)
    return bytes(_ffi.buffer(pointer, min(length, SMALL_MAX)))


def info_in(pointer) -> WSAPROTOCOL_INFOW | None:
    return None if pointer == NULL else WSAPROTOCOL_INFOW.from_bytes(_ffi.buffer(pointer, INFO_SIZE))


def info_out(pointer, info: WSAPROTOCOL_INFOW, index: int = 0) -> None:
    _ffi.memmove(required(pointer) + index, bytes(info), INFO_SIZE)


def guid_in(pointer) -> uuid.UUID:
    return uuid.UUID(bytes_le=bytes(_ffi.buffer(required(pointer), 16)))


def wide_in(pointer) -> str:
    """A NUL-terminated WCHAR (UTF-16) string."""
    required(pointer)
    units = []
    for i in range(_WIDE_MAX):
        unit = pointer[i]
        if unit == 0:
            break
        units.append(unit)
    else:
        raise WSAError(W.WSAEINVAL)
    return struct.pack(f"<{len(units)}H", *units).decode("utf-16-le", "replace")


def wide_out(pointer, capacity: int, text: str) -> int:
    """Write ``text`` and its NUL into a WCHAR buffer of ``capacity`` characters → characters
    written (NUL included); a short or NULL buffer: WSAEFAULT."""
    raw = text.encode("utf-16-le") + b"\0\0"
    if pointer == NULL or capacity < len(raw) // 2:
        raise WSAError(W.WSAEFAULT)
    _ffi.memmove(pointer, raw, len(raw))
    return len(raw) // 2



def path_out(path: str, lpszProviderDllPath, lpProviderDllPathLen) -> int:
    """A provider path into the caller's WCHAR buffer (WSCGetProviderPath, WPUGetProviderPath)."""
    required(lpProviderDllPathLen)
    wide_out(lpszProviderDllPath, lpProviderDllPathLen[0], path)
    return 0

def buffers_in(lpBuffers, count: int) -> list | None:
    """A WSABUF array as the byte views the Python SPI takes (None for NULL); a NULL ``buf``
    with a length is WSAEFAULT."""
    if lpBuffers == NULL:
        return None
    if count > _BUFFERS_MAX:
        raise WSAError(W.WSAEFAULT)   # no array of the caller's is that long: a wild count
    views = []
    for i in range(count):
        buf = lpBuffers[i]
        if buf.len == 0:
            views.append(bytearray())
        elif buf.buf == NULL:
            raise WSAError(W.WSAEFAULT)
        else:
            views.append(_ffi.buffer(buf.buf, buf.len))
    return views


def handle_in(pointer) -> int:
    """A HANDLE (WSAEVENT, HWND) as the integer the Python side names it by."""
    return int(_ffi.cast("uintptr_t", pointer))


def handle_out(value: int):
    return _ffi.cast("void *", value)

