"""`wsemu demo`: a server and a client in two processes, talking through the ws2 API.

Each Winsock call is narrated with its Windows-valued arguments and its result or WSA error,
so the output shows what a Windows program would see. The server runs in a separate process
started with the 'spawn' method (a fresh interpreter, as a Windows child would be).
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Callable

from wsemu import ws2
from wsemu.errors import WSAError, error_name

_NAMES = {
    ("af", ws2.AF_INET): "AF_INET", ("af", ws2.AF_INET6): "AF_INET6",
    ("type", ws2.SOCK_STREAM): "SOCK_STREAM", ("type", ws2.SOCK_DGRAM): "SOCK_DGRAM",
    ("proto", ws2.IPPROTO_TCP): "IPPROTO_TCP", ("proto", ws2.IPPROTO_UDP): "IPPROTO_UDP",
    ("version", 0x0202): "0x0202",
    ("how", ws2.SD_SEND): "SD_SEND", ("how", ws2.SD_RECEIVE): "SD_RECEIVE", ("how", ws2.SD_BOTH): "SD_BOTH",
}


def _write_line(text: str) -> None:
    # One write per line: the two processes share the terminal, and a line split in two
    # writes can be spliced by the other process's output.
    try:
        os.write(sys.stdout.fileno(), (text + "\n").encode())
    except BrokenPipeError:
        pass   # the reader went away (e.g. `| head`); the demo itself carries on


class Narrator:
    """Calls ws2 functions and prints one line per call: role, pid, call, result."""

    def __init__(self, role: str, out: Callable[[str], None] = _write_line) -> None:
        self.role = role
        self.out = out

    def say(self, text: str) -> None:
        self.out(f"[{self.role:6} pid {os.getpid():>6}] {text}")

    def call(self, name: str, *args, shown: tuple[str, ...] = (), expect_error: bool = False):
        rendered = ", ".join(_NAMES.get((kind, arg), repr(arg)) if kind else repr(arg)
                             for kind, arg in zip(shown + ("",) * len(args), args))
        try:
            result = getattr(ws2, name)(*args)
        except WSAError as err:
            self.say(f"{name}({rendered}) -> SOCKET_ERROR, WSAGetLastError() = "
                     f"{ws2.WSAGetLastError()} ({error_name(err.winerror)})")
            if not expect_error:
                raise
            return err
        self.say(f"{name}({rendered}) -> {_render(result)}")
        return result


def _render(result: object) -> str:
    if result is None:
        return "0"
    if isinstance(result, ws2.WSADATA):
        return f"0 (wVersion {result.wVersion:#06x}, {result.szDescription!r}, {result.szSystemStatus!r})"
    return repr(result)


def server(conn) -> None:
    """The server process: one connection, one request, one reply, graceful close."""
    n = Narrator("server")
    try:
        n.call("WSAStartup", 0x0202, shown=("version",))
        lsock = n.call("socket", ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP, shown=("af", "type", "proto"))
        n.call("bind", lsock, ("127.0.0.1", 0))
        n.call("listen", lsock, ws2.SOMAXCONN)
        address = n.call("getsockname", lsock)
        conn.send(address)                 # tell the client where to connect
        peer_sock, peer = n.call("accept", lsock)
        request = n.call("recv", peer_sock, 1024)
        n.call("send", peer_sock, b"hello from the server, you said " + request)
        n.call("recv", peer_sock, 1024)    # 0 bytes: the client shut its sending side down
        n.call("closesocket", peer_sock)
        n.call("closesocket", lsock)
        n.call("WSACleanup")
        conn.send("done")
    except WSAError as err:
        conn.send(f"failed: {err}")


def client(address: tuple, n: Narrator) -> None:
    n.call("WSAStartup", 0x0202, shown=("version",))
    s = n.call("socket", ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP, shown=("af", "type", "proto"))
    n.call("connect", s, address)
    n.call("send", s, b"hello")
    n.call("recv", s, 1024)
    n.call("shutdown", s, ws2.SD_SEND, shown=("", "how"))
    n.say("now some of Windows' own rules, which Linux alone would not give:")
    n.call("send", s, b"more", expect_error=True)                   # WSAESHUTDOWN, not EPIPE
    n.call("closesocket", s)
    refused = n.call("socket", ws2.AF_INET, ws2.SOCK_STREAM, 0, shown=("af", "type", "proto"))
    n.call("connect", refused, ("0.0.0.0", address[1]), expect_error=True)   # WSAEADDRNOTAVAIL
    n.call("getsockname", refused, expect_error=True)                         # unbound: WSAEINVAL
    n.call("closesocket", refused)
    n.call("socket", 0xDEAD, ws2.SOCK_STREAM, ws2.IPPROTO_TCP, expect_error=True)  # WSAEAFNOSUPPORT
    n.call("WSACleanup")
    n.call("closesocket", s, expect_error=True)                      # after cleanup: WSANOTINITIALISED


def main(out: Callable[[str], None] = _write_line) -> int:
    """Run the demo; 0 when both sides finished as expected."""
    n = Narrator("client", out)
    n.say(f"wsemu demo: a Winsock client and server in two processes ({sys.executable})")
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    proc = ctx.Process(target=server, args=(child_end,), name="wsemu-demo-server")
    proc.start()
    child_end.close()
    try:
        if not parent_end.poll(60):
            n.say("the server did not start")
            return 1
        try:
            address = parent_end.recv()
        except EOFError:
            address = "the server process stopped"
        if not isinstance(address, tuple):
            n.say(f"server: {address}")
            return 1
        client(address, n)
        try:
            outcome = parent_end.recv() if parent_end.poll(30) else "no answer"
        except EOFError:
            outcome = "the server process stopped"
    finally:
        proc.join(30)
        parent_end.close()
    if outcome != "done" or proc.exitcode != 0:
        n.say(f"server: {outcome} (exit code {proc.exitcode})")
        return 1
    n.say("both processes finished; every call above went through wsemu's ws2 API")
    return 0


if __name__ == "__main__":
    sys.exit(main())
