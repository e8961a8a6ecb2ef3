"""The base service provider: Winsock semantics over real Linux kernel sockets.

An IFS provider (XP1_IFS_HANDLES): a SOCKET is the kernel fd itself. Every entry point takes
the C parameters in C order minus out-parameters and ``lpErrno`` (DESIGN.md §3.2), returns
the outputs, and raises ``WSAError``; no other exception leaves this module.

Where Linux and Windows differ, the Windows rule is emulated here and the reason is given
next to it. Errors from the kernel are converted at one place per call path: ``_io_error``
(I/O and control calls, the NTSTATUS path) and ``_create_error`` (socket creation, the
direct path).
"""
from __future__ import annotations

import errno as E
import os
import socket as L
import struct
import threading
import time
from typing import Callable, Sequence

from wsemu import abi as W
from wsemu import catalog
from wsemu._native import ffi, lib
from wsemu import msgqueue, sockaddr
from wsemu.errors import WSAError, wsa_from_errno, wsa_from_errno_io
from wsemu.events import registry as _registry
from wsemu.events.state import Call as _Call
from wsemu.spi import argcheck, cgate, sharing, sockopts
from wsemu.spi.descriptor import (LINUX_FAMILY, WINDOWS_FAMILY, Descriptor, probe_socket, table,
                                  wrap_fd)
from wsemu.spi.sendqueue import queue as _sendq
from wsemu.spi.sharedstate import settle_delivery
from wsemu.spi.table import WSPDATA, WSPPROC_TABLE
from wsemu.spi.upcalls import upcalls as default_upcalls

_MSG_NOSIGNAL = int(L.MSG_NOSIGNAL)   # a plain int: IntFlag arithmetic costs ~1 us per call
_get_ident = threading.get_ident
_TCP_INFO_STATE = struct.Struct("B")
_TCP_SYN_SENT, _TCP_CLOSE = 2, 7
_IP_MTU_DISCOVER, _IP_PMTUDISC_DONT = 10, 0

# Windows recv/send flag bits the kernel understands under the same value.
_SAME_BITS = W.MSG_OOB | W.MSG_PEEK | W.MSG_DONTROUTE
_RECV_FLAGS = W.MSG_OOB | W.MSG_PEEK | W.MSG_WAITALL | W.MSG_PUSH_IMMEDIATE | W.MSG_PARTIAL
_SEND_FLAGS = W.MSG_OOB | W.MSG_DONTROUTE | W.MSG_PARTIAL

_ALL_EVENTS = W.FD_ALL_EVENTS

# WSAAccept condition function results.
_CF = (W.CF_ACCEPT, W.CF_REJECT, W.CF_DEFER)


# Linux's answers when the interface a connect or send would use is down (it never says
# ENETDOWN for IP sockets: reference/python-ecosystem.md §2.2).
_UNREACHABLE = (E.ENETUNREACH, E.EHOSTUNREACH, E.EADDRNOTAVAIL)


def _io_error(desc: Descriptor | None, exc: OSError, op: str, destination: tuple | None = None) -> WSAError:
    """A kernel failure of an I/O or control call as the WSA error Windows reports
    (``destination``: a connect's or sendto's Windows address tuple)."""
    err = exc.errno or 0
    if desc is not None and desc.closing:
        return WSAError(W.WSAEINTR)          # closesocket from another thread interrupted us
    if err in (E.EBADF, E.ENOTSOCK):
        return WSAError(W.WSAENOTSOCK)
    if desc is not None:
        state = desc.state
        if err in _UNREACHABLE and op in ("connect", "send") and _interface_down(desc, destination):
            return WSAError(W.WSAENETDOWN)   # Windows: the network subsystem (link) is down
        if err == E.EAGAIN:
            if desc.is_stream and op in ("send", "recv") and _tcp_state(desc) == _TCP_SYN_SENT:
                return WSAError(W.WSAENOTCONN)   # send/recv while connecting (item 91)
            if op in ("send", "recv") and not desc.is_nonblocking():
                return WSAError(W.WSAETIMEDOUT)  # a blocking call hit SO_RCVTIMEO/SO_SNDTIMEO
            return WSAError(W.WSAEWOULDBLOCK)
        if err == E.EPIPE and op == "send":
            if state.shut_wr:
                return WSAError(W.WSAESHUTDOWN)
            if state.sticky_error:
                return WSAError(state.sticky_error)
            if not state.ever_connected:
                return WSAError(W.WSAENOTCONN)
            state.sticky_error = W.WSAECONNRESET
            return WSAError(W.WSAECONNRESET)
        if err == E.ECONNRESET and desc.is_stream:
            state.sticky_error = W.WSAECONNRESET
        if err == E.EDESTADDRREQ:
            return WSAError(W.WSAENOTCONN)       # send on an unconnected datagram socket
        if err == E.ECONNREFUSED and not desc.is_stream:
            return WSAError(W.WSAECONNRESET)     # ICMP port unreachable, as Windows reports it
    return WSAError(wsa_from_errno_io(err))


def _interface_down(desc: Descriptor, destination: tuple | None) -> bool:
    from wsemu.netstate.live import live
    try:
        return live.interface_down(desc, destination)
    except (OSError, WSAError):
        return False                         # (no netlink here: leave the kernel's answer)


def _tcp_state(desc: Descriptor) -> int:
    try:
        return desc.sock.getsockopt(L.IPPROTO_TCP, L.TCP_INFO, 1)[0]
    except OSError:
        return 0


def _linux_flags(flags: int, allowed: int) -> int:
    if flags & ~allowed:
        raise WSAError(W.WSAEOPNOTSUPP)
    linux = flags & _SAME_BITS
    if flags & W.MSG_WAITALL:
        linux |= L.MSG_WAITALL
    return linux


class BaseProvider:
    """The base provider's 30 SPI entry points plus the data-path helpers ws2 calls."""

    def __init__(self, upcalls=default_upcalls) -> None:
        self.upcalls = upcalls
        self.table = table()
        self.startups = 0
        self._startup_lock = threading.Lock()

    # ==================================================================================
    # Startup
    # ==================================================================================
    def startup(self, wVersionRequested: int) -> WSPDATA:
        major, minor = wVersionRequested & 0xFF, wVersionRequested >> 8
        if (major, minor) < (2, 2):
            raise WSAError(W.WSAVERNOTSUPPORTED)
        with self._startup_lock:
            self.startups += 1
        return WSPDATA(0x0202, 0x0202, "wsemu base provider (Linux kernel sockets)")

    def WSPCleanup(self) -> None:
        with self._startup_lock:
            if self.startups == 0:
                raise WSAError(W.WSANOTINITIALISED)
            self.startups -= 1
            if self.startups == 0:
                sharing.local_deposits.release_all()   # unclaimed self-duplicates go too

    def WSPCancelBlockingCall(self) -> None:
        # Winsock 2 has no blocking hooks: there is never a blocking call to cancel this way.
        raise WSAError(W.WSAEINVAL)

    # ==================================================================================
    # Descriptor lookup (IFS: the SOCKET is the fd; unknown sockets are adopted)
    # ==================================================================================
    def lookup(self, s: int) -> Descriptor:
        if s.__class__ is not int:
            s = argcheck.socket(s)               # WSAENOTSOCK: no float, bool or list is a SOCKET
        desc = self.table.by_fd.get(s)
        if desc is not None:
            return desc if not desc.adopted else self._still_adopted(desc)
        return self.adopt(s)

    def _still_adopted(self, desc: Descriptor) -> Descriptor:
        """An adopted fd belongs to someone else, who may have closed it and had the number
        reused by another socket since: check it is still the same kernel socket."""
        try:
            same = os.fstat(desc.fd).st_ino == desc.state.inode
        except OSError:
            same = False
        if same:
            return desc
        self.table.forget(desc)
        self.upcalls.WPUCloseSocketHandle(desc.fd)
        return self.adopt(desc.fd)                # WSAENOTSOCK if nothing (or no socket) is there

    def adopt(self, s: object, catalog=None) -> Descriptor:
        """A kernel socket wsemu did not create (e.g. a Python socket's fileno())."""
        if not argcheck.is_int(s) or s < 0 or s > 0x7FFFFFFF:
            raise WSAError(W.WSAENOTSOCK)
        lfamily, ltype, lproto = probe_socket(s)
        family = WINDOWS_FAMILY.get(lfamily)
        if family is None:
            raise WSAError(W.WSAENOTSOCK)
        from wsemu import catalog as catalog_mod
        cat = catalog or catalog_mod.current()
        entry = cat.select(family, int(ltype), lproto)
        sock = wrap_fd(s, lfamily, ltype, lproto)   # the owner's blocking mode stays as it is
        state = self.table.state_for(s)
        desc = Descriptor(sock, state, entry, family, int(ltype), lproto, adopted=True)
        state.nonblocking = desc.is_nonblocking()
        if int(ltype) == W.SOCK_STREAM:
            state.listening = bool(sock.getsockopt(L.SOL_SOCKET, L.SO_ACCEPTCONN))
        try:
            bound = sock.getsockname()
            desc.bound = bool(bound[1]) if isinstance(bound, tuple) else False
            sock.getpeername()
            if state.connected_at is None:
                state.ever_connected = True
                state.connected_at = time.monotonic()
        except OSError:
            pass
        self.table.add(desc)
        self.upcalls.WPUModifyIFSHandle(entry.dwCatalogEntryId, s)
        return desc

    # ==================================================================================
    # Creation and teardown
    # ==================================================================================
    def WSPSocket(self, af: int, type: int, protocol: int, lpProtocolInfo: W.WSAPROTOCOL_INFOW,
                  g: int = 0, dwFlags: int = 0) -> int:
        info = argcheck.protocol_info(lpProtocolInfo, optional=False)
        if info.dwProviderReserved:
            # A duplicated socket's info: redeem its token (the real socket decides af, type
            # and protocol, whatever the arguments say).
            return self._claim(info, argcheck.integer(dwFlags))
        # 0 and FROM_PROTOCOL_INFO take the value from the catalog entry (reference/spi.md §1.2).
        af = info.iAddressFamily if af in (0, W.FROM_PROTOCOL_INFO) else af
        type = info.iSocketType if type in (0, W.FROM_PROTOCOL_INFO) else type
        protocol = info.iProtocol if protocol in (0, W.FROM_PROTOCOL_INFO) else protocol
        af, type, protocol = (argcheck.int32(v) for v in (af, type, protocol))
        dwFlags = argcheck.integer(dwFlags)
        if g not in (0,):
            raise WSAError(W.WSAEINVAL)      # socket groups are reserved
        lfamily = LINUX_FAMILY.get(af)
        if lfamily is None:
            raise WSAError(W.WSAEAFNOSUPPORT)
        if type not in (W.SOCK_STREAM, W.SOCK_DGRAM, W.SOCK_RAW):
            raise WSAError(W.WSAESOCKTNOSUPPORT)
        try:
            sock = L.socket(lfamily, type, protocol)
        except OSError as exc:
            raise _create_error(exc) from None
        try:
            return self._register_new(sock, info, af, type, protocol, dwFlags)
        except BaseException:
            sock.close()
            raise

    def _register_new(self, sock: L.socket, info: W.WSAPROTOCOL_INFOW, af: int, type_: int,
                      protocol: int, dwFlags: int) -> int:
        if sock.gettimeout() is not None:
            sock.settimeout(None)    # Windows creates sockets blocking, whatever socket.setdefaulttimeout()
        # Windows handles are inheritable unless WSA_FLAG_NO_HANDLE_INHERIT.
        if not dwFlags & W.WSA_FLAG_NO_HANDLE_INHERIT:
            sock.set_inheritable(True)
        if af == W.AF_INET6 and type_ != W.SOCK_RAW:   # Linux refuses V6ONLY on raw sockets
            sock.setsockopt(L.IPPROTO_IPV6, L.IPV6_V6ONLY, 1)          # Windows default (item 61)
        if af == W.AF_INET and type_ != W.SOCK_STREAM:
            sock.setsockopt(L.IPPROTO_IP, _IP_MTU_DISCOVER, _IP_PMTUDISC_DONT)  # DF off (item 60)
        from wsemu.spi import bindrules
        bindrules.prepare(sock, type_)
        state = self.table.state_for(sock.fileno())
        desc = Descriptor(sock, state, info, af, type_, protocol,
                          overlapped=bool(dwFlags & W.WSA_FLAG_OVERLAPPED))
        self.table.add(desc)
        return self.upcalls.WPUModifyIFSHandle(info.dwCatalogEntryId, desc.fd)

    def _claim(self, info: W.WSAPROTOCOL_INFOW, dwFlags: int) -> int:
        token = info.dwProviderReserved
        fd, arena, slot = sharing.claim(token)
        sock = None
        try:
            sock = wrap_fd(fd)            # the kernel says what it is; the source's mode stays
            family = WINDOWS_FAMILY[_raw_family(sock)]
        except (OSError, KeyError):
            # Closed through its socket object once there is one: that object would close
            # the number again when collected, whatever it then belongs to.
            if sock is not None:
                sock.close()
            else:
                os.close(fd)
            if arena is not None:
                settle_delivery(arena, slot, token)
            raise WSAError(W.WSAEINVAL) from None
        sock.set_inheritable(not dwFlags & W.WSA_FLAG_NO_HANDLE_INHERIT)
        try:
            state = self.table.attach(fd, arena, slot, token) if arena is not None else self.table.state_for(fd)
        except ValueError:
            sock.close()
            raise WSAError(W.WSAEINVAL) from None
        desc = Descriptor(sock, state, _catalog_info(info), family, _raw_type(sock), _raw_proto(sock),
                          overlapped=bool(dwFlags & W.WSA_FLAG_OVERLAPPED))
        # Windows caches per descriptor whether the socket was bound when it was made
        # (item 27): a later bind through another descriptor does not change this one's view.
        # Only datagram receives consult it.
        desc.bound = desc.is_stream or bool(_bound_port(desc))
        self.table.add(desc)
        return self.upcalls.WPUModifyIFSHandle(desc.info.dwCatalogEntryId, desc.fd)

    def WSPCloseSocket(self, s: int) -> None:
        self.table.close(self.lookup(s))

    # ==================================================================================
    # Naming
    # ==================================================================================
    def WSPBind(self, s: int, name: object, namelen: int | None = None) -> None:
        if name is None:
            raise WSAError(W.WSAEFAULT)
        family, address = sockaddr.parse_name(name, namelen)
        desc = self.lookup(s)
        if family != desc.family:
            raise WSAError(W.WSAEFAULT if family in sockaddr.SIZES else W.WSAEAFNOSUPPORT)
        if _bound_port(desc):
            raise WSAError(W.WSAEINVAL)
        from wsemu.spi import bindrules
        with bindrules.lock():
            bindrules.check(desc, family, address)
            try:
                desc.sock.bind(sockaddr.to_linux(family, address))
            except OSError as exc:
                if exc.errno == E.EADDRINUSE:
                    raise WSAError(W.WSAEACCES if desc.state.reuseaddr else W.WSAEADDRINUSE) from None
                raise _io_error(desc, exc, "bind") from None
            bindrules.register(desc, family, address)
        desc.bound = True

    def WSPGetSockName(self, s: int, namelen: int | None = None) -> tuple:
        desc = self.lookup(s)
        namelen = argcheck.length(namelen)
        try:
            address = sockaddr.from_linux(desc.sock.getsockname())
        except OSError as exc:
            raise _io_error(desc, exc, "getsockname") from None
        if not address[1] and not desc.state.connecting:
            raise WSAError(W.WSAEINVAL)          # unbound (Linux reports 0.0.0.0:0)
        if namelen is not None and namelen < sockaddr.SIZES[desc.family]:
            raise WSAError(W.WSAEFAULT)
        return address

    def WSPGetPeerName(self, s: int, namelen: int | None = None) -> tuple:
        desc = self.lookup(s)
        namelen = argcheck.length(namelen)
        state = desc.state
        if state.connecting and state.connect_target is not None and _tcp_state(desc) == _TCP_SYN_SENT:
            address = state.connect_target       # Windows names the peer while connecting
        else:
            try:
                address = sockaddr.from_linux(desc.sock.getpeername())
            except OSError as exc:
                raise _io_error(desc, exc, "getpeername") from None
        if namelen is None:
            return address
        if namelen < sockaddr.SIZES[desc.family]:
            raise WSAError(W.WSAEFAULT)
        return address

    # ==================================================================================
    # Connection setup
    # ==================================================================================
    def WSPListen(self, s: int, backlog: int) -> None:
        desc = self.lookup(s)
        backlog = argcheck.integer(backlog)
        if desc.type != W.SOCK_STREAM:
            raise WSAError(W.WSAEOPNOTSUPP)
        if not _bound_port(desc):
            raise WSAError(W.WSAEINVAL)          # Linux would bind an ephemeral port instead
        if desc.state.ever_connected and not desc.state.connecting and _is_connected(desc):
            raise WSAError(W.WSAEISCONN)
        if backlog < 0 and backlog != W.SOMAXCONN:
            backlog = max(200, min(-backlog, 65535))   # SOMAXCONN_HINT(n) == -n
        try:
            desc.sock.listen(min(backlog, 0x7FFFFFFF) if backlog >= 0 else 4096)
        except OSError as exc:
            raise _io_error(desc, exc, "listen") from None
        desc.state.listening = True
        self.table.waiters.kick()
        from wsemu.spi import bindrules
        bindrules.listening(desc)

    def WSPAccept(self, s: int, addrlen: int | None = None, lpfnCondition: Callable | None = None,
                  dwCallbackData: int = 0) -> tuple[int, tuple]:
        desc = self.lookup(s)
        addrlen, lpfnCondition = argcheck.length(addrlen), argcheck.optional_callable(lpfnCondition)
        minimum = sockaddr.SIZES.get(desc.family, 16)
        if addrlen is not None and addrlen < minimum:
            raise WSAError(W.WSAEFAULT)          # checked before dequeuing (item 85)
        if not desc.state.deferred and not desc.sock.getsockopt(L.SOL_SOCKET, L.SO_ACCEPTCONN):
            raise WSAError(W.WSAEINVAL)
        new = self._dequeue(desc)
        address = sockaddr.from_linux(new.sock.getpeername())
        if lpfnCondition is not None:
            verdict = self._ask_condition(new, address, lpfnCondition, dwCallbackData)
            if verdict == W.CF_DEFER:
                desc.state.deferred.insert(0, new)
                cgate.changed(desc.state)        # (a list change: no setattr tells C)
                raise WSAError(W.WSATRY_AGAIN)
            if verdict == W.CF_REJECT:
                new.sock.setsockopt(L.SOL_SOCKET, L.SO_LINGER, struct.pack("ii", 1, 0))
                new.sock.close()
                raise WSAError(W.WSAECONNREFUSED)
        self.table.add(new)
        handle = self.upcalls.WPUModifyIFSHandle(new.info.dwCatalogEntryId, new.fd)
        if desc.state.events is not None:
            _registry.reenable(desc, _Call.ACCEPT)
            _registry.inherit(desc, new, handle)
        return handle, address

    def _dequeue(self, desc: Descriptor) -> Descriptor:
        """The next connection: a deferred one first, else one from the kernel."""
        if desc.state.deferred:
            new = desc.state.deferred.pop(0)
            cgate.changed(desc.state)
            return new
        try:
            if desc.is_nonblocking():
                fd, _ = desc.sock._accept()
            else:
                fd, _ = desc.blocking_call(desc.sock._accept)
        except OSError as exc:
            raise _io_error(desc, exc, "accept") from None
        if desc.closing:
            os.close(fd)                         # the listener was closed while we waited
            raise WSAError(W.WSAEINTR)
        sock = wrap_fd(fd, desc.sock.family, desc.sock.type, desc.sock.proto)   # no default timeout
        return self._inherit(desc, sock)

    def _inherit(self, listener: Descriptor, sock: L.socket) -> Descriptor:
        """An accepted socket inherits the listener's Windows state (item 64)."""
        src = listener.state
        state = self.table.state_for(sock.fileno())
        for field in ("rcvtimeo_ms", "sndtimeo_ms", "exclusive", "reuseaddr", "sndbuf", "rcvbuf",
                      "debug", "dontroute", "linger_raw"):
            setattr(state, field, getattr(src, field))
        state.mark_connected()
        state.accepted = True
        new = Descriptor(sock, state, listener.info, listener.family, listener.type, listener.protocol,
                         overlapped=listener.overlapped)
        new.bound = True
        if listener.is_nonblocking():
            new.set_nonblocking(True)
        sock.set_inheritable(listener.sock.get_inheritable())
        return new

    def _ask_condition(self, new: Descriptor, address: tuple, condition: Callable, data: int) -> int:
        caller_id = sockaddr.encode(new.family, address)
        callee_id = sockaddr.encode(new.family, sockaddr.from_linux(new.sock.getsockname()))
        try:
            verdict = condition(caller_id, None, None, None, callee_id, None, 0, data)
        except Exception:
            verdict = W.CF_REJECT
        if verdict not in _CF:
            new.sock.close()
            raise WSAError(W.WSAEINVAL)
        return verdict

    def WSPConnect(self, s: int, name: object, namelen: int | None = None, lpCallerData=None,
                   lpCalleeData=None, lpSQOS=None, lpGQOS=None) -> None:
        desc = self.lookup(s)
        if name is None:
            raise WSAError(W.WSAEFAULT)
        if (not desc.is_stream and isinstance(name, (bytes, bytearray, memoryview)) and len(name) >= 2
                and sockaddr.family_of(name) == W.AF_UNSPEC):
            return self._disconnect_datagram(desc)
        family, address = sockaddr.parse_name(name, namelen)
        if family != desc.family:
            raise WSAError(W.WSAEAFNOSUPPORT)
        if not desc.is_stream:
            return self._connect_datagram(desc, family, address)
        if desc.sock.getsockopt(L.SOL_SOCKET, L.SO_ACCEPTCONN):
            raise WSAError(W.WSAEINVAL)          # connect on a listening socket (item 89)
        if _is_any(address) or address[1] == 0:
            raise WSAError(W.WSAEADDRNOTAVAIL)   # Linux would connect to the local host
        target = sockaddr.to_linux(family, address)
        state = desc.state
        if desc.is_nonblocking():
            err = desc.sock.connect_ex(target)
            if err in (E.ECONNREFUSED, E.ECONNABORTED) and (state.connecting or state.connect_failed):
                # Linux answers the first connect after an asynchronous failure with that
                # failure (or ECONNABORTED once SO_ERROR was read); Windows starts a new
                # attempt, keeping SO_ERROR (item 120).
                if err == E.ECONNREFUSED:
                    state.so_error = W.WSAECONNREFUSED
                err = desc.sock.connect_ex(target)
            if err in (0, E.EISCONN) and state.connecting:
                state.mark_connected()           # an in-progress connect finished meanwhile
                if err == E.EISCONN:
                    raise WSAError(W.WSAEISCONN)
            if err == 0:
                state.mark_connected()
                desc.bound = True
                _registry.connected(desc)
                return
            if err == E.EINPROGRESS:
                state.connecting = True
                state.connect_failed = False
                state.connect_target = address
                desc.bound = True
                self.table.waiters.kick()
                _registry.connect_started(desc)
                raise WSAError(W.WSAEWOULDBLOCK)
            if err == E.EALREADY:
                raise WSAError(W.WSAEALREADY)
            raise _io_error(desc, OSError(err, os.strerror(err)), "connect", address)
        self._connect_blocking(desc, target, address)

    def _connect_blocking(self, desc: Descriptor, target: tuple, address: tuple) -> None:
        state = desc.state
        stale = state.connecting or bool(state.connect_failed and state.so_error)   # async failure
        if state.connecting and _tcp_state(desc) == _TCP_SYN_SENT:
            raise WSAError(W.WSAEALREADY)
        # Linux times a blocking connect out after SO_SNDTIMEO; Windows' connect ignores it.
        saved = state.sndtimeo_ms
        if saved:
            desc.sock.setsockopt(L.SOL_SOCKET, L.SO_SNDTIMEO, struct.pack("@ll", 0, 0))
        try:
            desc.blocking_call(desc.sock.connect, target)
        except OSError as exc:
            state.connecting = False
            if stale and exc.errno in (E.ECONNREFUSED, E.ECONNABORTED) and not desc.closing:
                # Linux answered with the earlier asynchronous failure without trying;
                # Windows makes a new attempt (SO_ERROR keeps the old failure until then).
                state.connect_failed = False
                return self._connect_blocking(desc, target, address)
            if exc.errno == E.EISCONN:
                raise WSAError(W.WSAEISCONN) from None
            # A failed blocking connect leaves SO_ERROR 0 on Windows (todo_wine in item 120),
            # but select reports the socket in exceptfds from now on.
            state.connect_failed = True
            raise _io_error(desc, exc, "connect", address) from None
        finally:
            if saved:
                sockopts.OPTIONS[(W.SOL_SOCKET, W.SO_SNDTIMEO)].set(desc, saved)
        state.mark_connected()
        desc.bound = True
        _registry.connected(desc)

    def _connect_datagram(self, desc: Descriptor, family: int, address: tuple) -> None:
        target = sockaddr.to_linux(family, address)
        try:
            desc.sock.connect(target)
        except OSError as exc:
            if exc.errno != E.EACCES or desc.sock.getsockopt(L.SOL_SOCKET, L.SO_BROADCAST):
                raise _io_error(desc, exc, "connect", address) from None
            # Windows connects to a broadcast address without SO_BROADCAST (item 66); Linux
            # wants the flag for the connect only (the connected route then serves send()).
            desc.sock.setsockopt(L.SOL_SOCKET, L.SO_BROADCAST, 1)
            try:
                desc.sock.connect(target)
            except OSError as exc2:
                raise _io_error(desc, exc2, "connect", address) from None
            finally:
                desc.sock.setsockopt(L.SOL_SOCKET, L.SO_BROADCAST, 0)
        desc.bound = True
        desc.state.dgram_connected = True
        _registry.connected(desc)

    def _disconnect_datagram(self, desc: Descriptor) -> None:
        # connect(AF_UNSPEC) dissolves the association; Python's connect() cannot express it.
        if lib.wsemu_disconnect(desc.fd) != 0:
            raise WSAError(wsa_from_errno_io(ffi.errno))
        desc.state.dgram_connected = False

    # ==================================================================================
    # Data path
    # ==================================================================================
    def send_bytes(self, desc: Descriptor, data, flags: int = 0) -> int:
        """send() of one buffer: the hot path behind ws2.send and WSPSend.

        Written for speed: the cancellation registration of Descriptor.blocking_call is
        inlined, and a blocking call on a non-blocking socket is never registered.
        """
        state = desc.state
        if state.shut_wr or state.sticky_error:
            raise WSAError(W.WSAESHUTDOWN if state.shut_wr else state.sticky_error)
        lflags = (_linux_flags(flags, _SEND_FLAGS) | _MSG_NOSIGNAL) if flags else _MSG_NOSIGNAL
        if state.nonblocking and _sendq.by_fd and _sendq.pending(desc.fd):
            _send_failed(desc)
            raise WSAError(W.WSAEWOULDBLOCK)       # the previous send's tail is still going out
        try:
            if state.nonblocking:
                if desc.is_stream:
                    return self._send_whole(desc, data, lflags)
                return desc.sock.send(data, lflags)
            tid = _get_ident()
            blocked = desc.blocked
            blocked.add(tid)
            try:
                if _sendq.by_fd:
                    _sendq.wait(desc)              # a blocking send must not overtake a tail
                return desc.sock.send(data, lflags)
            finally:
                blocked.discard(tid)
                if desc.closing and not blocked:
                    self.table.release(desc)
        except OSError as exc:
            if exc.errno == E.ECONNREFUSED and not desc.is_stream:
                return desc.sock.send(data, lflags)   # ICMP ignored (item 95)
            _send_failed(desc)
            raise _io_error(desc, exc, "send") from None

    @staticmethod
    def _send_whole(desc: Descriptor, data, lflags: int) -> int:
        """A non-blocking stream send takes all of ``data`` or fails (wsemu.spi.sendqueue)."""
        sent = desc.sock.send(data, lflags)
        size = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        if sent < size and not lflags & L.MSG_OOB:
            _sendq.enqueue(desc.sock, desc.state, memoryview(data).cast("B")[sent:])
            return size
        return sent

    def recv_bytes(self, desc: Descriptor, bufsize: int, flags: int = 0) -> bytes:
        """recv() into a new bytes object: the hot path behind ws2.recv."""
        state = desc.state
        if state.shut_rd or state.sticky_error:
            raise WSAError(W.WSAESHUTDOWN if state.shut_rd else state.sticky_error)
        if flags:
            lflags = _recv_flags(desc, flags)
        else:
            lflags = 0
        if not desc.is_stream:
            return self._recv_datagram(desc, bufsize, lflags)[0]
        if bufsize < 0:
            _received(desc, -1)
            raise WSAError(W.WSAEFAULT)
        try:
            if state.nonblocking:
                data = desc.sock.recv(bufsize, lflags)
            else:
                tid = _get_ident()
                blocked = desc.blocked
                blocked.add(tid)
                try:
                    data = desc.sock.recv(bufsize, lflags)
                finally:
                    blocked.discard(tid)
                    if desc.closing and not blocked:
                        self.table.release(desc)
        except OSError as exc:
            _received(desc, lflags)
            raise _stream_recv_error(desc, exc, lflags) from None
        if state.events is not None:
            _received(desc, lflags)
        if not data and bufsize:
            _check_eof(desc)
        return data

    def _stream_recv_into(self, desc: Descriptor, buffers: list, flags: int) -> int:
        """WSPRecv on a stream: straight into the caller's buffers (no intermediate copy)."""
        state = desc.state
        if state.shut_rd or state.sticky_error:
            raise WSAError(W.WSAESHUTDOWN if state.shut_rd else state.sticky_error)
        lflags = _recv_flags(desc, flags) if flags else 0
        try:
            if state.nonblocking:
                nbytes = desc.sock.recvmsg_into(buffers, 0, lflags)[0]
            else:
                nbytes = desc.blocking_call(desc.sock.recvmsg_into, buffers, 0, lflags)[0]
        except OSError as exc:
            _received(desc, lflags)
            raise _stream_recv_error(desc, exc, lflags) from None
        _received(desc, lflags)
        if not nbytes and any(len(b) for b in buffers):
            _check_eof(desc)
        return nbytes

    def _recv_datagram(self, desc: Descriptor, bufsize: int, lflags: int,
                       want_from: bool = False) -> tuple[bytes, tuple | None]:
        if not desc.bound:
            # Windows decides "unbound" from the descriptor's own context, not the socket's:
            # a duplicate made before the source was bound stays unbound (item 27).
            raise WSAError(W.WSAEINVAL)
        if bufsize < 0:
            _received(desc, -1)
            raise WSAError(W.WSAEFAULT)
        try:
            if desc.state.nonblocking:
                data, _, mflags, address = desc.sock.recvmsg(bufsize, 0, lflags)
            else:
                data, _, mflags, address = desc.blocking_call(desc.sock.recvmsg, bufsize, 0, lflags)
        except OSError as exc:
            _received(desc, lflags)
            raise _io_error(desc, exc, "recv") from None
        _received(desc, lflags)
        if mflags & L.MSG_TRUNC:
            # The datagram is consumed; the caller's buffer holds its first part.
            err = WSAError(W.WSAEMSGSIZE)
            err.data = data
            err.address = sockaddr.from_linux(address) if address else None
            raise err
        return data, (sockaddr.from_linux(address) if want_from and address else None)

    def sendto_bytes(self, desc: Descriptor, data, flags: int, name: object, namelen: int | None = None) -> int:
        if desc.is_stream:
            return self.send_bytes(desc, data, flags)   # the address is ignored (item 96)
        state = desc.state
        if state.shut_wr:
            raise WSAError(W.WSAESHUTDOWN)
        lflags = _linux_flags(flags, _SEND_FLAGS) if flags else 0
        if name is None:
            return self.send_bytes(desc, data, flags)
        family, address = sockaddr.parse_name(name, namelen)
        if family != desc.family:
            raise WSAError(W.WSAEAFNOSUPPORT)
        target = sockaddr.to_linux(family, address)
        try:
            sent = desc.sock.sendto(data, lflags | _MSG_NOSIGNAL, target)
        except OSError as exc:
            if exc.errno == E.ECONNREFUSED:
                sent = desc.sock.sendto(data, lflags | _MSG_NOSIGNAL, target)
            elif exc.errno == E.EACCES:
                _send_failed(desc)
                raise WSAError(W.WSAEACCES) from None   # broadcast without SO_BROADCAST
            else:
                _send_failed(desc)
                raise _io_error(desc, exc, "send", address) from None
        desc.bound = True                        # sendto binds implicitly (item 94)
        return sent

    def recvfrom_bytes(self, desc: Descriptor, bufsize: int, flags: int = 0,
                       fromlen: int | None = None) -> tuple[bytes, tuple | None]:
        if desc.is_stream:
            return self.recv_bytes(desc, bufsize, flags), None   # address untouched (item 96)
        state = desc.state
        if state.shut_rd:
            raise WSAError(W.WSAESHUTDOWN)
        if fromlen is not None and fromlen < sockaddr.SIZES[desc.family]:
            raise WSAError(W.WSAEFAULT)          # before dequeuing: the datagram stays queued
        lflags = _recv_flags(desc, flags) if flags else 0
        return self._recv_datagram(desc, bufsize, lflags, want_from=True)

    # -- the WSABUF forms of the SPI ---------------------------------------------------
    def WSPSend(self, s: int, lpBuffers: Sequence, dwBufferCount: int | None = None, dwFlags: int = 0,
                lpOverlapped=None, lpCompletionRoutine=None, lpThreadId=None) -> int:
        desc = self.lookup(s)
        _no_overlapped(lpOverlapped, lpCompletionRoutine)
        dwFlags = argcheck.flags(dwFlags)
        buffers = _buffers(lpBuffers, dwBufferCount)
        if len(buffers) == 1:
            return self.send_bytes(desc, buffers[0], dwFlags)
        return self._sendmsg(desc, buffers, dwFlags, None)

    def WSPSendTo(self, s: int, lpBuffers: Sequence, dwBufferCount: int | None = None, dwFlags: int = 0,
                  lpTo: object = None, iTolen: int | None = None, lpOverlapped=None,
                  lpCompletionRoutine=None, lpThreadId=None) -> int:
        desc = self.lookup(s)
        _no_overlapped(lpOverlapped, lpCompletionRoutine)
        dwFlags, iTolen = argcheck.flags(dwFlags), argcheck.length(iTolen)
        buffers = _buffers(lpBuffers, dwBufferCount)
        if len(buffers) == 1:
            return self.sendto_bytes(desc, buffers[0], dwFlags, lpTo, iTolen)
        return self._sendmsg(desc, buffers, dwFlags, None if desc.is_stream else lpTo, iTolen)

    def _sendmsg(self, desc: Descriptor, buffers: list, flags: int, name: object, namelen: int | None = None) -> int:
        if desc.state.shut_wr:
            raise WSAError(W.WSAESHUTDOWN)
        lflags = _linux_flags(flags, _SEND_FLAGS) | _MSG_NOSIGNAL
        target, address = (), None
        if name is not None:
            family, address = sockaddr.parse_name(name, namelen)
            if family != desc.family:
                raise WSAError(W.WSAEAFNOSUPPORT)   # as the one-buffer sendto path says
            target = (sockaddr.to_linux(family, address),)
        try:
            sent = desc.sock.sendmsg(buffers, (), lflags, *target)
        except OSError as exc:
            _send_failed(desc)
            raise _io_error(desc, exc, "send", address) from None
        desc.bound = True
        return sent

    def WSPRecv(self, s: int, lpBuffers: Sequence, dwBufferCount: int | None = None, lpFlags: int = 0,
                lpOverlapped=None, lpCompletionRoutine=None, lpThreadId=None) -> tuple[int, int]:
        """Receive into the caller's writable buffers → (bytes received, flags)."""
        desc = self.lookup(s)
        _no_overlapped(lpOverlapped, lpCompletionRoutine)
        lpFlags = argcheck.flags(lpFlags)
        buffers = _buffers(lpBuffers, dwBufferCount, writable=True)
        nbytes, flags, _ = self._recv_into(desc, buffers, lpFlags, None)
        return nbytes, flags

    def WSPRecvFrom(self, s: int, lpBuffers: Sequence, dwBufferCount: int | None = None, lpFlags: int = 0,
                    lpFromlen: int | None = None, lpOverlapped=None, lpCompletionRoutine=None,
                    lpThreadId=None) -> tuple[int, int, tuple | None]:
        desc = self.lookup(s)
        _no_overlapped(lpOverlapped, lpCompletionRoutine)
        lpFlags, lpFromlen = argcheck.flags(lpFlags), argcheck.length(lpFromlen)
        buffers = _buffers(lpBuffers, dwBufferCount, writable=True)
        return self._recv_into(desc, buffers, lpFlags, lpFromlen)

    def _recv_into(self, desc: Descriptor, buffers: list, flags: int, fromlen: int | None):
        if desc.is_stream:
            return self._stream_recv_into(desc, buffers, flags), 0, None
        # A datagram arrives whole: read it, then scatter it over the buffers.
        total = sum(len(b) for b in buffers)
        try:
            data, address = self.recvfrom_bytes(desc, total, flags, fromlen)
        except WSAError as err:
            if err.winerror == W.WSAEMSGSIZE:
                _scatter(getattr(err, "data", b""), buffers)
            raise
        _scatter(data, buffers)
        return len(data), 0, address

    def WSPRecvDisconnect(self, s: int, lpInboundDisconnectData=None) -> None:
        self.WSPShutdown(s, W.SD_RECEIVE)

    def WSPSendDisconnect(self, s: int, lpOutboundDisconnectData=None) -> None:
        self.WSPShutdown(s, W.SD_SEND)

    def WSPShutdown(self, s: int, how: int) -> None:
        desc = self.lookup(s)
        if not argcheck.is_int(how) or not 0 <= how <= W.SD_BOTH:
            raise WSAError(W.WSAEINVAL)
        state = desc.state
        if desc.is_stream and not _is_connected(desc) and not (state.ever_connected and _tcp_state(desc) != _TCP_CLOSE):
            raise WSAError(W.WSAENOTCONN)        # unconnected, connecting or listening (item 97)
        linux_how = (L.SHUT_RD, L.SHUT_WR, L.SHUT_RDWR)[how]
        if how != W.SD_RECEIVE and _sendq.shutdown_after(desc.fd):
            # A tail is still queued: the send queue sends the FIN after its last byte.
            linux_how = L.SHUT_RD if how == W.SD_BOTH else None
        try:
            if linux_how is not None:
                desc.sock.shutdown(linux_how)
        except OSError as exc:
            # Linux says ENOTCONN for an unconnected datagram socket, but records the shutdown.
            if exc.errno != E.ENOTCONN or desc.is_stream:
                raise _io_error(desc, exc, "shutdown") from None
        if how in (W.SD_RECEIVE, W.SD_BOTH):
            state.shut_rd = True
        if how in (W.SD_SEND, W.SD_BOTH):
            state.shut_wr = True

    # ==================================================================================
    # Options and control
    # ==================================================================================
    def WSPGetSockOpt(self, s: int, level: int, optname: int, optlen: int | None = None) -> bytes:
        return self.get_option(s, level, optname, optlen).data

    def get_option(self, s: int, level: int, optname: int, optlen: int | None) -> sockopts.GetResult:
        level, optname, optlen = argcheck.integer(level), argcheck.integer(optname), argcheck.length(optlen)
        if (level, optname) == (W.SOL_SOCKET, W.SO_OPENTYPE):
            return sockopts.get_option(None, level, optname, optlen)
        desc = self.lookup(s)
        if desc.state.connecting and (level, optname) == (W.SOL_SOCKET, W.SO_ERROR):
            from wsemu.spi import wselect
            wselect.settle(desc)                 # a connect that failed meanwhile sets SO_ERROR
        if level == W.SOL_SOCKET and optname in sockopts.STRUCT_OPTIONS:
            return self._get_struct_option(desc, optname, optlen)
        return sockopts.get_option(desc, level, optname, optlen)

    def _get_struct_option(self, desc: Descriptor, optname: int, optlen: int | None) -> sockopts.GetResult:
        if optlen is not None and optlen <= 0:
            raise sockopts._fault()                   # *optlen left alone (r2 §1.1 step 3)
        if optname == W.SO_BSP_STATE:
            return _bsp_state(desc, optlen)
        data = bytes(desc.info) if optname == W.SO_PROTOCOL_INFOW else desc.info.to_ansi_bytes()
        if optlen is None:
            return sockopts.GetResult(data, len(data))
        if optlen < len(data):
            raise sockopts._fault(optlen=len(data))   # reports the size needed (item 52)
        return sockopts.GetResult(data, optlen)       # a larger length is left as passed

    def WSPSetSockOpt(self, s: int, level: int, optname: int, optval: bytes | None, optlen: int | None = None) -> None:
        level, optname = argcheck.integer(level), argcheck.integer(optname)
        optval, optlen = argcheck.optional_buffer(optval), argcheck.length(optlen)
        if optlen is None:
            optlen = len(optval) if optval is not None else 0
        if (level, optname) == (W.SOL_SOCKET, W.SO_OPENTYPE):
            if optval is None or 0 <= optlen < 4:    # compared unsigned: -1 passes (item 50)
                raise WSAError(W.WSAEFAULT)
            return sockopts.set_option(None, level, optname, optval, optlen)
        desc = self.lookup(s)
        if level == W.SOL_SOCKET and optname in sockopts.STRUCT_OPTIONS:
            raise WSAError(W.WSAENOPROTOOPT)
        sockopts.set_option(desc, level, optname, optval, optlen)

    def WSPIoctl(self, s: int, dwIoControlCode: int, lpvInBuffer: bytes | None = None,
                 cbInBuffer: int | None = None, cbOutBuffer: int = 0, lpOverlapped=None,
                 lpCompletionRoutine=None, lpThreadId=None) -> bytes:
        from wsemu.spi import ioctl
        desc = self.lookup(s)
        dwIoControlCode = argcheck.integer(dwIoControlCode, W.WSAEOPNOTSUPP)
        lpvInBuffer = argcheck.optional_buffer(lpvInBuffer)
        cbInBuffer, cbOutBuffer = argcheck.length(cbInBuffer), argcheck.length(cbOutBuffer)
        return ioctl.control(self, desc, dwIoControlCode & 0xFFFFFFFF, lpvInBuffer, cbInBuffer,
                             cbOutBuffer, lpOverlapped, lpCompletionRoutine)

    def WSPSelect(self, nfds: int, readfds, writefds, exceptfds, timeout) -> int:
        from wsemu.spi import wselect
        _select_args(readfds, writefds, exceptfds, timeout)
        return wselect.select(self, readfds, writefds, exceptfds, timeout)

    # ==================================================================================
    # Address strings
    # ==================================================================================
    def WSPAddressToString(self, lpsaAddress: bytes, dwAddressLength: int | None = None,
                           lpProtocolInfo=None, lpdwAddressStringLength: int | None = None) -> str:
        from wsemu import addrstr
        if lpsaAddress is None:
            raise WSAError(W.WSAEINVAL)          # "not a valid socket address" (MS docs)
        lpsaAddress, dwAddressLength = argcheck.buffer(lpsaAddress), argcheck.length(dwAddressLength)
        lpdwAddressStringLength = argcheck.length(lpdwAddressStringLength)
        raw = bytes(lpsaAddress[:dwAddressLength] if dwAddressLength is not None else lpsaAddress)
        text = addrstr.address_to_string(raw)
        if lpdwAddressStringLength is not None and lpdwAddressStringLength < len(text) + 1:
            err = WSAError(W.WSAEFAULT)
            err.needed = len(text) + 1
            raise err
        return text

    def WSPStringToAddress(self, AddressString: str, AddressFamily: int, lpProtocolInfo=None,
                           lpAddressLength: int | None = None) -> bytes:
        from wsemu import addrstr
        AddressFamily, lpAddressLength = argcheck.integer(AddressFamily), argcheck.length(lpAddressLength)
        needed = sockaddr.SIZES.get(AddressFamily)
        if needed is not None and lpAddressLength is not None and lpAddressLength < needed:
            err = WSAError(W.WSAEFAULT)          # length checked before the text (item 186)
            err.needed = needed
            raise err
        if not isinstance(AddressString, str):
            raise WSAError(W.WSAEINVAL)
        return addrstr.string_to_address(AddressString, AddressFamily)

    # ==================================================================================
    # Entries of later issues (README status table)
    # ==================================================================================
    def WSPDuplicateSocket(self, s: int, dwProcessId: int) -> W.WSAPROTOCOL_INFOW:
        """The socket's own catalog entry with the claim token in dwProviderReserved.
        Checks in Windows' order: the socket (WSAENOTSOCK), then the process (WSAEINVAL)."""
        desc = self.lookup(s)
        pid = argcheck.integer(dwProcessId, W.WSAEINVAL)
        token = sharing.duplicate(self.table, desc, pid)
        return desc.info.copy(dwProviderReserved=token)

    def WSPEventSelect(self, s: int, hEventObject: int, lNetworkEvents: int) -> None:
        """One registration per underlying socket: this one replaces any other (§2.4). The
        event and the mask are checked only when either is non-zero (item 170)."""
        desc = self.lookup(s)
        mask = argcheck.integer(lNetworkEvents, W.WSAEINVAL) & 0xFFFFFFFF
        handle = argcheck.integer(hEventObject, W.WSAEINVAL)
        if handle or mask:
            _registry.check_event_handle(handle)
        desc.set_nonblocking(True)
        _registry.event_select(desc, handle, mask & _ALL_EVENTS)

    def WSPEnumNetworkEvents(self, s: int, hEventObject: int = 0) -> W.WSANETWORKEVENTS:
        desc = self.lookup(s)
        handle = argcheck.integer(hEventObject, W.WSAEINVAL)
        if handle:
            _registry.check_event_handle(handle)
        events, errors = _registry.enumerate_events(desc, handle)
        return W.WSANETWORKEVENTS(events, list(errors))

    def WSPAsyncSelect(self, s: int, hWnd: int, wMsg: int, lEvent: int) -> None:
        """Messages carry wParam = ``s``, the descriptor that registered (item 33)."""
        desc = self.lookup(s)
        hwnd = argcheck.integer(hWnd, W.WSAEINVAL)
        message = argcheck.integer(wMsg, W.WSAEINVAL) & 0xFFFFFFFF
        mask = argcheck.integer(lEvent, W.WSAEINVAL) & 0xFFFFFFFF
        if mask and not msgqueue.IsWindow(hwnd):
            raise WSAError(W.WSAEINVAL)
        desc.set_nonblocking(True)
        _registry.async_select(desc, s, hwnd, message, mask & _ALL_EVENTS)

    def WSPGetOverlappedResult(self, s: int, lpOverlapped, fWait: bool = False):
        raise WSAError(W.WSAEOPNOTSUPP)

    def WSPGetQOSByName(self, s: int, lpQOSName=None):
        raise WSAError(W.WSAEOPNOTSUPP)

    def WSPJoinLeaf(self, s: int, name: object, namelen: int | None = None, lpCallerData=None,
                    lpCalleeData=None, lpSQOS=None, lpGQOS=None, dwFlags: int = 0) -> int:
        raise WSAError(W.WSAEOPNOTSUPP)


# ======================================================================================
# Helpers (no state of their own)
# ======================================================================================
def _received(desc: Descriptor, lflags: int) -> None:
    """A recv-family request reached the socket (lflags -1: one refused for its buffer):
    it re-enables FD_READ, or FD_OOB (CONFORMANCE.md §2.3)."""
    if desc.state.events is not None:
        call = _Call.RECV_REJECTED if lflags < 0 else _Call.RECV_OOB if lflags & L.MSG_OOB else _Call.RECV
        _registry.reenable(desc, call)


def _send_failed(desc: Descriptor) -> None:
    """Only a failing send re-enables FD_WRITE (§2.3)."""
    if desc.state.events is not None:
        _registry.reenable(desc, _Call.SEND_FAILED)


def _create_error(exc: OSError) -> WSAError:
    err = exc.errno or 0
    if err == E.EINVAL:
        return WSAError(W.WSAESOCKTNOSUPPORT)
    return WSAError(wsa_from_errno(err))


# The kernel's plain numbers (socket.socket's properties convert each into an enum member).
_raw_family = L._socket.socket.family.__get__
_raw_type = L._socket.socket.type.__get__
_raw_proto = L._socket.socket.proto.__get__


def _catalog_info(info: W.WSAPROTOCOL_INFOW) -> W.WSAPROTOCOL_INFOW:
    """The catalog's own structure for a duplicated info (what SO_PROTOCOL_INFOW shows)."""
    try:
        return catalog.current().by_id(info.dwCatalogEntryId).info
    except WSAError:
        return info.copy(dwProviderReserved=0)


def _bound_port(desc: Descriptor) -> int:
    try:
        return desc.sock.getsockname()[1]
    except (OSError, IndexError, TypeError):
        return 0


def _is_connected(desc: Descriptor) -> bool:
    try:
        desc.sock.getpeername()
        return True
    except OSError:
        return False


def _is_any(address: tuple) -> bool:
    return address[0] in ("0.0.0.0", "::", "")


def _stream_recv_error(desc: Descriptor, exc: OSError, lflags: int) -> WSAError:
    """A failed stream recv as Windows reports it."""
    if (exc.errno == E.EINVAL and lflags & L.MSG_OOB and not desc.closing
            and not desc.sock.getsockopt(L.SOL_SOCKET, L.SO_OOBINLINE)):
        # Linux: EINVAL when no urgent byte is waiting; Windows: "would block".
        return WSAError(W.WSAEWOULDBLOCK)
    return _io_error(desc, exc, "recv")


def _check_eof(desc: Descriptor) -> None:
    """A stream recv returned 0: a graceful close, or a reset Linux has not reported yet."""
    if desc.closing:
        raise WSAError(W.WSAEINTR)       # closesocket from another thread ended the call
    state = desc.state
    if state.shut_rd:
        raise WSAError(W.WSAESHUTDOWN)
    pending = desc.sock.getsockopt(L.SOL_SOCKET, L.SO_ERROR)
    if pending == E.ECONNRESET:
        state.sticky_error = W.WSAECONNRESET
    elif pending == E.EPIPE:
        # Linux's RST-after-FIN (the peer closed, our send was answered with a reset): Windows
        # calls this an aborted connection (item 105).
        state.sticky_error = W.WSAECONNABORTED
    if state.sticky_error:
        raise WSAError(state.sticky_error)


def _recv_flags(desc: Descriptor, flags: int) -> int:
    lflags = _linux_flags(flags, _RECV_FLAGS)
    if flags & W.MSG_WAITALL:
        # Windows: MSG_WAITALL needs a blocking stream socket and no PEEK/OOB/PARTIAL.
        if (not desc.is_stream or flags & (W.MSG_PEEK | W.MSG_OOB | W.MSG_PARTIAL)
                or desc.is_nonblocking()):
            raise WSAError(W.WSAEOPNOTSUPP)
    return lflags


def _no_overlapped(lpOverlapped, lpCompletionRoutine) -> None:
    if lpOverlapped is not None or lpCompletionRoutine is not None:
        raise WSAError(W.WSAEOPNOTSUPP)          # overlapped I/O is a later issue


def _select_args(readfds, writefds, exceptfds, timeout) -> None:
    """WSPSelect's arguments as C has them: fd_set pointers (FdSet or NULL) holding SOCKETs,
    and a timeval of two C longs; WSAEFAULT / WSAENOTSOCK / WSAEINVAL otherwise."""
    from wsemu.spi.wselect import FdSet
    for fds in (readfds, writefds, exceptfds):
        if fds is not None:
            if not isinstance(fds, FdSet) or not isinstance(fds.fd_array, list):
                raise WSAError(W.WSAEFAULT)
            for s in fds.fd_array:
                argcheck.socket(s)
    if timeout is not None:
        try:
            sec, usec = timeout
        except (TypeError, ValueError):
            raise WSAError(W.WSAEFAULT) from None
        if not all(argcheck.is_int(v) and argcheck.INT32_MIN <= v <= argcheck.INT32_MAX for v in (sec, usec)):
            raise WSAError(W.WSAEINVAL)


def _buffers(lpBuffers: Sequence | None, count: int | None, writable: bool = False) -> list:
    if lpBuffers is None:
        raise WSAError(W.WSAEFAULT)
    try:
        buffers = list(lpBuffers)
    except TypeError:
        raise WSAError(W.WSAEFAULT) from None
    count = argcheck.length(count)
    if count is not None:
        if not 0 <= count <= len(buffers):      # a DWORD: negative is huge
            raise WSAError(W.WSAEFAULT)
        buffers = buffers[:count]
    if not buffers:
        raise WSAError(W.WSAEINVAL)              # dwBufferCount 0
    return [argcheck.buffer(buf, writable) for buf in buffers]


def _scatter(data: bytes, buffers: list) -> None:
    offset = 0
    for view in buffers:
        if offset >= len(data):
            break
        chunk = data[offset:offset + len(view)]
        view[:len(chunk)] = chunk
        offset += len(chunk)


def _bsp_state(desc: Descriptor, optlen: int | None) -> sockopts.GetResult:
    """CSADDR_INFO followed by the two sockaddrs; pointers are offsets into the result."""
    size = sockaddr.SIZES[desc.family]
    header = 40
    if optlen is not None and optlen < header + 2 * size:
        raise sockopts._fault()
    local = remote = b""
    try:
        got = sockaddr.from_linux(desc.sock.getsockname())
        if got[1]:
            local = sockaddr.encode(desc.family, got)
    except OSError:
        pass
    try:
        remote = sockaddr.encode(desc.family, sockaddr.from_linux(desc.sock.getpeername()))
    except OSError:
        pass
    local_off = header if local else 0
    remote_off = header + size if remote else 0
    data = struct.pack("<Qi4xQi4xii", local_off, len(local), remote_off, len(remote), desc.type, desc.protocol)
    data += local.ljust(size, b"\0") + remote.ljust(size, b"\0")
    return sockopts.GetResult(data, optlen if optlen is not None else len(data))


_provider: BaseProvider | None = None


def provider() -> BaseProvider:
    global _provider
    if _provider is None:
        _provider = BaseProvider()
    return _provider


def WSPStartup(wVersionRequested: int, lpProtocolInfo: W.WSAPROTOCOL_INFOW | None = None,
               UpcallTable=None) -> tuple[WSPDATA, WSPPROC_TABLE]:
    """The base provider's WSPStartup: WSPDATA 2.2 and the full 30-entry table."""
    prov = provider()
    wVersionRequested = argcheck.integer(wVersionRequested, W.WSAVERNOTSUPPORTED) & 0xFFFF   # a WORD
    if UpcallTable is not None and not callable(getattr(UpcallTable, "WPUModifyIFSHandle", None)):
        raise WSAError(W.WSAEINVAL)  # not an upcall table: the provider could register no socket
    data = prov.startup(wVersionRequested)
    if UpcallTable is not None:
        prov.upcalls = UpcallTable   # the most recently supplied table wins (reference/spi.md §1.1)
    return data, WSPPROC_TABLE.from_provider(prov)
