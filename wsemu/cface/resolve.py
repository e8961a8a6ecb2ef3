"""libwsemu's name resolution: gethostname, and the embedded halves of getaddrinfo /
GetAddrInfoW / getnameinfo (their C halves, native/src/cface_sockets.c, make the returned
code the last error). Lookups go to the system resolver (libc through Python's socket
module: /etc/hosts answers "localhost" without a network); the answers are laid out as
Windows' ADDRINFOA/ADDRINFOW nodes with Windows SOCKADDRs, and errors are Windows' EAI_*
values (EAI_NONAME is WSAHOST_NOT_FOUND...)."""
from __future__ import annotations

import socket as _linux

from wsemu import abi as W
from wsemu import sockaddr
from wsemu.cface import _call, _in, ffi, lib
from wsemu.errors import WSAError

_ffi = ffi()

# Windows' AI_* and NI_* bits (ws2tcpip.h) → glibc's.
_AI_FLAGS = {0x1: _linux.AI_PASSIVE, 0x2: _linux.AI_CANONNAME, 0x4: _linux.AI_NUMERICHOST,
             0x8: _linux.AI_NUMERICSERV, 0x100: _linux.AI_ALL, 0x400: _linux.AI_ADDRCONFIG,
             0x800: _linux.AI_V4MAPPED}
_AI_CANONNAME = 0x2
_NI_FLAGS = {0x01: _linux.NI_NOFQDN, 0x02: _linux.NI_NUMERICHOST, 0x04: _linux.NI_NAMEREQD,
             0x08: _linux.NI_NUMERICSERV, 0x10: _linux.NI_DGRAM}

_FAMILIES = {W.AF_UNSPEC: _linux.AF_UNSPEC, W.AF_INET: _linux.AF_INET, W.AF_INET6: _linux.AF_INET6}
_WINDOWS_FAMILY = {_linux.AF_INET: W.AF_INET, _linux.AF_INET6: W.AF_INET6}
_SOCKET_TYPES = (0, W.SOCK_STREAM, W.SOCK_DGRAM, W.SOCK_RAW, W.SOCK_RDM, W.SOCK_SEQPACKET)

# glibc's EAI_* → Windows' (the names Windows gives the same failures).
_ERRORS = {
    _linux.EAI_BADFLAGS: W.WSAEINVAL, _linux.EAI_NONAME: W.WSAHOST_NOT_FOUND,
    _linux.EAI_AGAIN: W.WSATRY_AGAIN, _linux.EAI_FAIL: W.WSANO_RECOVERY,
    _linux.EAI_FAMILY: W.WSAEAFNOSUPPORT, _linux.EAI_SOCKTYPE: W.WSAESOCKTNOSUPPORT,
    _linux.EAI_SERVICE: W.WSATYPE_NOT_FOUND, _linux.EAI_MEMORY: W.WSA_NOT_ENOUGH_MEMORY,
}
for _name in ("EAI_NODATA", "EAI_ADDRFAMILY"):        # (glibc extensions: a name without addresses)
    if hasattr(_linux, _name):
        _ERRORS[getattr(_linux, _name)] = W.WSANO_DATA


def _bits(flags: int, table: dict[int, int]) -> int:
    return sum(linux for windows, linux in table.items() if flags & windows)


def _resolver_error(exc: _linux.gaierror) -> WSAError:
    return WSAError(_ERRORS.get(exc.errno, W.WSANO_RECOVERY))


def _text(pointer, wide: bool) -> str | None:
    if pointer == _ffi.NULL:
        return None
    if wide:
        return _ffi.string(_ffi.cast("char16_t *", pointer))
    return _ffi.string(_ffi.cast("char *", pointer)).decode("latin-1")


@_call()
def gethostname(name, namelen: int) -> int:
    host = _linux.gethostname().encode("latin-1", "replace") + b"\0"
    if name == _ffi.NULL or namelen < len(host):
        raise WSAError(W.WSAEFAULT)
    _ffi.memmove(name, host, len(host))
    return 0


# ---------------------------------------------------------------------------------------
# getaddrinfo / GetAddrInfoW
# ---------------------------------------------------------------------------------------
@_call(failure=W.WSANO_RECOVERY)
def resolve_addrinfo(node, service, hints, result, wide: int) -> int:
    try:
        answers, canonical = _lookup(_text(node, wide), _text(service, wide), hints, result)
    except WSAError as err:
        return err.winerror
    result[0] = _nodes(answers, canonical, wide)
    return 0


def _lookup(host: str | None, service: str | None, hints, result) -> tuple[list, str | None]:
    """The resolver's answers as (Windows family, type, protocol, Windows SOCKADDR bytes),
    and the canonical name when asked for."""
    if result == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    result[0] = _ffi.NULL
    flags, family, type_, protocol = ((hints.ai_flags, hints.ai_family, hints.ai_socktype, hints.ai_protocol)
                                      if hints != _ffi.NULL else (0, W.AF_UNSPEC, 0, 0))
    if host is None and service is None:
        raise WSAError(W.WSAHOST_NOT_FOUND)
    if flags & _AI_CANONNAME and host is None:
        raise WSAError(W.WSAEINVAL)
    if family not in _FAMILIES:
        raise WSAError(W.WSAEAFNOSUPPORT)
    if type_ not in _SOCKET_TYPES:
        raise WSAError(W.WSAESOCKTNOSUPPORT)
    try:
        found = _linux.getaddrinfo(host, service, _FAMILIES[family], type_, protocol, _bits(flags, _AI_FLAGS))
    except _linux.gaierror as exc:
        raise _resolver_error(exc) from None
    except UnicodeError:
        raise WSAError(W.WSAHOST_NOT_FOUND) from None
    canonical = found[0][3] if flags & _AI_CANONNAME and found else None
    answers = []
    for linux_family, linux_type, linux_protocol, _, address in found:
        windows_family = _WINDOWS_FAMILY.get(linux_family)
        if windows_family is None:
            continue
        if not type_ and not protocol:
            # Windows answers once per address with the hints' zero type and protocol;
            # glibc once per socket type.
            linux_type = linux_protocol = 0
        elif not protocol:
            linux_protocol = 0     # Windows echoes the hints' protocol 0 (glibc fills it in)
        answer = (windows_family, linux_type, linux_protocol,
                  sockaddr.encode(windows_family, sockaddr.from_linux(address)))
        if answer not in answers:
            answers.append(answer)
    if not answers:
        raise WSAError(W.WSANO_DATA)
    return answers, canonical


def _nodes(answers: list, canonical: str | None, wide: bool):
    """A list of ADDRINFOA (or, with ``wide``, ADDRINFOW: the same layout with a WCHAR
    name), each node one block with its SOCKADDR and name after it."""
    head = _ffi.NULL
    node_size = _ffi.sizeof("ADDRINFOA")
    for family, type_, protocol, raw in reversed(answers):
        name = b""
        if canonical is not None and raw == answers[0][3]:
            name = canonical.encode("utf-16-le") + b"\0\0" if wide else canonical.encode("latin-1") + b"\0"
        block = lib().wsemu_addrinfo_node(node_size + len(raw) + len(name))
        if block == _ffi.NULL:
            lib().wsemu_freeaddrinfo(head)
            raise WSAError(W.WSA_NOT_ENOUGH_MEMORY)
        node, base = _ffi.cast("ADDRINFOA *", block), _ffi.cast("char *", block)
        node.ai_family, node.ai_socktype, node.ai_protocol = family, type_, protocol
        node.ai_addrlen = len(raw)
        node.ai_addr = _ffi.cast("struct WS_sockaddr *", base + node_size)
        _ffi.memmove(node.ai_addr, raw, len(raw))
        if name:
            node.ai_canonname = base + node_size + len(raw)
            _ffi.memmove(node.ai_canonname, name, len(name))
        node.ai_next = head
        head = node
    return _ffi.cast("void *", head)


# ---------------------------------------------------------------------------------------
# getnameinfo
# ---------------------------------------------------------------------------------------
@_call(failure=W.WSANO_RECOVERY)
def resolve_nameinfo(addr, length: int, host, host_size: int, serv, serv_size: int, flags: int) -> int:
    try:
        _nameinfo(addr, length, host, host_size, serv, serv_size, flags)
    except WSAError as err:
        return err.winerror
    return 0


def _nameinfo(addr, length: int, host, host_size: int, serv, serv_size: int, flags: int) -> None:
    if addr == _ffi.NULL or length < 2:
        raise WSAError(W.WSAEFAULT)
    family = int.from_bytes(_in(addr, 2), "little")
    if family not in sockaddr.SIZES:
        raise WSAError(W.WSAEAFNOSUPPORT)
    if length < sockaddr.SIZES[family]:
        raise WSAError(W.WSAEFAULT)
    if (host == _ffi.NULL or not host_size) and (serv == _ffi.NULL or not serv_size):
        raise WSAError(W.WSAHOST_NOT_FOUND)       # neither a name nor a service asked for
    _, address = sockaddr.decode(_in(addr, sockaddr.SIZES[family]))
    try:
        name, service = _linux.getnameinfo(sockaddr.to_linux(family, address), _bits(flags, _NI_FLAGS))
    except _linux.gaierror as exc:
        raise _resolver_error(exc) from None
    for out, size, text in ((host, host_size, name), (serv, serv_size, service)):
        if out == _ffi.NULL or not size:
            continue
        raw = text.encode("latin-1", "replace") + b"\0"
        if size < len(raw):
            raise WSAError(W.WSAEFAULT)
        _ffi.memmove(out, raw, len(raw))
