"""`make bench`: wsemu against raw sockets, measured in the same run, printed as ratios.

Each benchmark runs its raw-socket and wsemu variants alternately, several rounds, in two
processes (spawned, so each side is a fresh interpreter); the reported figure is the median
round. Absolute times are noise on a small shared machine, so only the ratio counts, and the
loops are written the same way for both variants (one call per operation, no adapter layer).

Budgets: DESIGN.md §4.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import socket
import statistics
import sys
import time

CHUNK = 64 * 1024
BULK_BYTES = 1 << 30
PINGPONGS = 20_000


# --------------------------------------------------------------------------------------
# Peers (run in the child process)
# --------------------------------------------------------------------------------------
def _peer(kind: str, mode: str, amount: int, port: int) -> None:
    if kind == "raw":
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.recv(1)                                  # "go"
        if mode == "bulk":
            buf = b"\0" * CHUNK
            send = s.sendall
            for _ in range(amount // CHUNK):
                send(buf)
        else:
            send, recv = s.send, s.recv
            for _ in range(amount):
                send(recv(1))
        s.close()
        return
    from wsemu import ws2
    ws2.WSAStartup(0x0202)
    s = ws2.socket(ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP)
    ws2.connect(s, ("127.0.0.1", port))
    ws2.setsockopt(s, ws2.IPPROTO_TCP, ws2.TCP_NODELAY, 1)
    ws2.recv(s, 1)
    if mode == "bulk":
        buf = b"\0" * CHUNK
        send = ws2.send
        for _ in range(amount // CHUNK):
            send(s, buf)
    else:
        send, recv = ws2.send, ws2.recv
        for _ in range(amount):
            send(s, recv(s, 1))
    ws2.closesocket(s)
    ws2.WSACleanup()


# --------------------------------------------------------------------------------------
# Measuring side (this process)
# --------------------------------------------------------------------------------------
def _raw_connected(peer_main, *args) -> tuple[socket.socket, multiprocessing.Process]:
    """A spawned peer running ``peer_main(*args, port)`` connected to us (raw sockets)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    peer = multiprocessing.get_context("spawn").Process(target=peer_main, args=(*args, lsock.getsockname()[1]))
    peer.start()
    s, _ = lsock.accept()
    lsock.close()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, peer


def _ws2_connected(peer_main, *args) -> tuple[int, multiprocessing.Process]:
    """The same through ws2 (after WSAStartup, which the caller's WSACleanup balances)."""
    from wsemu import ws2
    ws2.WSAStartup(0x0202)
    lsock = ws2.socket(ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP)
    ws2.bind(lsock, ("127.0.0.1", 0))
    ws2.listen(lsock, 1)
    peer = multiprocessing.get_context("spawn").Process(target=peer_main, args=(*args, ws2.getsockname(lsock)[1]))
    peer.start()
    s, _ = ws2.accept(lsock)
    ws2.closesocket(lsock)
    ws2.setsockopt(s, ws2.IPPROTO_TCP, ws2.TCP_NODELAY, 1)
    return s, peer


def _round(kind: str, mode: str, amount: int) -> float:
    """One timed round; returns seconds for the measured loop only."""
    if kind == "raw":
        s, peer = _raw_connected(_peer, kind, mode, amount)
        if mode == "bulk":
            recv = s.recv
            got = 0
            start = time.perf_counter()
            s.send(b"g")
            while got < amount:
                got += len(recv(CHUNK))
        else:
            send, recv = s.send, s.recv
            start = time.perf_counter()
            s.send(b"g")
            for _ in range(amount):
                send(b"x")
                recv(1)
        elapsed = time.perf_counter() - start
        s.close()
    else:
        from wsemu import ws2
        s, peer = _ws2_connected(_peer, kind, mode, amount)
        if mode == "bulk":
            recv = ws2.recv
            got = 0
            start = time.perf_counter()
            ws2.send(s, b"g")
            while got < amount:
                got += len(recv(s, CHUNK))
        else:
            send, recv = ws2.send, ws2.recv
            start = time.perf_counter()
            ws2.send(s, b"g")
            for _ in range(amount):
                send(s, b"x")
                recv(s, 1)
        elapsed = time.perf_counter() - start
        ws2.closesocket(s)
        ws2.WSACleanup()
    peer.join()
    if peer.exitcode != 0:
        raise SystemExit(f"{kind} {mode} peer failed with exit code {peer.exitcode}")
    return elapsed


# --------------------------------------------------------------------------------------
# Layered providers: ping-pong through an LSP installed over TCP/IPv4 in both processes
# --------------------------------------------------------------------------------------
PASS_THROUGH_LSP = "python:wsemu.spi.layered:LayeredProvider"     # the framework's defaults only


def _catalog_with(directory: str, lsp_path: str | None) -> str:
    """A catalog directory: the default catalog, plus ``lsp_path`` layered over TCP/IPv4."""
    os.makedirs(directory, exist_ok=True)
    if lsp_path is not None:
        from wsemu import catalog
        from wsemu.spi import wsc
        saved = os.environ.get("WSEMU_CONFIG_DIR")
        os.environ["WSEMU_CONFIG_DIR"] = directory
        try:
            wsc.install_lsp("bench", lsp_path, [catalog.FIRST_CATALOG_ID])
        finally:
            _restore("WSEMU_CONFIG_DIR", saved)
    return directory


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def measure_lsp(amount: int, rounds: int, layers: dict[str, str | None]) -> dict[str, float]:
    """Median µs per 1-byte round trip through ws2 for each catalog in ``layers`` (name ->
    LSP path layered over TCP/IPv4, None for no LSP), rounds interleaved; the peer echoes
    with plain sockets, so a round trip crosses the layer twice (a send and a recv)."""
    import tempfile
    from wsemu import catalog
    results: dict[str, list[float]] = {name: [] for name in layers}
    saved = os.environ.get("WSEMU_CONFIG_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {name: _catalog_with(os.path.join(tmp, name), path) for name, path in layers.items()}
        try:
            for i in range(rounds):
                for name in (list(layers) if i % 2 == 0 else list(reversed(layers))):
                    print(f"  LSP       round {i + 1}/{rounds} {name:6} ...", end="", flush=True)
                    results[name].append(_lsp_round(dirs[name], amount))
                    print(f" {results[name][-1]:.1f} us/RTT", flush=True)
        finally:
            _restore("WSEMU_CONFIG_DIR", saved)
            catalog.reload()
    return {name: statistics.median(values) for name, values in results.items()}


# --------------------------------------------------------------------------------------
# Socket hand-off between processes (DESIGN.md §4: <= 4x a raw SCM_RIGHTS hand-off)
# --------------------------------------------------------------------------------------
def _handoff_target(kind: str, channel: socket.socket, count: int) -> None:
    """Receive ``count`` sockets and acknowledge each (the target side of a hand-off)."""
    if kind == "raw":
        for _ in range(count):
            _, fds, _, _ = socket.recv_fds(channel, 1, 1)
            channel.send(b"k")
            os.close(fds[0])
        return
    from wsemu import ws2
    ws2.WSAStartup(0x0202)
    channel.send(os.getpid().to_bytes(4, "little"))
    fpi = ws2.FROM_PROTOCOL_INFO
    for _ in range(count):
        info = channel.recv(628)
        s = ws2.WSASocketW(fpi, fpi, fpi, info, 0, 0)
        channel.send(b"k")          # claimed: the hand-off is done (closing is not part of it)
        ws2.closesocket(s)
    ws2.WSACleanup()


def _handoff_round(kind: str, count: int) -> list[float]:
    """Per-hand-off times (seconds) of ``count`` hand-offs of one TCP socket to a child."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    peer = multiprocessing.get_context("spawn").Process(target=_handoff_target, args=(kind, theirs, count))
    peer.start()
    theirs.close()
    times = []
    clock = time.perf_counter
    if kind == "raw":
        s = socket.socket()
        for _ in range(count):
            start = clock()
            socket.send_fds(ours, [b"s"], [s.fileno()])
            ours.recv(1)
            times.append(clock() - start)
        s.close()
    else:
        from wsemu import ws2
        ws2.WSAStartup(0x0202)
        pid = int.from_bytes(ours.recv(4), "little")
        s = ws2.socket(ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP)
        for _ in range(count):
            start = clock()
            ours.send(bytes(ws2.WSADuplicateSocketW(s, pid)))
            ours.recv(1)
            times.append(clock() - start)
        ws2.closesocket(s)
        ws2.WSACleanup()
    peer.join()
    ours.close()
    if peer.exitcode != 0:
        raise SystemExit(f"{kind} hand-off target failed with exit code {peer.exitcode}")
    return times


def measure_handoff(count: int, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"raw": [], "wsemu": []}
    for i in range(rounds):
        for kind in ("raw", "wsemu") if i % 2 == 0 else ("wsemu", "raw"):
            print(f"  hand-off  round {i + 1}/{rounds} {kind:5} ...", end="", flush=True)
            times = _handoff_round(kind, count)
            results[kind] += times[count // 10:]          # the first tenth warms up
            print(f" median {statistics.median(times) * 1e6:.1f} us", flush=True)
    return results


def measure_local_dup(count: int) -> tuple[float, float]:
    """In-process duplicate + claim + close (wsemu) against os.dup + close, medians (s)."""
    from wsemu import ws2
    ws2.WSAStartup(0x0202)
    s = ws2.socket(ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP)
    pid = os.getpid()
    emu, raw = [], []
    clock = time.perf_counter
    for _ in range(count):
        start = clock()
        ws2.closesocket(ws2.WSASocketW(0, 0, 0, ws2.WSADuplicateSocketW(s, pid), 0, 0))
        emu.append(clock() - start)
        start = clock()
        os.close(os.dup(s))
        raw.append(clock() - start)
    ws2.closesocket(s)
    ws2.WSACleanup()
    return statistics.median(raw), statistics.median(emu)


# --------------------------------------------------------------------------------------
# Event wake-up (DESIGN.md §4: <= 2x a raw epoll wake; <= 1.2x growth from 100 to 10,000
# registered sockets)
# --------------------------------------------------------------------------------------
def _echo_peer(port: int) -> None:
    """Echo every byte back (plain sockets: the peer is the same for both variants)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while data := s.recv(64):
        s.send(data)
    s.close()


def _raise_fd_limit(needed: int) -> None:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(needed, soft), max(needed, hard)))


def _wakeup_round(kind: str, count: int, idle: int) -> tuple[list[float], float]:
    """Per-wake times (s) of ``count`` echoes: a byte goes out, and the time until the wait
    for the echo returns is measured; ``idle`` more sockets are registered meanwhile. Also
    returns the Python heap bytes the idle registrations took (wsemu only)."""
    import select
    import tracemalloc
    clock = time.perf_counter
    times = []
    per_socket = 0.0
    if kind == "raw":
        s, peer = _raw_connected(_echo_peer)
        epoll = select.epoll()
        epoll.register(s, select.EPOLLIN)
        others = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(idle)]
        for other in others:
            epoll.register(other, select.EPOLLIN)
        for _ in range(count):
            start = clock()
            s.send(b"x")
            epoll.poll()
            times.append(clock() - start)
            s.recv(1)
        for other in others:
            other.close()
        epoll.close()
        s.close()
    else:
        from wsemu import ws2
        s, peer = _ws2_connected(_echo_peer)
        event, quiet = ws2.WSACreateEvent(), ws2.WSACreateEvent()
        ws2.WSAEventSelect(s, event, ws2.FD_READ)
        others = [ws2.socket(ws2.AF_INET, ws2.SOCK_DGRAM, ws2.IPPROTO_UDP) for _ in range(idle)]
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for other in others:
            ws2.WSAEventSelect(other, quiet, ws2.FD_READ)
        per_socket = (tracemalloc.get_traced_memory()[0] - before) / max(idle, 1)
        tracemalloc.stop()
        wait, enum, recv, send = ws2.WSAWaitForMultipleEvents, ws2.WSAEnumNetworkEvents, ws2.recv, ws2.send
        events = [event]
        for _ in range(count):
            start = clock()
            send(s, b"x")
            wait(events, False, ws2.WSA_INFINITE)
            times.append(clock() - start)
            enum(s, event)
            recv(s, 1)
        ws2.closesocket(s)
        ws2.WSACleanup()
        ws2.WSACloseEvent(event)
        ws2.WSACloseEvent(quiet)
    peer.join()
    if peer.exitcode != 0:
        raise SystemExit(f"{kind} echo peer failed with exit code {peer.exitcode}")
    return times, per_socket


def measure_wakeup(count: int, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"raw": [], "wsemu": []}
    for i in range(rounds):
        for kind in ("raw", "wsemu") if i % 2 == 0 else ("wsemu", "raw"):
            print(f"  wake-up   round {i + 1}/{rounds} {kind:5} ...", end="", flush=True)
            times, _ = _wakeup_round(kind, count, 0)
            results[kind] += times[count // 10:]
            print(f" median {statistics.median(times) * 1e6:.1f} us", flush=True)
    return results


def measure_scale(count: int, rounds: int, small: int, large: int) -> tuple[list[float], list[float], float]:
    """wsemu wake-ups with ``small`` and with ``large`` other sockets registered; and the
    Python heap bytes per registration."""
    _raise_fd_limit(large + 1024)
    few, many, per_socket = [], [], 0.0
    for i in range(rounds):
        for idle, results in ((small, few), (large, many)) if i % 2 == 0 else ((large, many), (small, few)):
            print(f"  scale     round {i + 1}/{rounds} {idle:5} registered ...", end="", flush=True)
            times, per = _wakeup_round("wsemu", count, idle)
            results += times[count // 10:]
            if idle == large:
                per_socket = per
            print(f" median {statistics.median(times) * 1e6:.1f} us", flush=True)
    return few, many, per_socket


# --------------------------------------------------------------------------------------
# The C face: native/bench/cbench.c built against libwsemu and against plain libc
# --------------------------------------------------------------------------------------
CBENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "native", "bench", "cbench.c")


# Wine 8 under the same loops, measured on this machine (reference/wine-peer.md §5, medians of
# four runs, Wine vs native Linux in that run): beside our ratios, not part of them.
WINE_CONTEXT = ("1 GiB TCP 196 MB/s (native 1479: 0.13x); 1-byte ping-pong 487 us/RTT (native 76: 6.4x); "
                "event wake-up 121 us (native poll 38: 3.2x); cross-process hand-off 399 us "
                "(native SCM_RIGHTS 8.6: 46x)")


def build_cbench(directory: str) -> dict[str, str] | None:
    """The two builds of cbench.c ({"raw": path, "wsemu": path}); None without a C compiler."""
    import shutil
    import subprocess
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    config = [sys.executable, "-m", "wsemu.cli", "config"]
    cflags = subprocess.run(config + ["--cflags"], check=True, capture_output=True, text=True).stdout.split()
    libs = subprocess.run(config + ["--libs"], check=True, capture_output=True, text=True).stdout.split()
    builds = {"raw": os.path.join(directory, "cbench-raw"), "wsemu": os.path.join(directory, "cbench-wsemu")}
    subprocess.run([cc, "-O2", "-DRAW_LIBC", CBENCH, "-o", builds["raw"]], check=True)
    subprocess.run([cc, "-O2", *cflags, CBENCH, *libs, "-o", builds["wsemu"]], check=True)
    return builds


def _c_round(program: str, mode: str, amount: int) -> list[float]:
    """One run of a cbench build: the server and the client, as two processes."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        portfile = os.path.join(tmp, "port")
        server = subprocess.Popen([program, "server", portfile, mode, str(amount)])
        try:
            deadline = time.monotonic() + 30
            while not (os.path.exists(portfile) and open(portfile).read().endswith("\n")):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{program} server did not start")
                time.sleep(0.01)
            port = open(portfile).read().strip()
            out = subprocess.run([program, "client", port, mode, str(amount)], check=True,
                                 capture_output=True, text=True, timeout=600).stdout
        finally:
            if server.wait(timeout=60) != 0:
                raise SystemExit(f"{program} server failed")
    return [float(line) for line in out.split()]


def _c_handoff_round(program: str, amount: int) -> list[float]:
    """One run of a cbench build's hand-off: it starts its own target process."""
    import subprocess
    out = subprocess.run([program, "handoff", str(amount)], check=True, capture_output=True,
                         text=True, timeout=600).stdout
    return [float(line) for line in out.split()]


PER_EVENT_C_MODES = ("wakeup", "handoff")     # one µs line per event, not one loop time


def measure_c(builds: dict[str, str], mode: str, amount: int, rounds: int) -> dict[str, list[float]]:
    """Interleaved rounds of both builds: per round the loop's seconds (wakeup, handoff: every
    event's µs after the first tenth)."""
    results: dict[str, list[float]] = {"raw": [], "wsemu": []}
    for i in range(rounds):
        for kind in ("raw", "wsemu") if i % 2 == 0 else ("wsemu", "raw"):
            print(f"  C {mode:8} round {i + 1}/{rounds} {kind:5} ...", end="", flush=True)
            values = (_c_handoff_round(builds[kind], amount) if mode == "handoff"
                      else _c_round(builds[kind], mode, amount))
            if mode in PER_EVENT_C_MODES:
                results[kind] += values[amount // 10:]
                print(f" median {statistics.median(values):.1f} us", flush=True)
            else:
                results[kind] += values
                print(f" {values[0]:.3f} s", flush=True)
    return results


# --------------------------------------------------------------------------------------
# A C layered provider in the path (native/examples/lsp-counter over TCP/IPv4)
# --------------------------------------------------------------------------------------
LSP_COUNTER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "native", "examples",
                           "lsp-counter", "lsp_counter.c")


def build_lsp_counter(directory: str) -> str | None:
    """The example C LSP built in ``directory`` by its README's line (None without cc)."""
    import shutil
    import subprocess
    if shutil.which("cc") is None:
        return None
    config = [sys.executable, "-m", "wsemu.cli", "config"]
    cflags = subprocess.run(config + ["--cflags"], check=True, capture_output=True, text=True).stdout.split()
    libs = subprocess.run(config + ["--libs"], check=True, capture_output=True, text=True).stdout.split()
    library = os.path.join(directory, "liblspcounter.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", *cflags, LSP_COUNTER, *libs, "-o", library], check=True)
    return library


def _lsp_round(config_dir: str, count: int) -> float:
    """µs per 1-byte round trip through ws2, with the catalog in ``config_dir`` (read at
    WSAStartup), against a plain-socket echo peer."""
    from wsemu import ws2
    os.environ["WSEMU_CONFIG_DIR"] = config_dir
    s, peer = _ws2_connected(_echo_peer)
    send, recv = ws2.send, ws2.recv
    start = time.perf_counter()
    for _ in range(count):
        send(s, b"x")
        recv(s, 1)
    elapsed = time.perf_counter() - start
    ws2.closesocket(s)
    ws2.WSACleanup()
    peer.join()
    return elapsed / count * 1e6


def measure_netstate(count: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per call of SIO_ADDRESS_LIST_QUERY and SIO_ROUTING_INTERFACE_QUERY answered
    from wsemu.netstate's cache, and the same answers from a fresh netlink request each
    time: an address dump (the cache emptied before every call), and a kernel route lookup
    through pyroute2 (``IPRoute.route("get")``, the socket opened once)."""
    from pyroute2 import IPRoute
    from wsemu import sockaddr, ws2
    from wsemu.netstate.live import live
    ws2.WSAStartup(0x0202)
    s = ws2.socket(ws2.AF_INET, ws2.SOCK_DGRAM, 0)
    target = sockaddr.encode(ws2.AF_INET, ("127.0.0.1", 80))
    results: dict[str, list[float]] = {"list cached": [], "list dump": [], "route cached": [], "route netlink": []}

    def addresses_cached() -> None:
        ws2.WSAIoctl(s, ws2.SIO_ADDRESS_LIST_QUERY, None, 4096)

    def addresses_dumped() -> None:
        live.addresses = None
        ws2.WSAIoctl(s, ws2.SIO_ADDRESS_LIST_QUERY, None, 4096)

    def route_cached() -> None:
        ws2.WSAIoctl(s, ws2.SIO_ROUTING_INTERFACE_QUERY, target, 64)

    ipr = IPRoute()

    def route_netlink() -> None:
        ipr.route("get", dst="127.0.0.1")[0].get("RTA_PREFSRC")

    try:
        for i in range(rounds):
            for name, call, n in (("list cached", addresses_cached, count), ("list dump", addresses_dumped, count // 10),
                                  ("route cached", route_cached, count), ("route netlink", route_netlink, count // 10)):
                print(f"  netstate  round {i + 1}/{rounds} {name:13} ...", end="", flush=True)
                call()
                start = time.perf_counter()
                for _ in range(max(n, 1)):
                    call()
                results[name].append((time.perf_counter() - start) / max(n, 1))
                print(f" {results[name][-1] * 1e6:.1f} us/call", flush=True)
    finally:
        ipr.close()
        ws2.closesocket(s)
        ws2.WSACleanup()
    return results


def _p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)]


def measure(mode: str, amount: int, rounds: int) -> tuple[float, float]:
    raw, emu = [], []
    for i in range(rounds):
        for kind, results in (("raw", raw), ("wsemu", emu)) if i % 2 == 0 else (("wsemu", emu), ("raw", raw)):
            print(f"  {mode:9} round {i + 1}/{rounds} {kind:5} ...", end="", flush=True)
            seconds = _round(kind, mode, amount)
            results.append(seconds)
            print(f" {seconds:.3f} s", flush=True)
    return statistics.median(raw), statistics.median(emu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bulk-bytes", type=int, default=BULK_BYTES)
    parser.add_argument("--pingpongs", type=int, default=PINGPONGS)
    parser.add_argument("--handoffs", type=int, default=1000)
    parser.add_argument("--wakeups", type=int, default=2000)
    parser.add_argument("--registered", type=int, default=10_000)
    parser.add_argument("--netstate-calls", type=int, default=20_000)
    args = parser.parse_args(argv)
    if args.bulk_bytes <= 0 or args.bulk_bytes % CHUNK:
        parser.error(f"--bulk-bytes must be a positive multiple of {CHUNK} (the peer sends whole chunks)")

    print(f"wsemu benchmarks on {platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}),"
          f" {args.rounds} interleaved rounds each, median reported")
    raw_bulk, emu_bulk = measure("bulk", args.bulk_bytes, args.rounds)
    raw_pp, emu_pp = measure("pingpong", args.pingpongs, args.rounds)
    handoff = measure_handoff(args.handoffs, args.rounds)
    raw_ho, emu_ho = statistics.median(handoff["raw"]), statistics.median(handoff["wsemu"])
    raw_dup, emu_dup = measure_local_dup(args.handoffs)
    wake = measure_wakeup(args.wakeups, args.rounds)
    raw_wk, emu_wk = statistics.median(wake["raw"]), statistics.median(wake["wsemu"])
    few, many, per_socket = measure_scale(args.wakeups, args.rounds, 100, args.registered)
    few_md, many_md = statistics.median(few), statistics.median(many)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        builds = build_cbench(tmp)
        if builds is not None:
            c_pp = measure_c(builds, "pingpong", args.pingpongs, args.rounds)
            c_bulk = measure_c(builds, "bulk", args.bulk_bytes, args.rounds)
            c_wake = measure_c(builds, "wakeup", args.wakeups, args.rounds)
            c_hand = measure_c(builds, "handoff", args.handoffs, args.rounds)

    with tempfile.TemporaryDirectory() as tmp:
        layers = {"none": None, "python": PASS_THROUGH_LSP}
        c_lsp = build_lsp_counter(tmp)
        if c_lsp is not None:
            layers["c"] = c_lsp
        lsp = measure_lsp(args.pingpongs // 4, args.rounds, layers)

    net = {name: statistics.median(values) * 1e6 for name, values in measure_netstate(args.netstate_calls, args.rounds).items()}

    mb = args.bulk_bytes / 1e6
    rows = [
        ("bulk TCP loopback, 1 GiB in 64 KiB (MB/s)" if args.bulk_bytes == BULK_BYTES
         else f"bulk TCP loopback, {mb:.0f} MB in 64 KiB (MB/s)",
         mb / raw_bulk, mb / emu_bulk, raw_bulk / emu_bulk, ">= 0.95x throughput", raw_bulk / emu_bulk >= 0.95),
        (f"1-byte ping-pong, {args.pingpongs} round trips (us/RTT)",
         raw_pp / args.pingpongs * 1e6, emu_pp / args.pingpongs * 1e6, emu_pp / raw_pp,
         "<= 1.3x latency", emu_pp / raw_pp <= 1.3),
        ("cross-process socket hand-off, median (us)", raw_ho * 1e6, emu_ho * 1e6, emu_ho / raw_ho,
         "<= 4x", emu_ho / raw_ho <= 4),
        ("cross-process socket hand-off, p99 (us)", _p99(handoff["raw"]) * 1e6,
         _p99(handoff["wsemu"]) * 1e6, _p99(handoff["wsemu"]) / _p99(handoff["raw"]), "(reported)", True),
        ("in-process duplicate + claim, median (us)", raw_dup * 1e6, emu_dup * 1e6, emu_dup / raw_dup,
         "(reported; raw: dup)", True),
        ("event wake-up: 1 byte -> wait returns, median (us)", raw_wk * 1e6, emu_wk * 1e6, emu_wk / raw_wk,
         "<= 2x", emu_wk / raw_wk <= 2),
        ("event wake-up, p99 (us)", _p99(wake["raw"]) * 1e6, _p99(wake["wsemu"]) * 1e6,
         _p99(wake["wsemu"]) / _p99(wake["raw"]), "(reported)", True),
        (f"wake-up with 100 vs {args.registered} registered (us)", few_md * 1e6, many_md * 1e6,
         many_md / few_md, "<= 1.2x growth", many_md / few_md <= 1.2),
        ("Python heap per registered socket (bytes)", 0.0, per_socket, 0.0, "(reported)", True),
    ]
    if builds is None:
        print("C face benchmarks skipped: no C compiler (cc) on this machine")
    else:
        raw_cpp, emu_cpp = statistics.median(c_pp["raw"]), statistics.median(c_pp["wsemu"])
        raw_cb, emu_cb = statistics.median(c_bulk["raw"]), statistics.median(c_bulk["wsemu"])
        raw_cw, emu_cw = statistics.median(c_wake["raw"]), statistics.median(c_wake["wsemu"])
        raw_ch, emu_ch = statistics.median(c_hand["raw"]), statistics.median(c_hand["wsemu"])
        rows += [
            ("C: 1-byte ping-pong, libwsemu vs libc (us/RTT)", raw_cpp / args.pingpongs * 1e6,
             emu_cpp / args.pingpongs * 1e6, emu_cpp / raw_cpp, "<= 1.3x latency", emu_cpp / raw_cpp <= 1.3),
            ("C: bulk TCP, libwsemu vs libc (MB/s)", mb / raw_cb, mb / emu_cb, raw_cb / emu_cb,
             ">= 0.9x throughput", raw_cb / emu_cb >= 0.9),
            ("C: event wake-up, WSAWaitForMultipleEvents vs poll (us)", raw_cw, emu_cw, emu_cw / raw_cw,
             "(reported)", True),
            ("C: event wake-up, p99 (us)", _p99(c_wake["raw"]), _p99(c_wake["wsemu"]),
             _p99(c_wake["wsemu"]) / _p99(c_wake["raw"]), "(reported)", True),
            ("C: cross-process hand-off vs SCM_RIGHTS, median (us)", raw_ch, emu_ch, emu_ch / raw_ch,
             "(reported)", True),
            ("C: cross-process hand-off, p99 (us)", _p99(c_hand["raw"]), _p99(c_hand["wsemu"]),
             _p99(c_hand["wsemu"]) / _p99(c_hand["raw"]), "(reported)", True),
        ]
    # A round trip crosses the layer twice (a send and a recv).
    for name, label in (("python", "pass-through Python LSP"), ("c", "C LSP (lsp-counter)")):
        if name in lsp:
            rows += [
                (f"LSP: ws2 ping-pong, {label} vs none (us/RTT)", lsp["none"], lsp[name],
                 lsp[name] / lsp["none"], "(reported)", True),
                (f"LSP: {label} overhead per call (us)", 0.0, (lsp[name] - lsp["none"]) / 2, 0.0,
                 "(reported)", True),
            ]
    rows += [
        ("netstate: SIO_ADDRESS_LIST_QUERY, fresh netlink dump vs cached (us/call)", net["list dump"],
         net["list cached"], net["list cached"] / net["list dump"], "(reported)", True),
        ("netstate: SIO_ROUTING_INTERFACE_QUERY, netlink route get vs cached (us/call)", net["route netlink"],
         net["route cached"], net["route cached"] / net["route netlink"], "(reported)", True),
    ]
    print()
    print("Wine 8 on this machine, for context (reference/wine-peer.md): " + WINE_CONTEXT)
    print()
    width = max(len(row[0]) for row in rows)
    print(f"| {'benchmark':{width}} | {'raw socket':>10} | {'wsemu':>10} | {'ratio':>6} | {'budget':20} | verdict |")
    print(f"|{'-' * (width + 2)}|{'-' * 12}|{'-' * 12}|{'-' * 8}|{'-' * 22}|---------|")
    for name, raw, emu, ratio, budget, ok in rows:
        print(f"| {name:{width}} | {raw:10.1f} | {emu:10.1f} | {ratio:5.2f}x | {budget:20} | {'ok' if ok else 'OVER':7} |")
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
