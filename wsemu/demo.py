"""`wsemu demo`: the documented WSADuplicateSocket hand-off, with real processes.

Three processes, each a fresh interpreter ('spawn', as a Windows child would be): a *peer*
that accepts one connection, the *source* (this process) that connects to it and hands the
socket over, and the *target* that takes it over. Steps follow Microsoft's description of
WSADuplicateSocket (1)-(10); every Winsock call is narrated with its arguments and its result
or WSA error, as it happens. The broker that carries the socket is started on first need.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Callable

from wsemu import ws2
from wsemu.errors import WSAError, error_name
from wsemu.spi import inbox

_NAMES = {
    ("af", ws2.AF_INET): "AF_INET", ("type", ws2.SOCK_STREAM): "SOCK_STREAM",
    ("proto", ws2.IPPROTO_TCP): "IPPROTO_TCP", ("version", 0x0202): "0x0202",
    ("fpi", ws2.FROM_PROTOCOL_INFO): "FROM_PROTOCOL_INFO", ("how", ws2.SD_SEND): "SD_SEND",
    ("cmd", ws2.FIONBIO): "FIONBIO",
}


def _write_line(text: str) -> None:
    # One write per line: three processes share the terminal, and a line split in two
    # writes can be spliced by another process's output.
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

    def step(self, number: str, text: str) -> None:
        self.say(f"({number}) {text}")

    def call(self, name: str, *args, shown: tuple[str, ...] = (), expect_error: bool = False):
        rendered = ", ".join(_NAMES.get((kind, arg), _short(arg)) if kind else _short(arg)
                             for kind, arg in zip(shown + ("",) * len(args), args))
        try:
            result = getattr(ws2, name)(*args)
        except WSAError as err:
            self.say(f"    {name}({rendered}) -> SOCKET_ERROR, WSAGetLastError() = "
                     f"{ws2.WSAGetLastError()} ({error_name(err.winerror)})")
            if not expect_error:
                raise
            return err
        self.say(f"    {name}({rendered}) -> {_short(result)}")
        return result


def _short(value: object) -> str:
    if value is None:
        return "0"
    if isinstance(value, ws2.WSADATA):
        return f"0 (wVersion {value.wVersion:#06x})"
    if isinstance(value, ws2.WSAPROTOCOL_INFOW):
        return (f"WSAPROTOCOL_INFOW({value.szProtocol!r}, catalog id {value.dwCatalogEntryId}, "
                f"dwProviderReserved {value.dwProviderReserved:#010x})")
    if isinstance(value, (bytes, bytearray)) and len(value) > 40:
        return f"<{len(value)} bytes>"
    return repr(value)


# --------------------------------------------------------------------------------------
# The peer: accepts one connection and watches when it ends
# --------------------------------------------------------------------------------------
def peer(conn) -> None:
    n = Narrator("peer")
    n.call("WSAStartup", 0x0202, shown=("version",))
    lsock = n.call("socket", ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP, shown=("af", "type", "proto"))
    n.call("bind", lsock, ("127.0.0.1", 0))
    n.call("listen", lsock, 1)
    conn.send(ws2.getsockname(lsock))
    s, _ = n.call("accept", lsock)
    n.call("closesocket", lsock)
    request = n.call("recv", s, 100)                 # from the target, on the handed-over socket
    n.call("send", s, b"hello target, you said: " + request)
    conn.recv()                                      # the source has closed its descriptor
    n.call("ioctlsocket", s, ws2.FIONBIO, 1, shown=("", "cmd"))
    n.call("recv", s, 100, expect_error=True)        # WSAEWOULDBLOCK: still open (target holds it)
    n.call("ioctlsocket", s, ws2.FIONBIO, 0, shown=("", "cmd"))
    conn.send("still open")
    n.call("recv", s, 100)                           # b'': the last descriptor is gone now
    n.step("10", "the peer saw the connection end only after the last descriptor closed")
    n.call("closesocket", s)
    n.call("WSACleanup")
    conn.send("done")


# --------------------------------------------------------------------------------------
# The target: gets the structure, makes its own descriptor, talks to the peer
# --------------------------------------------------------------------------------------
def target(conn) -> None:
    n = Narrator("target")
    n.call("WSAStartup", 0x0202, shown=("version",))
    conn.recv()                                      # (2) the source asks for our process id
    n.step("3", f"the target sends its process id {os.getpid()} to the source")
    conn.send(os.getpid())
    data = conn.recv()                               # (7)
    n.step("7", f"the target receives the {len(data)}-byte WSAPROTOCOL_INFOW")
    n.step("8", "the target calls WSASocket with it (WSPSocket redeems the token, once)")
    fpi = ws2.FROM_PROTOCOL_INFO
    s = n.call("WSASocketW", fpi, fpi, fpi, data, 0, 0, shown=("fpi", "fpi", "fpi"))
    n.call("WSASocketW", fpi, fpi, fpi, data, 0, 0, shown=("fpi", "fpi", "fpi"),
           expect_error=True)                        # single use: WSAEINVAL
    n.step("9", "the target exchanges data with the peer on the shared socket")
    n.call("getpeername", s)
    n.call("send", s, b"data from the target")
    n.call("recv", s, 100)
    conn.send("talked")
    conn.recv()                                      # the peer checked the connection is open
    n.step("10", "the target closes the last descriptor")
    n.call("closesocket", s)
    n.call("WSACleanup")
    conn.send("done")


# --------------------------------------------------------------------------------------
# The source: this process
# --------------------------------------------------------------------------------------
def main(out: Callable[[str], None] = _write_line) -> int:
    """Run the hand-off; 0 when every process finished as expected."""
    n = Narrator("source", out)
    n.say("wsemu demo: WSADuplicateSocket hand-off between real processes")
    spawn = multiprocessing.get_context("spawn")
    peer_conn, peer_end = spawn.Pipe()
    target_conn, target_end = spawn.Pipe()
    processes = [spawn.Process(target=peer, args=(peer_end,), name="wsemu-demo-peer"),
                 spawn.Process(target=target, args=(target_end,), name="wsemu-demo-target")]
    for proc in processes:
        proc.start()
    peer_end.close()
    target_end.close()
    try:
        return _source(n, peer_conn, target_conn, processes)
    except (WSAError, EOFError, OSError) as exc:
        n.say(f"the demo failed: {exc}")
        return 1
    finally:
        for proc in processes:
            proc.join(30)
        peer_conn.close()
        target_conn.close()


def _source(n: Narrator, peer_conn, target_conn, processes) -> int:
    n.call("WSAStartup", 0x0202, shown=("version",))
    n.step("1", "the source creates a socket and connects it to the peer")
    s = n.call("socket", ws2.AF_INET, ws2.SOCK_STREAM, ws2.IPPROTO_TCP, shown=("af", "type", "proto"))
    n.call("connect", s, peer_conn.recv())
    n.step("2", "the source asks the target for its process id over a pipe")
    target_conn.send("your pid?")
    pid = target_conn.recv()
    n.step("4", f"the source receives the target's process id {pid}")
    n.step("5", "the source calls WSADuplicateSocket")
    info = n.call("WSADuplicateSocketW", s, pid)
    travelled = ("sent straight into the target's inbox" if inbox.is_delivered(info.dwProviderReserved)
                 else "deposited at the broker (the target has no inbox)")
    n.step("5", f"the socket was {travelled}; the token names it")
    n.step("6", "the source sends the WSAPROTOCOL_INFOW bytes to the target")
    target_conn.send(bytes(info))
    if target_conn.recv() != "talked":
        return 1
    n.step("10", "the source closes its descriptor; the connection stays open for the target")
    n.call("closesocket", s)
    peer_conn.send("source closed")
    peer_conn.recv()                                 # the peer saw it still open
    target_conn.send("close yours")
    outcomes = (target_conn.recv(), peer_conn.recv())
    n.call("WSACleanup")
    for proc in processes:
        proc.join(30)
    if outcomes != ("done", "done") or any(proc.exitcode != 0 for proc in processes):
        n.say(f"unexpected outcome: {outcomes}, exit codes {[proc.exitcode for proc in processes]}")
        return 1
    n.say("done: one socket, three processes; the connection ended with its last descriptor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
