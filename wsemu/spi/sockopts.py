"""getsockopt/setsockopt with Windows levels, numbers, value formats and length rules.

Two literal tables drive everything:

* ``LENGTH_RULES`` — how a value of each *shape* is checked and written for a given option
  length (the option-length matrix of CONFORMANCE.md item 50): a BOOL written into a 2-byte
  buffer reports length 1, a DWORD option with a short buffer fails with WSAEFAULT and may zero
  the buffer or the length, a 1-byte option always reports 1, ...
* ``OPTIONS`` — per (level, option): its shape, how to read and write it (kernel option,
  emulated Windows state, or both), which socket types accept it, and whether values above
  0xff are accepted.

Accessors convert between Windows formats (DWORD milliseconds, 4-byte ``linger`` of two
u_shorts, BOOL) and the kernel's, and keep Windows state the kernel cannot hold (exact
timeout values, stored SO_ERROR, SO_EXCLUSIVEADDRUSE, echoed buffer sizes) in SocketState.
"""
from __future__ import annotations

import socket as L
import struct
import threading
import time
from dataclasses import dataclass
from typing import Callable

from wsemu import abi as W
from wsemu.errors import WSAError
from wsemu.spi.descriptor import Descriptor

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_LINGER = struct.Struct("<HH")
_TIMEVAL = struct.Struct("@ll")
_LINUX_LINGER = struct.Struct("@ii")

# Linux numbers Python's socket module does not name.
_IP_MTU_DISCOVER, _IP_PMTUDISC_DONT, _IP_PMTUDISC_DO = 10, 0, 2
_IP_MTU, _IP_UNICAST_IF, _IPV6_UNICAST_IF = 14, 50, 76
_IPV6_RECVPKTINFO, _IPV6_RECVHOPLIMIT, _IPV6_RECVTCLASS, _IPV6_DONTFRAG = 49, 51, 66, 62
_IP_PKTINFO, _IP_RECVTTL, _IPV6_MTU = 8, 12, 24
_TCP_USER_TIMEOUT, _TCP_KEEPIDLE, _TCP_KEEPINTVL, _TCP_KEEPCNT, _TCP_MAXSEG = 18, 4, 5, 6, 2

DGRAM_RAW = frozenset((W.SOCK_DGRAM, W.SOCK_RAW))
STREAM = frozenset((W.SOCK_STREAM,))
RAW = frozenset((W.SOCK_RAW,))

# SO_OPENTYPE lives in per-thread Winsock data and works on any handle (item 65).
_thread = threading.local()


# ---------------------------------------------------------------------------------------
# Length rules (CONFORMANCE.md item 50; reference/r2 option-length matrix)
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LengthRule:
    natural: int            # bytes a full get writes and reports
    set_min: int            # shortest optlen a set accepts (0 = "optlen 0 sets FALSE")
    get_short: str          # what a get with 0 < optlen < natural does:
                            #   "partial": write min(optlen, 2) bytes of the value, report 1
                            #   "byte":    write 1 byte, report 1 (always, whatever optlen)
                            #   "partial_int": write 1 byte, report 1
                            #   "fail":    WSAEFAULT, buffer and optlen untouched
                            #   "fail_zero": WSAEFAULT, the first optlen bytes zeroed
                            #   "fail_len0": WSAEFAULT, *optlen set to 0
    set_negative_ok: bool   # setsockopt(optlen=-1) is taken as natural length


LENGTH_RULES: dict[str, LengthRule] = {
    "bool":      LengthRule(4, 0, "partial", True),
    # A BOOL of another level (IP_MULTICAST_LOOP, IP_DONTFRAGMENT, IPV6_DONTFRAG, ...): optlen 0
    # is WSAEFAULT and a short get writes and reports one byte (test_optsize rows).
    "ipbool":    LengthRule(4, 1, "partial_int", True),
    "byte":      LengthRule(1, 1, "byte", False),
    "int":       LengthRule(4, 1, "partial_int", True),
    "dword":     LengthRule(4, 4, "fail", True),
    "dword_z":   LengthRule(4, 4, "fail_zero", True),
    "dword_0":   LengthRule(4, 4, "fail_len0", True),
    "bytes":     LengthRule(0, 0, "fail", False),   # variable length (IP_OPTIONS, membership)
}


@dataclass(frozen=True)
class Option:
    shape: str
    get: Callable[[Descriptor], object] | None      # None: WSAENOPROTOOPT on get
    set: Callable[[Descriptor, object], None] | None  # None: WSAENOPROTOOPT on set
    types: frozenset | None = None                   # other socket types: WSAEINVAL
    big_ok: bool = True                              # False: a value above 0xff is WSAEINVAL
    set_error: int = W.WSAENOPROTOOPT                # error for a read-only option


# ---------------------------------------------------------------------------------------
# Accessors
# ---------------------------------------------------------------------------------------
def _kget(level: int, name: int) -> Callable[[Descriptor], int]:
    return lambda d: d.sock.getsockopt(level, name)


def _kset(level: int, name: int) -> Callable[[Descriptor, int], None]:
    return lambda d, v: d.sock.setsockopt(level, name, v)


def _kbool(level: int, name: int) -> tuple[Callable, Callable]:
    return (lambda d: int(bool(d.sock.getsockopt(level, name))),
            lambda d, v: d.sock.setsockopt(level, name, int(bool(v))))


def _state_get(field: str, transform: Callable = lambda v: v) -> Callable[[Descriptor], int]:
    return lambda d: transform(getattr(d.state, field))


def _state_set(field: str, transform: Callable = lambda v: v) -> Callable[[Descriptor, int], None]:
    return lambda d, v: setattr(d.state, field, transform(v))


def _get_timeout(field: str, kernel_name: int) -> Callable[[Descriptor], int]:
    def get(d: Descriptor) -> int:
        stored = getattr(d.state, field)
        sec, usec = _TIMEVAL.unpack(d.sock.getsockopt(L.SOL_SOCKET, kernel_name, _TIMEVAL.size))
        kernel_ms = sec * 1000 + usec // 1000
        # The kernel keeps jiffies; the exact DWORD lives in the state. Trust the state while
        # it still matches the kernel (another descriptor in another process may have set it).
        return stored if abs(kernel_ms - stored) < 20 else kernel_ms
    return get


def _set_timeout(field: str, kernel_name: int) -> Callable[[Descriptor, int], None]:
    def set_(d: Descriptor, ms: int) -> None:
        ms &= 0xFFFFFFFF
        d.sock.setsockopt(L.SOL_SOCKET, kernel_name, _TIMEVAL.pack(ms // 1000, ms % 1000 * 1000))
        setattr(d.state, field, ms)
    return set_


def _get_buf(field: str, kernel_name: int) -> Callable[[Descriptor], int]:
    def get(d: Descriptor) -> int:
        stored = getattr(d.state, field)
        # Windows echoes the stored (advisory) size; Linux reports twice what it was given.
        return stored if stored is not None else d.sock.getsockopt(L.SOL_SOCKET, kernel_name) // 2
    return get


# Windows' SO_SNDBUF/SO_RCVBUF size AFD's own buffering; the transport below keeps its
# window whatever they say (SO_SNDBUF 0 and SO_RCVBUF 1024 still let three nonblocking
# 4096-byte sends through: Wine's test_set_getsockopt). So the kernel buffer, which is the
# transport's here, is never made smaller than a Windows-sized default.
KERNEL_BUFFER_FLOOR = 65536


def _set_buf(field: str, kernel_name: int) -> Callable[[Descriptor, int], None]:
    def set_(d: Descriptor, v: int) -> None:
        v &= 0xFFFFFFFF
        d.sock.setsockopt(L.SOL_SOCKET, kernel_name, max(min(v, 0x7FFFFFFF), KERNEL_BUFFER_FLOOR))
        setattr(d.state, field, v)
    return set_


def _get_linger(d: Descriptor) -> bytes:
    onoff, secs = _LINUX_LINGER.unpack(d.sock.getsockopt(L.SOL_SOCKET, L.SO_LINGER, _LINUX_LINGER.size))
    raw = d.state.linger_raw
    if raw is not None and bool(raw[0]) == bool(onoff) and (not onoff or raw[1] == secs):
        return _LINGER.pack(*raw)          # Windows stores l_onoff as given (0x100 reads 0x100)
    return _LINGER.pack(int(bool(onoff)), secs & 0xFFFF)


def _set_linger(d: Descriptor, raw: bytes) -> None:
    onoff, secs = _LINGER.unpack(raw[:4])
    d.sock.setsockopt(L.SOL_SOCKET, L.SO_LINGER, _LINUX_LINGER.pack(int(bool(onoff)), secs))
    d.state.linger_raw = (onoff, secs)


def _get_dontlinger(d: Descriptor) -> int:
    return int(not _LINUX_LINGER.unpack(d.sock.getsockopt(L.SOL_SOCKET, L.SO_LINGER, 8))[0])


def _set_dontlinger(d: Descriptor, v: int) -> None:
    _, secs = _LINUX_LINGER.unpack(d.sock.getsockopt(L.SOL_SOCKET, L.SO_LINGER, 8))
    d.sock.setsockopt(L.SOL_SOCKET, L.SO_LINGER, _LINUX_LINGER.pack(0 if v else 1, secs))
    d.state.linger_raw = None


def _set_reuse(exclusive: bool) -> Callable[[Descriptor, int], None]:
    def set_(d: Descriptor, v: int) -> None:
        other = d.state.reuseaddr if exclusive else d.state.exclusive
        if v and other:   # SO_REUSEADDR and SO_EXCLUSIVEADDRUSE exclude each other
            raise WSAError(W.WSAEINVAL)
        if exclusive:
            d.state.exclusive = bool(v)
        else:
            d.state.reuseaddr = bool(v)
    return set_


def _get_connect_time(d: Descriptor) -> int:
    at = d.state.connected_at
    if at is None or d.type != W.SOCK_STREAM:
        return 0xFFFFFFFF
    return int(time.monotonic() - at)


def _get_max_msg_size(d: Descriptor) -> int:
    return 65527 if d.family == W.AF_INET6 else 65507


def _get_dontfragment(d: Descriptor) -> int:
    if d.family == W.AF_INET6:
        return int(bool(d.sock.getsockopt(L.IPPROTO_IPV6, _IPV6_DONTFRAG)))
    return int(d.sock.getsockopt(L.IPPROTO_IP, _IP_MTU_DISCOVER) != _IP_PMTUDISC_DONT)


def _set_dontfragment(d: Descriptor, v: int) -> None:
    if d.family == W.AF_INET6:
        d.sock.setsockopt(L.IPPROTO_IPV6, _IPV6_DONTFRAG, int(bool(v)))
    else:
        d.sock.setsockopt(L.IPPROTO_IP, _IP_MTU_DISCOVER, _IP_PMTUDISC_DO if v else _IP_PMTUDISC_DONT)


def _set_tos(d: Descriptor, v: int) -> None:
    if v > 0xFF:
        raise WSAError(W.WSAEINVAL)
    d.sock.setsockopt(L.IPPROTO_IP, L.IP_TOS, v)


def _get_mtu(level: int, name: int) -> Callable[[Descriptor], int]:
    def get(d: Descriptor) -> int:
        try:
            return d.sock.getsockopt(level, name)
        except OSError:
            raise WSAError(W.WSAENOTCONN) from None
    return get


def _get_v6only(d: Descriptor) -> int:
    if d.family != W.AF_INET6:
        return 1   # Windows answers for AF_INET sockets too
    return int(bool(d.sock.getsockopt(L.IPPROTO_IPV6, L.IPV6_V6ONLY)))


def _set_v6only(d: Descriptor, v: int) -> None:
    if d.family == W.AF_INET6:
        d.sock.setsockopt(L.IPPROTO_IPV6, L.IPV6_V6ONLY, int(bool(v)))


def _raw_kernel(level: int, name: int, size: int = 40) -> tuple[Callable, Callable]:
    return (lambda d: d.sock.getsockopt(level, name, size),
            lambda d, v: d.sock.setsockopt(level, name, v))


def _set_membership(level: int, name: int, fixup: Callable[[bytes], bytes] = lambda b: b) -> Callable:
    return lambda d, raw: d.sock.setsockopt(level, name, fixup(raw))


def _ip_mreq_source(raw: bytes) -> bytes:
    # Windows ip_mreq_source is (group, source, interface); Linux's is (group, interface, source).
    return raw[0:4] + raw[8:12] + raw[4:8]


def _unsupported_get(d: Descriptor) -> int:
    raise WSAError(W.WSAENOPROTOOPT)


def _kernel_byte_setter(level: int, name: int) -> Callable[[Descriptor, int], None]:
    return lambda d, v: d.sock.setsockopt(level, name, v & 0xFF)


def _set_keepidle(d: Descriptor, secs: int) -> None:
    d.sock.setsockopt(L.IPPROTO_TCP, _TCP_KEEPIDLE, max(1, min(secs, 32767)))


def _set_keepintvl(d: Descriptor, secs: int) -> None:
    d.sock.setsockopt(L.IPPROTO_TCP, _TCP_KEEPINTVL, max(1, min(secs, 32767)))


def _set_maxrt(scale_ms: int) -> Callable[[Descriptor, int], None]:
    # 0xFFFFFFFF means "no limit"; Linux's TCP_USER_TIMEOUT is an int of milliseconds.
    return lambda d, v: d.sock.setsockopt(L.IPPROTO_TCP, _TCP_USER_TIMEOUT,
                                          0 if v == 0xFFFFFFFF else min(v * scale_ms, 0x7FFFFFFF))


def _opentype_get(d: object) -> int:
    return getattr(_thread, "opentype", 0)


def _opentype_set(d: object, v: int) -> None:
    _thread.opentype = v


# ---------------------------------------------------------------------------------------
# The option table
# ---------------------------------------------------------------------------------------
SOL, TCP, IP, IP6 = W.SOL_SOCKET, W.IPPROTO_TCP, W.IPPROTO_IP, W.IPPROTO_IPV6

OPTIONS: dict[tuple[int, int], Option] = {
    # --- SOL_SOCKET ---
    (SOL, W.SO_DEBUG): Option("dword", _state_get("debug", int), _state_set("debug", bool)),
    (SOL, W.SO_ACCEPTCONN): Option("dword", _kget(L.SOL_SOCKET, L.SO_ACCEPTCONN), None),
    (SOL, W.SO_REUSEADDR): Option("bool", _state_get("reuseaddr", int), _set_reuse(False)),
    (SOL, W.SO_EXCLUSIVEADDRUSE): Option("bool", _state_get("exclusive", int), _set_reuse(True)),
    (SOL, W.SO_KEEPALIVE): Option("byte", *_kbool(L.SOL_SOCKET, L.SO_KEEPALIVE)),
    (SOL, W.SO_DONTROUTE): Option("byte", _state_get("dontroute", lambda v: v or 0),
                                  lambda d, v: (d.sock.setsockopt(L.SOL_SOCKET, L.SO_DONTROUTE, int(bool(v & 0xFF))),
                                                setattr(d.state, "dontroute", v & 0xFF))),
    (SOL, W.SO_BROADCAST): Option("bool", *_kbool(L.SOL_SOCKET, L.SO_BROADCAST)),
    (SOL, W.SO_LINGER): Option("dword_z", _get_linger, _set_linger, STREAM),
    (SOL, W.SO_DONTLINGER): Option("bool", _get_dontlinger, _set_dontlinger, STREAM),
    (SOL, W.SO_OOBINLINE): Option("bool", *_kbool(L.SOL_SOCKET, L.SO_OOBINLINE)),
    (SOL, W.SO_SNDBUF): Option("dword_z", _get_buf("sndbuf", L.SO_SNDBUF), _set_buf("sndbuf", L.SO_SNDBUF)),
    (SOL, W.SO_RCVBUF): Option("dword_z", _get_buf("rcvbuf", L.SO_RCVBUF), _set_buf("rcvbuf", L.SO_RCVBUF)),
    (SOL, W.SO_SNDTIMEO): Option("dword", _get_timeout("sndtimeo_ms", L.SO_SNDTIMEO), _set_timeout("sndtimeo_ms", L.SO_SNDTIMEO)),
    (SOL, W.SO_RCVTIMEO): Option("dword", _get_timeout("rcvtimeo_ms", L.SO_RCVTIMEO), _set_timeout("rcvtimeo_ms", L.SO_RCVTIMEO)),
    (SOL, W.SO_ERROR): Option("dword", _state_get("so_error"), _state_set("so_error", lambda v: v & 0xFFFFFFFF)),
    (SOL, W.SO_TYPE): Option("dword", lambda d: d.type, None),
    (SOL, W.SO_GROUP_ID): Option("dword", lambda d: 0, None),
    (SOL, W.SO_GROUP_PRIORITY): Option("dword", lambda d: 0, lambda d, v: None),
    (SOL, W.SO_MAX_MSG_SIZE): Option("dword", _get_max_msg_size, None),
    (SOL, W.SO_CONDITIONAL_ACCEPT): Option("bool", lambda d: 0, lambda d, v: None),
    (SOL, W.SO_PAUSE_ACCEPT): Option("bool", lambda d: 0, lambda d, v: None),
    (SOL, W.SO_COMPARTMENT_ID): Option("dword", lambda d: 1, lambda d, v: None),
    (SOL, W.SO_RANDOMIZE_PORT): Option("bool", lambda d: 1, lambda d, v: None),
    (SOL, W.SO_PORT_SCALABILITY): Option("bool", lambda d: 0, lambda d, v: None),
    (SOL, W.SO_REUSE_UNICASTPORT): Option("bool", lambda d: 0, lambda d, v: None),
    (SOL, W.SO_REUSE_MULTICASTPORT): Option("bool", lambda d: 0, lambda d, v: None),
    (SOL, W.SO_MAXDG): Option("dword", lambda d: 0xFFBB, None),
    (SOL, W.SO_UPDATE_ACCEPT_CONTEXT): Option("bytes", None, lambda d, v: None),
    (SOL, W.SO_UPDATE_CONNECT_CONTEXT): Option("bytes", None, lambda d, v: None),
    (SOL, W.SO_CONNECT_TIME): Option("dword", _get_connect_time, None),
    (SOL, W.SO_OPENTYPE): Option("dword", _opentype_get, _opentype_set),
    # --- IPPROTO_TCP ---
    (TCP, W.TCP_NODELAY): Option("byte", *_kbool(L.IPPROTO_TCP, L.TCP_NODELAY), STREAM),
    (TCP, W.TCP_EXPEDITED_1122): Option("ipbool", lambda d: 0, lambda d, v: None, STREAM),
    (TCP, W.TCP_KEEPALIVE): Option("dword_0", _kget(L.IPPROTO_TCP, _TCP_KEEPIDLE), _set_keepidle, STREAM),
    (TCP, W.TCP_KEEPCNT): Option("dword_0", _kget(L.IPPROTO_TCP, _TCP_KEEPCNT),
                                 _kset(L.IPPROTO_TCP, _TCP_KEEPCNT), STREAM, big_ok=False),
    (TCP, W.TCP_KEEPINTVL): Option("dword_0", _kget(L.IPPROTO_TCP, _TCP_KEEPINTVL), _set_keepintvl, STREAM),
    (TCP, W.TCP_MAXSEG): Option("dword_0", _kget(L.IPPROTO_TCP, _TCP_MAXSEG), None, STREAM),
    (TCP, W.TCP_MAXRT): Option("dword_0", lambda d: d.sock.getsockopt(L.IPPROTO_TCP, _TCP_USER_TIMEOUT) // 1000,
                               _set_maxrt(1000), STREAM),
    (TCP, W.TCP_MAXRTMS): Option("dword_0", _kget(L.IPPROTO_TCP, _TCP_USER_TIMEOUT), _set_maxrt(1), STREAM),
    (TCP, W.TCP_TIMESTAMPS): Option("dword_0", lambda d: 1, lambda d, v: None, STREAM),
    # --- IPPROTO_IP ---
    (IP, W.IP_OPTIONS): Option("bytes", *_raw_kernel(L.IPPROTO_IP, L.IP_OPTIONS)),
    (IP, W.IP_HDRINCL): Option("dword", *_kbool(L.IPPROTO_IP, L.IP_HDRINCL), RAW),
    (IP, W.IP_TOS): Option("int", _kget(L.IPPROTO_IP, L.IP_TOS), _set_tos, big_ok=False),
    (IP, W.IP_TTL): Option("int", _kget(L.IPPROTO_IP, L.IP_TTL), _kset(L.IPPROTO_IP, L.IP_TTL), big_ok=False),
    (IP, W.IP_MULTICAST_IF): Option("dword", lambda d: _U32.unpack(d.sock.getsockopt(L.IPPROTO_IP, L.IP_MULTICAST_IF, 4))[0],
                                    lambda d, v: d.sock.setsockopt(L.IPPROTO_IP, L.IP_MULTICAST_IF, _U32.pack(v)), DGRAM_RAW),
    (IP, W.IP_MULTICAST_TTL): Option("int", _kget(L.IPPROTO_IP, L.IP_MULTICAST_TTL),
                                     _kernel_byte_setter(L.IPPROTO_IP, L.IP_MULTICAST_TTL), DGRAM_RAW, big_ok=False),
    (IP, W.IP_MULTICAST_LOOP): Option("ipbool", *_kbool(L.IPPROTO_IP, L.IP_MULTICAST_LOOP), DGRAM_RAW),
    (IP, W.IP_ADD_MEMBERSHIP): Option("bytes", None, _set_membership(L.IPPROTO_IP, L.IP_ADD_MEMBERSHIP), DGRAM_RAW),
    (IP, W.IP_DROP_MEMBERSHIP): Option("bytes", None, _set_membership(L.IPPROTO_IP, L.IP_DROP_MEMBERSHIP), DGRAM_RAW),
    (IP, W.IP_ADD_SOURCE_MEMBERSHIP): Option("bytes", None, _set_membership(L.IPPROTO_IP, 39, _ip_mreq_source), DGRAM_RAW),
    (IP, W.IP_DROP_SOURCE_MEMBERSHIP): Option("bytes", None, _set_membership(L.IPPROTO_IP, 40, _ip_mreq_source), DGRAM_RAW),
    (IP, W.IP_BLOCK_SOURCE): Option("bytes", None, _set_membership(L.IPPROTO_IP, 38, _ip_mreq_source), DGRAM_RAW),
    (IP, W.IP_UNBLOCK_SOURCE): Option("bytes", None, _set_membership(L.IPPROTO_IP, 37, _ip_mreq_source), DGRAM_RAW),
    (IP, W.IP_DONTFRAGMENT): Option("ipbool", _get_dontfragment, _set_dontfragment),
    (IP, W.IP_PKTINFO): Option("dword_0", *_kbool(L.IPPROTO_IP, _IP_PKTINFO), DGRAM_RAW),
    (IP, W.IP_RECVTTL): Option("dword_0", *_kbool(L.IPPROTO_IP, _IP_RECVTTL), DGRAM_RAW),
    (IP, W.IP_RECVTOS): Option("dword_0", *_kbool(L.IPPROTO_IP, L.IP_RECVTOS), DGRAM_RAW),
    (IP, W.IP_UNICAST_IF): Option("dword", lambda d: _U32.unpack(d.sock.getsockopt(L.IPPROTO_IP, _IP_UNICAST_IF, 4))[0],
                                  lambda d, v: d.sock.setsockopt(L.IPPROTO_IP, _IP_UNICAST_IF, _U32.pack(v))),
    (IP, W.IP_MTU): Option("dword", _get_mtu(L.IPPROTO_IP, _IP_MTU), None),
    # --- IPPROTO_IPV6 ---
    (IP6, W.IPV6_HDRINCL): Option("dword", lambda d: 0, lambda d, v: None, RAW),
    (IP6, W.IPV6_UNICAST_HOPS): Option("int", _kget(L.IPPROTO_IPV6, L.IPV6_UNICAST_HOPS),
                                       _kset(L.IPPROTO_IPV6, L.IPV6_UNICAST_HOPS), big_ok=False),
    (IP6, W.IPV6_MULTICAST_IF): Option("dword", _kget(L.IPPROTO_IPV6, L.IPV6_MULTICAST_IF),
                                       _kset(L.IPPROTO_IPV6, L.IPV6_MULTICAST_IF), DGRAM_RAW),
    (IP6, W.IPV6_MULTICAST_HOPS): Option("int", _kget(L.IPPROTO_IPV6, L.IPV6_MULTICAST_HOPS),
                                         _kset(L.IPPROTO_IPV6, L.IPV6_MULTICAST_HOPS), DGRAM_RAW, big_ok=False),
    (IP6, W.IPV6_MULTICAST_LOOP): Option("ipbool", *_kbool(L.IPPROTO_IPV6, L.IPV6_MULTICAST_LOOP), DGRAM_RAW),
    (IP6, W.IPV6_ADD_MEMBERSHIP): Option("bytes", None, _set_membership(L.IPPROTO_IPV6, L.IPV6_JOIN_GROUP), DGRAM_RAW),
    (IP6, W.IPV6_DROP_MEMBERSHIP): Option("bytes", None, _set_membership(L.IPPROTO_IPV6, L.IPV6_LEAVE_GROUP), DGRAM_RAW),
    (IP6, W.IPV6_DONTFRAG): Option("ipbool", *_kbool(L.IPPROTO_IPV6, _IPV6_DONTFRAG)),
    (IP6, W.IPV6_PKTINFO): Option("dword_0", *_kbool(L.IPPROTO_IPV6, _IPV6_RECVPKTINFO), DGRAM_RAW),
    (IP6, W.IPV6_HOPLIMIT): Option("dword_0", *_kbool(L.IPPROTO_IPV6, _IPV6_RECVHOPLIMIT), DGRAM_RAW),
    (IP6, W.IPV6_RECVTCLASS): Option("dword_0", *_kbool(L.IPPROTO_IPV6, _IPV6_RECVTCLASS), DGRAM_RAW),
    (IP6, W.IPV6_PROTECTION_LEVEL): Option("dword", lambda d: 10, lambda d, v: None),
    (IP6, W.IPV6_V6ONLY): Option("byte", _get_v6only, _set_v6only),
    (IP6, W.IPV6_UNICAST_IF): Option("dword", _kget(L.IPPROTO_IPV6, _IPV6_UNICAST_IF),
                                     _kset(L.IPPROTO_IPV6, _IPV6_UNICAST_IF)),
    (IP6, W.IPV6_MTU): Option("dword", _get_mtu(L.IPPROTO_IPV6, _IPV6_MTU), None),
}
KNOWN_LEVELS = frozenset((SOL, TCP, IP, IP6))
# SO_PROTOCOL_INFOA/W and SO_BSP_STATE are structures handled in base.py.
STRUCT_OPTIONS = frozenset((W.SO_PROTOCOL_INFOA, W.SO_PROTOCOL_INFOW, W.SO_BSP_STATE))


def lookup(level: int, optname: int, desc: Descriptor | None) -> Option:
    """The option, or WSAEINVAL (unknown level), WSAENOPROTOOPT (unknown option)."""
    if level not in KNOWN_LEVELS:
        raise WSAError(W.WSAEINVAL)
    option = OPTIONS.get((level, optname))
    if option is None:
        raise WSAError(W.WSAENOPROTOOPT)
    if desc is not None and level == TCP and desc.type != W.SOCK_STREAM:
        raise WSAError(W.WSAENOPROTOOPT)
    if desc is not None and option.types is not None and desc.type not in option.types:
        # SO_LINGER on a datagram socket is "not an option of this protocol".
        raise WSAError(W.WSAENOPROTOOPT if level == SOL else W.WSAEINVAL)
    return option


def _kernel_call(fn: Callable, *args):
    try:
        return fn(*args)
    except WSAError:
        raise
    except OSError as exc:
        from wsemu.errors import wsa_from_errno
        raise WSAError(wsa_from_errno(exc.errno or 0)) from None


class GetResult:
    """What getsockopt writes: ``data`` into the caller's buffer, ``optlen`` reported."""

    __slots__ = ("data", "optlen")

    def __init__(self, data: bytes, optlen: int) -> None:
        self.data = data
        self.optlen = optlen


def _fault(written: bytes | None = None, optlen: int | None = None) -> WSAError:
    """WSAEFAULT with the side effects a C caller must still see (``.written``, ``.optlen``)."""
    err = WSAError(W.WSAEFAULT)
    err.written = written
    err.optlen = optlen
    return err


def get_option(desc: Descriptor | None, level: int, optname: int, optlen: int | None) -> GetResult:
    """getsockopt for table options. ``optlen`` None means "a buffer as large as needed"."""
    if optlen is not None and optlen <= 0 and (level, optname) != (SOL, W.SO_OPENTYPE):
        raise _fault()
    option = lookup(level, optname, desc)
    if option.get is None:
        raise WSAError(W.WSAENOPROTOOPT)
    rule = LENGTH_RULES[option.shape]
    if option.shape == "bytes":
        value = _kernel_call(option.get, desc)
        data = value[:optlen] if optlen is not None else value
        return GetResult(data, len(data))
    if optlen is not None and optlen < 0:      # SO_OPENTYPE: -1 passes as a large unsigned length
        optlen = None
    if optlen is not None and optlen < rule.natural:
        if rule.get_short == "fail":
            raise _fault()
        if rule.get_short == "fail_zero":
            raise _fault(written=bytes(optlen))
        if rule.get_short == "fail_len0":
            raise _fault(optlen=0)
    value = _kernel_call(option.get, desc)
    if isinstance(value, bytes):
        return GetResult(value, len(value))
    if rule.natural == 1 or rule.get_short == "byte":
        return GetResult(bytes([value & 0xFF]), 1)
    if optlen is not None and optlen < rule.natural:
        if rule.get_short == "partial":         # a BOOL in 1 or 2 bytes: reports 1
            return GetResult(_U32.pack(value & 0xFFFFFFFF)[:min(optlen, 2)], 1)
        return GetResult(bytes([value & 0xFF]), 1)
    return GetResult(_U32.pack(value & 0xFFFFFFFF), 4)


def _decode_set_value(rule: LengthRule, optval: bytes, optlen: int) -> int:
    raw = optval[:min(optlen, 4)]
    if rule.natural == 1:
        return raw[0]                            # 1-byte options look at the first byte only
    return int.from_bytes(raw.ljust(4, b"\0"), "little")


def set_option(desc: Descriptor | None, level: int, optname: int, optval: bytes | None, optlen: int) -> None:
    """setsockopt for table options (optval is the caller's buffer, optlen its stated length)."""
    option = lookup(level, optname, desc)
    if option.set is None:
        if desc is not None and (level, optname) == (SOL, W.SO_TYPE) and desc.type == W.SOCK_DGRAM:
            raise WSAError(W.WSAEINVAL)
        raise WSAError(option.set_error)
    rule = LENGTH_RULES[option.shape]
    if option.shape == "bytes":
        if optval is None or optlen <= 0:
            raise _fault()
        _kernel_call(option.set, desc, bytes(optval[:optlen]))
        return
    if optlen < 0:
        if not (level == SOL and rule.set_negative_ok):
            raise WSAError(W.WSAENOBUFS)
        optlen = rule.natural
    if optlen == 0 and rule.set_min == 0:
        if optval is None:
            raise _fault()                       # a NULL buffer is a fault even with optlen 0
        _kernel_call(option.set, desc, 0)
        return
    if optval is None or optlen < rule.set_min or optlen == 0:
        raise _fault()
    if (level, optname) == (SOL, W.SO_LINGER):
        _kernel_call(option.set, desc, bytes(optval[:4]).ljust(4, b"\0"))
        return
    value = _decode_set_value(rule, bytes(optval), optlen)
    if not option.big_ok and value > 0xFF:
        raise WSAError(W.WSAEINVAL)
    if rule is LENGTH_RULES["bool"] or rule is LENGTH_RULES["ipbool"]:
        value = int(bool(value))
    _kernel_call(option.set, desc, value)


def decode_value(level: int, optname: int, data: bytes) -> object:
    """The Python-face value of getsockopt data: int, (onoff, linger) or raw bytes."""
    if (level, optname) == (SOL, W.SO_LINGER):
        return _LINGER.unpack(data[:4].ljust(4, b"\0"))
    option = OPTIONS.get((level, optname))
    if option is None or option.shape == "bytes":
        return data
    return int.from_bytes(data, "little")


def encode_value(level: int, optname: int, value: object) -> bytes:
    """A Python-face setsockopt value as the bytes a C caller would pass."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if (level, optname) == (SOL, W.SO_LINGER):
        if not (isinstance(value, tuple) and len(value) == 2):
            raise WSAError(W.WSAEFAULT)
        onoff, secs = value
        if not all(type(v) is int for v in (onoff, secs)):
            raise WSAError(W.WSAEFAULT)
        return _LINGER.pack(onoff & 0xFFFF, secs & 0xFFFF)
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int):
        raise WSAError(W.WSAEFAULT)
    option = OPTIONS.get((level, optname))
    if option is not None and LENGTH_RULES[option.shape].natural == 1:
        return bytes([value & 0xFF])
    return _U32.pack(value & 0xFFFFFFFF)
