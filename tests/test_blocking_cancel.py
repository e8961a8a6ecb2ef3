"""closesocket from another thread wakes every kind of blocking call on that socket.

Windows: closing a socket cancels the calls other threads are blocked in on it; they fail
(accept: item 87; select: item 121). wsemu re-points the fd slot at /dev/null (dup2), sends
the blocked threads a signal, and releases the fd number only when the last of them has
left, so a socket created meanwhile can never get that number and be closed or read by a
call that belonged to the old socket.

Every test runs real threads on real kernel sockets and checks that no descriptor is left
behind. Threads are known to be blocked when they are registered in the descriptor's
``blocked`` set (no kernel event announces that; ``wait_for`` polls it).
"""
from __future__ import annotations

import platform
import signal
import threading

import pytest

from tests.helpers import full_backlog_listener, listener, open_fds, send_queue_idle, tcp, tcp_pair, udp_socket, wait_for
from wsemu import ws2
from wsemu.errors import WSAError
from wsemu.spi.descriptor import WAKE_SIGNAL

W = ws2

# System call numbers a held thread sleeps in (python's recv is recvfrom, accept is accept4).
_SYSCALLS = {"x86_64": {"recv": 45, "accept": 288}, "aarch64": {"recv": 207, "accept": 242}}


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
class Call(threading.Thread):
    """One blocking ws2 call in a real thread. With ``hold``, the thread blocks the wake
    signal first: closesocket cannot interrupt it, so it stays inside its system call
    until the kernel completes that call (this makes "still inside" deterministic)."""

    def __init__(self, func, *args, hold: bool = False) -> None:
        super().__init__(daemon=True)
        self.func, self.args, self.hold = func, args, hold
        self.result = self.error = None

    def run(self) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {WAKE_SIGNAL}) if self.hold else None
        try:
            self.result = self.func(*self.args)
        except BaseException as exc:  # noqa: BLE001 — reported to the test thread
            self.error = exc
        finally:
            if old is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)   # a pending wake is a no-op

    def blocked_in(self, s: int) -> bool:
        desc = ws2._base_provider.table.get(s)
        return desc is not None and self.ident in desc.blocked

    def inside(self, name: str) -> bool:
        """The thread sleeps in the kernel in that call (not merely registered as blocked:
        a thread registered but not yet in its call fails at once on the re-pointed fd)."""
        numbers = _SYSCALLS.get(platform.machine())
        if numbers is None:
            pytest.skip(f"no system call numbers for {platform.machine()}")
        try:
            with open(f"/proc/self/task/{self.native_id}/syscall") as status:
                return status.read().split()[0] == str(numbers[name])
        except (OSError, IndexError):
            return False

    def finish(self) -> None:
        self.join(5)
        assert not self.is_alive(), "the blocked call was not woken"


def assert_wsa(error: BaseException | None, *codes: int) -> None:
    assert isinstance(error, WSAError), f"expected a WSAError, got {error!r}"
    assert error.winerror in codes, error


def close_while_blocked(s: int, func, *args) -> Call:
    """Start ``func(*args)`` in a thread, wait until it is blocked on ``s``, close ``s``."""
    call = Call(func, *args)
    call.start()
    assert wait_for(lambda: call.blocked_in(s))
    ws2.closesocket(s)
    call.finish()
    return call


def fill_send_buffer(s: int) -> None:
    """Non-blocking sends until the kernel refuses (the peer never reads), then blocking."""
    ws2.ioctlsocket(s, W.FIONBIO, 1)
    while True:
        try:
            ws2.send(s, b"x" * 65536)
        except WSAError as err:
            assert err.winerror == W.WSAEWOULDBLOCK
            break
    ws2.ioctlsocket(s, W.FIONBIO, 0)
    assert ws2.select(None, [s], None, 0)[1] == []


@pytest.fixture
def fds(ws):
    """The descriptors open at the start; each test compares at its end."""
    return set(open_fds())


def assert_no_leak(before: set[int]) -> None:
    assert send_queue_idle()
    leaked = {fd: target for fd, target in open_fds().items() if fd not in before}
    assert not leaked, leaked


# ---------------------------------------------------------------------------------------
# each kind of blocking call is woken with a WSA error
# ---------------------------------------------------------------------------------------
def test_closesocket_wakes_a_blocked_recv(fds):
    client, server = tcp_pair()
    call = close_while_blocked(server, ws2.recv, server, 100)
    assert_wsa(call.error, W.WSAEINTR)
    ws2.closesocket(client)
    assert_no_leak(fds)


def test_closesocket_wakes_a_blocked_wsarecv(fds):
    client, server = tcp_pair()
    call = close_while_blocked(server, ws2.WSARecv, server, [bytearray(10), bytearray(10)])
    assert_wsa(call.error, W.WSAEINTR)
    ws2.closesocket(client)
    assert_no_leak(fds)


def test_closesocket_wakes_a_blocked_udp_recvfrom(fds):
    s = udp_socket()
    call = close_while_blocked(s, ws2.recvfrom, s, 100)
    assert_wsa(call.error, W.WSAEINTR)
    assert_no_leak(fds)


def test_closesocket_wakes_a_send_blocked_on_a_full_buffer(fds):
    client, server = tcp_pair()
    fill_send_buffer(client)
    call = close_while_blocked(client, ws2.send, client, b"y" * (1 << 20))
    assert_wsa(call.error, W.WSAEINTR)
    ws2.closesocket(server)
    assert_no_leak(fds)


def test_closesocket_wakes_a_blocked_accept(fds):
    lst, _ = listener()
    call = close_while_blocked(lst, ws2.accept, lst)
    assert_wsa(call.error, W.WSAEINTR)
    assert_no_leak(fds)


def test_closesocket_wakes_a_blocked_connect(fds):
    lst, addr, first = full_backlog_listener()
    s = tcp()
    call = close_while_blocked(s, ws2.connect, s, addr)
    assert_wsa(call.error, W.WSAEINTR)
    ws2.closesocket(first)
    ws2.closesocket(lst)
    assert_no_leak(fds)


def test_closesocket_wakes_a_blocked_select_with_notsock(fds):
    """Not in readfds: select fails with WSAENOTSOCK (item 121). A never-connected TCP
    socket is neither writable nor exceptional, so only the close can end the wait."""
    s = tcp()
    call = close_while_blocked(s, ws2.select, None, [s], [s], 10)
    assert_wsa(call.error, W.WSAENOTSOCK)
    assert_no_leak(fds)


def test_closesocket_wakes_every_thread_blocked_on_the_socket(fds):
    client, server = tcp_pair()
    calls = [Call(ws2.recv, server, 10) for _ in range(3)] + [Call(ws2.select, [server], None, None, 10)]
    for call in calls:
        call.start()
    assert wait_for(lambda: all(call.blocked_in(server) for call in calls))
    ws2.closesocket(server)
    for call in calls[:3]:
        call.finish()
        assert_wsa(call.error, W.WSAEINTR)
    calls[3].finish()
    assert calls[3].result == ([server], [], [])          # in readfds: reported readable
    ws2.closesocket(client)
    assert_no_leak(fds)


def test_closed_socket_is_notsock_afterwards(fds):
    client, server = tcp_pair()
    close_while_blocked(server, ws2.recv, server, 10)
    # Nothing has reused the number (nothing was opened): the handle is dead.
    with pytest.raises(WSAError) as info:
        ws2.recv(server, 10)
    assert info.value.winerror == W.WSAENOTSOCK
    ws2.closesocket(client)
    assert_no_leak(fds)


# ---------------------------------------------------------------------------------------
# the fd number is not reused while a blocked thread is still inside
# ---------------------------------------------------------------------------------------
def test_new_socket_never_gets_the_number_of_a_socket_a_thread_is_still_inside(fds):
    client, server = tcp_pair()
    call = Call(ws2.recv, server, 10, hold=True)
    call.start()
    assert wait_for(lambda: call.blocked_in(server) and call.inside("recv"))
    ws2.closesocket(server)
    # The thread is still inside recv (it cannot be interrupted): the number stays taken.
    assert call.is_alive()
    fresh = [udp_socket() for _ in range(4)]
    assert server not in fresh
    assert open_fds()[server] == "/dev/null"
    # The kernel completes the old call (the socket object lives until the call returns).
    ws2.send(client, b"late")
    call.finish()
    assert call.error is not None or call.result == b"late"
    assert server not in open_fds()                        # released once the thread left
    # The sockets opened in between were not touched.
    for s in fresh:
        ws2.sendto(s, b"ok", 0, ws2.getsockname(s))
        assert ws2.recvfrom(s, 10)[0] == b"ok"
    for s in fresh:
        ws2.closesocket(s)
    ws2.closesocket(client)
    assert_no_leak(fds)


def test_socket_opened_right_after_closesocket_is_unaffected_by_the_woken_thread(fds):
    client, server = tcp_pair()
    call = Call(ws2.recv, server, 10)
    call.start()
    assert wait_for(lambda: call.blocked_in(server))
    ws2.closesocket(server)
    newcomer = udp_socket()                                # may or may not reuse the number
    call.finish()
    assert_wsa(call.error, W.WSAEINTR)
    ws2.sendto(newcomer, b"mine", 0, ws2.getsockname(newcomer))
    assert ws2.recvfrom(newcomer, 10)[0] == b"mine"
    ws2.closesocket(newcomer)
    ws2.closesocket(client)
    assert_no_leak(fds)


def test_recv_completing_with_eof_after_closesocket_is_a_wsa_error_not_a_crash(fds):
    """The peer's FIN completes the recv after closesocket released the descriptor."""
    client, server = tcp_pair()
    call = Call(ws2.recv, server, 10, hold=True)
    call.start()
    assert wait_for(lambda: call.blocked_in(server) and call.inside("recv"))
    ws2.closesocket(server)
    ws2.shutdown(client, W.SD_SEND)
    call.finish()
    assert_wsa(call.error, W.WSAEINTR)
    ws2.closesocket(client)
    assert_no_leak(fds)


def test_accept_completing_after_closesocket_fails_and_closes_the_connection(fds):
    """A connection arrives while closesocket is tearing the listener down: the accept
    must fail (the listener is closed) and the accepted connection must not leak."""
    lst, addr = listener()
    call = Call(ws2.accept, lst, hold=True)
    call.start()
    assert wait_for(lambda: call.blocked_in(lst) and call.inside("accept"))
    ws2.closesocket(lst)
    client = tcp()
    ws2.connect(client, addr)                              # the old listener still listens
    call.finish()
    assert_wsa(call.error, W.WSAEINTR)
    ws2.closesocket(client)
    assert_no_leak(fds)
