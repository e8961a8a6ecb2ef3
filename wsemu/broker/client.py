"""The broker client: one connection per process, and the broker started on first need.

Starting is race-free: clients that find no broker take an flock in the runtime directory
and look again before starting one, and the broker itself holds a lock for its lifetime, so
a second broker can never serve beside the first. A forked child drops the connection it
inherited (the broker identifies each message by the kernel's credentials of its sender,
but a process should speak on its own connection). A broker that died is started again by
the next request; deposits it held died with it, so their tokens are refused.

Errors map to WSA codes (DESIGN.md §3.4): broker unreachable and not startable → WSAENETDOWN;
no descriptor left for a received socket → WSAEMFILE; the broker's own refusals as it sent them.
"""
from __future__ import annotations

import array
import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading
import time

from wsemu import abi as W
from wsemu import runtime
from wsemu.broker import protocol as P
from wsemu.errors import WSAError

REPLY_TIMEOUT = 10.0
START_TIMEOUT = 10.0
IDLE_EXIT = 60.0          # a broker started on demand leaves when nobody needs it


class BrokerClient:
    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.lock = threading.Lock()
        os.register_at_fork(after_in_child=self._after_fork)

    # ----------------------------------------------------------------------------------
    def request(self, message: P.Message) -> P.Message:
        """Send a request and return the broker's reply (an Error reply raises WSAError)."""
        with self.lock:
            for attempt in (1, 2):
                sock = self._connected()
                try:
                    _send(sock, message)
                    reply = _receive(sock)
                    break
                except (BrokenPipeError, ConnectionResetError, EOFError):
                    self._disconnect()      # the broker went away: start a new one, once
                    if attempt == 2:
                        raise WSAError(W.WSAENETDOWN) from None
                except BlockingIOError:
                    self._disconnect()      # no reply within REPLY_TIMEOUT
                    raise WSAError(W.WSAENETDOWN) from None
        if isinstance(reply, P.Error):
            raise WSAError(reply.code)
        return reply

    def notify(self, message: P.Message) -> None:
        """A one-way message, only if a broker is already connected (never starts one)."""
        with self.lock:
            if self.sock is None:
                return
            try:
                _send(self.sock, message)
            except OSError:
                self._disconnect()

    def close(self) -> None:
        with self.lock:
            self._disconnect()

    # ----------------------------------------------------------------------------------
    def _connected(self) -> socket.socket:
        if self.sock is None:
            self.sock = _connect_or_start()
        return self.sock

    def _disconnect(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _after_fork(self) -> None:
        # The child must not speak on its parent's connection.
        self.lock = threading.Lock()
        self._disconnect()


# ======================================================================================
def _send(sock: socket.socket, message: P.Message) -> None:
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", message.fds))] if message.fds else []
    sock.sendmsg([P.encode(message)], ancillary, socket.MSG_NOSIGNAL)


def _receive(sock: socket.socket) -> P.Message:
    data, ancillary, flags, _ = sock.recvmsg(P.MAX_FRAME, P.ANCILLARY_SPACE, socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            received = array.array("i")
            received.frombytes(payload[:len(payload) - len(payload) % received.itemsize])
            fds.extend(received)
    if not data and not fds:
        raise EOFError("the broker closed the connection")
    if flags & socket.MSG_CTRUNC:
        # The kernel could not hand us the descriptors: we have none left.
        for fd in fds:
            os.close(fd)
        raise WSAError(W.WSAEMFILE)
    try:
        return P.decode(data, tuple(fds), expect=P.REPLIES)
    except P.ProtocolError as exc:
        for fd in exc.fds:
            os.close(fd)
        raise WSAError(W.WSAENETDOWN) from None


def _try_connect(path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    except OSError:
        sock.close()
        raise
    # A kernel receive timeout (not Python's, which polls before every recv): a broker that
    # stops answering fails the call instead of hanging it.
    seconds = int(REPLY_TIMEOUT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", seconds, 0))
    return sock


def _connect_or_start() -> socket.socket:
    try:
        directory = runtime.runtime_dir()
        path = directory / runtime.BROKER_SOCKET
        sock = _try_connect(path)
        if sock is not None:
            return sock
        with open(directory / runtime.START_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)           # one starter at a time
            sock = _try_connect(path)                  # someone else may have started it
            if sock is None:
                start_broker(directory)
                sock = _try_connect(path)
        if sock is None:
            raise WSAError(W.WSAENETDOWN)
        return sock
    except WSAError:
        raise
    except OSError:
        raise WSAError(W.WSAENETDOWN) from None


def broker_command() -> list[str]:
    """The interpreter that runs the broker: this environment's, even when wsemu is embedded
    in a C program (where sys.executable names that program)."""
    python = os.path.join(sys.prefix, "bin", "python3")
    if not os.access(python, os.X_OK):
        python = sys.executable
    return [python, "-m", "wsemu.broker"]


def start_broker(directory) -> None:
    """Start a detached broker and wait until it serves (or is found already serving)."""
    ready_r, ready_w = os.pipe()
    try:
        with open(directory / runtime.BROKER_LOG, "ab") as log:
            starter = subprocess.Popen(
                broker_command() + ["--daemon", "--idle-exit", str(IDLE_EXIT), "--ready-fd", str(ready_w)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                pass_fds=(ready_w,), close_fds=True, start_new_session=True)
        os.close(ready_w)
        ready_w = -1
        starter.wait(START_TIMEOUT)                # the detaching parent exits at once
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:         # the detached broker says when it serves
            import select
            if select.select([ready_r], [], [], deadline - time.monotonic())[0]:
                os.read(ready_r, 1)
                return
        raise WSAError(W.WSAENETDOWN)
    except (OSError, subprocess.SubprocessError):
        raise WSAError(W.WSAENETDOWN) from None
    finally:
        os.close(ready_r)
        if ready_w >= 0:
            os.close(ready_w)


_client: BrokerClient | None = None
_client_lock = threading.Lock()


def client() -> BrokerClient:
    global _client
    with _client_lock:
        if _client is None:
            _client = BrokerClient()
        return _client
