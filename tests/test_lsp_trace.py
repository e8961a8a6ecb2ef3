"""The trace LSP (wsemu.lsp.trace) over real sockets: what one JSON line per call holds, many
processes sharing one file, and ``wsemu run --trace`` on a child program.

The layer is installed in an isolated catalog (WSEMU_CONFIG_DIR) by ``install``, which
tests/test_lsp_faults.py uses too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import TCP4_ENTRY, install_layer, wait_for
from wsemu import catalog, ws2
from wsemu.errors import WSAError

W = ws2
pytestmark = pytest.mark.timeout(120)
TCP4 = TCP4_ENTRY
TRACE_PATH = "python:wsemu.lsp.trace:TraceProvider"
FIELDS = {"time", "pid", "thread", "layer", "call", "socket", "args", "result", "error", "duration_us"}


def install(name: str, path: str, over: list[int]) -> list[int]:
    """The chain entry IDs of LSP ``name`` installed over ``over``."""
    return [info.dwCatalogEntryId for info in install_layer(name, path, over)]


@pytest.fixture
def traced(config_dir, monkeypatch):
    """The trace LSP over TCP/IPv4, WSAStartup'd: (trace file, its chain entry's ID)."""
    trace_file = config_dir / "trace.jsonl"
    monkeypatch.setenv("WSEMU_TRACE_FILE", str(trace_file))
    [chain] = install("trace", TRACE_PATH, [TCP4])
    ws2.WSAStartup(0x0202)
    return trace_file, chain


def _lines(path) -> list[dict]:
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: the kernel refuses it)."""
    s = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    ws2.bind(s, ("127.0.0.1", 0))
    port = ws2.getsockname(s)[1]
    ws2.closesocket(s)
    return port


def test_each_call_is_one_line_in_order_with_handles_addresses_counts_and_errors(traced):
    trace_file, chain = traced
    dead_port = _closed_port()
    trace_file.write_bytes(b"")
    began = time.time()
    listener = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    ws2.bind(listener, ("127.0.0.1", 0))
    ws2.listen(listener, 1)
    port = ws2.getsockname(listener)[1]
    client = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    ws2.connect(client, ("127.0.0.1", port))
    server, _ = ws2.accept(listener)
    assert ws2.send(client, b"hello trace") == 11
    assert ws2.recv(server, 100) == b"hello trace"
    with pytest.raises(WSAError):
        ws2.connect(client, ("127.0.0.1", dead_port))     # already connected: WSAEISCONN
    refused_connect = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    with pytest.raises(WSAError) as refused:
        ws2.connect(refused_connect, ("127.0.0.1", dead_port))
    assert refused.value.winerror == W.WSAECONNREFUSED
    for s in (refused_connect, server, client, listener):
        ws2.closesocket(s)

    lines = _lines(trace_file)
    assert [(line["call"], line["socket"]) for line in lines] == [
        ("WSPSocket", None), ("WSPBind", listener), ("WSPListen", listener),
        ("WSPGetSockName", listener), ("WSPSocket", None), ("WSPConnect", client),
        ("WSPAccept", listener), ("WSPSend", client), ("WSPRecv", server),
        ("WSPConnect", client), ("WSPSocket", None), ("WSPConnect", refused_connect),
        ("WSPCloseSocket", refused_connect), ("WSPCloseSocket", server),
        ("WSPCloseSocket", client), ("WSPCloseSocket", listener)]
    for line in lines:
        assert set(line) == FIELDS
        assert began <= line["time"] <= time.time()
        assert (line["pid"], line["thread"]) == (os.getpid(), threading.get_native_id())
        assert line["layer"] == {"protocol": "trace over [MSAFD Tcpip [TCP/IP]]", "catalog_id": chain}
        assert isinstance(line["duration_us"], int) and line["duration_us"] >= 0
    socket_, bind, listen, name, _, connect, accept, send, recv, isconn, _, refuse = lines[:12]
    assert socket_["args"][:3] == [W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP]
    assert socket_["args"][3]["catalog_id"] == chain and socket_["args"][3]["chain"] == [chain - 1, TCP4]
    assert socket_["result"] == listener and socket_["error"] == 0
    assert bind["args"][0] == "127.0.0.1:0"
    assert listen["args"] == [1]
    assert name["result"] == f"127.0.0.1:{port}"
    assert connect["args"][0] == f"127.0.0.1:{port}" and connect["error"] == 0
    assert accept["result"][0] == server and accept["result"][1].startswith("127.0.0.1:")
    assert send["args"][0] == {"len": 11, "hex": b"hello trace".hex()} and send["result"] == 11
    assert recv["args"][0] == {"len": 100, "hex": b"hello trace".hex()} and recv["result"] == [11, 0]
    assert isconn["error"] == W.WSAEISCONN and isconn["result"] is None
    assert refuse["args"][0] == f"127.0.0.1:{dead_port}" and refuse["error"] == 10061


def test_buffers_show_their_first_32_bytes_and_a_protocol_info_its_ids(traced):
    trace_file, chain = traced
    client = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    info = ws2.getsockopt(client, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW)
    ws2.closesocket(client)
    trace_file.write_bytes(b"")
    twin = ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info)
    with pytest.raises(WSAError):
        ws2.send(twin, bytes(range(100)))                  # not connected
    ws2.closesocket(twin)
    socket_, send, _ = _lines(trace_file)
    assert socket_["args"][3] == {"catalog_id": chain, "chain": [chain - 1, TCP4], "reserved": 0}
    assert send["args"][0] == {"len": 100, "hex": bytes(range(32)).hex()}
    assert send["error"] == W.WSAENOTCONN and send["result"] is None


CHILD = """
import sys
from wsemu import ws2
ws2.WSAStartup(0x0202)
listener = ws2.socket(2, 1, 6)
ws2.bind(listener, ("127.0.0.1", 0))
ws2.listen(listener, 1)
client = ws2.socket(2, 1, 6)
ws2.connect(client, ws2.getsockname(listener))
server, _ = ws2.accept(listener)
for _ in range(int(sys.argv[1])):
    ws2.send(client, b"x" * 600)
    ws2.recv(server, 600, 8)      # MSG_WAITALL
ws2.WSACleanup()
"""


def test_processes_sharing_one_file_write_whole_lines(traced):
    trace_file, _ = traced
    rounds = 300
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(rounds)]) for _ in range(3)]
    assert [child.wait(timeout=100) for child in children] == [0, 0, 0]
    lines = _lines(trace_file)                  # every line parses: none was cut or mixed
    pids = {child.pid for child in children}
    for pid in pids:
        mine = [line for line in lines if line["pid"] == pid]
        assert sum(line["call"] == "WSPSend" for line in mine) == rounds
        assert sum(line["call"] == "WSPRecv" for line in mine) == rounds
    assert {line["pid"] for line in lines} == pids


def test_wsemu_run_traces_a_child_program_and_leaves_the_user_catalog_alone(config_dir):
    user_store = catalog.CatalogStore()
    user_store.save(catalog.Catalog.default())
    saved = user_store.path.read_bytes()
    trace_file = config_dir / "run-trace.jsonl"
    program = ("import os\nfrom wsemu import ws2\nprint(os.environ['WSEMU_CONFIG_DIR'])\n"
               "ws2.WSAStartup(0x0202)\ns = ws2.socket(2, 1, 6)\n"
               "try:\n    ws2.connect(s, ('127.0.0.1', int(os.environ['DEAD_PORT'])))\n"
               "except OSError as e:\n    print(e.winerror)\n")
    ws2.WSAStartup(0x0202)
    dead_port = _closed_port()
    done = subprocess.run([sys.executable, "-m", "wsemu.cli", "run", "--trace", str(trace_file), "--",
                           sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DEAD_PORT": str(dead_port)})
    assert done.returncode == 0, done.stderr
    run_config, error = done.stdout.split()
    assert error == "10061"
    assert user_store.path.read_bytes() == saved
    assert run_config != os.environ["WSEMU_CONFIG_DIR"]
    assert wait_for(lambda: not os.path.exists(run_config))     # removed once the program exited
    lines = _lines(trace_file)
    assert [line["call"] for line in lines] == ["WSPSocket", "WSPConnect"]   # no closesocket: WSACleanup
    assert lines[1]["args"][0] == f"127.0.0.1:{dead_port}" and lines[1]["error"] == W.WSAECONNREFUSED
    assert lines[1]["layer"]["protocol"] == "wsemu run --trace over [MSAFD Tcpip [TCP/IP]]"
    assert len({line["pid"] for line in lines}) == 1 and lines[0]["pid"] != os.getpid()


def test_a_trace_file_that_cannot_be_opened_fails_provider_startup(config_dir, monkeypatch):
    monkeypatch.setenv("WSEMU_TRACE_FILE", str(config_dir / "no-such-dir" / "trace.jsonl"))
    install("trace", TRACE_PATH, [TCP4])
    ws2.WSAStartup(0x0202)
    with pytest.raises(WSAError) as failed:
        ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    assert failed.value.winerror == W.WSAEPROVIDERFAILEDINIT
    assert "no-such-dir" in failed.value.strerror


def test_two_trace_layers_show_each_call_passing_layer_1_then_layer_2(config_dir, monkeypatch):
    """The same provider installed twice in one chain (trace over trace over TCP/IPv4): every
    call passes the upper layer, then the lower, then the base — each line names its layer,
    and the lower layer's socket is the one the upper passed down."""
    trace_file = config_dir / "trace.jsonl"
    monkeypatch.setenv("WSEMU_TRACE_FILE", str(trace_file))
    [lower] = install("trace-lower", TRACE_PATH, [TCP4])
    [upper] = install("trace-upper", TRACE_PATH, [lower])
    ws2.WSAStartup(0x0202)
    listener = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    ws2.bind(listener, ("127.0.0.1", 0))
    ws2.listen(listener, 1)
    client = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    ws2.connect(client, ws2.getsockname(listener))
    server, _ = ws2.accept(listener)
    ws2.send(client, b"hop")
    assert ws2.recv(server, 10) == b"hop"
    for s in (client, server, listener):
        ws2.closesocket(s)
    ws2.WSACleanup()
    lines = sorted(_lines(trace_file), key=lambda line: line["time"])
    layers = [line["layer"]["catalog_id"] for line in lines]
    calls = [line["call"] for line in lines]
    assert layers == [upper, lower] * (len(lines) // 2)             # every call: upper, then lower
    assert calls[::2] == calls[1::2]                                 # the same call at both hops
    assert calls[::2] == ["WSPSocket", "WSPBind", "WSPListen", "WSPSocket", "WSPGetSockName", "WSPConnect",
                          "WSPAccept", "WSPSend", "WSPRecv", "WSPCloseSocket", "WSPCloseSocket", "WSPCloseSocket"]
    first_socket = lines[0:2]
    # Towards a layer the chain goes down unmodified: both hops received the upper chain entry.
    assert [line["args"][3]["catalog_id"] for line in first_socket] == [upper, upper]
    # The upper layer's socket result is its own handle over the lower layer's.
    assert first_socket[0]["result"] != first_socket[1]["result"]
