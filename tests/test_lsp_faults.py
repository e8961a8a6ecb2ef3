"""The faults LSP (wsemu.lsp.faults) over real sockets: refused and timed-out connects, a real
reset seen by the peer, short sends, seeded probabilities reproduced across processes, and
rule files that stop the provider from starting.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.helpers import tcp_pair
from tests.test_lsp_trace import TCP4, install
from wsemu import ws2
from wsemu.errors import WSAError

W = ws2
pytestmark = pytest.mark.timeout(120)
FAULTS_PATH = "python:wsemu.lsp.faults:FaultsProvider"


@pytest.fixture
def faults(config_dir, monkeypatch):
    """faults(rules, seed=0): the faults LSP over TCP/IPv4 with these rules, WSAStartup'd."""
    def start(rules: list[dict], seed: int = 0) -> None:
        path = config_dir / "rules.json"
        path.write_text(json.dumps({"seed": seed, "rules": rules}))
        monkeypatch.setenv("WSEMU_FAULTS_FILE", str(path))
        install("faults", FAULTS_PATH, [TCP4])
        ws2.WSAStartup(0x0202)
    return start


def _listener() -> tuple[int, int]:
    s = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    ws2.bind(s, ("127.0.0.1", 0))
    ws2.listen(s, 4)
    return s, ws2.getsockname(s)[1]


@pytest.mark.parametrize("error", ["WSAECONNREFUSED", "WSAETIMEDOUT"])
def test_a_connect_rule_fails_that_connect_with_its_error_and_no_other(faults, error):
    with socket.socket() as probe:                    # a free port, before WSAStartup
        probe.bind(("127.0.0.1", 0))
        target_port = probe.getsockname()[1]
    faults([{"call": "WSPConnect", "address": "127.0.0.1", "port": target_port,
             "action": "error", "error": error}])
    target = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    ws2.bind(target, ("127.0.0.1", target_port))
    ws2.listen(target, 4)
    other, other_port = _listener()
    client = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    with pytest.raises(WSAError) as failed:
        ws2.connect(client, ("127.0.0.1", target_port))
    assert failed.value.winerror == getattr(W, error)
    assert ws2.select([target], [], [], 0) == ([], [], [])     # nothing reached the listener
    ws2.connect(client, ("127.0.0.1", other_port))               # another port: not matched
    server, _ = ws2.accept(other)
    assert ws2.send(client, b"ok") == 2 and ws2.recv(server, 10) == b"ok"


def test_a_reset_on_the_third_send_fails_it_and_the_peer_sees_a_real_reset(faults):
    faults([{"call": "WSPSend", "after": 2, "times": 1, "action": "reset"}])
    client, server = tcp_pair()
    for data in (b"one", b"two"):
        assert ws2.send(client, data) == 3
        assert ws2.recv(server, 10) == data
    with pytest.raises(WSAError) as failed:
        ws2.send(client, b"three")
    assert failed.value.winerror == W.WSAECONNRESET
    with pytest.raises(WSAError) as peer:
        ws2.recv(server, 10)                   # blocks until the RST arrives
    assert peer.value.winerror == W.WSAECONNRESET
    for later in (lambda: ws2.send(client, b"x"), lambda: ws2.recv(client, 10),
                  lambda: ws2.shutdown(client, W.SD_BOTH)):
        with pytest.raises(WSAError) as again:
            later()
        assert again.value.winerror == W.WSAECONNRESET
    ws2.closesocket(client)
    with pytest.raises(WSAError) as gone:
        ws2.send(client, b"x")
    assert gone.value.winerror == W.WSAENOTSOCK


def test_a_short_send_reports_the_short_count_and_only_those_bytes_arrive(faults):
    faults([{"call": "WSPSend", "action": "short_send", "bytes": 4, "times": 2}])
    client, server = tcp_pair()
    assert ws2.send(client, b"abcdefgh") == 4
    assert ws2.WSASend(client, [b"AB", b"CDEF", b"GH"], 0) == 4    # across WSABUFs
    assert ws2.send(client, b"XY") == 2                             # times: 2 spent
    received = b""
    while len(received) < 10:
        received += ws2.recv(server, 100)
    assert received == b"abcdABCDXY"


def test_every_rule_counts_every_matching_call_and_the_first_that_fires_acts(faults):
    faults([{"call": "WSPSend", "action": "short_send", "bytes": 1, "times": 1},
            {"call": "WSPSend", "after": 1, "action": "reset"}])
    client, server = tcp_pair()
    assert ws2.send(client, b"abc") == 1       # both rules count it; the first acts
    assert ws2.recv(server, 10) == b"a"
    with pytest.raises(WSAError) as failed:
        ws2.send(client, b"bc")                # the reset rule's second match
    assert failed.value.winerror == W.WSAECONNRESET
    with pytest.raises(WSAError) as peer:
        ws2.recv(server, 10)
    assert peer.value.winerror == W.WSAECONNRESET


PATTERN = """
from wsemu import ws2
from tests.helpers import tcp_pair
ws2.WSAStartup(0x0202)
client, server = tcp_pair()
pattern = ""
for _ in range(40):
    try:
        ws2.send(client, b"x")
        pattern += "."
    except OSError as err:
        pattern += "E" if err.winerror == ws2.WSAENOBUFS else "?"
print(pattern)
"""


def test_a_seeded_probability_injects_at_the_same_calls_in_every_run(config_dir):
    install("faults", FAULTS_PATH, [TCP4])

    def pattern(seed: int) -> str:
        rules = config_dir / f"rules-{seed}.json"
        rules.write_text(json.dumps({"seed": seed, "rules": [
            {"call": "WSPSend", "probability": 0.5, "action": "error", "error": "WSAENOBUFS"}]}))
        done = subprocess.run([sys.executable, "-c", PATTERN], capture_output=True, text=True, timeout=60,
                              check=True, env={**os.environ, "WSEMU_FAULTS_FILE": str(rules)})
        return done.stdout.strip()

    first, again, other = pattern(7), pattern(7), pattern(8)
    assert len(first) == 40 and set(first) == {".", "E"}
    assert again == first                       # separate processes, same seed: same calls
    assert other != first


@pytest.mark.parametrize("document, complaint", [
    ({"rules": [{"call": "WSPFoo", "action": "error", "error": "WSAEINVAL"}]}, "unknown call 'WSPFoo'"),
    ({"rules": [{"call": "WSPSend", "action": "explode"}]}, "unknown action 'explode'"),
    ({"rules": [{"call": "WSPConnect", "action": "error", "error": "WSAENOSUCH"}]}, "unknown error name"),
    ({"rules": [{"call": "WSPConnect", "action": "short_send", "bytes": 1}]}, "short_send applies to"),
    ({"rules": [{"call": "WSPSend", "action": "delay"}]}, "needs 'delay_ms'"),
    ({"rules": [{"call": "WSPSend", "action": "error", "error": 10055, "probability": 2}]}, "probability"),
    ({"seed": "x", "rules": []}, "seed must be an integer"),
    ("{not json", "not JSON"),
])
def test_a_bad_rule_file_fails_socket_creation_naming_the_file(config_dir, monkeypatch, document, complaint):
    path = config_dir / "bad-rules.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    monkeypatch.setenv("WSEMU_FAULTS_FILE", str(path))
    install("faults", FAULTS_PATH, [TCP4])
    ws2.WSAStartup(0x0202)
    with pytest.raises(WSAError) as failed:
        ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    assert failed.value.winerror == W.WSAEPROVIDERFAILEDINIT
    assert str(path) in failed.value.strerror and complaint in failed.value.strerror


def test_wsemu_run_faults_applies_the_rules_to_the_child_only(config_dir):
    rules = config_dir / "run-rules.json"
    rules.write_text(json.dumps({"rules": [{"call": "WSPConnect", "action": "error", "error": "WSAETIMEDOUT"}]}))
    program = ("from wsemu import ws2\nws2.WSAStartup(0x0202)\ns = ws2.socket(2, 1, 6)\n"
               "try:\n    ws2.connect(s, ('127.0.0.1', 9))\nexcept OSError as e:\n    print(e.winerror)\n")
    done = subprocess.run([sys.executable, "-m", "wsemu.cli", "run", "--faults", str(rules), "--",
                           sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(W.WSAETIMEDOUT)]
    rules.write_text('{"rules": [{"call": "WSPNothing", "action": "reset"}]}')
    done = subprocess.run([sys.executable, "-m", "wsemu.cli", "run", "--faults", str(rules), "--", "true"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "unknown call 'WSPNothing'" in done.stderr and str(rules) in done.stderr
