"""Helpers for tests: socket pairs through ws2, fd accounting, waiting on conditions."""
from __future__ import annotations

import os
import select
import threading
import time
from typing import Callable

from wsemu import ws2
from wsemu.abi import AF_INET, AF_INET6, FIONBIO, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_STREAM

LOOPBACK = {AF_INET: "127.0.0.1", AF_INET6: "::1"}


def c_face_flags(which: str) -> list[str]:
    """`wsemu config --cflags` or `--libs`, as a C face test builds with them."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "wsemu.cli", "config", which], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def open_fds() -> dict[int, str]:
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass
    return fds


def listener(af: int = AF_INET) -> tuple[int, tuple]:
    s = ws2.socket(af, SOCK_STREAM, IPPROTO_TCP)
    ws2.bind(s, (LOOPBACK[af], 0))
    ws2.listen(s, 16)
    return s, ws2.getsockname(s)


def tcp_pair(af: int = AF_INET) -> tuple[int, int]:
    """A connected TCP loopback pair (client, server), built the Windows way."""
    lst, client, server = tcp_trio(af)
    ws2.closesocket(lst)
    return client, server


def tcp_trio(af: int = AF_INET) -> tuple[int, int, int]:
    """(listener, client, server): a connected pair with the listener kept open."""
    lst, addr = listener(af)
    client = ws2.socket(af, SOCK_STREAM, IPPROTO_TCP)
    ws2.connect(client, addr)
    server, _ = ws2.accept(lst)
    return lst, client, server


def monitor_settled() -> None:
    """Every kernel report the events monitor has had is handled: what has not been posted
    by now is not going to be (an absence proved without sleeping)."""
    from wsemu.events import registry
    assert wait_for(registry.monitor.idle, timeout=5.0)


def nonblocking_pair(af: int = AF_INET) -> tuple[int, int]:
    """A connected TCP pair whose client end is non-blocking (the event tests' pair)."""
    client, server = tcp_pair(af)
    ws2.ioctlsocket(client, FIONBIO, 1)
    return client, server


def udp_socket(af: int = AF_INET, bind: bool = True) -> int:
    s = ws2.socket(af, SOCK_DGRAM, IPPROTO_UDP)
    if bind:
        ws2.bind(s, (LOOPBACK[af], 0))
    return s


def readable(s: int, timeout: float = 5.0) -> bool:
    """Wait (by poll, not by sleeping) until the kernel socket has something to read."""
    poller = select.poll()
    poller.register(s, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(int(timeout * 1000)))


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.005) -> bool:
    """Poll a condition that no kernel event announces (e.g. a reset reaching the peer)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def fails_spi(code: int, func, *args, **kwargs):
    """Call an SPI-level ``func``; it must fail with ``code`` (SPI entries report through
    lpErrno, so the thread's last error is not theirs to set)."""
    import pytest
    from wsemu.errors import WSAError
    with pytest.raises(WSAError) as info:
        func(*args, **kwargs)
    assert info.value.winerror == code, f"expected {code}, got {info.value.winerror}"
    return info.value


def fails(code: int, func, *args, **kwargs):
    """Call a ws2 ``func``; it must fail with ``code`` and leave ``code`` as the last error."""
    error = fails_spi(code, func, *args, **kwargs)
    assert ws2.WSAGetLastError() == code
    return error


def tcp(af: int = AF_INET) -> int:
    return ws2.socket(af, SOCK_STREAM, IPPROTO_TCP)


def refusing_port() -> tuple[int, int]:
    """A loopback port that answers SYN with RST: bound, never listening (kept bound so no
    other socket can take it meanwhile). Returns (holder socket, port)."""
    holder = tcp()
    ws2.bind(holder, ("127.0.0.1", 0))
    return holder, ws2.getsockname(holder)[1]


def full_backlog_listener() -> tuple[int, tuple, int]:
    """A listener whose accept queue is full, so the kernel drops further SYNs and a new
    connect stays in progress (SYN_SENT) until the first retransmission (1 s) at least.

    This sandbox answers outbound TCP connections itself (a proxy accepts connects to
    10.255.255.1, 192.0.2.x is the local subnet and refuses), so a "non-routable address"
    cannot hold a connect in progress; a full accept queue on loopback can: with listen(0)
    Linux queues one connection and drops the SYNs after it.
    Returns (listener, its address, the queued client)."""
    lst = tcp()
    ws2.bind(lst, ("127.0.0.1", 0))
    ws2.listen(lst, 0)
    addr = ws2.getsockname(lst)
    first = tcp()
    ws2.connect(first, addr)
    return lst, addr, first


def fill_send_buffer(s: int) -> None:
    """Send on a non-blocking ``s`` until it refuses with WSAEWOULDBLOCK (the peer does not read)."""
    from wsemu.abi import FIONBIO, WSAEWOULDBLOCK
    from wsemu.errors import WSAError
    ws2.ioctlsocket(s, FIONBIO, 1)
    chunk = b"x" * 65536
    while True:
        try:
            ws2.send(s, chunk)
        except WSAError as err:
            assert err.winerror == WSAEWOULDBLOCK
            break


class Call(threading.Thread):
    """Run one blocking ws2 call in a real thread; keep its result or its exception."""

    def __init__(self, func, *args) -> None:
        super().__init__(daemon=True)
        self.func, self.args = func, args
        self.result = self.error = None

    def run(self) -> None:
        try:
            self.result = self.func(*self.args)
        except BaseException as exc:  # noqa: BLE001 — reported to the test thread
            self.error = exc

    def blocked_in(self, s: int) -> bool:
        """Registered as blocked in a call on ``s`` (no kernel event announces that)."""
        desc = ws2._base_provider.table.get(s)
        return desc is not None and self.ident in desc.blocked


def on_new_thread(func):
    """Run ``func()`` on a fresh thread and return its result (re-raising its exception):
    for per-thread Winsock state such as the last error and SO_OPENTYPE, which a new thread
    starts with at Windows' defaults whatever earlier tests did on this one."""
    call = Call(func)
    call.start()
    call.join()
    if call.error is not None:
        raise call.error
    return call.result


def send_queue_idle(timeout: float = 10.0) -> bool:
    """The send queue holds no tail and its flusher has stopped (it closes its descriptors
    then). A graceful close hands a queued tail to it, as Windows keeps delivering after
    closesocket, so fd accounting must wait for it rather than race it."""
    from wsemu.spi.sendqueue import queue
    return wait_for(lambda: queue.thread is None and not queue.by_fd, timeout)


TCP4_ENTRY = 1001          # MSAFD Tcpip [TCP/IP]: the first entry of the default catalog


def install_layer(name: str, path: str, over: list[int], ifs: bool = False) -> list:
    """Install LSP ``name`` (provider ``path``) over catalog entries ``over`` in the catalog
    of WSEMU_CONFIG_DIR, the Windows way (wsemu.spi.wsc.install_lsp): its chain entries'
    WSAPROTOCOL_INFOWs, one per target, in the order of ``over``."""
    from wsemu.spi import wsc
    dummy = wsc.install_lsp(name, path, over, ifs=ifs).dwCatalogEntryId
    chains = {i.ProtocolChain.ChainEntries[1]: i for i in wsc.WSCEnumProtocols()
              if i.ProtocolChain.ChainLen > 1 and i.ProtocolChain.ChainEntries[0] == dummy}
    return [chains[target] for target in over]
