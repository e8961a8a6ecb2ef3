"""Socket activation: the broker serves a listening socket it is handed, the way systemd
passes one (scripts/systemd/wsemu-broker.socket: LISTEN_FDS=1, LISTEN_PID, descriptor 3)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from wsemu.broker import protocol as P


def test_broker_serves_a_socket_passed_the_systemd_way(tmp_path):
    path = tmp_path / "activation.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(path))
    listener.listen(8)
    env = {**os.environ, "WSEMU_RUNTIME_DIR": str(tmp_path / "run"), "LISTEN_FDS": "1"}
    # LISTEN_PID must name the broker's own pid: set it in a shell that then execs the broker.
    broker = subprocess.Popen(
        ["sh", "-c", 'LISTEN_PID=$$ exec "$0" -m wsemu.broker', sys.executable],
        # Descriptor 3 is kept across exec; the listener is moved there first if need be.
        env=env, pass_fds=(3,),
        preexec_fn=None if listener.fileno() == 3 else (lambda: os.dup2(listener.fileno(), 3)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listener.close()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as client:
            client.connect(str(path))
            client.settimeout(10)
            client.send(P.encode(P.Ping()))
            reply = P.decode(client.recv(P.MAX_FRAME), expect=P.REPLIES)
        assert isinstance(reply, P.Pong) and reply.broker_pid == broker.pid
        assert not (tmp_path / "run" / "broker.sock").exists()   # it did not bind its own
    finally:
        broker.terminate()                   # SIGTERM: a clean exit
        broker.wait(10)
    assert broker.returncode == 0
