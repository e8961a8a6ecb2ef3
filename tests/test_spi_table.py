"""The base provider's SPI face: WSPStartup, the 30-entry WSPPROC_TABLE, the WPU handle
upcalls, and the adoption of kernel sockets wsemu did not create (DESIGN.md §3.2)."""
from __future__ import annotations

import contextlib
import os
import re
import select
import socket

import pytest

import wsemu
from wsemu import catalog, spi, ws2
from wsemu import abi as W
from wsemu.spi.base import WSPStartup
from wsemu.spi.table import PROC_NAMES, WSPDATA, WSPPROC_TABLE
from wsemu.spi.upcalls import HANDLES, upcalls
from tests.helpers import readable

# ws2spi.h's WSPPROC_TABLE, member by member (lpWSP* without the "lp").
WS2SPI_ORDER = (
    "WSPAccept", "WSPAddressToString", "WSPAsyncSelect", "WSPBind", "WSPCancelBlockingCall",
    "WSPCleanup", "WSPCloseSocket", "WSPConnect", "WSPDuplicateSocket", "WSPEnumNetworkEvents",
    "WSPEventSelect", "WSPGetOverlappedResult", "WSPGetPeerName", "WSPGetSockName",
    "WSPGetSockOpt", "WSPGetQOSByName", "WSPIoctl", "WSPJoinLeaf", "WSPListen", "WSPRecv",
    "WSPRecvDisconnect", "WSPRecvFrom", "WSPSelect", "WSPSend", "WSPSendDisconnect",
    "WSPSendTo", "WSPSetSockOpt", "WSPShutdown", "WSPSocket", "WSPStringToAddress",
)
MINGW_WS2SPI = "/usr/share/mingw-w64/include/ws2spi.h"


def code_of(call, *args, **kwargs) -> int:
    with pytest.raises(wsemu.WSAError) as info:
        call(*args, **kwargs)
    return info.value.winerror


@contextlib.contextmanager
def started(version: int = 0x0202):
    data, table = WSPStartup(version)
    try:
        yield data, table
    finally:
        table.WSPCleanup()


@contextlib.contextmanager
def spi_sockets():
    """A connected TCP pair and a bound UDP socket made through the table; all closed after."""
    with started() as (_, table):
        infos = {(i.iAddressFamily, i.iSocketType): i for i in catalog.current().enum_protocols()}
        tcp, udp = infos[(W.AF_INET, W.SOCK_STREAM)], infos[(W.AF_INET, W.SOCK_DGRAM)]
        made = []

        def new(info):
            s = table.WSPSocket(info.iAddressFamily, info.iSocketType, info.iProtocol, info, 0, 0)
            made.append(s)
            return s

        try:
            listener = new(tcp)
            table.WSPBind(listener, ("127.0.0.1", 0))
            table.WSPListen(listener, 4)
            client = new(tcp)
            table.WSPConnect(client, table.WSPGetSockName(listener))
            server, _ = table.WSPAccept(listener)
            made.append(server)
            datagram = new(udp)
            table.WSPBind(datagram, ("127.0.0.1", 0))
            yield table, {"listener": listener, "client": client, "server": server, "udp": datagram}
        finally:
            for s in made:
                with contextlib.suppress(wsemu.WSAError):
                    table.WSPCloseSocket(s)
                HANDLES.discard(s)


# ======================================================================================
# WSPStartup and the table
# ======================================================================================
def test_proc_names_are_the_30_entries_of_ws2spi_h_in_table_order():
    assert spi.PROC_NAMES == PROC_NAMES == WS2SPI_ORDER
    assert len(PROC_NAMES) == 30


@pytest.mark.skipif(not os.path.exists(MINGW_WS2SPI), reason="needs mingw-w64's ws2spi.h (apt package mingw-w64)")
def test_proc_names_match_the_member_order_of_mingw_ws2spi_h():
    text = open(MINGW_WS2SPI).read()
    body = re.search(r"typedef struct _WSPPROC_TABLE \{(.*?)\}", text, re.S).group(1)
    members = tuple(m[2:] for m in re.findall(r"\b(lpWSP\w+);", body))
    assert members == PROC_NAMES


def test_wspstartup_gives_wspdata_2_2_and_a_table_of_30_callables_in_order():
    with started() as (data, table):
        assert isinstance(data, WSPDATA) and isinstance(table, WSPPROC_TABLE)
        assert (data.wVersion, data.wHighVersion) == (0x0202, 0x0202)
        assert isinstance(data.szDescription, str) and 0 < len(data.szDescription) <= 255
        assert table.missing() == []
        assert [name for name, _ in table] == list(WS2SPI_ORDER)
        assert all(callable(entry) for _, entry in table)


def test_spi_package_exports_the_base_provider_wspstartup():
    assert spi.WSPStartup is WSPStartup


@pytest.mark.parametrize("version", [0x0203, 0x0302, 0x0303, 0xFFFF])
def test_wspstartup_above_2_2_grants_2_2(version):
    with started(version) as (data, _):
        assert data.wVersion == 0x0202


@pytest.mark.parametrize("version", [0x0000, 0x0001, 0x0101, 0x0002, 0x0102, 0x0201])
def test_wspstartup_below_2_2_is_wsavernotsupported(version):
    """WORD layout: major in the low byte (0x0102 is 2.1, 0x0201 is 1.2)."""
    assert code_of(WSPStartup, version) == W.WSAVERNOTSUPPORTED


def test_wspcleanup_balances_wspstartup_then_reports_not_initialised():
    provider = spi.base.provider()
    before = provider.startups
    _, table = WSPStartup(0x0202)
    _, again = WSPStartup(0x0202)
    assert provider.startups == before + 2
    table.WSPCleanup()
    again.WSPCleanup()
    assert provider.startups == before
    if before == 0:
        assert code_of(table.WSPCleanup) == W.WSANOTINITIALISED


def test_wspstartup_takes_the_upcall_table_it_is_given():
    provider = spi.base.provider()
    kept = provider.upcalls
    try:
        with started():
            pass
        data, table = WSPStartup(0x0202, None, upcalls)
        table.WSPCleanup()
        assert provider.upcalls is upcalls
    finally:
        provider.upcalls = kept


# ======================================================================================
# Entries of later issues
# ======================================================================================
LATER = {
    "WSPGetOverlappedResult": lambda t, s: t.WSPGetOverlappedResult(s, object(), False),
    "WSPGetQOSByName": lambda t, s: t.WSPGetQOSByName(s, b"G711"),
    "WSPJoinLeaf": lambda t, s: t.WSPJoinLeaf(s, ("127.0.0.1", 9)),
}


@pytest.mark.parametrize("name", sorted(LATER))
def test_entries_of_later_issues_raise_wsaeopnotsupp(name):
    with spi_sockets() as (table, socks):
        assert code_of(LATER[name], table, socks["client"]) == W.WSAEOPNOTSUPP


def _no_data(s: int) -> bool:
    poller = select.poll()
    poller.register(s, select.POLLIN)
    return not poller.poll(0)


@pytest.mark.parametrize("argument", ["lpOverlapped", "lpCompletionRoutine"])
def test_overlapped_send_is_wsaeopnotsupp_and_sends_nothing(argument):
    with spi_sockets() as (table, socks):
        assert code_of(table.WSPSend, socks["client"], [b"x"], 1, 0, **{argument: object()}) == W.WSAEOPNOTSUPP
        assert code_of(table.WSPSendTo, socks["udp"], [b"x"], 1, 0, table.WSPGetSockName(socks["udp"]), None,
                       **{argument: object()}) == W.WSAEOPNOTSUPP
        assert _no_data(socks["server"]) and _no_data(socks["udp"])


@pytest.mark.parametrize("argument", ["lpOverlapped", "lpCompletionRoutine"])
def test_overlapped_recv_is_wsaeopnotsupp_and_leaves_the_data_queued(argument):
    with spi_sockets() as (table, socks):
        table.WSPSend(socks["client"], [b"queued"])
        assert readable(socks["server"])
        buf = bytearray(16)
        assert code_of(table.WSPRecv, socks["server"], [buf], 1, 0, **{argument: object()}) == W.WSAEOPNOTSUPP
        assert code_of(table.WSPRecvFrom, socks["server"], [buf], 1, 0, None, **{argument: object()}) == W.WSAEOPNOTSUPP
        assert buf == bytearray(16)
        assert table.WSPRecv(socks["server"], [buf])[0] == len(b"queued")


@pytest.mark.parametrize("argument", ["lpOverlapped", "lpCompletionRoutine"])
def test_overlapped_ioctl_is_wsaeopnotsupp(argument):
    with spi_sockets() as (table, socks):
        assert code_of(table.WSPIoctl, socks["client"], W.FIONREAD, None, 0, 4, **{argument: object()}) \
            == W.WSAEOPNOTSUPP
        # FIONBIO with an overlapped structure changes nothing.
        assert code_of(table.WSPIoctl, socks["client"], W.FIONBIO, b"\1\0\0\0", 4, 0, **{argument: object()}) \
            == W.WSAEOPNOTSUPP
        assert table.WSPIoctl(socks["client"], W.FIONREAD, None, 0, 4) == b"\0\0\0\0"


# ======================================================================================
# WPU upcalls: the handle table
# ======================================================================================
@contextlib.contextmanager
def non_ifs_handles(count: int, catalog_id: int = 1001):
    made = [upcalls.WPUCreateSocketHandle(catalog_id, 0xC0FFEE + i) for i in range(count)]
    try:
        yield made
    finally:
        for handle in made:
            HANDLES.discard(handle)


def test_wpucreatesockethandle_values_never_collide_with_kernel_fds():
    """A non-IFS handle lies above any fd the kernel can give (an fd is a C int, and Linux
    caps it at fs.nr_open), even while real sockets are open."""
    with open("/proc/sys/fs/nr_open") as f:
        nr_open = int(f.read())
    with spi_sockets() as (_, socks), non_ifs_handles(64) as handles:
        assert len(set(handles)) == 64
        assert min(handles) > max(nr_open, 0x7FFFFFFF)
        assert not set(handles) & set(socks.values())
        for handle in handles:
            with pytest.raises((OSError, OverflowError)):
                os.fstat(handle)


def test_wpuquerysockethandlecontext_returns_the_context_given_at_creation():
    with non_ifs_handles(3) as handles:
        assert [upcalls.WPUQuerySocketHandleContext(h) for h in handles] == [0xC0FFEE, 0xC0FFEF, 0xC0FFF0]
        assert HANDLES.get(handles[0]).catalog_id == 1001
        assert HANDLES.get(handles[0]).ifs is False


def test_wpuclosesockethandle_forgets_the_handle_once():
    handle = upcalls.WPUCreateSocketHandle(1001, 7)
    upcalls.WPUCloseSocketHandle(handle)
    assert HANDLES.get(handle) is None
    assert code_of(upcalls.WPUQuerySocketHandleContext, handle) == W.WSAENOTSOCK
    assert code_of(upcalls.WPUCloseSocketHandle, handle) == W.WSAENOTSOCK


def test_wpuquerysockethandlecontext_of_an_ifs_or_unknown_handle_is_wsaenotsock():
    with spi_sockets() as (_, socks):
        assert code_of(upcalls.WPUQuerySocketHandleContext, socks["client"]) == W.WSAENOTSOCK
    assert code_of(upcalls.WPUQuerySocketHandleContext, HANDLES.FIRST_NON_IFS - 1) == W.WSAENOTSOCK


def test_wpumodifyifshandle_registers_the_kernel_handle_with_its_catalog_entry():
    with spi_sockets() as (table, socks):
        for s in socks.values():
            entry = HANDLES.get(s)
            assert entry is not None and entry.ifs
            info = W.WSAPROTOCOL_INFOW.from_bytes(table.WSPGetSockOpt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW))
            assert entry.catalog_id == info.dwCatalogEntryId
        r, w = os.pipe()
        try:
            assert upcalls.WPUModifyIFSHandle(1002, r) == r          # the proposed handle is kept
            assert HANDLES.get(r).catalog_id == 1002
        finally:
            HANDLES.discard(r)
            os.close(r)
            os.close(w)


def test_ws2_dispatches_a_new_socket_through_the_handle_its_provider_registered(ws):
    s = ws.socket(W.AF_INET6, W.SOCK_DGRAM, W.IPPROTO_UDP)
    entry = HANDLES.get(s)
    assert entry is not None and entry.ifs
    assert entry.catalog_id == ws.getsockopt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW).dwCatalogEntryId
    ws.closesocket(s)
    assert HANDLES.get(s) is None


# ======================================================================================
# Adoption of kernel sockets wsemu did not create
# ======================================================================================
@contextlib.contextmanager
def python_tcp_pair(family: int = socket.AF_INET):
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.create_server((host, 0), family=family) as lst:
        a = socket.create_connection(lst.getsockname()[:2])
        b, _ = lst.accept()
    with a, b:
        yield a, b


def test_python_socket_is_adopted_by_send_and_recv(ws):
    with python_tcp_pair() as (a, b):
        assert ws.send(a.fileno(), b"hello") == 5
        assert b.recv(16) == b"hello"
        b.sendall(b"world")
        assert readable(a.fileno())
        assert ws.recv(a.fileno(), 16) == b"world"


@pytest.mark.parametrize("family, type_, expected", [
    (socket.AF_INET, socket.SOCK_STREAM, (W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)),
    (socket.AF_INET6, socket.SOCK_DGRAM, (W.AF_INET6, W.SOCK_DGRAM, W.IPPROTO_UDP)),
], ids=["tcp4", "udp6"])
def test_adoption_asks_family_type_and_protocol_of_the_kernel(ws, family, type_, expected):
    """The Python socket is made with protocol 0; the adopted one reports the kernel's
    protocol and the Windows family number (23 for IPv6)."""
    with socket.socket(family, type_) as py:
        assert ws.getsockopt(py.fileno(), W.SOL_SOCKET, W.SO_TYPE) == expected[1]
        info = ws.getsockopt(py.fileno(), W.SOL_SOCKET, W.SO_PROTOCOL_INFOW)
        assert (info.iAddressFamily, info.iSocketType, info.iProtocol) == expected
        ws.WSACleanup()          # ws2 lets go of the fd before its Python owner closes it


def test_adopted_socket_takes_ws2_calls_like_its_own(ws):
    with python_tcp_pair() as (a, b):
        ws.setsockopt(a.fileno(), W.IPPROTO_TCP, W.TCP_NODELAY, 1)
        assert a.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert ws.getpeername(a.fileno()) == b.getsockname()
        assert ws.getsockname(a.fileno()) == a.getsockname()


def test_pipe_fd_is_wsaenotsock(ws):
    r, w = os.pipe()
    try:
        for call in (lambda: ws.send(w, b"x"), lambda: ws.recv(r, 1),
                     lambda: ws.getsockopt(r, W.SOL_SOCKET, W.SO_TYPE)):
            assert code_of(call) == W.WSAENOTSOCK
            assert ws.WSAGetLastError() == W.WSAENOTSOCK
        assert os.write(w, b"untouched") == 9                 # the pipe still works
        assert os.read(r, 16) == b"untouched"
    finally:
        os.close(r)
        os.close(w)


def test_closed_fd_is_wsaenotsock(ws):
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    assert code_of(ws.send, w, b"x") == W.WSAENOTSOCK


def test_wsacleanup_does_not_close_adopted_sockets(ws):
    with python_tcp_pair() as (a, b):
        fd = a.fileno()
        ws.send(fd, b"before")
        ws.WSACleanup()
        assert a.fileno() == fd
        os.fstat(fd)                                          # still open
        a.sendall(b"-after")                                  # and still Python's
        received = b""
        while len(received) < len(b"before-after"):
            assert readable(b.fileno())
            received += b.recv(64)
        assert received == b"before-after"
        assert HANDLES.get(fd) is None                        # ws2 forgot it


def test_socket_adopted_again_after_a_new_wsastartup(ws):
    with python_tcp_pair() as (a, b):
        ws.send(a.fileno(), b"1")
        ws.WSACleanup()
        ws.WSAStartup(0x0202)
        ws.send(a.fileno(), b"2")
        received = b""
        while len(received) < 2:
            assert readable(b.fileno())
            received += b.recv(8)
        assert received == b"12"


def test_adopted_socket_closed_by_its_owner_is_not_used_through_a_reused_number(ws):
    """An adopted fd belongs to its Python owner: if the owner closes it and the number is
    reused by another socket, ws2 must act on the new socket as a new adoption, never with
    the stale record of the old one (found in review of the bad-input sweep)."""
    import socket as pysock
    old = pysock.socket(pysock.AF_INET, pysock.SOCK_DGRAM)
    number = old.fileno()
    assert ws2.getsockopt(number, W.SOL_SOCKET, W.SO_TYPE) == W.SOCK_DGRAM   # adopted
    old.close()
    new = pysock.socket(pysock.AF_INET, pysock.SOCK_STREAM)
    try:
        assert new.fileno() == number            # the kernel reuses the lowest free number
        assert ws2.getsockopt(number, W.SOL_SOCKET, W.SO_TYPE) == W.SOCK_STREAM
    finally:
        new.close()
    with pytest.raises(wsemu.WSAError) as err:   # and nothing at all there now
        ws2.getsockopt(number, W.SOL_SOCKET, W.SO_TYPE)
    assert err.value.winerror == W.WSAENOTSOCK


def test_wsprecv_on_a_stream_fills_the_callers_buffers_directly(ws):
    """WSPRecv reads a stream straight into the WSABUFs (several of them, in order)."""
    from tests.helpers import tcp_pair
    client, server = tcp_pair()
    try:
        ws2.send(client, b"deadbeefs")
        first, second = bytearray(4), memoryview(bytearray(5))
        assert ws2.WSARecv(server, [first, second]) == (9, 0)
        assert bytes(first) + bytes(second) == b"deadbeefs"
    finally:
        ws2.closesocket(client)
        ws2.closesocket(server)
