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

import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Callable

from wsemu import abi as W
from wsemu import runtime
from wsemu.broker import fdpass
from wsemu.broker import protocol as P
from wsemu.errors import WSAError

REPLY_TIMEOUT = 10.0
START_TIMEOUT = 10.0
IDLE_EXIT = 60.0          # a broker started on demand leaves when nobody needs it

# Called with a send function on every new connection to a broker (which may be a new one:
# what the last one was told died with it) — wsemu.spi.sharedstate registers its arenas.
on_connect: list[Callable[[Callable[[P.Message], None]], None]] = []


class BrokerClient:
    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.tokens: list[int] = []        # leased on this connection, not yet used
        self.lock = threading.Lock()
        os.register_at_fork(after_in_child=self._after_fork)

    # ----------------------------------------------------------------------------------
    def request(self, message: P.Message) -> P.Message:
        """Send a request and return the broker's reply (an Error reply raises WSAError)."""
        with self.lock:
            return self._round_trip(message)

    def deposit(self, fds: tuple[int, int], slot: int, target_pid: int) -> int:
        """Deposit a socket and its state's arena (the state at ``slot``) for ``target_pid``;
        its token. One-way: the token was leased beforehand (a round trip per LEASE_BATCH
        deposits)."""
        with self.lock:
            for attempt in (1, 2):
                if not self.tokens:
                    self.tokens = list(self._round_trip(P.Lease()).tokens)
                    if not self.tokens:
                        raise WSAError(W.WSAENOBUFS)
                token = self.tokens.pop()
                try:
                    _send(self.sock, P.Deposit(fds=fds, token=token, target_pid=target_pid, slot=slot))
                    return token
                except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                    self._disconnect()      # its leases died with that broker: lease anew
                    if attempt == 2:
                        raise WSAError(W.WSAENETDOWN) from None
            raise AssertionError("unreachable")

    def tell(self, message: P.Message) -> None:
        """A one-way message, connecting (and starting the broker) if need be. Best effort:
        what it reports is bookkeeping, so a failure is not the caller's."""
        with self.lock:
            try:
                _send(self._connected(), message)
            except (OSError, WSAError):
                self._disconnect()

    def close(self) -> None:
        with self.lock:
            self._disconnect()

    # ----------------------------------------------------------------------------------
    def _round_trip(self, message: P.Message) -> P.Message:
        """Request and reply (lock held); a broker that went away is started again, once."""
        for attempt in (1, 2):
            sock = self._connected()
            try:
                _send(sock, message)
                reply = _receive(sock)
                break
            except (BrokenPipeError, ConnectionResetError, EOFError):
                self._disconnect()
                if attempt == 2:
                    raise WSAError(W.WSAENETDOWN) from None
            except BlockingIOError:
                self._disconnect()      # no reply within REPLY_TIMEOUT
                raise WSAError(W.WSAENETDOWN) from None
        if isinstance(reply, P.Error):
            raise WSAError(reply.code)
        return reply

    def _connected(self) -> socket.socket:
        if self.sock is None:
            sock = _connect_or_start()
            for hook in on_connect:
                hook(lambda message: _send(sock, message))
            self.sock = sock
        return self.sock

    def _disconnect(self) -> None:
        self.tokens = []
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _after_fork(self) -> None:
        # The child must not speak on its parent's connection (nor use its leases).
        self.lock = threading.Lock()
        self._disconnect()


# ======================================================================================
def _send(sock: socket.socket, message: P.Message) -> None:
    sock.sendmsg([P.encode(message)], fdpass.rights(message.fds), socket.MSG_NOSIGNAL)


def _receive(sock: socket.socket) -> P.Message:
    data, ancillary, flags, _ = sock.recvmsg(P.MAX_FRAME, P.ANCILLARY_SPACE, socket.MSG_CMSG_CLOEXEC)
    fds, _ = fdpass.unpack(ancillary)
    if not data and not fds:
        raise EOFError("the broker closed the connection")
    if flags & socket.MSG_CTRUNC:
        # The kernel could not hand us the descriptors: we have none left.
        fdpass.close_all(fds)
        raise WSAError(W.WSAEMFILE)
    try:
        return P.decode(data, tuple(fds), expect=P.REPLIES)
    except P.ProtocolError as exc:
        fdpass.close_all(exc.fds)
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
    # Sends likewise: a broker that stops reading fails them instead of blocking the caller.
    seconds = int(REPLY_TIMEOUT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", seconds, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("@ll", seconds, 0))
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


# ======================================================================================
_client: BrokerClient | None = None
_client_lock = threading.Lock()


def client() -> BrokerClient:
    global _client
    with _client_lock:
        if _client is None:
            _client = BrokerClient()
        return _client
