"""Bad input gives a WSA error, never a Python traceback (DESIGN.md §5) — a hypothesis sweep.

Every public function of ``wsemu.ws2`` and every entry of the base provider's WSPPROC_TABLE is
called with random arguments: ints of every size (negative, above 2**64), None, bytes, str,
floats (inf, nan), lists, tuples of random shapes, dicts, objects, released and
non-contiguous buffers — mixed with *plausible* arguments (live SOCKETs of several kinds,
loopback addresses, option levels and names, ioctl codes, buffers, protocol infos), so that
calls get past the first check and reach deep into the provider. Arguments that only mean
something together (an option level and name, an ioctl code and its input) are drawn as a
real pair half the time. The number of arguments stays within each signature: a C caller
cannot pass another count, so a Python arity TypeError is not "bad input".

The property, for each call: it returns, or it raises ``WSAError`` whose ``.winerror`` is a
known WSA code (``wsemu.errors.ERROR_NAMES``) and, for ws2, ``WSAGetLastError()`` equals that
code afterwards. tests/conftest.py sets WSEMU_STRICT=1, so an internal TypeError/ValueError is
re-raised by ws2's error boundary and fails the sweep instead of being masked as WSAEFAULT.

Two rules keep the sweep safe and finite; they *repair* an argument, never skip a call:

* no hang: before a call that can block (accept/connect/recv/send families) its socket is made
  non-blocking with ioctlsocket(FIONBIO, 1), and select's timeout is at most 10 ms;
  blocking behaviour has its own tests elsewhere.
* no traffic off this machine: a destination address (connect, sendto, WSAConnect, ...) that
  parses to anything but loopback or the unspecified address is replaced by a loopback one,
  and multicast membership / unicast-interface options are replaced by SO_KEEPALIVE (a join
  would send IGMP/MLD reports out of a real interface).

Each example runs between WSAStartup and WSACleanup (which closes every socket the random
calls created), and the module fd-leak check of conftest.py holds over the whole sweep.
"""
from __future__ import annotations

import contextlib
import inspect
import ipaddress
import os
import socket as pysocket
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import wsemu
from wsemu import abi as W
from wsemu import catalog, sockaddr, ws2
from wsemu.errors import ERROR_NAMES
from wsemu.spi import base as spi_base
from wsemu.spi import ioctl as spi_ioctl
from wsemu.spi import sockopts
from wsemu.spi.table import PROC_NAMES
from wsemu.spi.upcalls import HANDLES, upcalls
from wsemu.spi.wselect import FdSet

# ======================================================================================
# What is swept
# ======================================================================================
WINSOCK_LOWER = frozenset((
    "socket", "bind", "listen", "accept", "connect", "shutdown", "closesocket", "getsockname",
    "getpeername", "send", "recv", "sendto", "recvfrom", "setsockopt", "getsockopt",
    "ioctlsocket", "select",
))


def public_api() -> dict[str, object]:
    """ws2's public functions: Winsock's lowercase names and every capitalised function.

    Classes (WSADATA, WSAPROTOCOL_INFOW, WSAError, FdSet) are data structures, not entry
    points; names re-exported from other modules (typing.Callable, ...) are not ws2's.
    """
    found = {}
    for name, obj in sorted(vars(ws2).items()):
        if not (name[:1].isupper() or name in WINSOCK_LOWER):
            continue
        if isinstance(obj, type) or not callable(obj) or getattr(obj, "__module__", None) != ws2.__name__:
            continue
        found[name] = obj
    return found


API = public_api()
API_NAMES = sorted(API)

# Calls that can block on a blocking socket (their socket is made non-blocking first).
MAY_BLOCK = frozenset((
    "accept", "WSAAccept", "connect", "WSAConnect", "recv", "recvfrom", "WSARecv", "WSARecvFrom",
    "send", "sendto", "WSASend", "WSASendTo",
    "WSPAccept", "WSPConnect", "WSPRecv", "WSPRecvFrom", "WSPSend", "WSPSendTo", "WSPJoinLeaf",
))
# Where a destination address is: function name -> (index of the address, index of its length).
DESTINATIONS = {
    "connect": (1, 2), "WSAConnect": (1, 2), "sendto": (3, 4), "WSASendTo": (3, None),
    "WSPConnect": (1, 2), "WSPSendTo": (4, 5), "WSPJoinLeaf": (1, 2),
}
# setsockopt-like functions: name -> (index of level, index of optname).
OPTION_SETTERS = {"setsockopt": (1, 2), "WSPSetSockOpt": (1, 2)}
UNSAFE_OPTIONS = frozenset(
    [(W.IPPROTO_IP, n) for n in (W.IP_ADD_MEMBERSHIP, W.IP_DROP_MEMBERSHIP, W.IP_ADD_SOURCE_MEMBERSHIP,
                                 W.IP_DROP_SOURCE_MEMBERSHIP, W.IP_BLOCK_SOURCE, W.IP_UNBLOCK_SOURCE,
                                 W.IP_UNICAST_IF, W.IP_MULTICAST_IF)]
    + [(W.IPPROTO_IPV6, n) for n in (W.IPV6_ADD_MEMBERSHIP, W.IPV6_DROP_MEMBERSHIP, W.IPV6_UNICAST_IF,
                                     W.IPV6_MULTICAST_IF)]
)
SELECT_TIMEOUT_MAX = 0.01

# ======================================================================================
# Strategies: garbage of every kind
# ======================================================================================
EDGE_INTS = st.sampled_from([
    0, 1, -1, 2, 3, 23, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, -0x80000000,
    0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63, -(1 << 63), (1 << 64) - 1, 1 << 64, -(1 << 64),
    1 << 100, -(1 << 100), 10 ** 400, -(10 ** 400),
])
INTS = st.one_of(EDGE_INTS, st.integers(), st.integers(min_value=-(1 << 130), max_value=1 << 130))


def _released_view() -> memoryview:
    view = memoryview(b"released")
    view.release()
    return view


ODD_BUFFERS = st.sampled_from([
    "released", "strided", "ints", "2d", "readonly",
]).map(lambda kind: {
    "released": _released_view,
    "strided": lambda: memoryview(bytes(range(16)))[::2],
    "ints": lambda: memoryview(bytearray(16)).cast("i"),
    "2d": lambda: memoryview(bytearray(16)).cast("B", (4, 4)),
    "readonly": lambda: memoryview(b"readonly"),
}[kind]())


class Opaque:
    """An object of no meaning to Winsock."""

    def __repr__(self) -> str:
        return "Opaque()"


LEAVES = st.one_of(
    INTS, st.none(), st.booleans(), st.floats(), st.binary(max_size=48), st.text(max_size=12),
    st.binary(max_size=48).map(bytearray), st.builds(Opaque), ODD_BUFFERS,
    st.complex_numbers(max_magnitude=10),
)
GARBAGE = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=3), inner, max_size=2),
        st.sets(st.integers(-3, 70), max_size=4),
    ),
    max_leaves=8,
)

# ======================================================================================
# Strategies: plausible arguments (so calls reach deep)
# ======================================================================================
SMALL_LEN = st.one_of(st.integers(-4, 140), st.sampled_from([0x7FFFFFFF, -0x80000000, 0xFFFFFFFF]))
FAMILIES = st.sampled_from([W.AF_INET, W.AF_INET6, W.AF_UNSPEC, 1, 17, 0xFFFF, -1])
TYPES = st.sampled_from([W.SOCK_STREAM, W.SOCK_DGRAM, W.SOCK_RAW, 0, 4, 5, -1])
PROTOCOLS = st.sampled_from([0, W.IPPROTO_TCP, W.IPPROTO_UDP, 1, 58, 255, 256, -1, W.FROM_PROTOCOL_INFO])
FLAGS = st.one_of(
    st.sampled_from([0, W.MSG_OOB, W.MSG_PEEK, W.MSG_DONTROUTE, W.MSG_WAITALL, W.MSG_PARTIAL,
                     W.MSG_PUSH_IMMEDIATE, W.MSG_PEEK | W.MSG_WAITALL, 0x10000, -1]),
    st.integers(0, 0xFFFF),
)
LEVELS = st.sampled_from([W.SOL_SOCKET, W.IPPROTO_TCP, W.IPPROTO_IP, W.IPPROTO_IPV6, W.IPPROTO_UDP, 0x7FFF, -1])
OPTNAMES = st.one_of(
    st.sampled_from(sorted({name for (_, name) in sockopts.OPTIONS} | set(sockopts.STRUCT_OPTIONS))),
    st.integers(-2, 0x3010),
)
IOCTL_CODES = st.one_of(
    st.sampled_from(sorted(spi_ioctl.HANDLERS) + [W.SIO_RCVALL, W.SIO_GET_INTERFACE_LIST, W.SIO_FLUSH]),
    st.integers(0, 0xFFFFFFFF),
)
VERSIONS = st.one_of(st.sampled_from([0x0202, 0x0101, 0x0002, 0x0000, 0x0302, 0x0203, 0x0102, 0xFFFF]),
                     st.integers(0, 0xFFFF))
OPT_VALUES = st.one_of(
    st.integers(-1, 3), st.integers(0, 0xFFFFFFFF), st.binary(max_size=40),
    st.tuples(st.integers(-1, 0x10000), st.integers(-1, 0x10000)),
    st.tuples(LEAVES, LEAVES),                 # a linger-shaped tuple of anything
)
IOCTL_INBUF = st.one_of(
    st.binary(max_size=20),
    st.sampled_from([b"\x01\0\0\0", b"\0\0\0\0", b"\x01\0\0\0\x10\x27\0\0\xe8\x03\0\0",
                     pysocket.inet_aton("127.0.0.1") * 2,
                     next(iter(spi_ioctl.EXTENSION_FUNCTIONS)).bytes_le]),
)
TEXTS = st.one_of(
    st.sampled_from(["127.0.0.1", "127.0.0.1:80", "[::1]:443", "::1", "::ffff:127.0.0.1", "0.0.0.0",
                     "1.2.3.4.5", "[::1", "999.1.1.1", "fe80::1%1", "", ":", "[]:0", "127.0.0.1:99999"]),
    st.text(max_size=40),
)


def _condition_accept(*args):
    return W.CF_ACCEPT


def _condition_reject(*args):
    return W.CF_REJECT


def _condition_defer(*args):
    return W.CF_DEFER


def _condition_garbage(*args):
    return "yes"


def _condition_raises(*args):
    raise RuntimeError("condition function failed")


CONDITIONS = st.sampled_from([_condition_accept, _condition_reject, _condition_defer,
                              _condition_garbage, _condition_raises, None])


def _buffers(writable: bool):
    one = st.binary(max_size=32).map(bytearray) if writable else st.binary(max_size=32)
    return st.one_of(st.lists(one, min_size=0, max_size=3), st.lists(one, max_size=3).map(tuple))


@dataclass
class World:
    """The live sockets of one example: kind -> SOCKET, and their loopback addresses."""

    sockets: dict[str, int] = field(default_factory=dict)
    addresses: list = field(default_factory=list)
    not_sockets: list[int] = field(default_factory=list)
    infos: list = field(default_factory=list)


def _addresses(world: World):
    plausible = list(world.addresses) or [("127.0.0.1", 9)]
    raw = [sockaddr.encode(W.AF_INET if len(a) == 2 else W.AF_INET6, a) for a in plausible]
    return st.one_of(
        st.sampled_from(plausible),
        st.sampled_from(raw),
        st.sampled_from(raw).flatmap(lambda b: st.integers(0, len(b) + 4).map(lambda n: b[:n])),
        st.sampled_from(raw).map(bytearray),
        st.sampled_from([("127.0.0.1", 0), ("0.0.0.0", 0), ("::1", 0, 0, 0), ("::", 0, 0, 0),
                         ("127.0.0.1", 65536), ("127.0.0.1", -1), ("::1", 1, 1 << 32, 0),
                         ("127.0.0.1",), ("127.0.0.1", 1, 2), ("::1", 1, 0, 0, 0), ("localhost", 80),
                         (b"127.0.0.1", 80), ("127.0.0.1", 80.0), ("127.0.0.1", True),
                         ("::1%lo", 7, 0, 0), ("<broadcast>", 9)]),
        # IPv6 tuples with every flowinfo / scope id a ULONG holds (the kernel takes 20-bit flows)
        st.tuples(st.sampled_from(["::1", "::"]), st.sampled_from([0, 9] + [a[1] for a in plausible]),
                  st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF)),
        st.tuples(st.sampled_from([0, 2, 23, 1, 0xFFFF]), st.binary(max_size=30)).map(
            lambda t: t[0].to_bytes(2, "little") + t[1]),
        st.binary(max_size=30),
    )


def _sockets(world: World):
    live = st.sampled_from(list(world.sockets.values()))
    return st.one_of(
        live, live, live, live,                 # mostly live sockets: the calls get deep
        st.sampled_from(world.not_sockets + [0x7FFFFFFF, -1, W.INVALID_SOCKET, HANDLES.FIRST_NON_IFS]),
        live.map(float),
        live.map(lambda s: s + (1 << 64)),
        live.map(str),
    )


def _fdsets(world: World, spi: bool):
    members = st.one_of(_sockets(world), GARBAGE)
    lists = st.lists(st.one_of(st.sampled_from(list(world.sockets.values())), members), max_size=5)
    if spi:
        return st.one_of(lists.map(FdSet), lists.map(FdSet.from_array), st.none())
    return st.one_of(lists, lists.map(tuple), st.none())


def _infos(world: World):
    infos = world.infos
    return st.one_of(
        st.sampled_from(infos),
        st.sampled_from(infos).map(bytes),
        st.sampled_from(infos).map(lambda i: bytes(i)[:100]),
        st.tuples(st.sampled_from(infos), st.integers(-1, 2000), st.sampled_from([0, 2, 23, 99, -1])).map(
            lambda t: t[0].copy(dwCatalogEntryId=t[1], iAddressFamily=t[2])),
        st.binary(min_size=W.WSAPROTOCOL_INFOW_SIZE, max_size=W.WSAPROTOCOL_INFOW_SIZE),
        st.none(),
    )


def _timeouts(spi: bool):
    if spi:
        plausible = st.one_of(st.tuples(st.integers(-1, 0), st.integers(-1, 10000)),
                              st.tuples(INTS, INTS), st.just((0, 0)))
    else:
        plausible = st.one_of(st.floats(min_value=-1, max_value=SELECT_TIMEOUT_MAX), st.just(0),
                              st.sampled_from([float("inf"), float("-inf"), float("nan"), 1 << 64, 10 ** 400]))
    return plausible


def hint(param: str, world: World, spi: bool):
    """The plausible values of a parameter, by its name (None: garbage only)."""
    name = param
    if name in ("s",):
        return _sockets(world)
    if name in ("addr", "name", "lpTo", "lpsaAddress"):
        return _addresses(world)
    if name in ("addrlen", "namelen", "fromlen", "tolen", "optlen", "outlen", "lpdwAddressStringLength",
                "lpAddressLength", "lpdwBufferLength", "iTolen", "lpFromlen", "cbInBuffer", "cbOutBuffer",
                "dwAddressLength", "bufsize", "dwBufferCount"):
        return SMALL_LEN
    if name in ("af", "AddressFamily"):
        return FAMILIES
    if name == "type":
        return TYPES
    if name == "protocol":
        return PROTOCOLS
    if name in ("flags", "dwFlags", "lpFlags"):
        return FLAGS
    if name == "level":
        return LEVELS
    if name == "optname":
        return OPTNAMES
    if name == "value":
        return OPT_VALUES
    if name == "optval":
        return st.one_of(st.binary(max_size=40), st.none())
    if name in ("cmd", "code", "dwIoControlCode"):
        return IOCTL_CODES
    if name in ("inbuf", "lpvInBuffer"):
        return st.one_of(IOCTL_INBUF, st.none())
    if name == "arg":
        return st.one_of(st.integers(0, 2), INTS)
    if name == "data":
        return st.binary(max_size=64)
    if name == "lpBuffers":
        return _buffers(writable=True)
    if name in ("readfds", "writefds", "exceptfds"):
        return _fdsets(world, spi)
    if name == "timeout":
        return _timeouts(spi)
    if name == "lpProtocolInfo":
        return _infos(world)
    if name == "lpfnCondition":
        return CONDITIONS
    if name == "wVersionRequested":
        return VERSIONS
    if name in ("text", "AddressString"):
        return TEXTS
    if name == "lpiProtocols":
        return st.one_of(st.lists(st.sampled_from([0, 6, 17, 255, -1, 1 << 40]), max_size=4), st.none())
    if name in ("backlog", "how", "g", "dwProcessId", "iError", "lParam", "event", "error",
                "dwCallbackData", "nfds", "hEventObject", "lNetworkEvents", "hWnd", "wMsg", "lEvent"):
        return st.one_of(st.integers(-2, 5), st.just(W.SOMAXCONN), st.just(os.getpid()), INTS)
    if name in ("lpOverlapped", "lpCompletionRoutine", "lpThreadId", "lpCallerData", "lpCalleeData",
                "lpSQOS", "lpGQOS", "lpInboundDisconnectData", "lpOutboundDisconnectData", "lpQOSName",
                "fWait"):
        return st.none()
    return None


def argument(param: str, world: World, spi: bool):
    """Three draws in four plausible, one garbage: most calls pass most checks."""
    plausible = hint(param, world, spi)
    return GARBAGE if plausible is None else st.one_of(plausible, plausible, plausible, GARBAGE)


# ======================================================================================
# The safety repairs (no hang, no traffic off loopback)
# ======================================================================================
def _safe_destination(name: object, namelen: object) -> bool:
    try:
        _, address = sockaddr.parse_name(name, namelen)
        host = ipaddress.ip_address(address[0])
    except Exception:          # unparseable here is unparseable in the call too: no packet
        return True
    return host.is_loopback or host.is_unspecified


def _fd_of(s: object) -> int | None:
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= 0x7FFFFFFF:
        return None
    try:
        os.fstat(s)
    except OSError:
        return None
    return s


def repair(name: str, args: list, spi_table=None) -> list:
    args = list(args)
    if name in MAY_BLOCK and args and _fd_of(args[0]) is not None:
        with contextlib.suppress(wsemu.WSAError):
            if spi_table is not None:
                spi_table.WSPIoctl(args[0], W.FIONBIO, b"\x01\0\0\0", 4, 0)
            else:
                ws2.ioctlsocket(args[0], W.FIONBIO, 1)
    if name in DESTINATIONS:
        where, length = DESTINATIONS[name]
        if len(args) > where:
            namelen = args[length] if length is not None and len(args) > length else None
            if not _safe_destination(args[where], namelen):
                args[where] = ("127.0.0.1", 9)
    if name in OPTION_SETTERS:
        lvl, opt = OPTION_SETTERS[name]
        if len(args) > opt and all(isinstance(args[i], int) and not isinstance(args[i], bool) for i in (lvl, opt)):
            if (args[lvl] & 0xFFFFFFFF, _int32(args[opt])) in UNSAFE_OPTIONS or \
                    (_int32(args[lvl]), _int32(args[opt])) in UNSAFE_OPTIONS:
                args[opt] = W.SO_KEEPALIVE
    if name == "WSAWaitForMultipleEvents" and len(args) >= 3 and isinstance(args[2], int):
        args[2] = 0                     # an event made earlier in the sequence is never set
    if name == "select" and len(args) >= 3:
        if len(args) == 3:
            args.append(None)           # the default: wait forever
        timeout = args[3]
        if timeout is None or (isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
                               and SELECT_TIMEOUT_MAX < timeout <= 0x7FFFFFFF):
            args[3] = 0
    if name == "WSPSelect" and len(args) > 4:
        timeout = args[4]
        try:
            sec, usec = timeout
            long_wait = isinstance(sec, int) and isinstance(usec, int) and 0 <= sec <= 0x7FFFFFFF and \
                (sec > 0 or usec > SELECT_TIMEOUT_MAX * 1e6) and usec >= 0
        except Exception:
            long_wait = timeout is None
        if long_wait:
            args[4] = (0, 0)
    return args


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


# ======================================================================================
# The live sockets of an example
# ======================================================================================
def _nonblocking(s: int) -> int:
    ws2.ioctlsocket(s, W.FIONBIO, 1)
    return s


@contextlib.contextmanager
def api_world():
    """WSAStartup, live sockets of several kinds, a pipe; WSACleanup closes what is left."""
    ws2.WSAStartup(0x0202)
    read_end, write_end = os.pipe()
    try:
        world = World(not_sockets=[read_end, write_end], infos=ws2.WSAEnumProtocolsW())
        socks = world.sockets
        for af, host in ((W.AF_INET, "127.0.0.1"), (W.AF_INET6, "::1")):
            tag = "4" if af == W.AF_INET else "6"
            lst = ws2.socket(af, W.SOCK_STREAM, W.IPPROTO_TCP)
            ws2.bind(lst, (host, 0))
            ws2.listen(lst, 64)
            address = ws2.getsockname(lst)
            client = ws2.socket(af, W.SOCK_STREAM, W.IPPROTO_TCP)
            ws2.connect(client, address)
            server, _ = ws2.accept(lst)
            udp = ws2.socket(af, W.SOCK_DGRAM, W.IPPROTO_UDP)
            ws2.bind(udp, (host, 0))
            peer = ws2.socket(af, W.SOCK_DGRAM, W.IPPROTO_UDP)
            ws2.connect(peer, ws2.getsockname(udp))
            fresh = ws2.socket(af, W.SOCK_STREAM, W.IPPROTO_TCP)
            socks.update({f"listener{tag}": lst, f"client{tag}": client, f"server{tag}": server,
                          f"udp{tag}": udp, f"udp_connected{tag}": peer, f"fresh{tag}": fresh})
            world.addresses += [address, ws2.getsockname(udp), ws2.getsockname(client)]
        with contextlib.suppress(wsemu.WSAError):       # raw sockets need CAP_NET_RAW
            socks["raw4"] = ws2.socket(W.AF_INET, W.SOCK_RAW, 253)   # 253: experimental protocol
        for s in socks.values():
            _nonblocking(s)
        world.addresses.append(("127.0.0.1", 9))
        yield world
    finally:
        for s in list(HANDLES.entries):       # abortive closes: no TIME_WAIT left per example
            with contextlib.suppress(wsemu.WSAError):
                ws2.setsockopt(s, W.SOL_SOCKET, W.SO_LINGER, (1, 0))
        while ws2._proc.startups:
            ws2.WSACleanup()
        os.close(read_end)
        os.close(write_end)


def check_api_call(name: str, args: list):
    """Call ws2.<name>(*args): it returns, or raises a known WSAError that is the last error."""
    func = API[name]
    try:
        return func(*args)
    except wsemu.WSAError as err:
        assert err.winerror in ERROR_NAMES, f"{name}{tuple(args)!r}: unknown error code {err.winerror}"
        assert ws2.WSAGetLastError() == err.winerror, \
            f"{name}{tuple(args)!r}: raised {err.winerror}, WSAGetLastError() says {ws2.WSAGetLastError()}"
        return err


def _arity(func) -> tuple[int, int, list[str]]:
    params = [p for p in inspect.signature(func).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in params if p.default is p.empty)
    return required, len(params), [p.name for p in params]


# Arguments that only mean something together: half the time they are drawn as a pair that
# names a real option / control code, so the calls reach the option and ioctl handlers.
OPTION_PAIRS = st.sampled_from(sorted(sockopts.OPTIONS) + [(W.SOL_SOCKET, n) for n in sorted(sockopts.STRUCT_OPTIONS)])
JOINT = {
    ("level", "optname"): OPTION_PAIRS,
    ("cmd", "arg"): st.tuples(st.sampled_from(sorted(spi_ioctl.HANDLERS)), st.integers(0, 2)),
    ("code", "inbuf"): st.tuples(st.sampled_from(sorted(spi_ioctl.HANDLERS)), IOCTL_INBUF),
    ("dwIoControlCode", "lpvInBuffer"): st.tuples(st.sampled_from(sorted(spi_ioctl.HANDLERS)), IOCTL_INBUF),
}


def draw_call(data, name: str, func, world: World, spi: bool, spi_table=None) -> list:
    """Random arguments for ``func``: as many as its signature takes (a C caller cannot pass
    another count), each plausible or garbage, then repaired for safety (see module doc)."""
    required, total, names = _arity(func)
    count = data.draw(st.integers(required, total), label=f"{name} argument count")
    args = [data.draw(argument(names[i], world, spi), label=f"{name}.{names[i]}") for i in range(count)]
    for (first, second), pairs in JOINT.items():
        if first in names[:count] and second in names[:count] and data.draw(st.booleans(), label="joint"):
            args[names.index(first)], args[names.index(second)] = data.draw(pairs, label=f"{first}+{second}")
    return repair(name, args, spi_table)


# No "explain" phase: its tracer adds minutes to a failure report, and the failing example
# with its traceback is what a developer needs.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
SWEEP = settings(max_examples=75, deadline=None, database=None, phases=PHASES, print_blob=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ======================================================================================
# The sweep of ws2
# ======================================================================================
def test_public_api_enumeration_covers_the_winsock_names():
    """The sweep's list is taken from the module, and it holds every Winsock name ws2 has."""
    assert WINSOCK_LOWER <= set(API_NAMES)
    for name in ("WSAStartup", "WSACleanup", "WSAGetLastError", "WSASetLastError", "WSASocketW",
                 "WSAIoctl", "WSAEnumProtocolsW", "WSAAddressToStringW", "WSAStringToAddressW",
                 "WSASend", "WSARecv", "WSASendTo", "WSARecvFrom", "WSAAccept", "WSAConnect"):
        assert name in API_NAMES
    assert "WSADATA" not in API_NAMES and "WSAError" not in API_NAMES


@pytest.mark.parametrize("name", API_NAMES)
@SWEEP
@given(data=st.data())
def test_every_ws2_function_raises_only_known_wsa_errors(name, data):
    """One ws2 function, random arguments (garbage and plausible): result or known WSAError."""
    with api_world() as world:
        args = draw_call(data, name, API[name], world, spi=False)
        check_api_call(name, args)


@settings(max_examples=300, deadline=None, database=None, phases=PHASES, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_call_sequences_raise_only_known_wsa_errors(data):
    """Sequences of random ws2 calls: later calls meet the states earlier ones left behind."""
    with api_world() as world:
        for _ in range(data.draw(st.integers(1, 12), label="calls")):
            name = data.draw(st.sampled_from(API_NAMES), label="function")
            args = draw_call(data, name, API[name], world, spi=False)
            result = check_api_call(name, args)
            if isinstance(result, int) and not isinstance(result, bool) and name in ("socket", "WSASocketW", "WSASocket"):
                world.sockets[f"new{result}"] = result
            elif isinstance(result, tuple) and name in ("accept", "WSAAccept"):
                world.sockets[f"new{result[0]}"] = result[0]


def test_wsacleanup_and_startup_with_random_counts_stay_balanced():
    """WSAStartup with every version and WSACleanup past zero: only WSA errors, count kept."""
    versions = [0, 1, 0x0001, 0x0101, 0x0202, 0x0303, 0xFFFF, 0x10202, -1, 1 << 64, None, "2.2", 2.2]
    started = 0
    for version in versions:
        result = check_api_call("WSAStartup", [version])
        if not isinstance(result, wsemu.WSAError):
            started += 1
    assert ws2._proc.startups == started
    for _ in range(started):
        ws2.WSACleanup()
    err = check_api_call("WSACleanup", [])
    assert isinstance(err, wsemu.WSAError) and err.winerror == W.WSANOTINITIALISED


# ======================================================================================
# The sweep of the SPI (the base provider's WSPPROC_TABLE)
# ======================================================================================
@contextlib.contextmanager
def spi_world():
    """The base provider's table, live sockets made through it; every new descriptor closed."""
    _, table = spi_base.WSPStartup(0x0202)
    prov = spi_base.provider()
    before = set(prov.table.by_fd)
    read_end, write_end = os.pipe()
    cat = catalog.current()
    try:
        infos = cat.enum_protocols()
        world = World(not_sockets=[read_end, write_end], infos=infos)
        socks = world.sockets
        for info in infos:
            af, type_ = info.iAddressFamily, info.iSocketType
            s = table.WSPSocket(af, type_, info.iProtocol, info, 0, W.WSA_FLAG_OVERLAPPED)
            socks[f"{af}/{type_}"] = s
            host = "127.0.0.1" if af == W.AF_INET else "::1"
            table.WSPBind(s, (host, 0))
            if type_ == W.SOCK_STREAM:
                table.WSPListen(s, 16)
                address = table.WSPGetSockName(s)
                client = table.WSPSocket(af, type_, info.iProtocol, info, 0, 0)
                table.WSPConnect(client, address)
                server, _ = table.WSPAccept(s)
                socks[f"{af}/client"], socks[f"{af}/server"] = client, server
            world.addresses.append(table.WSPGetSockName(s))
        for s in socks.values():
            table.WSPIoctl(s, W.FIONBIO, b"\x01\0\0\0", 4, 0)
        yield world, table
    finally:
        for fd in set(prov.table.by_fd) - before:
            desc = prov.table.by_fd.get(fd)
            if desc is not None:
                with contextlib.suppress(wsemu.WSAError):   # abortive close: no TIME_WAIT
                    table.WSPSetSockOpt(fd, W.SOL_SOCKET, W.SO_LINGER, b"\1\0\0\0", 4)
                prov.table.close(desc)
            HANDLES.discard(fd)
        with contextlib.suppress(wsemu.WSAError):
            table.WSPCleanup()
        os.close(read_end)
        os.close(write_end)


def check_spi_call(name: str, entry, args: list):
    try:
        return entry(*args)
    except wsemu.WSAError as err:
        assert err.winerror in ERROR_NAMES, f"{name}{tuple(args)!r}: unknown error code {err.winerror}"
        return err


@pytest.mark.parametrize("name", PROC_NAMES)
@SWEEP
@given(data=st.data())
def test_every_spi_entry_raises_only_known_wsa_errors(name, data):
    """One WSPPROC_TABLE entry, random arguments: result or a known WSAError, nothing else."""
    with spi_world() as (world, table):
        entry = getattr(table, name)
        args = draw_call(data, name, entry, world, spi=True, spi_table=table)
        check_spi_call(name, entry, args)


@given(version=st.one_of(VERSIONS, GARBAGE), info=GARBAGE,
       upcall_table=st.one_of(st.none(), GARBAGE, st.just(upcalls)))
@settings(max_examples=150, deadline=None, database=None, phases=PHASES)
def test_wspstartup_with_random_arguments_raises_only_wsa_errors(version, info, upcall_table):
    """WSPStartup(garbage): WSPDATA and a table, or a known WSAError; the provider keeps working."""
    prov = spi_base.provider()
    kept = prov.upcalls
    try:
        try:
            data, table = spi_base.WSPStartup(version, info, upcall_table)
        except wsemu.WSAError as err:
            assert err.winerror in ERROR_NAMES
        else:
            assert data.wVersion == 0x0202 and not table.missing()
            table.WSPCleanup()
        # Whatever was passed, the provider can still create and close a socket.
        entry = catalog.current().enum_protocols()[0]
        _, table = spi_base.WSPStartup(0x0202)
        s = table.WSPSocket(entry.iAddressFamily, entry.iSocketType, entry.iProtocol, entry, 0, 0)
        table.WSPCloseSocket(s)
        HANDLES.discard(s)
        table.WSPCleanup()
    finally:
        prov.upcalls = kept


# ======================================================================================
# Regressions: each bug the sweep found, as a fixed example (expected WSA code, or success)
# ======================================================================================
def _released() -> memoryview:
    return _released_view()


def _strided() -> memoryview:
    return memoryview(bytearray(16))[::2]


def _addr(world: World, kind: str) -> tuple:
    return ws2.getsockname(world.sockets[kind])


# id -> (call on the live world, expected WSA code or None for "succeeds")
API_REGRESSIONS = {
    # A SOCKET that is not an int: unhashable ones raised TypeError on the send/recv fast
    # path; a float equal to a live fd was *served* by it.
    "send-list-socket": (lambda w: ws2.send([w.sockets["client4"]], b"x"), W.WSAENOTSOCK),
    "recv-dict-socket": (lambda w: ws2.recv({}, 1), W.WSAENOTSOCK),
    "send-float-socket-is-not-that-socket": (lambda w: ws2.send(float(w.sockets["client4"]), b"x"), W.WSAENOTSOCK),
    "recv-float-socket-is-not-that-socket": (lambda w: ws2.recv(float(w.sockets["server4"]), 1), W.WSAENOTSOCK),
    # Flags that are not an int: True was sent as MSG_OOB, None taken as 0 (fast path only).
    "send-bool-flags-not-msg-oob": (lambda w: ws2.send(w.sockets["client4"], b"x", True), W.WSAEOPNOTSUPP),
    "send-none-flags": (lambda w: ws2.send(w.sockets["client4"], b"x", None), W.WSAEOPNOTSUPP),
    "recv-str-flags": (lambda w: ws2.recv(w.sockets["server4"], 1, "0"), W.WSAEOPNOTSUPP),
    # Buffers: a released view raised ValueError, a strided one TypeError (cast).
    "sendto-released-buffer": (lambda w: ws2.sendto(w.sockets["udp4"], _released(), 0, _addr(w, "udp4")), W.WSAEFAULT),
    "send-released-buffer": (lambda w: ws2.send(w.sockets["client4"], _released()), W.WSAEFAULT),  # was right: kept beside sendto
    "wsasend-strided-buffer": (lambda w: ws2.WSASend(w.sockets["client4"], [_strided()]), W.WSAEFAULT),
    "wsarecv-strided-buffer": (lambda w: ws2.WSARecv(w.sockets["server4"], [_strided()]), W.WSAEFAULT),
    # select: a set that is no list (TypeError), timeouts a timeval cannot hold.
    "select-int-as-set": (lambda w: ws2.select(0, [], [], 0), W.WSAEFAULT),
    "select-infinite-timeout": (lambda w: ws2.select([w.sockets["udp4"]], None, None, float("inf")), W.WSAEINVAL),
    "select-nan-timeout": (lambda w: ws2.select([w.sockets["udp4"]], None, None, float("nan")), W.WSAEINVAL),
    "select-10e400-timeout": (lambda w: ws2.select([w.sockets["udp4"]], None, None, 10 ** 400), W.WSAEINVAL),
    "select-2e64-timeout": (lambda w: ws2.select([w.sockets["udp4"]], None, None, 1 << 64), W.WSAEINVAL),
    # Lists and lengths.
    "enumprotocols-int-as-list": (lambda w: ws2.WSAEnumProtocolsW(5), W.WSAEFAULT),
    "enumprotocols-2d-view-as-list": (lambda w: ws2.WSAEnumProtocolsW(memoryview(bytearray(4)).cast("B", (2, 2))), W.WSAEFAULT),
    "bind-list-namelen": (lambda w: ws2.bind(w.sockets["fresh4"], sockaddr.encode(W.AF_INET, ("127.0.0.1", 0)), [16]), W.WSAEFAULT),
    "connect-str-namelen": (lambda w: ws2.connect(w.sockets["fresh4"], _addr(w, "listener4"), "16"), W.WSAEFAULT),
    "getsockname-dict-namelen": (lambda w: ws2.getsockname(w.sockets["listener4"], {}), W.WSAEFAULT),
    "getpeername-float-namelen": (lambda w: ws2.getpeername(w.sockets["client4"], 16.0), W.WSAEFAULT),
    "recvfrom-list-fromlen": (lambda w: ws2.recvfrom(w.sockets["udp4"], 8, 0, [16]), W.WSAEFAULT),
    "sendto-tuple-tolen": (lambda w: ws2.sendto(w.sockets["udp4"], b"x", 0, _addr(w, "udp4"), (16,)), W.WSAEFAULT),
    "addresstostring-list-length": (lambda w: ws2.WSAAddressToStringW(("127.0.0.1", 1), None, [1]), W.WSAEFAULT),
    "addresstostring-str-info": (lambda w: ws2.WSAAddressToStringW(("127.0.0.1", 1), "info"), W.WSAEFAULT),
    "stringtoaddress-list-length": (lambda w: ws2.WSAStringToAddressW("127.0.0.1", W.AF_INET, None, [16]), W.WSAEFAULT),
    "stringtoaddress-set-family": (lambda w: ws2.WSAStringToAddressW("127.0.0.1", {2}), W.WSAEINVAL),  # was right
    # The WSAAsyncSelect lParam macros took anything (TypeError on & and >>).
    "getselectevent-none": (lambda w: ws2.WSAGETSELECTEVENT(None), W.WSAEINVAL),
    "getselecterror-tuple": (lambda w: ws2.WSAGETSELECTERROR((1,)), W.WSAEINVAL),
    "makeselectreply-str": (lambda w: ws2.WSAMAKESELECTREPLY("a", 0), W.WSAEINVAL),
    # A linger tuple of non-integers raised TypeError in sockopts.encode_value ('&' on str).
    "setsockopt-linger-of-str-and-none": (lambda w: ws2.setsockopt(w.sockets["client4"], W.SOL_SOCKET, W.SO_LINGER, ("a", None)), W.WSAEFAULT),
    "setsockopt-linger-of-floats": (lambda w: ws2.setsockopt(w.sockets["client4"], W.SOL_SOCKET, W.SO_LINGER, (1.5, 2.0)), W.WSAEFAULT),
    "setsockopt-float-value": (lambda w: ws2.setsockopt(w.sockets["client4"], W.SOL_SOCKET, W.SO_KEEPALIVE, 1.0), W.WSAEFAULT),
    # A SOCKADDR_IN6 flowinfo above 20 bits raised OverflowError from Python's socket module.
    "bind-flowinfo-above-20-bits": (lambda w: ws2.bind(w.sockets["fresh6"], ("::1", 0, 0x100000, 0)), None),
    "sendto-flowinfo-0xffffffff": (lambda w: ws2.sendto(w.sockets["udp6"], b"x", 0, _addr(w, "udp6")[:2] + (0xFFFFFFFF, 0)), None),
}


@pytest.mark.parametrize("case", sorted(API_REGRESSIONS))
def test_ws2_regression(case):
    call, expected = API_REGRESSIONS[case]
    with api_world() as world:
        ws2.WSASetLastError(0)
        if expected is None:
            call(world)
            return
        with pytest.raises(wsemu.WSAError) as info:
            call(world)
        assert info.value.winerror == expected
        assert ws2.WSAGetLastError() == expected


def test_wsp_accept_with_a_non_callable_condition_keeps_the_connection_queued():
    """Bug found by the sweep: a non-callable lpfnCondition was *called*; its TypeError was
    taken as CF_REJECT, so the pending connection was reset. Now WSAEFAULT, before dequeuing."""
    with spi_world() as (world, table):
        listener = world.sockets[f"{W.AF_INET}/{W.SOCK_STREAM}"]
        info = catalog.current().enum_protocols()[0]
        client = table.WSPSocket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP, info, 0, 0)
        table.WSPConnect(client, table.WSPGetSockName(listener))
        table.WSPIoctl(listener, W.FIONBIO, b"\0\0\0\0", 4, 0)      # blocking: the connect is queued
        with pytest.raises(wsemu.WSAError) as info_err:
            table.WSPAccept(listener, None, "not a function")
        assert info_err.value.winerror == W.WSAEFAULT
        accepted, address = table.WSPAccept(listener)
        assert address == table.WSPGetSockName(client)
        table.WSPSend(client, [b"still connected"])
        assert table.WSPRecv(accepted, [bytearray(64)])[0] == len(b"still connected")


def _fdset(*members) -> FdSet:
    return FdSet.from_array(members)


# id -> (call on (world, table), expected WSA code)
SPI_REGRESSIONS = {
    # lookup: an unhashable SOCKET raised TypeError; a float was taken as the fd it equals.
    "closesocket-list-socket": (lambda w, t: t.WSPCloseSocket([3]), W.WSAENOTSOCK),
    "getsockname-float-socket-is-not-that-socket": (lambda w, t: t.WSPGetSockName(float(w.sockets["2/1"])), W.WSAENOTSOCK),
    "listen-bool-socket": (lambda w, t: t.WSPListen(True, 5), W.WSAENOTSOCK),   # True was looked up as fd 1
    # WSPSocket: no protocol info (AttributeError), numbers of no C int (TypeError, OverflowError).
    "socket-none-info": (lambda w, t: t.WSPSocket(W.AF_INET, W.SOCK_STREAM, 0, None), W.WSAEFAULT),
    "socket-short-bytes-info": (lambda w, t: t.WSPSocket(0, 0, 0, b"short"), W.WSAEFAULT),
    "socket-list-family": (lambda w, t: t.WSPSocket([2], W.SOCK_STREAM, 0, w.infos[0]), W.WSAEINVAL),
    "socket-2e100-protocol": (lambda w, t: t.WSPSocket(W.AF_INET, W.SOCK_DGRAM, 1 << 100, w.infos[1]), W.WSAEINVAL),
    "socket-str-flags": (lambda w, t: t.WSPSocket(W.AF_INET, W.SOCK_DGRAM, 0, w.infos[1], 0, "x"), W.WSAEINVAL),
    # Integers of other entries.
    "listen-list-backlog": (lambda w, t: t.WSPListen(w.sockets["2/1"], []), W.WSAEINVAL),
    "shutdown-list-how": (lambda w, t: t.WSPShutdown(w.sockets["2/client"], []), W.WSAEINVAL),
    "accept-dict-addrlen": (lambda w, t: t.WSPAccept(w.sockets["2/1"], {}), W.WSAEFAULT),
    "getsockname-dict-namelen": (lambda w, t: t.WSPGetSockName(w.sockets["2/1"], {}), W.WSAEFAULT),
    "getpeername-list-namelen": (lambda w, t: t.WSPGetPeerName(w.sockets["2/client"], [28]), W.WSAEFAULT),
    # WSABUF entries: flags, counts, buffers.
    "send-str-flags": (lambda w, t: t.WSPSend(w.sockets["2/client"], [b"x"], None, "0"), W.WSAEOPNOTSUPP),
    "send-dict-flags": (lambda w, t: t.WSPSend(w.sockets["2/client"], [b"x"], None, {}), W.WSAEOPNOTSUPP),
    "send-str-count": (lambda w, t: t.WSPSend(w.sockets["2/client"], [b"x"], "1"), W.WSAEFAULT),
    "send-negative-count": (lambda w, t: t.WSPSend(w.sockets["2/client"], [b"x", b"y"], -1), W.WSAEFAULT),
    "sendto-list-tolen": (lambda w, t: t.WSPSendTo(w.sockets["2/2"], [b"x"], None, 0, w.addresses[1], [16]), W.WSAEFAULT),
    "recv-tuple-flags": (lambda w, t: t.WSPRecv(w.sockets["2/server"], [bytearray(4)], None, (0,)), W.WSAEOPNOTSUPP),
    "recv-strided-buffer": (lambda w, t: t.WSPRecv(w.sockets["2/server"], [_strided()]), W.WSAEFAULT),
    "recv-released-buffer": (lambda w, t: t.WSPRecv(w.sockets["2/server"], [_released()]), W.WSAEFAULT),
    "recvfrom-str-fromlen": (lambda w, t: t.WSPRecvFrom(w.sockets["2/2"], [bytearray(4)], None, 0, "16"), W.WSAEFAULT),
    # Options and control.
    "getsockopt-dict-level": (lambda w, t: t.WSPGetSockOpt(w.sockets["2/1"], {}, W.SO_TYPE), W.WSAEINVAL),
    "getsockopt-list-optlen": (lambda w, t: t.WSPGetSockOpt(w.sockets["2/1"], W.SOL_SOCKET, W.SO_TYPE, [4]), W.WSAEFAULT),
    "setsockopt-list-level": (lambda w, t: t.WSPSetSockOpt(w.sockets["2/1"], [], W.SO_KEEPALIVE, b"\1\0\0\0"), W.WSAEINVAL),
    "setsockopt-str-optval": (lambda w, t: t.WSPSetSockOpt(w.sockets["2/1"], W.SOL_SOCKET, W.SO_KEEPALIVE, "abcd", 4), W.WSAEFAULT),
    "ioctl-str-code": (lambda w, t: t.WSPIoctl(w.sockets["2/1"], "FIONBIO"), W.WSAEOPNOTSUPP),
    "ioctl-tuple-inbuf-length": (lambda w, t: t.WSPIoctl(w.sockets["2/1"], W.FIONBIO, b"\1\0\0\0", (4,)), W.WSAEFAULT),
    "ioctl-int-inbuf": (lambda w, t: t.WSPIoctl(w.sockets["2/1"], W.FIONBIO, 1, 4), W.WSAEFAULT),
    # WSPSelect: a list is no fd_set (AttributeError), unhashable members (TypeError), a
    # timeval second count no C long holds (OverflowError in the float conversion).
    "select-list-as-fdset": (lambda w, t: t.WSPSelect(0, [w.sockets["2/2"]], None, None, (0, 0)), W.WSAEFAULT),
    "select-unhashable-member": (lambda w, t: t.WSPSelect(0, _fdset([1]), None, None, (0, 0)), W.WSAENOTSOCK),
    "select-10e400-seconds": (lambda w, t: t.WSPSelect(0, _fdset(w.sockets["2/2"]), None, None, (10 ** 400, 0)), W.WSAEINVAL),
    # Address strings.
    "addresstostring-tuple-address": (lambda w, t: t.WSPAddressToString(("127.0.0.1", 1)), W.WSAEFAULT),
    "addresstostring-list-length": (lambda w, t: t.WSPAddressToString(sockaddr.encode(2, ("127.0.0.1", 1)), None, None, [1]), W.WSAEFAULT),
    "stringtoaddress-set-family": (lambda w, t: t.WSPStringToAddress("127.0.0.1", {2}), W.WSAEINVAL),
    "stringtoaddress-bytes-text": (lambda w, t: t.WSPStringToAddress(b"127.0.0.1", W.AF_INET), W.WSAEINVAL),
}


@pytest.mark.parametrize("case", sorted(SPI_REGRESSIONS))
def test_spi_regression(case):
    call, expected = SPI_REGRESSIONS[case]
    with spi_world() as (world, table):
        with pytest.raises(wsemu.WSAError) as info:
            call(world, table)
        assert info.value.winerror == expected


@pytest.mark.parametrize("version", ["2.2", 2.2, None, [2, 2], True])
def test_wspstartup_version_that_is_no_word_is_wsavernotsupported(version):
    """Bug found by the sweep: WSPStartup('2.2') raised TypeError ('&' on str)."""
    with pytest.raises(wsemu.WSAError) as info:
        spi_base.WSPStartup(version)
    assert info.value.winerror == W.WSAVERNOTSUPPORTED


def test_wspstartup_refuses_an_upcall_table_without_wpumodifyifshandle_and_keeps_its_own():
    """Bug found by the sweep: WSPStartup(0x0202, None, garbage) installed the garbage as the
    upcall table; every later WSPSocket then failed with AttributeError."""
    prov = spi_base.provider()
    kept = prov.upcalls
    with pytest.raises(wsemu.WSAError) as info:
        spi_base.WSPStartup(0x0202, None, object())
    assert info.value.winerror == W.WSAEINVAL
    assert prov.upcalls is kept


def test_failed_wspstartup_does_not_replace_the_upcall_table():
    """A version refused (1.1) used to replace the upcall table anyway."""
    prov = spi_base.provider()
    kept = prov.upcalls

    class Other:
        WPUModifyIFSHandle = staticmethod(upcalls.WPUModifyIFSHandle)

    with pytest.raises(wsemu.WSAError) as info:
        spi_base.WSPStartup(0x0101, None, Other())
    assert info.value.winerror == W.WSAVERNOTSUPPORTED
    assert prov.upcalls is kept


def test_recv_with_bad_flags_fails_before_allocating_its_buffer():
    """Found by the sweep's running time: recv(s, 0x7FFFFFFF, 'x') took the slow path, which
    zero-filled a 2 GiB bytearray before it looked at the flags."""
    import tracemalloc
    with api_world() as world:
        tracemalloc.start()
        try:
            with pytest.raises(wsemu.WSAError) as info:
                ws2.recv(world.sockets["server4"], 0x7FFFFFFF, "x")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.winerror == W.WSAEOPNOTSUPP
        assert peak < 1 << 20


def test_large_receive_through_the_provider_table_returns_the_data():
    """recv with a bufsize beyond a C int takes the table path (it wraps as C would: here to
    2 MiB), whose receive buffer is then an anonymous mapping rather than a bytearray; recvfrom
    wraps the same way."""
    from tests.helpers import readable
    with api_world() as world:
        ws2.send(world.sockets["client4"], b"data")
        assert readable(world.sockets["server4"])
        assert ws2.recv(world.sockets["server4"], (1 << 32) + (2 << 20)) == b"data"
        ws2.sendto(world.sockets["udp4"], b"datagram", 0, _addr(world, "udp4"))
        assert readable(world.sockets["udp4"])
        assert ws2.recvfrom(world.sockets["udp4"], (1 << 32) + (2 << 20)) == (b"datagram", _addr(world, "udp4"))


def test_boundary_without_strict_mode_turns_any_internal_failure_into_a_wsa_error(monkeypatch):
    """Outside the strict test mode, even an exception no check anticipated (here a raw
    OSError and a struct.error raised inside a call) reaches the caller as WSAError, with
    the last error set — never as a Python traceback (DESIGN.md §5)."""
    import errno
    import struct
    from wsemu import ws2 as api
    monkeypatch.setattr(api, "_STRICT", False)

    def broken_oserror():
        raise OSError(errno.ECONNRESET, "reset")

    def broken_struct():
        raise struct.error("bad layout")

    for broken, code in ((broken_oserror, api.WSAECONNRESET), (broken_struct, api.WSAEFAULT)):
        with pytest.raises(wsemu.WSAError) as err:
            api._api(broken)()
        assert err.value.winerror == code
        assert api.WSAGetLastError() == code
