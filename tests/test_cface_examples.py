"""The C examples of native/examples, built with `wsemu config` and run as real processes:
the cross-process hand-off (WSADuplicateSocketW in a source process, WSASocketW with the
passed WSAPROTOCOL_INFOW in the target) and an outside select()-based echo server and client."""
from __future__ import annotations

import pathlib
import subprocess

from tests.test_cface_conformance import build

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "native" / "examples"


def test_handoff_between_processes(cc, tmp_path):
    exe = tmp_path / "handoff"
    build(cc, EXAMPLES / "handoff" / "handoff.c", exe)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "source: passed a 628-byte WSAPROTOCOL_INFOW to the target" in lines
    assert "target: claimed the socket (family 2, type 1, protocol 6)" in lines
    assert 'source: server received "hello from the target"' in lines
    assert 'target: received "welcome, target"' in lines
    assert lines[-1] == "source: target exited with 0; hand-off ok"


def test_select_echo_server_and_clients(cc, tmp_path):
    server_exe, client_exe = tmp_path / "echo_server", tmp_path / "echo_client"
    build(cc, EXAMPLES / "select-echo" / "echo_server.c", server_exe)
    build(cc, EXAMPLES / "select-echo" / "echo_client.c", client_exe)
    # The server serves two clients and exits; its first line says which port it got.
    server = subprocess.Popen([str(server_exe), "0", "2"], stdout=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline().split()
        assert first[:3] == ["listening", "on", "port"], first
        port = first[3]
        # Two clients at once, so the server's select loop really multiplexes.
        one = subprocess.Popen([str(client_exe), "127.0.0.1", port, "hello", "second message"],
                               stdout=subprocess.PIPE, text=True)
        two = subprocess.run([str(client_exe), "localhost", port, "x" * 3000], capture_output=True,
                             text=True, timeout=60)
        out_one, _ = one.communicate(timeout=60)
        assert one.returncode == 0 and out_one.splitlines() == ["echo: hello", "echo: second message"]
        assert two.returncode == 0 and two.stdout.splitlines() == ["echo: " + "x" * 3000]
        rest, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0
    assert rest.splitlines().count("client done") == 2
