"""Windows bind-conflict rules (SO_REUSEADDR / SO_EXCLUSIVEADDRUSE) over Linux sockets.

The Windows rules (CONFORMANCE.md items 68-77; research r2 §2.2-2.3)
----------------------------------------------------------------------
A bind to port P conflicts with an existing binding on P of the same transport when their
addresses *overlap* and the two sockets are not both SO_REUSEADDR reusers:

* addresses overlap when they are equal, or when either binding is an **exclusive wildcard**
  (SO_EXCLUSIVEADDRUSE on 0.0.0.0 or ::), which claims every address of its family on P. A
  plain wildcard does *not* overlap a specific address: 0.0.0.0:P and 127.0.0.1:P coexist,
  whichever binds first (items 74, 75);
* an AF_INET6 socket with IPV6_V6ONLY 0 ("dual stack") also claims IPv4 space: a v4-mapped
  (or v4-compatible) address claims that IPv4 address, and :: claims 0.0.0.0 **only when the
  socket is exclusive** (a plain dual-stack [::] leaves 0.0.0.0 free: table row 14);
* the error is WSAEACCES when the binding socket has SO_REUSEADDR or the binding it hits is an
  exclusive wildcard, and WSAEADDRINUSE otherwise.

This is Wine's server algorithm (match_any, reuse counting, the dual-stack IPv4 pass) written
as the pure function ``conflict`` over ``Binding`` records; it passes every row of both
Windows tables, including those Wine marks todo_wine (which fail in Wine only because Linux
refuses what Windows allows; here the kernel is told to allow it, see below).

UDP: Windows applies the same rules to datagram sockets, so wsemu does too (Wine leaves UDP
to the host, which gets them wrong: two plain UDP sockets on one address, or a REUSEADDR
socket beside a plain one). TCP and UDP ports are separate spaces. Ephemeral binds (port 0,
and the implicit binds of connect/sendto) are never checked: the kernel hands out a port no
socket overlapping the address holds, so they cannot conflict.

The Linux mechanism
-------------------
* Kernel flags make Linux permit every combination Windows permits among wsemu sockets of one
  user: SO_REUSEPORT on every TCP and UDP socket, and SO_REUSEADDR on TCP sockets always and on
  UDP sockets whenever they bind a chosen port (never before an ephemeral pick: Linux's UDP port
  search treats a port held by a SO_REUSEADDR socket as free for another one). Windows' rules
  are then enforced by ``check`` before the kernel bind.
* A classic-BPF reuseport program that returns 0 sends every connection (datagram) to slot 0
  of the kernel's reuseport group, its oldest member: Windows gives connections to the first
  listener of a shared address until it closes. TCP sockets get it right after listen (a TCP
  socket that carries one before listen is refused a port shared with a listener); UDP sockets
  at creation (which also keeps the kernel's ephemeral search off ports they share).
* ``check`` sees everything bound on the port in this network namespace: this process's
  registrations (with their Windows flags), plus other processes' sockets from sock_diag
  (NETLINK_SOCK_DIAG; TCP listening and bound-inactive sockets, every bound UDP socket; never
  TIME_WAIT, which does not block a bind on Windows). Their Windows flags come from *markers*:
  an abstract AF_UNIX datagram socket named ``\\0wsemu-bind/<inode>/<option>`` that the owning
  process holds while a SO_REUSEADDR or SO_EXCLUSIVEADDRUSE socket is bound. The kernel drops
  a marker with its holder and scopes its name to the network namespace, exactly like the port.
  A socket without a marker (a plain wsemu socket, or a non-wsemu one) has no options.
  Listing bound-inactive TCP sockets walks the kernel's whole bind hash (milliseconds), so a
  TCP port nobody holds is recognised first by a plain probe bind (microseconds).
* ``lock`` serialises check + kernel bind + register among this user's processes and threads
  (a POSIX record lock on ``<runtime dir>/bind.lock``). It cannot tell a port-0 bind (it is
  not given the address) and costs a few microseconds, so it is simply taken for every bind.

Known gaps: with three or more listeners on one address, closing the oldest moves the *newest*
into slot 0 (the kernel refills the slot from the end), where Windows picks the next oldest.
Other processes' TCP sockets that were bound and then connected, and bound-but-not-listening
TCP sockets on kernels before 6.8 (no TCP_BOUND_INACTIVE dump), are invisible to ``check``. A
socket that lives on in another process (exec'd child, WSPDuplicateSocket) after its binder
closed it keeps its port but is seen as plain: the marker dies with the binder's descriptor.
The kernel itself still refuses sharing a port with another user's sockets or with sockets
lacking SO_REUSEPORT; base.py reports that as WSAEADDRINUSE (WSAEACCES with SO_REUSEADDR).
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import ipaddress
import os
import socket as L
import struct
import threading
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from wsemu import abi as W
from wsemu import sockaddr
from wsemu.errors import WSAError
from wsemu.spi.descriptor import Descriptor, SocketState, table


# ======================================================================================
# The rules (pure: plain data in, a WSA error code out)
# ======================================================================================
@dataclass(frozen=True)
class Binding:
    """One socket's claim on a port, as Windows' rules see it."""

    family: int                  # W.AF_INET or W.AF_INET6
    address: str                 # numeric host; link-local IPv6 with its scope: "fe80::1%2"
    port: int
    reuseaddr: bool = False      # SO_REUSEADDR
    exclusive: bool = False      # SO_EXCLUSIVEADDRUSE
    dual_stack: bool = False     # AF_INET6 with IPV6_V6ONLY 0


class _Claim(NamedTuple):
    """A Binding's claim in one address space (IPv4 or IPv6)."""

    space: int                   # W.AF_INET or W.AF_INET6
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    every_address: bool          # an exclusive wildcard claims all of its space


_IPV4_ANY = ipaddress.IPv4Address(0)


def conflict(new: Binding, existing: Iterable[Binding]) -> int | None:
    """The error Windows gives ``new``'s bind beside ``existing`` (all of one transport).

    None when the bind succeeds, else W.WSAEACCES or W.WSAEADDRINUSE.
    """
    claims = _claims(new)
    error = None
    for old in existing:
        if old.port != new.port or (new.reuseaddr and old.reuseaddr):
            continue                 # reusers share an address with reusers
        for theirs in _claims(old):
            if any(_overlap(mine, theirs) for mine in claims):
                if new.reuseaddr or theirs.every_address:
                    return W.WSAEACCES
                error = W.WSAEADDRINUSE
    return error


def _claims(binding: Binding) -> list[_Claim]:
    ip = ipaddress.ip_address(binding.address)
    claims = [_Claim(binding.family, ip, binding.exclusive and ip.is_unspecified)]
    if binding.family == W.AF_INET6 and binding.dual_stack:
        ipv4 = _ipv4_claimed(ip, binding.exclusive)
        if ipv4 is not None:
            claims.append(_Claim(W.AF_INET, ipv4, binding.exclusive and ipv4.is_unspecified))
    return claims


def _ipv4_claimed(ip: ipaddress.IPv6Address, exclusive: bool) -> ipaddress.IPv4Address | None:
    """The IPv4 address a dual-stack socket bound to ``ip`` also claims, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.is_unspecified:
        return _IPV4_ANY if exclusive else None    # a plain [::] leaves 0.0.0.0 free (row 14)
    value = int(ip)
    if value >> 32 == 0 and value > 1:             # v4-compatible ::a.b.c.d (not :: or ::1)
        return ipaddress.IPv4Address(value)
    return None


def _overlap(a: _Claim, b: _Claim) -> bool:
    return a.space == b.space and (a.every_address or b.every_address or a.ip == b.ip)


# ======================================================================================
# Kernel flags: let Linux allow what Windows allows; oldest listener first
# ======================================================================================
_SO_ATTACH_REUSEPORT_CBPF = 51
# One classic-BPF instruction, BPF_RET|BPF_K 0: "slot 0 of the reuseport group" (the oldest).
_OLDEST_FIRST_INSN = ctypes.create_string_buffer(struct.pack("=HBBI", 0x06, 0, 0, 0))
_OLDEST_FIRST = struct.pack("@HP", 1, ctypes.addressof(_OLDEST_FIRST_INSN))   # struct sock_fprog


def _transport(type_: int, protocol: int) -> int | None:
    """IPPROTO_TCP or IPPROTO_UDP for the sockets these rules cover, else None."""
    if type_ == W.SOCK_STREAM and protocol in (0, L.IPPROTO_TCP):
        return L.IPPROTO_TCP
    if type_ == W.SOCK_DGRAM and protocol in (0, L.IPPROTO_UDP):
        return L.IPPROTO_UDP
    return None


def _set_kernel_reuseaddr(sock: L.socket, on: bool) -> None:
    sock.setsockopt(L.SOL_SOCKET, L.SO_REUSEADDR, int(on))


def _steer_to_oldest(sock: L.socket) -> None:
    sock.setsockopt(L.SOL_SOCKET, _SO_ATTACH_REUSEPORT_CBPF, _OLDEST_FIRST)


# ======================================================================================
# The cross-process lock
# ======================================================================================
def _runtime_dir() -> str:
    explicit = os.environ.get("WSEMU_RUNTIME_DIR")
    if explicit:
        return explicit
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "wsemu")
    return f"/tmp/wsemu-{os.getuid()}"


def _open_lock_file() -> int:
    directory = _runtime_dir()
    path = os.path.join(directory, "bind.lock")
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            os.makedirs(directory, 0o700, exist_ok=True)
            fd = os.open(path, flags, 0o600)
    except OSError:
        raise WSAError(W.WSAENETDOWN) from None
    if os.fstat(fd).st_uid != os.geteuid():
        os.close(fd)                 # someone else's file could be held forever: not ours to trust
        raise WSAError(W.WSAENETDOWN)
    return fd


# A POSIX record lock on the file excludes processes; it belongs to the process (not to the
# open file, as flock's does), so a child forked while another thread holds it does not hold
# it too. It does not exclude the threads of one process: this lock does.
_bind_lock_in_process = threading.Lock()


class _BindLock:
    """The record lock on the runtime dir's bind.lock, inside the in-process lock."""

    __slots__ = ("_fd",)

    def __enter__(self) -> None:
        _bind_lock_in_process.acquire()
        try:
            self._fd = _open_lock_file()
        except BaseException:
            _bind_lock_in_process.release()
            raise
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            os.close(self._fd)       # closing releases the record lock
        finally:
            _bind_lock_in_process.release()


# ======================================================================================
# This process's bindings, and the markers publishing their flags to other processes
# ======================================================================================
_MARKER_NAME = "\0wsemu-bind/{inode}/{option}"
_OPTIONS = ("reuseaddr", "exclusive")


class _Registration(NamedTuple):
    """What ``register`` leaves in ``SocketState.bind_entries`` for ``release``."""

    key: tuple[int, int]         # (transport, port)
    inode: int
    marker: L.socket | None


class _Own(NamedTuple):
    binding: Binding
    state: SocketState           # the socket's state while it is open (liveness check)


# (transport, port) -> {inode: _Own} of this process's bound wsemu sockets
_registered: dict[tuple[int, int], dict[int, _Own]] = {}
_registered_lock = threading.Lock()


def _reset_locks_in_child() -> None:
    global _registered_lock, _bind_lock_in_process
    # Another thread may have held them at fork; it does not exist in the child.
    _registered_lock = threading.Lock()
    _bind_lock_in_process = threading.Lock()


os.register_at_fork(after_in_child=_reset_locks_in_child)


def _publish(inode: int, binding: Binding) -> L.socket | None:
    """A marker for a binding with an option; a plain binding needs none (no marker = plain)."""
    option = "reuseaddr" if binding.reuseaddr else "exclusive" if binding.exclusive else None
    if option is None:
        return None
    marker = L.socket(L.AF_UNIX, L.SOCK_DGRAM)
    try:
        marker.bind(_MARKER_NAME.format(inode=inode, option=option))
    except OSError:
        marker.close()               # the name is taken by a stale holder: stay unpublished
        return None
    return marker


def _forget(state: SocketState) -> None:
    """Drop a socket's registrations and close their markers."""
    with _registered_lock:
        registrations = list(state.bind_entries)
        state.bind_entries.clear()
        for registration in registrations:
            on_port = _registered.get(registration.key, {})
            on_port.pop(registration.inode, None)
            if not on_port:
                _registered.pop(registration.key, None)
    for registration in registrations:
        if registration.marker is not None:
            registration.marker.close()


def _published_options(probe: L.socket, inode: int) -> tuple[bool, bool]:
    """(reuseaddr, exclusive) of another process's socket, read from its marker."""
    for option in _OPTIONS:
        try:
            probe.connect(_MARKER_NAME.format(inode=inode, option=option))
        except OSError:
            continue                 # ECONNREFUSED: no such marker
        return option == "reuseaddr", option == "exclusive"
    return False, False


# ======================================================================================
# Other processes' sockets: sock_diag
# ======================================================================================
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST_DUMP = 0x1 | 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLMSGHDR = struct.Struct("=IHHII")
_RTATTR = struct.Struct("=HH")
_INET_DIAG_MSG_SIZE = 72
_INET_DIAG_SKV6ONLY = 11
# TCP: listening and bound-but-inactive sockets (TCP_BOUND_INACTIVE, Linux 6.8+). Connected
# ones are left out: accepted connections share their listener's port without claiming it.
_TCP_STATES = (1 << 10) | (1 << 13)
_UDP_STATES = (1 << 1) | (1 << 7)          # connected, bound
_WINDOWS_FAMILY = {L.AF_INET: W.AF_INET, L.AF_INET6: W.AF_INET6}


class _Seen(NamedTuple):
    """A socket sock_diag reports on the port."""

    family: int                  # Windows value
    address: str
    inode: int
    dual_stack: bool


def _diag_request(family: int, transport: int, states: int, port: int) -> bytes:
    # inet_diag_req_v2 with the local port in the socket id: the kernel filters on it.
    body = struct.pack("=BBBxI", family, transport, 0, states) + struct.pack("!H", port) + bytes(46)
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST_DUMP, 1, 0)
    return header + body


def _dump(nl: L.socket, request: bytes) -> list[bytes]:
    """The inet_diag_msg payloads of one netlink dump."""
    nl.send(request)
    payloads = []
    while True:
        data = nl.recv(1 << 16)
        offset = 0
        while offset < len(data):
            length, kind = _NLMSGHDR.unpack_from(data, offset)[:2]
            if length < _NLMSGHDR.size:
                raise OSError(errno.EPROTO, "malformed netlink message")
            payload = data[offset + _NLMSGHDR.size:offset + length]
            if kind == _NLMSG_DONE:
                return payloads
            if kind == _NLMSG_ERROR:
                code = -struct.unpack_from("=i", payload)[0]
                raise OSError(code, os.strerror(code))
            payloads.append(payload)
            offset += (length + 3) & ~3


def _parse(msg: bytes, port: int) -> _Seen | None:
    family = msg[0]
    if struct.unpack_from("!H", msg, 4)[0] != port:
        return None                  # the kernel filtered already; this keeps old kernels honest
    size = 4 if family == L.AF_INET else 16
    host = L.inet_ntop(family, msg[8:8 + size])
    ifindex, = struct.unpack_from("=I", msg, 40)
    inode, = struct.unpack_from("=I", msg, 68)
    v6only = _attribute(msg, _INET_DIAG_SKV6ONLY)
    if family == L.AF_INET:
        dual_stack = False
    elif v6only is not None:
        dual_stack = v6only == b"\0"
    else:
        # The kernel reports V6ONLY for listening and unconnected sockets only; a connected
        # one is dual stack exactly when its address is v4-mapped.
        dual_stack = ipaddress.IPv6Address(host).ipv4_mapped is not None
    return _Seen(_WINDOWS_FAMILY[family], _scoped(host, ifindex), inode, dual_stack)


def _attribute(msg: bytes, wanted: int) -> bytes | None:
    offset = _INET_DIAG_MSG_SIZE
    while offset + _RTATTR.size <= len(msg):
        length, kind = _RTATTR.unpack_from(msg, offset)
        if length < _RTATTR.size:
            return None
        if kind == wanted:
            return msg[offset + _RTATTR.size:offset + length]
        offset += (length + 3) & ~3
    return None


def _kernel_sockets(transport: int, port: int) -> list[_Seen]:
    """The sockets of any process claiming ``port`` in this network namespace (_TCP_STATES,
    _UDP_STATES). Empty if sock_diag is unavailable: then only this process's are checked."""
    states = _TCP_STATES if transport == L.IPPROTO_TCP else _UDP_STATES
    seen = []
    try:
        with L.socket(L.AF_NETLINK, L.SOCK_RAW | L.SOCK_CLOEXEC, _NETLINK_SOCK_DIAG) as nl:
            for family in (L.AF_INET, L.AF_INET6):
                for msg in _dump(nl, _diag_request(family, transport, states, port)):
                    found = _parse(msg, port)
                    if found is not None:
                        seen.append(found)
    except OSError:
        return []
    return seen


def _other_bindings(transport: int, port: int, known: Iterable[int]) -> list[Binding]:
    """Bindings on the port of sockets not in this process's table, flags from markers."""
    others = [s for s in _kernel_sockets(transport, port) if s.inode not in known]
    if not others:
        return []
    with L.socket(L.AF_UNIX, L.SOCK_DGRAM) as probe:
        return [Binding(s.family, s.address, port, *_published_options(probe, s.inode),
                        dual_stack=s.dual_stack) for s in others]


# ======================================================================================
# Helpers on descriptors
# ======================================================================================
def _scoped(host: str, scope: int) -> str:
    """A link-local IPv6 host with its scope: fe80::1 on two interfaces are two addresses."""
    if scope and ":" in host and ipaddress.IPv6Address(host).is_link_local:
        return f"{host}%{scope}"
    return host


def _binding_of(desc: Descriptor, family: int, address: tuple, port: int) -> Binding:
    state = desc.state
    dual_stack = family == W.AF_INET6 and not desc.sock.getsockopt(L.IPPROTO_IPV6, L.IPV6_V6ONLY)
    scope = address[3] if family == W.AF_INET6 else 0
    return Binding(family, _scoped(address[0], scope), port, state.reuseaddr, state.exclusive,
                   dual_stack)


def _own_bindings(transport: int, port: int) -> dict[int, Binding]:
    """This process's open sockets bound to the port, by inode."""
    with _registered_lock:
        on_port = dict(_registered.get((transport, port), {}))
    open_states = table().states
    own = {}
    for inode, entry in on_port.items():
        if open_states.get(inode) is entry.state:
            own[inode] = entry.binding
        else:
            _forget(entry.state)     # closed by a path that skipped release(): not a binding
    return own


def _bindings_on(transport: int, port: int) -> list[Binding]:
    own = _own_bindings(transport, port)
    if transport == L.IPPROTO_TCP and not _tcp_port_held(port):
        return []                    # a free port: skip sock_diag's walk of every bind bucket
    return list(own.values()) + _other_bindings(transport, port, own)


def _tcp_port_held(port: int) -> bool:
    """Whether any TCP socket (any address, state or owner) holds the port.

    Dumping bound-but-inactive TCP sockets walks the kernel's whole bind hash (milliseconds);
    a plain dual-stack [::] bind asks the same question in microseconds, because it conflicts
    with every socket on the port. It holds the port only for the duration of the call.
    """
    try:
        probe = L.socket(L.AF_INET6, L.SOCK_STREAM)
    except OSError:
        probe = L.socket(L.AF_INET, L.SOCK_STREAM)    # no IPv6 on this host: IPv4 is all there is
    with probe:
        if probe.family == L.AF_INET6:
            probe.setsockopt(L.IPPROTO_IPV6, L.IPV6_V6ONLY, 0)
        try:
            probe.bind(("::" if probe.family == L.AF_INET6 else "0.0.0.0", port))
        except OSError:
            return True              # EADDRINUSE, or EACCES for a low port: look closer
    return False


def _require_local(desc: Descriptor, family: int, address: tuple) -> None:
    """Windows rejects a non-local address (WSAEADDRNOTAVAIL) before it looks for conflicts."""
    scratch = L.socket(desc.sock.family, desc.sock.type)
    try:
        if family == W.AF_INET6:
            v6only = desc.sock.getsockopt(L.IPPROTO_IPV6, L.IPV6_V6ONLY)
            scratch.setsockopt(L.IPPROTO_IPV6, L.IPV6_V6ONLY, v6only)
        scratch.bind(sockaddr.to_linux(family, (address[0], 0) + tuple(address[2:])))
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise WSAError(W.WSAEADDRNOTAVAIL) from None
    finally:
        scratch.close()


# ======================================================================================
# The interface base.py calls
# ======================================================================================
def prepare(sock: L.socket, type_: int) -> None:
    """At socket creation: the kernel flags of the module docstring."""
    transport = _transport(type_, sock.proto)
    if transport == L.IPPROTO_TCP:
        _set_kernel_reuseaddr(sock, True)
        sock.setsockopt(L.SOL_SOCKET, L.SO_REUSEPORT, 1)
    elif transport == L.IPPROTO_UDP:
        sock.setsockopt(L.SOL_SOCKET, L.SO_REUSEPORT, 1)
        _steer_to_oldest(sock)


def lock() -> _BindLock:
    """Context manager held around check + kernel bind + register."""
    return _BindLock()


def check(desc: Descriptor, family: int, address: tuple) -> None:
    """Raise WSAError(WSAEACCES | WSAEADDRINUSE) where Windows refuses this bind."""
    transport = _transport(desc.type, desc.protocol)
    if transport is None:
        return
    port = address[1]
    if transport == L.IPPROTO_UDP:
        # Off for an ephemeral pick, on for a chosen port (module docstring). Set here on
        # every bind so that a failed earlier bind cannot leave it on for a port-0 one.
        _set_kernel_reuseaddr(desc.sock, port != 0)
    if port == 0:
        return
    error = conflict(_binding_of(desc, family, address, port), _bindings_on(transport, port))
    if error is not None:
        _require_local(desc, family, address)
        raise WSAError(error)


def register(desc: Descriptor, family: int, address: tuple) -> None:
    """After a successful kernel bind: record the binding and publish its flags."""
    transport = _transport(desc.type, desc.protocol)
    if transport is None:
        return
    port = address[1]
    if port == 0:
        port = desc.sock.getsockname()[1]
        if transport == L.IPPROTO_UDP:
            _set_kernel_reuseaddr(desc.sock, True)    # the port is chosen: let others share it
    binding = _binding_of(desc, family, address, port)
    inode = desc.state.inode
    marker = _publish(inode, binding)
    with _registered_lock:
        _registered.setdefault((transport, port), {})[inode] = _Own(binding, desc.state)
    desc.state.bind_entries.append(_Registration((transport, port), inode, marker))


def listening(desc: Descriptor) -> None:
    """After listen: steer connections to the oldest listener of a shared address."""
    if _transport(desc.type, desc.protocol) != L.IPPROTO_TCP:
        return
    try:
        _steer_to_oldest(desc.sock)
    except OSError:
        pass                         # an adopted socket without SO_REUSEPORT: nothing to steer


def release(desc: Descriptor) -> None:
    """The socket's last descriptor in this process is closing: drop its binding and marker."""
    _forget(desc.state)

