"""The layered service provider framework (DESIGN.md §3.2; reference/spi.md §4).

A layered provider (LSP) is installed as a hidden dummy entry plus one chain entry per entry it
sits over (``wsemu.catalog.Catalog.install_layered``); its provider path names a subclass of
``LayeredProvider`` (``python:package.module:Class``). ws2 starts it once per chain entry's
GUID with that entry; an LSP above it starts it with *its own* chain's info, unmodified.

The framework passes every call to the next layer and applies the seed documentation's rules:

* the next layer is found from the catalog: the entry named by slot 1 of the layer's chain;
* towards a next *layered* provider the caller's WSAPROTOCOL_INFOW goes down **unmodified**
  (its chain included); towards the *base* provider the base's **own** catalog entry is
  substituted (WSPStartup, WSPSocket, WSPDuplicateSocket's answer going up,
  WSPAddressToString, WSPStringToAddress) — with the caller's ``dwProviderReserved``, where a
  duplicated socket's claim token travels through every layer (spi.md §4.3, §4.5);
* non-IFS layers (the default) give the application their own handles
  (``WPUCreateSocketHandle``: numbers no kernel fd can have) and find their per-socket
  context with ``WPUQuerySocketHandleContext``; IFS layers (``ifs = True``) pass the lower
  handle up and claim it with ``WPUModifyIFSHandle``;
* a duplicated socket's info is rewritten to the layer's own chain entry, keeping only the
  lower ``dwProviderReserved``, so the target process's WSPSocket comes back through the
  layer and rebuilds its handle over the claimed base socket.

Subclasses watch or change calls in one place, ``intercept(call, sock, args, proceed)``:
every entry point passes through it on the way down (``wsemu.lsp.trace``, ``wsemu.lsp.faults``).
"""
from __future__ import annotations

import contextlib
import itertools
import threading
from dataclasses import dataclass, field
from typing import Callable

from wsemu import abi as W
from wsemu import catalog as catalog_mod
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.errors import WSAError
from wsemu.spi import loader
from wsemu.spi.table import PROC_NAMES, WSPDATA, WSPPROC_TABLE

BSP_HANDLE_IOCTLS = (W.SIO_BSP_HANDLE, W.SIO_BSP_HANDLE_POLL)   # answered with the layer's own handle
RELAYED = 0x8001                          # (WM_APP + 1) the lower sockets' message to the relay window


@dataclass(eq=False)
class Layer:
    """One of the provider's chain entries, started: where its calls go next."""
    entry: catalog_mod.CatalogEntry           # the layer's own chain entry
    next_entry: catalog_mod.CatalogEntry      # the entry slot 1 of its chain names
    next: WSPPROC_TABLE                       # that entry's provider, started

    @property
    def next_is_base(self) -> bool:
        return self.next_entry.chain_len == W.BASE_PROTOCOL

    def info_down(self, info: WSAPROTOCOL_INFOW | None) -> WSAPROTOCOL_INFOW | None:
        """The structure the next layer receives for ``info`` (the substitution rule)."""
        if info is None or not self.next_is_base:
            return info
        return self.next_entry.info.copy(dwProviderReserved=info.dwProviderReserved)


@dataclass(eq=False)
class LayeredSocket:
    """A socket of this layer: the handle the layer above holds, and the one below."""
    layer: Layer
    lower: int
    handle: int = 0
    key: int = 0                              # WPUCreateSocketHandle's context (non-IFS)
    async_select: tuple[int, int] | None = None   # the caller's (hWnd, wMsg)
    extra: dict = field(default_factory=dict)     # subclasses' per-socket state


class LayeredProvider:
    """Pass-through LSP; subclass and override ``intercept`` (or any WSP entry)."""

    ifs = False                               # True: an IFS layer (no handles of its own)
    description = "wsemu layered provider"
    provider_path: str | None = None          # set by the loader: the path it was loaded from

    def __init__(self) -> None:
        self.upcalls = None
        self.startups = 0
        self.layers: dict[int, Layer] = {}    # own chain catalog ID -> started layer
        self.sockets: dict[int, LayeredSocket] = {}    # handle given up -> socket
        self.by_lower: dict[int, LayeredSocket] = {}   # next layer's handle -> socket
        self.contexts: dict[int, LayeredSocket] = {}   # non-IFS context key -> socket
        self._keys = itertools.count(1)
        self._lock = threading.RLock()
        self._relay: int | None = None        # the worker window WSPAsyncSelect relays through
        # The entry a call this provider makes to itself is for: the same provider installed
        # twice in one chain receives, below, the info of the chain above unmodified, which
        # names the upper layer's entry; the caller knows which layer is next.
        self._below = threading.local()
        self._calling = threading.local()     # .layer: the layer of the socket-less call in intercept

    # ==================================================================================
    # The hook
    # ==================================================================================
    def intercept(self, call: str, sock: LayeredSocket | None, args: tuple,
                  proceed: Callable[..., object]) -> object:
        """Every call on its way down: ``proceed(*args)`` makes it (with these arguments or
        others) and returns the next layer's answer. The default passes it on unchanged.
        ``sock`` is None for WSPSocket, WSPSelect and the address calls: ``call_layer(sock)``
        is the layer of any call."""
        return proceed(*args)

    def call_layer(self, sock: LayeredSocket | None) -> Layer | None:
        """The layer the call being intercepted (on this thread) passes through."""
        return sock.layer if sock is not None else getattr(self._calling, "layer", None)

    def _intercept_at(self, layer: Layer, call: str, args: tuple, proceed: Callable[..., object]) -> object:
        """``intercept`` for a socket-less call of ``layer`` (nested calls restore it)."""
        previous, self._calling.layer = getattr(self._calling, "layer", None), layer
        try:
            return self.intercept(call, None, args, proceed)
        finally:
            self._calling.layer = previous

    # ==================================================================================
    # Startup: find the layer, start the next one
    # ==================================================================================
    def WSPStartup(self, wVersionRequested: int, lpProtocolInfo: WSAPROTOCOL_INFOW | None = None,
                   UpcallTable=None) -> tuple[WSPDATA, WSPPROC_TABLE]:
        version = wVersionRequested & 0xFFFF if isinstance(wVersionRequested, int) else 0
        if (version & 0xFF, version >> 8) < (2, 2):
            raise WSAError(W.WSAVERNOTSUPPORTED)
        if not isinstance(lpProtocolInfo, WSAPROTOCOL_INFOW) or UpcallTable is None:
            raise WSAError(W.WSAEINVAL)
        with self._lock:
            self.upcalls = UpcallTable        # the most recent table wins (spi.md §1.1)
            self._start_layer(lpProtocolInfo)
            self.startups += 1
        return WSPDATA(0x0202, 0x0202, self.description), WSPPROC_TABLE.from_provider(self)

    def _start_layer(self, info: WSAPROTOCOL_INFOW) -> Layer:
        catalog = catalog_mod.current()
        entry = self._own_entry(catalog, info)
        layer = self.layers.get(entry.id)
        if layer is None:
            next_entry = catalog.next_entry(entry)
            next_info = next_entry.info.copy() if next_entry.chain_len == W.BASE_PROTOCOL else info
            with self._towards(next_entry):
                if self._is_self(next_entry):
                    # This provider again, below itself: one loaded provider, one startup
                    # count (a second would never be cleaned up: only ws2's reach zero).
                    self._start_layer(next_info)
                    table = WSPPROC_TABLE.from_provider(self)
                else:
                    _, table = loader.start_provider(next_entry.path, self.upcalls, next_info)
            layer = self.layers[entry.id] = Layer(entry, next_entry, table)
        return layer

    def _own_entry(self, catalog: catalog_mod.Catalog, info: WSAPROTOCOL_INFOW) -> catalog_mod.CatalogEntry:
        """Which of this provider's chain entries ``info`` is for: its own ID, or (started by
        a layer above, with that layer's chain) the first slot of the chain that is ours."""
        own = {e.id: e for e in catalog.entries
               if e.chain_len > W.BASE_PROTOCOL and e.path == self.provider_path}
        below, self._below.entry = getattr(self._below, "entry", None), None
        if below is not None and below.id in own:
            return below
        dummies = {e.info.ProtocolChain.ChainEntries[0] for e in own.values()}
        if info.dwCatalogEntryId in own:
            return own[info.dwCatalogEntryId]
        chain = info.ProtocolChain.ChainEntries[:info.ProtocolChain.ChainLen]
        for slot, catalog_id in enumerate(chain):
            if catalog_id in own:
                return own[catalog_id]
            if catalog_id in dummies:          # (the other convention: dummy IDs in the chain)
                rest = chain[slot + 1:]
                for entry in own.values():
                    mine = entry.info.ProtocolChain
                    if mine.ChainEntries[0] == catalog_id and mine.ChainEntries[1:mine.ChainLen] == rest:
                        return entry
        raise WSAError(W.WSAEINVAL, f"{self.provider_path}: no layer of this provider in the chain "
                                    f"{chain} of catalog entry {info.dwCatalogEntryId}")

    def _layer_for(self, info: WSAPROTOCOL_INFOW) -> Layer:
        with self._lock:
            return self._start_layer(info)

    def _is_self(self, entry: catalog_mod.CatalogEntry) -> bool:
        return entry.path == self.provider_path

    @contextlib.contextmanager
    def _towards(self, next_entry: catalog_mod.CatalogEntry):
        """Around a call that carries a WSAPROTOCOL_INFOW to the next layer: if that layer is
        this provider again, its lookup of the info lands on ``next_entry``."""
        if not self._is_self(next_entry):
            yield
            return
        previous, self._below.entry = getattr(self._below, "entry", None), next_entry
        try:
            yield
        finally:
            self._below.entry = previous

    def WSPCleanup(self) -> None:
        with self._lock:
            if self.startups == 0:
                raise WSAError(W.WSANOTINITIALISED)
            self.startups -= 1
            if self.startups:
                return
            layers, self.layers = list(self.layers.values()), {}
            sockets = list(self.sockets.values())

            relay, self._relay = self._relay, None
        for sock in sockets:
            self._close_quietly(sock)
        if relay is not None:
            from wsemu import msgqueue
            msgqueue.DestroyWindow(relay)     # ends the relay thread
        for layer in layers:
            if self._is_self(layer.next_entry):
                continue                      # (started without a count of its own)
            try:
                layer.next.WSPCleanup()
            except WSAError:
                pass

    def WSPCancelBlockingCall(self) -> None:
        raise WSAError(W.WSAEINVAL)           # Winsock 2 has no blocking hooks

    # ==================================================================================
    # Handles
    # ==================================================================================
    def context(self, s: object) -> LayeredSocket:
        """The layer's socket behind handle ``s`` (WSAENOTSOCK if it is not one of ours)."""
        if self.ifs:
            sock = self.sockets.get(s)
        else:
            sock = self.contexts.get(self.upcalls.WPUQuerySocketHandleContext(s))
        if sock is None:
            raise WSAError(W.WSAENOTSOCK)
        return sock

    def _wrap(self, layer: Layer, lower: int) -> int:
        """A handle of this layer over the next layer's socket ``lower``."""
        sock = LayeredSocket(layer, lower)
        if self.ifs:
            sock.handle = self.upcalls.WPUModifyIFSHandle(layer.entry.id, lower)
        else:
            sock.key = next(self._keys)
            self.contexts[sock.key] = sock
            sock.handle = self.upcalls.WPUCreateSocketHandle(layer.entry.id, sock.key)
        self.sockets[sock.handle] = sock
        self.by_lower[lower] = sock
        return sock.handle

    def _unwrap(self, sock: LayeredSocket) -> None:
        self.sockets.pop(sock.handle, None)
        if self.by_lower.get(sock.lower) is sock:
            del self.by_lower[sock.lower]
        if not self.ifs:
            self.contexts.pop(sock.key, None)
            try:
                self.upcalls.WPUCloseSocketHandle(sock.handle)
            except WSAError:
                pass

    def _close_quietly(self, sock: LayeredSocket) -> None:
        self._unwrap(sock)
        try:
            sock.layer.next.WSPCloseSocket(sock.lower)
        except WSAError:
            pass

    # ==================================================================================
    # Entries with a rule of their own
    # ==================================================================================
    def WSPSocket(self, af: int, type: int, protocol: int, lpProtocolInfo: WSAPROTOCOL_INFOW,
                  g: int = 0, dwFlags: int = 0) -> int:
        if not isinstance(lpProtocolInfo, WSAPROTOCOL_INFOW):
            raise WSAError(W.WSAEFAULT)
        layer = self._layer_for(lpProtocolInfo)

        def proceed(af, type_, protocol, info, g, flags):
            with self._towards(layer.next_entry):
                lower = layer.next.WSPSocket(af, type_, protocol, layer.info_down(info), g, flags)
            return self._wrap(layer, lower)
        return self._intercept_at(layer, "WSPSocket", (af, type, protocol, lpProtocolInfo, g, dwFlags), proceed)

    def WSPAccept(self, s: int, addrlen: int | None = None, lpfnCondition: Callable | None = None,
                  dwCallbackData: int = 0) -> tuple[int, tuple]:
        sock = self.context(s)

        def proceed(*args):
            lower, address = sock.layer.next.WSPAccept(sock.lower, *args)
            return self._wrap(sock.layer, lower), address
        return self.intercept("WSPAccept", sock, (addrlen, lpfnCondition, dwCallbackData), proceed)

    def WSPJoinLeaf(self, s: int, *args) -> int:
        sock = self.context(s)

        def proceed(*args):
            return self._wrap(sock.layer, sock.layer.next.WSPJoinLeaf(sock.lower, *args))
        return self.intercept("WSPJoinLeaf", sock, args, proceed)

    def WSPCloseSocket(self, s: int) -> None:
        sock = self.context(s)

        def proceed():
            sock.layer.next.WSPCloseSocket(sock.lower)
            self._unwrap(sock)
        return self.intercept("WSPCloseSocket", sock, (), proceed)

    def WSPDuplicateSocket(self, s: int, dwProcessId: int) -> WSAPROTOCOL_INFOW:
        sock = self.context(s)

        def proceed(pid):
            below = sock.layer.next.WSPDuplicateSocket(sock.lower, pid)
            # The layer's own entry goes up, with only the token of the layers below
            # (the Microsoft sample's rule; spi.md §4.3).
            return sock.layer.entry.info.copy(dwProviderReserved=below.dwProviderReserved)
        return self.intercept("WSPDuplicateSocket", sock, (dwProcessId,), proceed)

    def WSPAddressToString(self, lpsaAddress, dwAddressLength=None, lpProtocolInfo=None,
                           lpdwAddressStringLength=None) -> str:
        layer = self._layer_for(lpProtocolInfo) if isinstance(lpProtocolInfo, WSAPROTOCOL_INFOW) else self._any_layer()

        def proceed(address, length, info, text_length):
            with self._towards(layer.next_entry):
                return layer.next.WSPAddressToString(address, length, layer.info_down(info), text_length)
        return self._intercept_at(layer, "WSPAddressToString",
                                  (lpsaAddress, dwAddressLength, lpProtocolInfo, lpdwAddressStringLength), proceed)

    def WSPStringToAddress(self, AddressString, AddressFamily, lpProtocolInfo=None, lpAddressLength=None) -> bytes:
        layer = self._layer_for(lpProtocolInfo) if isinstance(lpProtocolInfo, WSAPROTOCOL_INFOW) else self._any_layer()

        def proceed(text, family, info, length):
            with self._towards(layer.next_entry):
                return layer.next.WSPStringToAddress(text, family, layer.info_down(info), length)
        return self._intercept_at(layer, "WSPStringToAddress",
                                  (AddressString, AddressFamily, lpProtocolInfo, lpAddressLength), proceed)

    def _any_layer(self) -> Layer:
        with self._lock:
            if not self.layers:
                raise WSAError(W.WSANOTINITIALISED)
            return next(iter(self.layers.values()))

    def WSPGetSockOpt(self, s: int, level: int, optname: int, optlen: int | None = None) -> bytes:
        sock = self.context(s)

        def proceed(level, optname, optlen):
            data = sock.layer.next.WSPGetSockOpt(sock.lower, level, optname, optlen)
            if (level, optname) == (W.SOL_SOCKET, W.SO_PROTOCOL_INFOW) and len(data) == W.WSAPROTOCOL_INFOW_SIZE:
                return bytes(sock.layer.entry.info)      # the socket is the layer's chain entry's
            return data
        return self.intercept("WSPGetSockOpt", sock, (level, optname, optlen), proceed)

    def WSPIoctl(self, s: int, dwIoControlCode: int, *args) -> bytes:
        sock = self.context(s)

        def proceed(code, *args):
            if code in BSP_HANDLE_IOCTLS:
                # ws2_32 routes WSASendMsg/WSAPoll through the handle this answers (spi.md §4.2)
                return (sock.handle & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
            return sock.layer.next.WSPIoctl(sock.lower, code, *args)
        return self.intercept("WSPIoctl", sock, (dwIoControlCode, *args), proceed)

    def WSPSelect(self, nfds: int, readfds, writefds, exceptfds, timeout) -> int:
        """Each of our handles becomes its lower one; the first known socket's next layer
        selects; the sets come back in our handles (unknown handles pass unchanged, "in the
        hope the lower provider knows them", as the Microsoft sample does)."""
        sets = [fds for fds in (readfds, writefds, exceptfds)]
        first = next((self.sockets.get(s) for fds in sets if fds is not None for s in fds.fd_array
                      if s in self.sockets), None)
        if first is None:
            raise WSAError(W.WSAENOTSOCK)
        up: dict[int, int] = {}

        def lower_set(fds):
            if fds is None:
                return None
            out = type(fds).from_array([], fds.setsize)
            for s in fds.fd_array:
                sock = self.sockets.get(s)
                lower = sock.lower if sock is not None else s
                up[lower] = s
                out.fd_array.append(lower)
            return out

        def proceed(nfds, r, w, x, timeout):
            lowered = [lower_set(fds) for fds in (r, w, x)]
            count = first.layer.next.WSPSelect(nfds, *lowered, timeout)
            for original, result in zip((r, w, x), lowered):
                if original is not None:
                    original.fd_array[:] = [up[s] for s in result.fd_array]
            return count
        return self._intercept_at(first.layer, "WSPSelect", (nfds, readfds, writefds, exceptfds, timeout), proceed)

    def WSPAsyncSelect(self, s: int, hWnd: int, wMsg: int, lEvent: int) -> None:
        """The lower socket posts to the layer's worker window; the relay thread re-posts each
        message to the caller's window with the caller's handle in wParam (the Microsoft
        sample's scheme: messages name the descriptor the application registered)."""
        sock = self.context(s)

        def proceed(hwnd, message, mask):
            from wsemu import msgqueue
            if mask and not msgqueue.IsWindow(hwnd):
                raise WSAError(W.WSAEINVAL)
            relay = self._relay_window()
            sock.layer.next.WSPAsyncSelect(sock.lower, relay, RELAYED, mask)
            sock.async_select = (hwnd, message) if mask else None
        return self.intercept("WSPAsyncSelect", sock, (hWnd, wMsg, lEvent), proceed)

    def _relay_window(self) -> int:
        with self._lock:
            if self._relay is None:
                from wsemu import msgqueue
                self._relay = msgqueue.CreateWindow(worker=True)
                threading.Thread(target=self._relay_messages, args=(self._relay,),
                                 name="wsemu-lsp-relay", daemon=True).start()
            return self._relay

    def _relay_messages(self, relay: int) -> None:
        from wsemu import msgqueue
        while True:
            try:
                msg = msgqueue.GetMessage(relay)
            except WSAError:
                return                        # the window went: WSPCleanup
            sock = self.by_lower.get(msg.wParam)
            if sock is not None and sock.async_select is not None:
                hwnd, message = sock.async_select
                self.upcalls.WPUPostMessage(hwnd, message, sock.handle, msg.lParam)


def _passthrough(name: str) -> Callable:
    """An entry whose first argument is a socket and that needs no rule of its own."""
    def entry(self: LayeredProvider, s: int, *args):
        sock = self.context(s)
        forward = getattr(sock.layer.next, name)
        return self.intercept(name, sock, args, lambda *a: forward(sock.lower, *a))
    entry.__name__ = entry.__qualname__ = name
    entry.__doc__ = f"{name}: passed to the next layer with its socket."
    return entry


for _name in PROC_NAMES:
    if not hasattr(LayeredProvider, _name):
        setattr(LayeredProvider, _name, _passthrough(_name))
del _name
