"""The LSP framework (wsemu.spi.layered) and provider loading (wsemu.spi.loader) through ws2:
layers installed the Windows way in an isolated catalog, real sockets and real processes.

Two Python layers stacked over the base (``upper`` over ``lower`` over TCP/IPv4): each call
passes upper -> lower -> base, and each hop receives the WSAPROTOCOL_INFOW the seed rules say
(DESIGN.md §3.2): the chain unmodified towards a layer, the base's own entry towards the base.
"""
from __future__ import annotations

import multiprocessing
import os

import pytest

from tests import lsp_hops
from tests.helpers import TCP4_ENTRY, install_layer, tcp_trio
from wsemu import catalog, msgqueue, ws2
from wsemu.spi import wsc
from wsemu.errors import WSAError

W = ws2
pytestmark = pytest.mark.timeout(60)
TCP4 = TCP4_ENTRY
NON_IFS_FIRST = 1 << 40                  # wsemu.spi.upcalls.HandleTable.FIRST_NON_IFS


def _install(name: str, cls: str, over: list[int], ifs: bool = False) -> W.WSAPROTOCOL_INFOW:
    """Install test layer ``cls``; its chain entry over ``over[0]``."""
    return install_layer(name, f"python:tests.lsp_hops:{cls}", over, ifs)[0]


@pytest.fixture
def layers(config_dir):
    """lower over TCP/IPv4, upper over lower's chain; WSAStartup'd. (upper chain, lower chain)"""
    lower = _install("lower", "Lower", [TCP4])
    upper = _install("upper", "Upper", [lower.dwCatalogEntryId])
    lsp_hops.HOPS.clear()
    lsp_hops.STARTUPS.clear()
    ws2.WSAStartup(0x0202)
    return upper, lower


def _chain(info) -> list[int]:
    return info.ProtocolChain.ChainEntries[:info.ProtocolChain.ChainLen]


def test_socket_creation_lands_on_the_top_chain_and_each_hop_gets_the_rule_s_info(layers):
    upper, lower = layers
    assert _chain(upper) == [_chain(upper)[0], lower.dwCatalogEntryId, TCP4]
    s = ws2.socket(W.AF_INET, W.SOCK_STREAM, 0)
    assert s >= NON_IFS_FIRST                                   # the top layer's own handle
    # WSPStartup: ws2 gives upper its chain entry; upper gives lower the same, unmodified;
    # lower gives the base its own entry.
    assert [(name, info.dwCatalogEntryId) for name, info in lsp_hops.STARTUPS] == [
        ("upper", upper.dwCatalogEntryId), ("lower", upper.dwCatalogEntryId)]
    assert bytes(lsp_hops.STARTUPS[1][1]) == bytes(upper)
    (name1, call1, got1, down1), (name2, call2, got2, down2) = lsp_hops.HOPS
    assert (name1, call1, name2, call2) == ("upper", "WSPSocket", "lower", "WSPSocket")
    assert bytes(got1) == bytes(upper) and bytes(down1) == bytes(upper)   # towards a layer: unmodified
    assert bytes(got2) == bytes(upper)
    base = catalog.current().by_id(TCP4).info
    assert bytes(down2) == bytes(base)                          # towards the base: its own entry
    assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW).dwCatalogEntryId == upper.dwCatalogEntryId
    ws2.closesocket(s)


def test_every_call_passes_upper_then_lower_and_data_flows(layers):
    listener, client, server = tcp_trio()
    lsp_hops.HOPS.clear()
    assert ws2.send(client, b"through two layers") == 18
    assert ws2.recv(server, 100) == b"through two layers"
    assert lsp_hops.HOPS == [("upper", "WSPSend"), ("lower", "WSPSend"),
                             ("upper", "WSPRecv"), ("lower", "WSPRecv")]
    for s in (client, server, listener):
        ws2.closesocket(s)
    assert lsp_hops.HOPS[-2:] == [("upper", "WSPCloseSocket"), ("lower", "WSPCloseSocket")]
    with pytest.raises(WSAError) as failed:
        ws2.send(client, b"x")
    assert failed.value.winerror == W.WSAENOTSOCK


def test_select_and_event_select_answer_in_the_layer_s_handles(layers):
    listener, client, server = tcp_trio()
    event = ws2.WSACreateEvent()
    try:
        ws2.WSAEventSelect(server, event, W.FD_READ)
        ws2.send(client, b"x")
        assert ws2.WSAWaitForMultipleEvents([event], False, 5000) == W.WSA_WAIT_EVENT_0
        assert ws2.WSAEnumNetworkEvents(server, event).lNetworkEvents == W.FD_READ
        ws2.WSAEventSelect(server, 0, 0)
        ws2.ioctlsocket(server, W.FIONBIO, 0)
        assert ws2.select([server, client], [], [], 5) == ([server], [], [])
    finally:
        ws2.WSACloseEvent(event)


def test_one_event_registration_per_socket_through_layered_duplicates(layers):
    listener, client, server = tcp_trio()
    twin = ws2.WSASocketW(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO,
                          ws2.WSADuplicateSocketW(server, os.getpid()))
    assert twin >= NON_IFS_FIRST and twin != server
    first, second = ws2.WSACreateEvent(), ws2.WSACreateEvent()
    try:
        ws2.WSAEventSelect(server, first, W.FD_READ)
        ws2.WSAEventSelect(twin, second, W.FD_READ)      # replaces the first (one per socket)
        ws2.send(client, b"x")
        assert ws2.WSAWaitForMultipleEvents([second], False, 5000) == W.WSA_WAIT_EVENT_0
        assert ws2.WSAWaitForMultipleEvents([first], False, 0) == W.WSA_WAIT_TIMEOUT
    finally:
        ws2.WSACloseEvent(first), ws2.WSACloseEvent(second)


def test_async_select_messages_carry_the_application_s_handle(layers):
    listener, client, server = tcp_trio()
    hwnd = msgqueue.CreateWindow()
    try:
        ws2.WSAAsyncSelect(server, hwnd, 0x400, W.FD_READ)
        ws2.send(client, b"x")
        msg = msgqueue.GetMessage(hwnd, 5000)
        assert (msg.message, msg.wParam, msg.lParam & 0xFFFF) == (0x400, server, W.FD_READ)
    finally:
        msgqueue.DestroyWindow(hwnd)


def _target(info_bytes: bytes, channel) -> None:
    """A separate process: claim the layered socket, talk on it, try the info again."""
    ws2.WSAStartup(0x0202)
    fpi = W.FROM_PROTOCOL_INFO
    s = ws2.WSASocketW(fpi, fpi, fpi, info_bytes)
    info = ws2.getsockopt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW)
    ws2.send(s, b"from the target")
    got = ws2.recv(s, 100)
    try:
        ws2.WSASocketW(fpi, fpi, fpi, info_bytes)
        again = 0
    except WSAError as err:
        again = err.winerror
    channel.send((s >= NON_IFS_FIRST, info.dwCatalogEntryId, got, again,
                  [hop for hop in lsp_hops.HOPS if hop[1] == "WSPSocket"][0][:2]))
    ws2.closesocket(s)
    ws2.WSACleanup()


def test_a_socket_duplicated_through_the_chain_is_layered_again_in_the_target(layers):
    upper, lower = layers
    listener, client, server = tcp_trio()
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    # The info is made for the child's pid, so the child starts first and gets it by pipe.
    child = ctx.Process(target=_claim_from_pipe, args=(theirs,))
    child.start()
    info = ws2.WSADuplicateSocketW(client, child.pid)
    assert info.dwCatalogEntryId == upper.dwCatalogEntryId and info.dwProviderReserved
    ours.send(bytes(info))
    assert ws2.recv(server, 100) == b"from the target"
    ws2.send(server, b"to the target")
    layered, catalog_id, got, again, first_hop = ours.recv()
    child.join(30)
    assert child.exitcode == 0
    assert layered and catalog_id == upper.dwCatalogEntryId
    assert got == b"to the target"
    assert again == W.WSAEINVAL                                 # single use, through the chain too
    assert first_hop == ("upper", "WSPSocket")


def _claim_from_pipe(channel) -> None:
    _target(channel.recv(), channel)


def test_an_ifs_layer_keeps_the_kernel_handle(config_dir):
    chain = _install("ifs", "IfsLayer", [TCP4], ifs=True)
    lsp_hops.HOPS.clear()
    ws2.WSAStartup(0x0202)
    s = ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    assert s < NON_IFS_FIRST                                    # the base's fd, claimed by the layer
    ws2.bind(s, ("127.0.0.1", 0))
    assert lsp_hops.HOPS[-1] == ("ifs", "WSPBind")
    assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW).dwCatalogEntryId == chain.dwCatalogEntryId
    ws2.closesocket(s)


@pytest.mark.parametrize("path, code", [
    ("python:tests.no_such_module:X", W.WSAEPROVIDERFAILEDINIT),
    ("python:tests.lsp_hops:OldVersion", W.WSAEINVALIDPROVIDER),
    ("python:tests.lsp_hops:Incomplete", W.WSAEINVALIDPROCTABLE),
    ("/nonexistent/libnothing.so", W.WSAEPROVIDERFAILEDINIT),
], ids=["no-module", "version-1.1", "missing-entry", "no-shared-object"])
def test_a_provider_that_cannot_start_fails_socket_creation_with_ws2_32_s_code(config_dir, path, code):
    wsc.install_lsp("broken", path, [TCP4])
    ws2.WSAStartup(0x0202)
    with pytest.raises(WSAError) as failed:
        ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
    assert failed.value.winerror == code
    assert ws2.WSAGetLastError() == code
    s = ws2.socket(W.AF_INET, W.SOCK_DGRAM, W.IPPROTO_UDP)     # the other entries still work
    ws2.closesocket(s)


def test_a_c_program_s_calls_dispatch_through_the_chain(layers, cc, tmp_path):
    """The C face too: libwsemu's calls on a layered handle go through the layers."""
    import subprocess

    from tests.helpers import c_face_flags
    upper, _ = layers
    source = os.path.join(os.path.dirname(__file__), "cface", "layered_chain.c")
    exe = tmp_path / "layered_chain"
    built = subprocess.run([cc, "-Wall", "-Werror", *c_face_flags("--cflags"), source,
                            *c_face_flags("--libs"), "-o", str(exe)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)          # (the embedded interpreter imports tests.lsp_hops)
    run = subprocess.run([str(exe), str(upper.dwCatalogEntryId)], capture_output=True, text=True,
                         timeout=60, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.endswith(": 0 failures\n")
