"""The network tables of this process's namespace, kept current by one rtnetlink listener.

One listener per process: a netlink socket subscribed to link, address and route changes,
sitting in the event monitor's epoll (``registry.watch_reader``), so changes are read by
the thread that drains the monitor. A raw socket, not pyroute2's ``IPRoute``: its asyncio
transport reads several datagrams ahead and then ``select()`` stops firing, and an
``IPRoute`` made in one thread never answers in another (reference/python-ecosystem.md
§2.2). pyroute2 parses the messages (``MarshalRtnl``).

The cache (``tables.Snapshot``):
* links are dumped when the listener opens and then follow RTM_NEWLINK/RTM_DELLINK (they
  carry the whole link, and the old state is needed to see a link come up or go down);
* addresses are dumped at the first query after an address message (a dump costs about a
  millisecond; a query from the cache a few microseconds);
* routing answers (``route_source``) are remembered per destination until any routing
  change.
Every query first reads what the listener has queued, so an answer is never older than
the change that preceded the call — without waiting for the monitor thread.

Watches are the SIO_ADDRESS_LIST_CHANGE / SIO_ROUTING_INTERFACE_CHANGE requests waiting
for a change: a socket's (its FD_* event is posted when the change comes) or a blocked
thread's. Each fires once; the ioctl is issued again to wait again, as on Windows.
"""
from __future__ import annotations

import errno as E
import os
import select
import socket as L
import struct
import threading
from typing import Callable

from wsemu import abi as W
from wsemu import sockaddr
from wsemu._native import lib
from wsemu.errors import WSAError, wsa_from_errno_io
from wsemu.netstate import tables as T

_RTMGRP_LINK, _RTMGRP_IPV4_IFADDR, _RTMGRP_IPV4_ROUTE = 0x1, 0x10, 0x40
_RTMGRP_IPV6_IFADDR, _RTMGRP_IPV6_ROUTE = 0x100, 0x400
GROUPS = (_RTMGRP_LINK | _RTMGRP_IPV4_IFADDR | _RTMGRP_IPV4_ROUTE | _RTMGRP_IPV6_IFADDR
          | _RTMGRP_IPV6_ROUTE)
_RTM_GETLINK, _RTM_GETADDR = 18, 22
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLMSG = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBi")
_DUMP_TIMEOUT = 5.0                     # seconds: the kernel answers a dump at once
_SO_BINDTODEVICE = 25
_PROBE_PORT = 9                         # any non-zero port: a UDP connect sends nothing


class _Watch:
    __slots__ = ("kinds", "family", "destination", "answer", "fire", "interrupt")

    def __init__(self, kinds: int, family: int, destination: tuple | None, answer,
                 fire: Callable[[], None], interrupt: Callable[[], None] | None) -> None:
        self.kinds = kinds
        self.family = family
        self.destination = destination   # a routing watch's (None: any change of ``kinds``)
        self.answer = answer             # the route answer when it was made
        self.fire = fire
        self.interrupt = interrupt       # a blocked thread's: wakes it when the listener goes


def _parser():
    from pyroute2.netlink.rtnl.marshal import MarshalRtnl   # (imported at first use: 40 ms)
    return MarshalRtnl()


class LiveTables:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sock: L.socket | None = None
        self.ready: select.poll | None = None
        self.marshal = None
        self.links: dict[int, T.Link] = {}
        self.addresses: tuple[T.Address, ...] | None = None   # None: dump at the next query
        self.routes: dict[tuple, object] = {}
        self.probes: dict[int, L.socket] = {}
        self.watches: dict[object, _Watch] = {}
        self.address_changes = 0         # address messages read (a dump overlapping one is stale)
        self.dumps = 0                   # (for tests and the benchmark)

    # -- the listener ----------------------------------------------------------------------
    def _open(self) -> None:
        """Subscribe first, then dump: a change during the dump is then never missed."""
        if self.sock is not None:
            return
        self.marshal = self.marshal or _parser()
        sock = L.socket(L.AF_NETLINK, L.SOCK_RAW | L.SOCK_NONBLOCK | L.SOCK_CLOEXEC, L.NETLINK_ROUTE)
        try:
            sock.setsockopt(L.SOL_SOCKET, L.SO_RCVBUF, 1 << 20)
            sock.bind((0, GROUPS))
            self.links = {link.index: link for link in map(T.link_from, self._dump(_RTM_GETLINK))}
        except OSError as exc:
            sock.close()
            raise WSAError(wsa_from_errno_io(exc.errno or 0)) from None
        self.sock = sock
        self.ready = select.poll()
        self.ready.register(sock.fileno(), select.POLLIN)
        self.addresses = None
        self.routes.clear()
        from wsemu.events import registry
        registry.watch_reader(sock.fileno(), self.pump)

    def _dump(self, kind: int) -> list:
        body = _IFINFOMSG.pack(0, 0, 0, 0, 0) if kind == _RTM_GETLINK else _IFADDRMSG.pack(0, 0, 0, 0, 0)
        with L.socket(L.AF_NETLINK, L.SOCK_RAW | L.SOCK_CLOEXEC, L.NETLINK_ROUTE) as sock:
            sock.settimeout(_DUMP_TIMEOUT)
            sock.bind((0, 0))
            sock.send(_NLMSG.pack(_NLMSG.size + len(body), kind, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0) + body)
            self.dumps += 1
            out = []
            while True:
                for msg in self.marshal.parse(sock.recv(1 << 16)):
                    kind_in = msg["header"]["type"]
                    if kind_in == _NLMSG_DONE:
                        return out
                    if kind_in == _NLMSG_ERROR:
                        raise OSError(E.EIO, "netlink dump failed")
                    out.append(msg)

    def close(self) -> None:
        """WSACleanup of the last user (the monitor's epoll goes), or a fork."""
        with self.lock:
            sock, self.sock, self.ready = self.sock, None, None
            for probe in self.probes.values():
                probe.close()
            self.probes.clear()
            self.routes.clear()
            self.addresses = None
            watches, self.watches = self.watches, {}
        if sock is not None:
            from wsemu.events import registry
            registry.unwatch_reader(sock.fileno())
            sock.close()
        for watch in watches.values():    # (blocked threads look again, and see no listener)
            if watch.interrupt is not None:
                watch.interrupt()

    def pump(self) -> None:
        """Read what the listener has queued; fire the watches it concerns."""
        with self.lock:
            fired = self._pump()
        for fire in fired:
            fire()

    def _pump(self) -> list[Callable[[], None]]:
        if self.sock is None or not self.ready.poll(0):
            return []
        changed = 0
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != E.ENOBUFS:
                    break
                # The kernel dropped messages: start again from a dump; anything may have changed.
                self.links = {link.index: link for link in map(T.link_from, self._dump(_RTM_GETLINK))}
                changed |= T.Change.ALL
                continue
            for msg in self.marshal.parse(data):
                changed |= self._apply(msg)
        if not changed:
            return []
        if changed & (T.Change.ADDRESSES_V4 | T.Change.ADDRESSES_V6):
            self.addresses = None
            self.address_changes += 1
        if changed & (T.Change.ROUTES_V4 | T.Change.ROUTES_V6):
            self.routes.clear()
        return self._fire(changed)

    def _apply(self, msg) -> int:
        event = msg.get("event")
        if event in ("RTM_NEWLINK", "RTM_DELLINK"):
            before = self.links.get(msg["index"])
            after = T.link_from(msg) if event == "RTM_NEWLINK" else None
            if after is None:
                self.links.pop(msg["index"], None)
            else:
                self.links[after.index] = after
            return T.changes(event, 0, before, after)
        return T.changes(event, msg.get("family"))

    def _fire(self, changed: int) -> list[Callable[[], None]]:
        fired = []
        for key, watch in list(self.watches.items()):
            if not watch.kinds & changed:
                continue
            if watch.destination is not None and self._route(watch.family, watch.destination) == watch.answer:
                continue                  # (its destination is still routed the same way)
            del self.watches[key]
            fired.append(watch.fire)
        return fired

    # -- queries -------------------------------------------------------------------------
    def _current(self) -> list[Callable[[], None]]:
        """Open if need be, read the queue (lock held): the watches to fire after."""
        self._open()
        return self._pump()

    def snapshot(self) -> T.Snapshot:
        with self.lock:
            fired = self._current()
            while self.addresses is None:
                seen = self.address_changes
                found = tuple(a for a in map(T.address_from, self._dump(_RTM_GETADDR)) if a is not None)
                fired += self._pump()
                if self.address_changes == seen:
                    self.addresses = found
            snap = T.Snapshot(dict(self.links), self.addresses)
        for fire in fired:
            fire()
        return snap

    def link_state(self) -> T.Snapshot:
        """The tables now, for an error path: from the cache while the listener is open,
        else from one dump — a failed send does not give a process that never asked about
        the network a listener and a monitor thread to go with it."""
        with self.lock:
            if self.sock is None:
                self.marshal = self.marshal or _parser()
                links = {link.index: link for link in map(T.link_from, self._dump(_RTM_GETLINK))}
                return T.Snapshot(links, tuple(a for a in map(T.address_from, self._dump(_RTM_GETADDR))
                                               if a is not None))
        return self.snapshot()

    def route_source(self, family: int, destination: tuple):
        """The local address the kernel would send to ``destination`` from (a Windows
        address tuple, port 0), or the WSA error that says why there is none."""
        with self.lock:
            fired = self._current()
            answer = self._route(family, destination)
        for fire in fired:
            fire()
        return answer

    def _route(self, family: int, destination: tuple):
        key = (family,) + tuple(destination[:1]) + tuple(destination[3:4])
        answer = self.routes.get(key)
        if answer is None:
            answer = self.routes[key] = self._probe(family, destination)
        return answer

    def _probe(self, family: int, destination: tuple):
        # A connected UDP socket's name is the kernel's choice of source: 40 times cheaper
        # than asking netlink (reference/python-ecosystem.md §2.2), and nothing is sent.
        probe = self.probes.get(family)
        if probe is None:
            linux = L.AF_INET if family == W.AF_INET else L.AF_INET6
            probe = self.probes[family] = L.socket(linux, L.SOCK_DGRAM | L.SOCK_CLOEXEC)
        target = sockaddr.to_linux(family, (destination[0], _PROBE_PORT) + tuple(destination[2:]))
        lib.wsemu_disconnect(probe.fileno())     # (else the last answer's source stays bound)
        try:
            probe.connect(target)
            local = sockaddr.from_linux(probe.getsockname())
        except OSError as exc:
            return wsa_from_errno_io(exc.errno or 0)
        return (local[0], 0) + tuple(local[2:])

    # -- watches -------------------------------------------------------------------------
    def watch(self, key: object, kinds: int, family: int, destination: tuple | None,
              fire: Callable[[], None], interrupt: Callable[[], None] | None = None) -> None:
        """Fire ``fire`` (once) at the next change of ``kinds`` — for a ``destination``, at
        the next change of its route answer. The same key replaces its earlier watch."""
        with self.lock:
            fired = self._current()
            answer = None if destination is None else self._route(family, destination)
            self.watches[key] = _Watch(kinds, family, destination, answer, fire, interrupt)
        for fire_now in fired:
            fire_now()

    def unwatch(self, key: object) -> None:
        with self.lock:
            self.watches.pop(key, None)

    def forget(self, desc) -> None:
        """``desc`` is closed: its sockets' watches go."""
        if self.watches:
            with self.lock:
                for key in [k for k in self.watches if isinstance(k, tuple) and k[0] is desc]:
                    del self.watches[key]

    def wait(self, desc, kinds: int, family: int, destination: tuple | None) -> None:
        """Block until the change (a blocking SIO_*_CHANGE): the listener is read by this
        thread itself, so it wakes without the monitor thread. closesocket of ``desc``
        (it kicks the select waiters) interrupts it with WSAEINTR."""
        from wsemu.events.objects import consume
        from wsemu.spi.descriptor import table
        wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        fired: list[None] = []
        key = object()

        def fire() -> None:
            fired.append(None)
            os.eventfd_write(wake, 1)

        waiters = table().waiters
        waiters.add(wake)
        try:
            self.watch(key, kinds, family, destination, fire, lambda: os.eventfd_write(wake, 1))
            listener = self.sock
            poller = select.poll()
            poller.register(wake, select.POLLIN)
            poller.register(listener.fileno(), select.POLLIN)
            while True:
                if desc.closing or self.sock is not listener:
                    raise WSAError(W.WSAEINTR)        # closesocket or WSACleanup meanwhile
                if fired:
                    return
                desc.blocking_call(poller.poll)
                self.pump()
                consume(wake)
        finally:
            self.unwatch(key)
            waiters.discard(wake)
            os.close(wake)

    # -- link state ----------------------------------------------------------------------
    def interface_down(self, desc, destination: tuple | None) -> bool:
        """Whether the interface ``desc`` uses towards ``destination`` is down: its
        SO_BINDTODEVICE, else the link of its bound address, else the link whose subnet
        holds the destination (the kernel has dropped the routes of a down link, so the
        subnets are what is left to say where the traffic would have gone)."""
        snap = self.link_state()
        sock = desc.sock
        link = None
        try:
            device = sock.getsockopt(L.SOL_SOCKET, _SO_BINDTODEVICE, 16).split(b"\0", 1)[0].decode()
        except OSError:
            device = ""
        if device:
            link = next((lk for lk in snap.links.values() if lk.name == device), None)
        if link is None:
            try:
                local = sock.getsockname()[0].split("%", 1)[0]
            except OSError:
                local = ""
            if local not in ("", "0.0.0.0", "::"):
                link = T.link_of_address(snap, local)
        if link is None:
            if destination is None:
                try:
                    destination = sockaddr.from_linux(sock.getpeername())
                except OSError:
                    return False
            scope = destination[3] if len(destination) > 3 else 0
            link = T.link_towards(snap, destination[0], scope)
        return link is not None and not link.up


live = LiveTables()


def _after_fork_in_child() -> None:
    # The listener is the parent's (its messages would be split between two readers), and
    # the child's monitor does not watch it: the child opens its own at first use.
    for sock in [live.sock, *live.probes.values()]:
        if sock is not None:
            sock.close()
    live.__init__()


os.register_at_fork(after_in_child=_after_fork_in_child)
