"""Helpers for tests: socket pairs through ws2, fd accounting, waiting on conditions."""
from __future__ import annotations

import os
import select
import time
from typing import Callable

from wsemu import ws2
from wsemu.abi import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_STREAM

LOOPBACK = {AF_INET: "127.0.0.1", AF_INET6: "::1"}


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
    lst, addr = listener(af)
    client = ws2.socket(af, SOCK_STREAM, IPPROTO_TCP)
    ws2.connect(client, addr)
    server, _ = ws2.accept(lst)
    ws2.closesocket(lst)
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
