"""`make bench` runs end to end: every benchmark, Python and C (cbench.c's four modes in both
builds), on amounts too small to mean anything, so a broken benchmark fails `make test`
rather than the next `make bench`. The verdicts are not asserted: tiny runs are noise."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = ("bulk TCP loopback", "1-byte ping-pong", "cross-process socket hand-off, median",
        "in-process duplicate + claim", "event wake-up: 1 byte", "registered (us)",
        "Python heap per registered socket", "C: 1-byte ping-pong", "C: bulk TCP",
        "C: event wake-up, WSAWait", "C: event wake-up, p99", "C: cross-process hand-off vs SCM_RIGHTS",
        "C: cross-process hand-off, p99", "LSP: ws2 ping-pong, pass-through Python LSP",
        "LSP: pass-through Python LSP overhead per call", "LSP: ws2 ping-pong, C LSP",
        "LSP: C LSP (lsp-counter) overhead per call", "netstate: SIO_ADDRESS_LIST_QUERY",
        "netstate: SIO_ROUTING_INTERFACE_QUERY")


@pytest.mark.timeout(240)
def test_every_benchmark_runs_and_prints_its_row():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench.py"), "--rounds", "1",
                          "--bulk-bytes", str(64 * 1024 * 16), "--pingpongs", "100", "--handoffs", "30",
                          "--wakeups", "30", "--registered", "200",
                          "--netstate-calls", "50"],
                         capture_output=True, text=True, timeout=230)
    assert run.returncode in (0, 1), run.stderr[-3000:]          # 1: a noisy verdict, not a failure
    table = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    for row in ROWS:
        assert any(row in line for line in table), f"no row {row!r} in\n{run.stdout[-3000:]}"
