"""Many processes handing sockets to each other at once, through a real broker.

20 spawned processes × 100 hand-offs each. Every process deposits sockets for the others
(WSADuplicateSocketW) while a second thread claims what the others deposited for it
(WSASocketW with the info bytes it got through a multiprocessing queue). Each handed-off
socket is one end of a TCP connection whose other end stays with the source: the source sends
a unique payload through it, the target reads it from the socket it claimed and sends it back,
the source reads it back. So every socket arrives exactly once (a second claim of the same
info is refused), at its own target, and works. Each process checks its own /proc/self/fd
count at the end against its count before the hand-offs; the broker's count (from /proc) is
back to its baseline and it holds no deposit.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
import traceback

import pytest

from wsemu.broker import client as broker_client
from wsemu.broker import protocol as P
from tests.test_broker_faults import SPAWN, BrokerProcess, brokers_serving, runtime_dir, settle

PROCESSES = 20
HANDOFFS = 100          # per process, as source; and as many arrive at each as target


def target_of(source: int, j: int) -> int:
    """Process ``source``'s j-th hand-off goes to this process (never itself); every process
    receives exactly HANDOFFS in total."""
    return (source + 1 + j % (PROCESSES - 1)) % PROCESSES


def _exact(ws2, s: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = ws2.recv(s, n - len(data))
        if not chunk:
            raise AssertionError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return data


def _load_child(index: int, control, inboxes) -> None:
    from wsemu import abi as W
    from wsemu import ws2
    from wsemu.errors import WSAError

    report = {"index": index, "errors": []}
    try:
        ws2.WSAStartup(0x0202)
        broker_pid = broker_client.client().request(P.Ping()).broker_pid
        fds_before = len(os.listdir("/proc/self/fd"))
        control.send(("ready", os.getpid(), broker_pid))
        pids = control.recv()                                  # every process's pid: go
        claimed: list[tuple[int, int]] = []

        def claimer() -> None:
            try:
                for _ in range(HANDOFFS):
                    source, j, info, payload = inboxes[index].get(timeout=60)
                    s = ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info, 0, 0)
                    assert _exact(ws2, s, len(payload)) == payload, (source, j)
                    ws2.send(s, b"back:" + payload)
                    try:
                        again = ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO,
                                               info, 0, 0)
                    except WSAError as err:
                        assert err.winerror == W.WSAEINVAL, err.winerror
                    else:
                        ws2.closesocket(again)
                        raise AssertionError(f"hand-off {source}:{j} claimed twice")
                    ws2.closesocket(s)
                    claimed.append((source, j))
            except BaseException:  # noqa: BLE001 — reported to the test
                report["errors"].append("claimer: " + traceback.format_exc())

        thread = threading.Thread(target=claimer)
        thread.start()
        # The source side: a connection per hand-off; its client end goes to the target.
        lst = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
        ws2.bind(lst, ("127.0.0.1", 0))
        ws2.listen(lst, 128)
        addr = ws2.getsockname(lst)
        peers: list[tuple[int, bytes]] = []
        for j in range(HANDOFFS):
            a = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
            ws2.connect(a, addr)
            b, _ = ws2.accept(lst)
            target = target_of(index, j)
            info = bytes(ws2.WSADuplicateSocketW(a, pids[target]))
            ws2.closesocket(a)                                  # the deposit holds it now
            payload = f"{index}->{target}#{j}:{secrets.token_hex(8)}".encode()
            ws2.send(b, payload)
            inboxes[target].put((index, j, info, payload))
            peers.append((b, payload))
        for b, payload in peers:
            assert _exact(ws2, b, len(payload) + 5) == b"back:" + payload
            assert ws2.recv(b, 1) == b""                        # the target closed its copy
            ws2.closesocket(b)
        ws2.closesocket(lst)
        thread.join(120)
        assert not thread.is_alive(), "the claimer is stuck"
        ws2.WSACleanup()
        report.update(claimed=claimed, fds_before=fds_before, fds_after=len(os.listdir("/proc/self/fd")))
    except BaseException:  # noqa: BLE001
        report["errors"].append(traceback.format_exc())
    control.send(("done", report))


def test_claims_racing_closes_in_other_threads(ws):
    """One thread claims duplicates (WSASocketW on a WSADuplicateSocketW info) and uses them
    while another creates and closes sockets: fd numbers are reused between the threads all
    the time. Each claimed socket must stay registered as the socket it is (found by the load
    test: closesocket forgot the handle only after the kernel had released the number, so it
    could forget another thread's brand-new socket of the same number, which was then
    "adopted" and its orphaned descriptor later closed a reused fd)."""
    import sys
    from wsemu import abi as W
    from wsemu.errors import WSAError

    errors: list[str] = []
    deadline = time.monotonic() + 3.0
    fds_before = len(os.listdir("/proc/self/fd"))

    def churn() -> None:
        while time.monotonic() < deadline:
            try:
                ws.closesocket(ws.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP))
            except WSAError as err:
                errors.append(f"churn: {err!r}")

    def claim() -> None:
        source = ws.socket(W.AF_INET, W.SOCK_DGRAM, W.IPPROTO_UDP)
        ws.bind(source, ("127.0.0.1", 0))
        address = ws.getsockname(source)
        try:
            while time.monotonic() < deadline:
                try:
                    info = ws.WSADuplicateSocketW(source, os.getpid())
                    s = ws.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info, 0, 0)
                    assert ws.getsockname(s) == address
                    assert not ws._base_provider.table.get(s).adopted, "a claimed socket was re-adopted"
                    ws.closesocket(s)
                except (WSAError, AssertionError) as err:
                    errors.append(f"claim: {err!r}")
        finally:
            ws.closesocket(source)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)          # switch threads as often as possible: widen the window
    try:
        threads = [threading.Thread(target=churn), threading.Thread(target=claim)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    import gc
    gc.collect()                         # an orphaned descriptor would close its fd now
    assert not errors, errors[:5]
    assert len(os.listdir("/proc/self/fd")) == fds_before


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    server = BrokerProcess(tmp_path_factory.mktemp("load") / "run")
    try:
        with runtime_dir(server.directory):
            assert broker_client.client().request(P.Ping()).broker_pid == server.pid
            yield server
    finally:
        assert server.stop() == 0
    assert not server.internal_errors(), server.internal_errors()[0]
    assert not brokers_serving(server.directory)


def test_twenty_processes_hand_off_two_thousand_sockets(broker):
    baseline = broker.fd_count()
    start = time.monotonic()
    inboxes = [SPAWN.Queue() for _ in range(PROCESSES)]
    controls, children = [], []
    try:
        for index in range(PROCESSES):
            mine, theirs = SPAWN.Pipe()
            child = SPAWN.Process(target=_load_child, args=(index, theirs, inboxes))
            child.start()
            theirs.close()
            controls.append(mine)
            children.append(child)
        pids = []
        for control in controls:
            assert control.poll(60), "a process did not start"
            kind, pid, broker_pid = control.recv()
            assert kind == "ready" and broker_pid == broker.pid
            pids.append(pid)
        started = time.monotonic()
        for control in controls:
            control.send(pids)
        reports = []
        peak = broker.fd_count()
        for control in controls:
            while not control.poll(0.2):
                peak = max(peak, broker.fd_count())
                assert time.monotonic() - started < 100, "the hand-offs did not finish"
            kind, report = control.recv()
            reports.append(report)
        handoffs = time.monotonic() - started
        for child in children:
            child.join(30)
            assert child.exitcode == 0
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
                child.join()
            child.close()
        for control in controls:
            control.close()
        for inbox in inboxes:
            inbox.close()
            inbox.join_thread()

    errors = [e for r in reports for e in r["errors"]]
    assert not errors, "\n".join(errors[:3])
    arrived = {}
    for report in reports:
        for source, j in report["claimed"]:
            assert target_of(source, j) == report["index"], "a socket reached the wrong process"
            assert (source, j) not in arrived, f"hand-off {source}:{j} arrived twice"
            arrived[(source, j)] = report["index"]
        assert report["fds_after"] == report["fds_before"], f"process {report['index']} leaked: {report}"
    assert len(arrived) == PROCESSES * HANDOFFS
    after = settle(broker, baseline)
    assert broker_client.client().request(P.Status()).report["deposits"] == []
    print(f"\nload: {len(arrived)} hand-offs among {PROCESSES} processes in {handoffs:.1f} s "
          f"({time.monotonic() - start:.1f} s with start-up); broker fds {baseline} -> peak {peak} -> {after}")
    assert after == baseline, f"broker descriptors {baseline} -> {after}"
