"""wsemu.compat — CPython's Windows ``socket.share`` / ``socket.fromshare`` on Linux — and
``wsemu run``, which gives them to Python programs unchanged.

The cross-process tests follow CPython's own Windows-only TestSocketSharing (Lib/test/
test_socket.py): real processes started with 'spawn' (a fresh interpreter, as a Windows child
is), the 628 bytes handed over through a multiprocessing Queue, the parent's copy closed
before the child takes over. The `wsemu run` tests run Windows-targeted programs written the
way glance, px and uvicorn write them, as separate processes, and look at what they print and
how they exit.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import open_fds
from wsemu import abi as W
from wsemu import compat, ws2
from wsemu.broker.client import client
from wsemu.errors import WSAError
from wsemu.spi import inbox, sharedstate

ctx = multiprocessing.get_context("spawn")
WSEMU = [sys.executable, "-m", "wsemu.cli"]
FAMILIES = [pytest.param(socket.AF_INET, "127.0.0.1", id="ipv4"), pytest.param(socket.AF_INET6, "::1", id="ipv6")]
WRONG_SIZE = "socket descriptor string has wrong size, should be 628 bytes."


def reap(*processes) -> None:
    """End child processes a test started (killed if a failure left them running)."""
    for p in processes:
        if p.is_alive():
            p.kill()
            p.join()
        p.close()


@pytest.fixture
def installed():
    """compat.install() for the test; what it added is taken away again afterwards, so no
    other test module sees a Windows-looking socket module."""
    had = (hasattr(socket.socket, "share"), hasattr(socket, "fromshare"), "fromshare" in socket.__all__)
    compat.install()
    yield
    if not had[0]:
        del socket.socket.share
    if not had[1]:
        del socket.fromshare
    if not had[2]:
        socket.__all__.remove("fromshare")


def listening(family: int = socket.AF_INET, host: str = "127.0.0.1") -> socket.socket:
    serv = socket.socket(family, socket.SOCK_STREAM)
    serv.bind((host, 0))
    serv.listen()
    return serv


def connected_pair(family: int = socket.AF_INET, host: str = "127.0.0.1") -> tuple[socket.socket, socket.socket]:
    with listening(family, host) as serv:
        client = socket.create_connection(serv.getsockname()[:2])
        server, _ = serv.accept()
    return client, server


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(100):
        chunks.append(chunk)
    return b"".join(chunks)


def compare_sockets(org: socket.socket, other: socket.socket) -> None:
    """CPython's compareSockets: same family and type; proto too unless the original said 0
    (Windows picked the real one, and the shared socket reports that); no timeout on either
    (the Python-level timeout is not transferred)."""
    assert org.gettimeout() is None
    assert other.gettimeout() == org.gettimeout()
    assert other.family == org.family
    assert other.type == org.type
    if org.proto != 0:
        assert other.proto == org.proto


def pidfd_wait(pid: int, timeout: float = 10.0) -> bool:
    """Wait (by pidfd, not by sleeping) until process ``pid`` — not our child — has exited."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------
# children (module-level: 'spawn' imports them by name)
# --------------------------------------------------------------------------------------
def _remote_process_server(q) -> None:
    """CPython's remoteProcessServer: recreate the socket from the shared data and serve one
    message on it."""
    compat.install()
    sdata = q.get()
    message = q.get()
    s = socket.fromshare(sdata)
    s2, c = s.accept()
    s2.sendall(message)
    s2.close()
    s.close()


def _serve_connected(conn) -> None:
    """Take over one end of a connection: answer one request in upper case, then close."""
    compat.install()
    conn.send(os.getpid())
    s = socket.fromshare(conn.recv())
    conn.send({"family": int(s.family), "type": int(s.type), "proto": s.proto,
               "timeout": s.gettimeout(), "inheritable": s.get_inheritable(),
               "peer": s.getpeername()})
    s.sendall(s.recv(100).upper())
    s.close()
    conn.close()


def _try_fromshare(conn) -> None:
    """A process the bytes were not made for: report what fromshare says."""
    compat.install()
    try:
        socket.fromshare(conn.recv())
    except OSError as err:
        conn.send((isinstance(err, WSAError), err.errno, getattr(err, "winerror", None)))
    else:
        conn.send("claimed")
    conn.close()


def _claim_all(conn) -> None:
    """Claim every share that arrives until None; report how many."""
    compat.install()
    conn.send(os.getpid())
    count = 0
    while (data := conn.recv()) is not None:
        socket.fromshare(data).close()
        count += 1
    conn.send(count)
    conn.close()


def _claim_twice_and_greet(conn) -> None:
    """The target: claim, try the same bytes again, then speak on the socket."""
    compat.install()
    conn.send(os.getpid())
    data = conn.recv()
    s = socket.fromshare(data)
    try:
        socket.fromshare(data)
        second = None
    except OSError as err:
        second = err.winerror
    s.sendall(b"from the target")
    s.close()
    conn.send(second)
    conn.close()


# ======================================================================================
# CPython's TestSocketSharing, with real processes
# ======================================================================================
@pytest.mark.parametrize("family,host", FAMILIES)
def test_share_a_listener_with_a_spawned_process_that_serves_it(installed, family, host):
    """testShare: the child accepts on the listener the parent shared and closed."""
    serv = listening(family, host)
    q = ctx.Queue()
    p = ctx.Process(target=_remote_process_server, args=(q,))
    p.start()
    try:
        data = serv.share(p.pid)
        addr = serv.getsockname()[:2]
        serv.close()
        q.put(data)
        message = b"slapmahfro"
        q.put(message)
        with socket.create_connection(addr) as s:
            received = read_all(s)
        assert received == message
        p.join(30)
        assert p.exitcode == 0
    finally:
        serv.close()
        reap(p)
        q.close()
        q.join_thread()


def test_share_a_connected_socket_with_a_spawned_process(installed):
    """The accepted end moves to the child; the parent's copy is closed first, and the
    connection carries on from the child, which sees Windows' defaults."""
    client, server = connected_pair()
    parent_end, child_end = ctx.Pipe()
    p = ctx.Process(target=_serve_connected, args=(child_end,))
    p.start()
    child_end.close()
    try:
        data = server.share(parent_end.recv())
        assert isinstance(data, bytes) and len(data) == 628
        expected_peer = server.getpeername()
        server.close()
        parent_end.send(data)
        seen = parent_end.recv()
        assert seen == {"family": socket.AF_INET, "type": socket.SOCK_STREAM, "proto": socket.IPPROTO_TCP,
                        "timeout": None, "inheritable": False, "peer": expected_peer}
        client.sendall(b"hello over a shared socket")
        assert read_all(client) == b"HELLO OVER A SHARED SOCKET"
        p.join(30)
        assert p.exitcode == 0
    finally:
        client.close()
        server.close()
        parent_end.close()
        reap(p)


def test_share_length(installed):
    """testShareLength: one byte short or three too many is a ValueError with CPython's text."""
    with listening() as serv:
        data = serv.share(os.getpid())
        for wrong in (data[:-1], data + b"foo", b""):
            with pytest.raises(ValueError) as info:
                socket.fromshare(wrong)
            assert str(info.value) == WRONG_SIZE
        # CPython takes only bytes (anything else is no descriptor string)
        with pytest.raises(TypeError):
            socket.fromshare(bytearray(data))
        socket.fromshare(data).close()        # the bytes are still good: nothing consumed them


def test_share_local(installed):
    """testShareLocal: a socket shared with the own process compares equal."""
    with listening() as serv:
        with socket.fromshare(serv.share(os.getpid())) as s:
            compare_sockets(serv, s)


@pytest.mark.parametrize("family,host", FAMILIES)
@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM], ids=["tcp", "udp"])
def test_types(installed, family, kind, host):
    """testTypes: every family and type the catalog has; the copy's family/type/proto are the
    Linux values of the info's (AF_INET6 is 23 in the bytes, 10 in the object)."""
    with socket.socket(family, kind) as source:
        data = source.share(os.getpid())
        info = W.WSAPROTOCOL_INFOW.from_bytes(data)
        assert info.iAddressFamily == {socket.AF_INET: 2, socket.AF_INET6: 23}[family]
        assert info.iSocketType == kind
        with socket.fromshare(data) as shared:
            compare_sockets(source, shared)
            assert shared.proto == info.iProtocol == (socket.IPPROTO_TCP if kind == socket.SOCK_STREAM
                                                      else socket.IPPROTO_UDP)


# ======================================================================================
# Self-sharing: socket.dup() the Windows way (trio's test_fromshare)
# ======================================================================================
@pytest.mark.parametrize("family,host", FAMILIES)
def test_self_share_tcp_is_a_second_descriptor_on_the_same_connection(installed, family, host):
    a, b = connected_pair(family, host)
    with a, b:
        a2 = socket.fromshare(a.share(os.getpid()))
        with a2:
            assert a2.fileno() != a.fileno()
            assert os.fstat(a2.fileno()).st_ino == os.fstat(a.fileno()).st_ino
            a2.sendall(b"x")
            assert b.recv(10) == b"x"
            b.sendall(b"y")
            assert a2.recv(10) == b"y"
        a.sendall(b"z")                            # the original is untouched by the copy's close
        assert b.recv(10) == b"z"


@pytest.mark.parametrize("family,host", FAMILIES)
def test_self_share_udp_is_a_second_descriptor_on_the_same_socket(installed, family, host):
    with socket.socket(family, socket.SOCK_DGRAM) as u, socket.socket(family, socket.SOCK_DGRAM) as peer:
        u.bind((host, 0))
        peer.bind((host, 0))
        with socket.fromshare(u.share(os.getpid())) as u2:
            assert u2.fileno() != u.fileno()
            assert u2.getsockname() == u.getsockname()
            peer.sendto(b"to the copy", u.getsockname())
            data, sender = u2.recvfrom(100)
            assert (data, sender) == (b"to the copy", peer.getsockname())
            u2.sendto(b"from the copy", peer.getsockname())
            assert peer.recvfrom(100) == (b"from the copy", u.getsockname())


def test_uvicorn_share_socket_pattern(installed):
    """uvicorn/server.py _share_socket, verbatim, then a connection served on the result."""

    def _share_socket(sock: socket.SocketType) -> socket.SocketType:
        from socket import fromshare  # type: ignore[attr-defined]
        sock_data = sock.share(os.getpid())  # type: ignore[attr-defined]
        return fromshare(sock_data)

    with listening() as sock:
        with _share_socket(sock) as shared:
            assert shared.fileno() != sock.fileno()
            with socket.create_connection(sock.getsockname()) as c:
                conn, _ = shared.accept()
                with conn:
                    conn.sendall(b"served")
                    assert c.recv(10) == b"served"


# ======================================================================================
# Who may use the bytes, and how often
# ======================================================================================
def test_only_the_target_process_can_use_the_bytes_and_only_once(installed):
    """A process the bytes were not made for (another child, the sharer itself) gets OSError
    WSAEINVAL — and its attempt does not use them up: the target then claims them, once."""
    client, server = connected_pair()
    target_end, target_child_end = ctx.Pipe()
    other_end, other_child_end = ctx.Pipe()
    target = ctx.Process(target=_claim_twice_and_greet, args=(target_child_end,))
    other = ctx.Process(target=_try_fromshare, args=(other_child_end,))
    target.start()
    other.start()
    target_child_end.close()
    other_child_end.close()
    try:
        data = server.share(target_end.recv())
        server.close()
        other_end.send(data)
        assert other_end.recv() == (True, W.WSAEINVAL, W.WSAEINVAL)
        with pytest.raises(OSError) as info:
            socket.fromshare(data)                  # the sharer is not the target either
        assert info.value.winerror == W.WSAEINVAL and info.value.errno == W.WSAEINVAL
        target_end.send(data)
        assert target_end.recv() == W.WSAEINVAL    # the target's second use of the same bytes
        assert read_all(client) == b"from the target"
        for p in (target, other):
            p.join(30)
            assert p.exitcode == 0
    finally:
        client.close()
        server.close()
        for end in (target_end, other_end):
            end.close()
        reap(target, other)


def test_self_shared_bytes_are_single_use(installed):
    with listening() as serv:
        data = serv.share(os.getpid())
        socket.fromshare(data).close()
        with pytest.raises(OSError) as info:
            socket.fromshare(data)
        assert info.value.winerror == W.WSAEINVAL


def test_forged_bytes_are_refused_like_a_used_token(installed):
    """A valid-looking info with a token nobody issued: the same WSAEINVAL, nothing opened."""
    with listening() as serv:
        info = W.WSAPROTOCOL_INFOW.from_bytes(serv.share(os.getpid()))
        socket.fromshare(bytes(info)).close()     # redeem the genuine one
    before = open_fds()
    for token in (0x12345678, 0x80000001, 0xFFFFFFFF):
        with pytest.raises(OSError) as err:
            socket.fromshare(bytes(info.copy(dwProviderReserved=token)))
        assert err.value.winerror == W.WSAEINVAL
    assert open_fds().keys() == before.keys()


def test_share_refuses_what_windows_refuses(installed):
    """pid 0, ~0 (CPython's "I" format wraps -1 to it) and a pid no process has → WSAEINVAL; a
    closed socket → WSAENOTSOCK; a pid that is no integer → TypeError, as from CPython."""
    with listening() as serv:
        for pid in (0, -1, 0xFFFFFFFF, 0x3FFFFFFF):
            with pytest.raises(OSError) as info:
                serv.share(pid)
            assert info.value.winerror == W.WSAEINVAL, pid
        with pytest.raises(TypeError):
            serv.share(str(os.getpid()))
    with pytest.raises(OSError) as info:
        serv.share(os.getpid())
    assert info.value.winerror == W.WSAENOTSOCK


# ======================================================================================
# share leaves the caller's socket alone; nothing leaks
# ======================================================================================
def test_share_neither_takes_over_nor_changes_the_callers_socket(installed):
    with listening() as serv:
        fd = serv.fileno()
        inheritable = serv.get_inheritable()
        data = serv.share(os.getpid())
        assert serv.fileno() == fd and serv.gettimeout() is None
        assert os.get_blocking(fd) and serv.get_inheritable() == inheritable
        assert ws2._base_provider.table.get(fd) is None and fd not in ws2._HANDLES.entries
        with socket.fromshare(data) as copy:
            assert ws2._base_provider.table.get(copy.fileno()) is None
            assert copy.fileno() not in ws2._HANDLES.entries
        with socket.create_connection(serv.getsockname()):        # still listening, still ours
            serv.accept()[0].close()


def test_share_leaves_the_socket_blocking_under_a_default_timeout(installed):
    """A program's socket.setdefaulttimeout() must not make wsemu's look at the caller's fd
    switch it to non-blocking (Python's socket constructor applies the default timeout to any
    fd it wraps, and O_NONBLOCK belongs to the socket, not to the wrapper)."""
    previous = socket.getdefaulttimeout()
    with listening() as serv:
        socket.setdefaulttimeout(5.0)
        try:
            data = serv.share(os.getpid())
            assert os.get_blocking(serv.fileno())
            with socket.fromshare(data) as copy:
                assert copy.gettimeout() == 5.0       # CPython applies the default timeout here
        finally:
            socket.setdefaulttimeout(previous)


def test_a_ws2_claim_leaves_the_sources_blocking_mode_under_a_default_timeout(ws):
    """The same at the Winsock level: WSASocketW claiming a duplicate wraps the fd in a Python
    socket internally; the socket it shares with its source must stay blocking."""
    s = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    info = ws2.WSADuplicateSocketW(s, os.getpid())
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(5.0)
    try:
        d = ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info, 0, 0)
        assert os.get_blocking(s)
    finally:
        socket.setdefaulttimeout(previous)
    ws2.closesocket(d)
    ws2.closesocket(s)


def test_ws2_sockets_ignore_a_programs_default_timeout(ws):
    """Windows creates and accepts sockets blocking, whatever Python's default timeout says:
    ws2's own socket objects must not pick it up (a blocking ws2.recv would fail with
    WSAEINVAL once the default timeout ran out)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(0.25)
    try:
        lst = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
        ws2.bind(lst, ("127.0.0.1", 0))
        ws2.listen(lst, 1)
        c = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
        ws2.connect(c, ws2.getsockname(lst))
        s, _ = ws2.accept(lst)
    finally:
        socket.setdefaulttimeout(previous)
    for handle in (lst, c, s):
        assert os.get_blocking(handle)
        assert ws2._base_provider.table.get(handle).sock.gettimeout() is None
        ws2.closesocket(handle)


def test_share_and_fromshare_leak_no_descriptor(installed):
    """Self-shares are held until claimed, cross-process shares by the broker: after round
    trips the process holds exactly what it held before (ws2's state pages included), and
    ws2 keeps no record of either socket."""
    serv = listening()
    socket.fromshare(serv.share(os.getpid())).close()          # warm-up: WSAStartup
    parent_end, child_end = ctx.Pipe()
    p = ctx.Process(target=_claim_all, args=(child_end,))
    p.start()
    child_end.close()
    try:
        before = open_fds()
        for _ in range(50):
            socket.fromshare(serv.share(os.getpid())).close()
        child = parent_end.recv()
        for _ in range(5):
            parent_end.send(serv.share(child))
        parent_end.send(None)
        assert parent_end.recv() == 5
        # (The connection to the child's inbox is kept while the child lives: the next
        # hand-off to it is then one sendmsg. The arena of shared states stays while a socket
        # in it is open: serv's; so does the broker connection that registered the arena.)
        cached = {conn.fileno() for conn, _ in inbox.outbox.targets.values()}
        cached |= {arena.memfd for arena in sharedstate.arenas.mapped.values()}
        if client().sock is not None:
            cached.add(client().sock.fileno())
        assert open_fds().keys() - cached == before.keys() - cached
        assert ws2._base_provider.table.by_fd == {} and ws2._HANDLES.entries == {}
        p.join(30)
        assert p.exitcode == 0
    finally:
        serv.close()
        parent_end.close()
        reap(p)


def test_fromshare_survives_wsacleanup_of_other_code(installed):
    """compat keeps its own WSAStartup: a program's WSAStartup/WSACleanup pair does not end it,
    and a WSACleanup loop down to zero is recovered from on the next call."""
    with listening() as serv:
        ws2.WSAStartup(0x0202)
        ws2.WSACleanup()
        socket.fromshare(serv.share(os.getpid())).close()
        while ws2._proc.startups:
            ws2.WSACleanup()
        socket.fromshare(serv.share(os.getpid())).close()


# ======================================================================================
# install()
# ======================================================================================
def test_install_is_idempotent_and_adds_only_what_is_missing(installed, monkeypatch):
    share_attr, fromshare_attr = socket.socket.share, socket.fromshare
    compat.install()
    compat.install()
    assert socket.socket.share is share_attr and socket.fromshare is fromshare_attr
    assert socket.__all__.count("fromshare") == 1
    assert socket.socket.share.__name__ == "share"

    def windows_own(info):
        raise AssertionError("not called")

    monkeypatch.setattr(socket, "fromshare", windows_own)   # as on Windows: already there
    compat.install()
    assert socket.fromshare is windows_own


def test_site_directory_ships_in_the_package():
    """pyproject's package discovery (namespace packages included) finds wsemu._site, so
    the sitecustomize that `wsemu run` relies on is installed with wsemu."""
    import tomllib
    from setuptools import find_namespace_packages, find_packages
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        find = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    packages = finder(where=os.path.join(root, find.get("where", ["."])[0]),
                      include=find.get("include", ["*"]), exclude=find.get("exclude", []))
    assert "wsemu._site" in packages
    from wsemu import cli
    assert os.path.isfile(os.path.join(cli.SITE_DIR, "sitecustomize.py"))


# ======================================================================================
# wsemu run
# ======================================================================================
def wsemu_run(*command: str, env: dict | None = None, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(WSEMU + ["run", "--", *command], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


GLANCE_STYLE = '''
"""A Windows-targeted server, written as glance's Win32Server: the parent shares its listening
socket with each worker it starts and sends it through an inherited pipe, as a 4-byte
little-endian length followed by the bytes."""
import os, socket, struct, subprocess, sys

if not hasattr(socket, "fromshare"):
    sys.exit("this server needs socket.fromshare (Windows)")


def worker(pipe_handle):
    with os.fdopen(pipe_handle, "rb") as pipe:
        size = struct.unpack("<I", pipe.read(4))[0]
        sock = socket.fromshare(bytes(pipe.read(size)))
    conn, _ = sock.accept()
    conn.sendall(b"worker %d served %s" % (os.getpid(), conn.recv(100)))
    conn.close()
    sock.close()


def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    rfd, wfd = os.pipe()
    child = subprocess.Popen([sys.executable, __file__, "--pipe-handle=%d" % rfd], pass_fds=(rfd,))
    os.close(rfd)
    share_sock_buff = sock.share(child.pid)
    with os.fdopen(wfd, "wb") as pipe:
        pipe.write(struct.pack("<I", len(share_sock_buff)))
        pipe.write(share_sock_buff)
    address = sock.getsockname()
    sock.close()                     # only the worker holds the listener now
    with socket.create_connection(address) as c:
        c.sendall(b"a request")
        c.shutdown(socket.SHUT_WR)
        reply = b"".join(iter(lambda: c.recv(100), b""))
    print(reply.decode(), child.pid)
    sys.exit(child.wait())


if __name__ == "__main__":
    handle = [a for a in sys.argv[1:] if a.startswith("--pipe-handle=")]
    worker(int(handle[0].split("=")[1])) if handle else main()
'''

PX_STYLE = '''
"""A Windows-targeted proxy, written as px: threads when socket.fromshare is missing, else the
listener goes to a worker process through a multiprocessing Pipe ('spawn', Windows' only way)."""
import multiprocessing, os, socket, sys


def runpool(pipeout):
    sock = socket.fromshare(pipeout.recv())
    conn, _ = sock.accept()
    conn.sendall(b"pooled in %d" % os.getpid())
    conn.close()
    sock.close()


def main():
    if not hasattr(socket, "fromshare"):
        print("threads")
        return 3
    ctx = multiprocessing.get_context("spawn")
    sock = socket.create_server(("127.0.0.1", 0))
    pipein, pipeout = ctx.Pipe()
    p = ctx.Process(target=runpool, args=(pipeout,))
    p.start()
    pipein.send(sock.share(p.pid))
    address = sock.getsockname()
    sock.close()
    with socket.create_connection(address) as c:
        print(c.recv(100).decode(), p.pid)
    p.join()
    return p.exitcode


if __name__ == "__main__":
    sys.exit(main())
'''


def test_run_gives_a_glance_style_program_socket_sharing(tmp_path):
    prog = tmp_path / "server.py"
    prog.write_text(GLANCE_STYLE)
    done = wsemu_run(sys.executable, str(prog))
    assert done.returncode == 0, done.stdout + done.stderr
    reply, child_pid = done.stdout.split()[:-1], done.stdout.split()[-1]
    assert " ".join(reply) == f"worker {child_pid} served a request"
    assert "Traceback" not in done.stderr


def test_run_gives_a_px_style_program_socket_sharing_through_spawn(tmp_path):
    prog = tmp_path / "proxy.py"
    prog.write_text(PX_STYLE)
    without = subprocess.run([sys.executable, str(prog)], capture_output=True, text=True, timeout=60)
    assert (without.returncode, without.stdout) == (3, "threads\n")     # Linux Python: the fallback
    done = wsemu_run(sys.executable, str(prog))
    assert done.returncode == 0, done.stdout + done.stderr
    words = done.stdout.split()
    assert words[:2] == ["pooled", "in"] and words[2] == words[3]


def test_run_exits_with_the_programs_status_and_is_the_program(tmp_path):
    assert wsemu_run(sys.executable, "-c", "import sys; sys.exit(7)").returncode == 7
    proc = subprocess.Popen(WSEMU + ["run", "--", sys.executable, "-c", "import os; print(os.getpid())"],
                            stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=60)
    assert int(out) == proc.pid                     # exec: no wsemu process in between
    assert proc.returncode == 0


def test_run_delivers_signals_to_the_program():
    program = textwrap.dedent("""
        import signal, sys
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))
        print("ready", flush=True)
        while True:
            signal.pause()
    """)
    proc = subprocess.Popen(WSEMU + ["run", "--", sys.executable, "-c", program],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 42
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_run_gives_the_program_default_signal_dispositions():
    """Python ignores SIGPIPE and SIGXFSZ; exec would hand that on (`wsemu run -- yes | head`
    must end `yes` by SIGPIPE, as in a shell)."""
    done = wsemu_run("cat", "/proc/self/status")
    ignored = int(next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("SigIgn:")), 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))
    assert not ignored & (1 << (signal.SIGXFSZ - 1))


def test_run_without_a_command_is_a_usage_error():
    for args in (["run"], ["run", "--"]):
        done = subprocess.run(WSEMU + args, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert "usage: wsemu run" in done.stderr and "Traceback" not in done.stderr


def test_run_reports_a_missing_command_as_a_shell_does():
    done = wsemu_run("no-such-command-for-wsemu")
    assert done.returncode == 127
    assert done.stderr == "wsemu: no-such-command-for-wsemu: command not found\n"


def test_run_chains_to_an_existing_sitecustomize(tmp_path):
    other = tmp_path / "site-of-the-user"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import sys\nsys.user_sitecustomize_ran = __name__\n")
    probe = ("import json, socket, sys; print(json.dumps([hasattr(socket, 'fromshare'), "
             "getattr(sys, 'user_sitecustomize_ran', None), sys.modules['sitecustomize'].__file__]))")
    done = wsemu_run(sys.executable, "-c", probe, env={"PYTHONPATH": str(other)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [True, "sitecustomize", str(other / "sitecustomize.py")]


def test_two_wsemu_site_directories_chain_past_each_other(tmp_path):
    """A nested `wsemu run` of another installation: PYTHONPATH holds two wsemu site
    directories; each skips the other, the user's sitecustomize after them runs once."""
    import shutil
    from wsemu import cli
    second = tmp_path / "another-wsemu" / "_site"
    shutil.copytree(cli.SITE_DIR, second)
    user = tmp_path / "user-site"
    user.mkdir()
    (user / "sitecustomize.py").write_text("import sys\nsys.user_runs = getattr(sys, 'user_runs', 0) + 1\n")
    probe = "import socket, sys; print(hasattr(socket, 'fromshare'), sys.user_runs)"
    done = wsemu_run(sys.executable, "-c", probe, env={"PYTHONPATH": os.pathsep.join([str(second), str(user)])})
    assert (done.returncode, done.stdout, done.stderr) == (0, "True 1\n", "")


def test_run_reports_an_error_in_the_chained_sitecustomize_as_python_does(tmp_path):
    other = tmp_path / "broken-site"
    other.mkdir()
    # (broken for the program only: the `wsemu` command's own interpreter runs it too)
    (other / "sitecustomize.py").write_text("import sys\nif 'wsemu.cli' not in sys.orig_argv:\n"
                                            "    raise RuntimeError('the user site is broken')\n")
    probe = "import socket; print(hasattr(socket, 'fromshare'))"
    plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(other)})
    done = wsemu_run(sys.executable, "-c", probe, env={"PYTHONPATH": str(other)})
    assert (plain.stdout, done.stdout) == ("False\n", "True\n")
    assert done.returncode == 0
    assert done.stderr == plain.stderr      # site.py's own "Error in sitecustomize; ..." line


SYSTEM_PYTHON = "/usr/bin/python3"


def _system_python_tag() -> str | None:
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(sys.implementation.cache_tag)"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return None


@pytest.mark.skipif(_system_python_tag() != sys.implementation.cache_tag,
                    reason="needs a system Python of the same version as this one")
def test_run_serves_a_python_without_wsemu_and_chains_to_its_distribution_sitecustomize():
    """/usr/bin/python3 has neither wsemu nor cffi; Debian's has its own sitecustomize (apport)."""
    plain = subprocess.run([SYSTEM_PYTHON, "-c", "import sitecustomize; print(sitecustomize.__file__)"],
                           capture_output=True, text=True, timeout=30)
    program = ("import os, socket, sys\n"
               "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
               "c = socket.fromshare(s.share(os.getpid()))\n"
               "m = sys.modules.get('sitecustomize')\n"
               "print(c.getsockname() == s.getsockname(), getattr(m, '__file__', None))\n")
    done = wsemu_run(SYSTEM_PYTHON, "-c", program)
    assert done.returncode == 0, done.stderr
    ok, site_file = done.stdout.split()
    assert ok == "True"
    assert site_file == (plain.stdout.strip() if plain.returncode == 0 else "None")


def test_a_python_that_cannot_load_wsemu_runs_without_it_and_says_why(tmp_path):
    """Another interpreter version: one line on stderr, and the program takes its fallback."""
    from wsemu import cli
    env = cli.run_environment(os.environ)
    env["WSEMU_PYTHON_TAG"] = "cpython-99"
    done = subprocess.run([SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable, "-c",
                           "import socket; print(hasattr(socket, 'fromshare'))"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0
    if done.stdout == "True\n":
        pytest.skip("this interpreter has wsemu installed itself")
    assert done.stdout == "False\n"
    assert done.stderr.startswith("wsemu: socket.share/fromshare are not available in ")
    assert "cpython-99" in done.stderr and len(done.stderr.splitlines()) == 1


def test_run_starts_the_broker_the_program_will_need(tmp_path):
    runtime = tmp_path / "rt"
    probe = ("import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); "
             "s.connect(os.path.join(os.environ['WSEMU_RUNTIME_DIR'], 'broker.sock')); print('up')")
    try:
        done = wsemu_run(sys.executable, "-c", probe, env={"WSEMU_RUNTIME_DIR": str(runtime)})
        assert done.returncode == 0, done.stderr
        assert done.stdout == "up\n"
    finally:
        try:
            pid = int((runtime / "broker.lock").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        if pid:
            os.kill(pid, signal.SIGTERM)
            assert pidfd_wait(pid)


def test_run_environment_puts_the_site_directory_first_once():
    from wsemu import cli
    env = cli.run_environment({"PYTHONPATH": os.pathsep.join(["/a", cli.SITE_DIR, "/b"])})
    assert env["PYTHONPATH"] == os.pathsep.join([cli.SITE_DIR, "/a", "/b"])
    env = cli.run_environment({})
    assert env["PYTHONPATH"] == cli.SITE_DIR            # no empty entry (that would mean cwd)
    assert env["WSEMU_PYTHON_TAG"] == sys.implementation.cache_tag
    assert env["WSEMU_RUNTIME_DIR"] == os.environ["WSEMU_RUNTIME_DIR"]
