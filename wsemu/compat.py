"""``socket.share`` / ``socket.fromshare`` for Python programs on Linux (DESIGN.md §3.1, §3.5).

On Windows, CPython's ``sock.share(pid)`` is ``WSADuplicateSocketW(sock, pid, &info)`` and
returns the raw 628-byte WSAPROTOCOL_INFOW — no header, version or length prefix — and
``socket.fromshare(data)`` is ``socket(0, 0, 0, data)``, which checks the length, calls
``WSASocketW(FROM_PROTOCOL_INFO ×3, &info, 0, WSA_FLAG_OVERLAPPED)``, makes the handle
non-inheritable and takes family, type and proto from the structure. Linux CPython has neither
(they are compiled only ``#if defined(MS_WINDOWS)``), so Windows-targeted programs that hand a
socket to another process (glance, px, uvicorn's ``fromshare(sock.share(os.getpid()))``) take
their fallback path or fail. This module gives them the Windows behaviour over wsemu's real
duplication: the bytes carry a single-use token that only the target process can redeem
(DESIGN.md §3.4), and the socket arrives as a real kernel fd.

    from wsemu import compat
    compat.install()                  # socket.socket.share and socket.fromshare, if missing
    data = sock.share(child_pid)      # 628 bytes, to send to the child any way you like
    sock = socket.fromshare(data)     # in the child

``wsemu run -- python prog.py`` calls ``install()`` for every Python process it starts, so
such programs need no change at all.

What is kept from Windows, and what is Linux:

* ``share`` never closes, takes over or changes the caller's socket: ws2 adopts its fd only
  for the duplication and forgets it right after (the fd stays the caller's).
* ``fromshare`` returns a plain ``socket.socket`` that owns the fd; wsemu keeps no record of
  it. Its family/type/proto are the Linux values of the structure's (AF_INET6 is 23 in the
  bytes and 10 in the object). Like CPython's, the Python-level timeout is not transferred:
  it is ``socket.getdefaulttimeout()`` (normally None, i.e. blocking). The kernel's blocking
  mode is the socket's own, shared with every other descriptor of it, as Windows shares the
  non-blocking mode between duplicates.
* Errors are ``wsemu.WSAError`` (an OSError with ``.winerror`` the WSA code): a token that
  is unknown, already used, forged or meant for another process → WSAEINVAL, the same for each.
  On Windows ``OSError.errno`` of those is the C errno (22); a WSAError's is the WSA code.
* The first call does a ``WSAStartup`` that is kept for the life of the process (CPython's
  ``_socket`` module does the same at import); a ``share`` to the own pid that is never claimed
  holds a duplicate descriptor until then, as a handle duplicated into a Windows process does.
"""
from __future__ import annotations

import operator
import os
import socket as _socket
import threading

INFO_SIZE = 628   # sizeof(WSAPROTOCOL_INFOW) on x86 and x64 alike

_WRONG_SIZE = f"socket descriptor string has wrong size, should be {INFO_SIZE} bytes."
_lock = threading.Lock()
_startup_held = False


def _ws2():
    """ws2, imported on first use: ``install()`` runs at every interpreter start under
    ``wsemu run`` and must stay cheap."""
    from wsemu import ws2
    global _startup_held
    with _lock:
        # Our own reference: a program's WSAStartup/WSACleanup pairs do not end it, but a
        # WSACleanup loop down to zero does, and then it is taken again.
        if not _startup_held or ws2._proc.startups == 0:
            ws2.WSAStartup(0x0202)
            _startup_held = True
    return ws2


def share(sock: _socket.socket, pid: int) -> bytes:
    """``sock.share(pid)`` as CPython on Windows: the 628-byte WSAPROTOCOL_INFOW that
    ``WSADuplicateSocketW(sock, pid)`` fills, for process ``pid`` to pass to ``fromshare``.

    ``pid`` is converted as CPython's ``"I"`` format does (any integer, taken modulo 2**32), so
    0, -1 (~0) and processes that do not exist or belong to another user fail with WSAEINVAL;
    a closed socket fails with WSAENOTSOCK. ``pid == os.getpid()`` works (CPython's Windows
    ``socket.dup`` is built on that).
    """
    process_id = operator.index(pid) & 0xFFFFFFFF
    fd = sock.fileno()
    ws2 = _ws2()
    table = ws2._base_provider.table
    with _lock:   # one duplication at a time: the adoption is ours until it is forgotten
        before = table.get(fd)
        try:
            info = ws2.WSADuplicateSocketW(fd, process_id)
        finally:
            adopted = table.get(fd)
            if adopted is not None and adopted is not before and adopted.adopted:
                ws2._forget_socket(fd)       # adopted just for this call: the fd stays the caller's
    return bytes(info)


def fromshare(info: bytes) -> _socket.socket:
    """``socket.fromshare(info)`` as CPython on Windows: the socket that ``share`` duplicated
    for this process, as a new ``socket.socket`` owning its own descriptor.

    ``info`` must be ``bytes`` of exactly 628 bytes (ValueError with CPython's message
    otherwise). The token in it is redeemed once, by the target process only: anything else
    raises ``WSAError`` WSAEINVAL. The new descriptor is not inheritable, as CPython makes it
    (SetHandleInformation after WSASocketW).
    """
    if not isinstance(info, bytes):
        raise TypeError(f"fromshare() argument must be bytes, not {type(info).__name__}")
    if len(info) != INFO_SIZE:
        raise ValueError(_WRONG_SIZE)
    ws2 = _ws2()
    # CPython passes WSA_FLAG_OVERLAPPED and then clears the inherit flag; asking for a
    # non-inheritable handle at once gives the same socket without the moment in which a
    # concurrent spawn could inherit it.
    fd = ws2.WSASocketW(ws2.FROM_PROTOCOL_INFO, ws2.FROM_PROTOCOL_INFO, ws2.FROM_PROTOCOL_INFO, info, 0,
                        ws2.WSA_FLAG_OVERLAPPED | ws2.WSA_FLAG_NO_HANDLE_INHERIT)
    if ws2._base_provider.table.get(fd) is None:
        # A handle a layered provider made up (non-IFS) is no kernel fd to hand to Python.
        ws2.closesocket(fd)
        raise ws2.WSAError(ws2.WSAEOPNOTSUPP)
    ws2._forget_socket(fd)                   # from here on the fd is only ours
    try:
        return _python_socket(fd, ws2.WSAPROTOCOL_INFOW.from_bytes(info))
    except BaseException:
        os.close(fd)
        raise


def _python_socket(fd: int, info) -> _socket.socket:
    """A ``socket.socket`` on ``fd`` with the Linux values of the structure's family, type and
    protocol — the kernel's own, should a caller have edited the structure."""
    from wsemu.spi.descriptor import LINUX_FAMILY
    family = LINUX_FAMILY.get(info.iAddressFamily)
    if family is not None:
        sock = _socket.socket(family, info.iSocketType, info.iProtocol, fileno=fd)
        if (sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_DOMAIN) == family
                and sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_TYPE) == info.iSocketType):
            return sock
        sock.detach()
    return _socket.socket(fileno=fd)


def _share_method(self: _socket.socket, process_id: int, /) -> bytes:
    """share(process_id) -> bytes

    Share the socket with another process.  The target process id
    must be provided and the resulting bytes object passed to the target
    process.  There the shared socket can be instantiated by calling
    socket.fromshare().
    """
    return share(self, process_id)


_share_method.__name__ = _share_method.__qualname__ = "share"


def install() -> None:
    """Give the ``socket`` module Windows' ``socket.socket.share`` and ``socket.fromshare``
    (and ``"fromshare"`` in ``socket.__all__``, as on Windows), where they are missing.
    Idempotent; an interpreter that has them (Windows) is left alone."""
    if not hasattr(_socket.socket, "share"):
        _socket.socket.share = _share_method
    if not hasattr(_socket, "fromshare"):
        _socket.fromshare = fromshare
    if "fromshare" not in _socket.__all__:
        _socket.__all__.append("fromshare")
