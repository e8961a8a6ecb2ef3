"""Layered service providers written in C (issue 6, reference/spi.md §1, §4.1-4.3).

native/examples/lsp-counter is built with the two `wsemu config` commands and installed over
TCP/IPv4 in an isolated catalog (WSEMU_CONFIG_DIR in a tmp dir): a hidden layered entry and a
chain entry [layered ID, TCP/IPv4 ID] whose path is the shared object, first in order. Real
loopback TCP through the chain then counts every byte, and the LSP's log must show exactly
what flowed. ``wsemu.spi.cprovider`` starts it as ws2's loader will; the LSP starts the base
provider below it through ``wsemu_WSPStartupProvider``. The tests through ws2 and the C face
(socket() landing on the chain) need the provider loader (wsemu.spi.loader) and are skipped
until it is there.
"""
from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

from tests.helpers import c_face_flags, install_layer, TCP4_ENTRY as TCP4, tcp_trio
from wsemu import abi as W
from wsemu import catalog, sockaddr
from wsemu.errors import WSAError
from wsemu.spi import cprovider
from wsemu.spi.wselect import FdSet

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "native" / "examples" / "lsp-counter"
BAD_PROVIDER = pathlib.Path(__file__).parent / "cface" / "bad_provider.c"



# ---------------------------------------------------------------------------------------
# Building and installing
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def build(tmp_path_factory, cc):
    out = tmp_path_factory.mktemp("c-lsp")

    def compile_(source: pathlib.Path, name: str, *options: str, shared: bool = True) -> pathlib.Path:
        target = out / name
        kind = ["-shared", "-fPIC"] if shared else []
        built = subprocess.run([cc, *kind, "-Wall", "-Werror", *options, *c_face_flags("--cflags"), str(source),
                                *c_face_flags("--libs"), "-o", str(target)], capture_output=True, text=True)
        assert built.returncode == 0, built.stderr
        return target
    return compile_


@pytest.fixture(scope="module")
def lsp(build) -> pathlib.Path:
    """The example, built by its README's line."""
    return build(EXAMPLE / "lsp_counter.c", "liblspcounter.so")


@pytest.fixture
def isolated(config_dir, monkeypatch) -> pathlib.Path:
    """A catalog of this test's own, and the LSP's log file."""
    log = config_dir / "counter.log"
    monkeypatch.setenv("LSP_COUNTER_LOG", str(log))
    return log


def install(path: pathlib.Path | str, over: int = TCP4, next_id: int | None = None) -> W.WSAPROTOCOL_INFOW:
    """Install ``path`` as an LSP over catalog entry ``over`` the Windows way (a hidden
    layered entry, a chain entry [layered, over] first in order) → the chain entry.
    ``next_id`` then points slot 1 of the chain elsewhere (a broken chain no installer writes)."""
    chain = install_layer("lsp-counter", str(path), [over])[0]
    if next_id is not None:
        with catalog.CatalogStore().change() as current:
            entry = current.by_id(chain.dwCatalogEntryId)
            entry.info.ProtocolChain.ChainEntries[1] = next_id
            chain = entry.info.copy()
    return chain


def counted(log: pathlib.Path) -> dict[int, tuple[int, int]]:
    """The LSP's log: handle → (sent, received)."""
    found = {}
    for line in log.read_text().splitlines():
        _, handle, _, sent, _, received = line.split()
        found[int(handle)] = (int(sent), int(received))
    return found


# ---------------------------------------------------------------------------------------
# libwsemu in this Python process
# ---------------------------------------------------------------------------------------
def test_libwsemu_loaded_into_python_shares_the_handle_table(lsp):
    """cffi embedding runs libwsemu's Python side in this interpreter: a handle made by the
    C WPUCreateSocketHandle is in wsemu.spi.upcalls.HANDLES, and one closed there is gone
    for C."""
    from wsemu.spi.upcalls import HANDLES
    ffi, lib = cprovider._face()
    upcalls = lib.wsemu_upcall_table()
    err = ffi.new("int32_t *")
    handle = upcalls.lpWPUCreateSocketHandle(4242, 77, err)
    assert HANDLES.get(handle).catalog_id == 4242 and HANDLES.get(handle).context == 77
    HANDLES.close(handle)
    context = ffi.new("DWORD_PTR *")
    assert upcalls.lpWPUQuerySocketHandleContext(handle, context, err) == W.SOCKET_ERROR
    assert err[0] == W.WSAENOTSOCK


# ---------------------------------------------------------------------------------------
# The LSP through cprovider.start (what the loader will call)
# ---------------------------------------------------------------------------------------
@pytest.fixture
def chain_table(lsp, isolated):
    chain = install(lsp)
    data, table = cprovider.start(str(lsp), 0x0202, chain, None)
    yield chain, data, table
    table.WSPCleanup()


def _connected(table, chain) -> tuple[int, int, int]:
    listener = table.WSPSocket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP, chain, 0, 0)
    table.WSPBind(listener, ("127.0.0.1", 0))
    table.WSPListen(listener, 1)
    client = table.WSPSocket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP, chain, 0, 0)
    table.WSPConnect(client, table.WSPGetSockName(listener))
    server, peer = table.WSPAccept(listener)
    assert peer == table.WSPGetSockName(client)
    return listener, client, server


def _recv_exactly(table, s: int, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        buf = bytearray(size - len(got))
        n, _ = table.WSPRecv(s, [buf], 1, 0)
        assert n > 0
        got += buf[:n]
    return bytes(got)


def test_the_lsp_starts_over_the_base_provider_with_a_full_table(chain_table):
    chain, data, table = chain_table
    assert table.missing() == []
    assert data.wVersion == 0x0202       # the base provider's WSPDATA, copied up
    assert "base provider" in data.szDescription


def test_data_flows_through_the_chain_and_the_log_has_the_exact_counts(chain_table, isolated):
    chain, _, table = chain_table
    listener, client, server = _connected(table, chain)
    from wsemu.spi.upcalls import HANDLES
    for s in (listener, client, server):      # the LSP's own handles, of its chain entry
        assert not HANDLES.get(s).ifs and HANDLES.get(s).catalog_id == chain.dwCatalogEntryId
    payload = bytes(range(256)) * 40           # 10240 bytes, in two WSABUFs
    assert table.WSPSend(client, [payload[:1000], payload[1000:]], 2, 0) == len(payload)
    assert _recv_exactly(table, server, len(payload)) == payload
    assert table.WSPSend(server, [b"ok"]) == 2
    assert _recv_exactly(table, client, 2) == b"ok"
    reported = W.WSAPROTOCOL_INFOW.from_bytes(table.WSPGetSockOpt(server, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW))
    assert reported.dwCatalogEntryId == chain.dwCatalogEntryId
    for s in (client, server, listener):
        table.WSPCloseSocket(s)
    assert counted(isolated) == {client: (len(payload), 2), server: (2, len(payload)), listener: (0, 0)}


def test_select_maps_the_lsp_handles(chain_table):
    chain, _, table = chain_table
    listener, client, server = _connected(table, chain)
    table.WSPSend(client, [b"x"])
    readable = FdSet([client, server])
    assert table.WSPSelect(0, readable, None, None, (10, 0)) == 1
    assert readable.fd_array == [server]
    for s in (client, server, listener):
        table.WSPCloseSocket(s)


def test_errors_come_back_as_wsaerror(chain_table):
    chain, _, table = chain_table
    with pytest.raises(WSAError) as caught:
        table.WSPSend(12345678, [b"x"])            # no handle of the LSP's
    assert caught.value.winerror == W.WSAENOTSOCK
    s = table.WSPSocket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP, chain, 0, 0)
    with pytest.raises(WSAError) as caught:
        table.WSPRecv(s, [bytearray(4)], 1, 0)      # not connected: the base's answer, through
    assert caught.value.winerror == W.WSAENOTCONN
    with pytest.raises(WSAError) as caught:
        table.WSPSend(s, [b"x"], 2**40)            # a count C cannot take: the caller's fault
    assert caught.value.winerror == W.WSAEFAULT
    with pytest.raises(WSAError) as caught:
        table.WSPGetSockOpt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW, 10)
    assert caught.value.winerror == W.WSAEFAULT and caught.value.optlen == W.WSAPROTOCOL_INFOW_SIZE
    table.WSPCloseSocket(s)
    with pytest.raises(WSAError) as caught:
        table.WSPCloseSocket(s)
    assert caught.value.winerror == W.WSAENOTSOCK


def test_address_strings_go_to_the_base_with_its_own_entry(chain_table):
    chain, _, table = chain_table
    raw = sockaddr.encode(W.AF_INET, ("127.0.0.1", 8080))
    assert table.WSPAddressToString(raw, len(raw), chain, 64) == "127.0.0.1:8080"
    assert table.WSPStringToAddress("10.1.2.3:80", W.AF_INET, chain, 16) == sockaddr.encode(W.AF_INET, ("10.1.2.3", 80))


def test_a_duplicate_names_the_chain_entry_and_is_claimed_through_the_lsp(chain_table, isolated):
    """WSPDuplicateSocket returns the LSP's chain entry carrying the base provider's claim
    token in dwProviderReserved; WSPSocket(FROM_PROTOCOL_INFO) with it makes a new LSP
    handle over the same connection (spi.md §4.3)."""
    chain, _, table = chain_table
    listener, client, server = _connected(table, chain)
    info = table.WSPDuplicateSocket(client, os.getpid())
    assert info.dwCatalogEntryId == chain.dwCatalogEntryId and info.dwProviderReserved != 0
    twin = table.WSPSocket(W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, W.FROM_PROTOCOL_INFO, info, 0, 0)
    assert twin not in (client, server, listener)
    assert table.WSPSend(twin, [b"via twin"]) == 8
    assert _recv_exactly(table, server, 8) == b"via twin"
    for s in (twin, client, server, listener):
        table.WSPCloseSocket(s)
    assert counted(isolated)[twin] == (8, 0)


def test_an_lsp_whose_next_layer_is_missing_fails_to_start(lsp, isolated):
    chain = install(lsp, next_id=999999)
    with pytest.raises(WSAError) as caught:
        cprovider.start(str(lsp), 0x0202, chain, None)
    assert caught.value.winerror == W.WSAEPROVIDERFAILEDINIT


def test_a_python_provider_below_that_does_not_load_fails_the_lsp_start(lsp, isolated):
    """wsemu_WSPStartupProvider on a "python:<module>" entry whose module is not there."""
    store = catalog.CatalogStore()
    current = store.load()
    current.by_id(TCP4).path = "python:wsemu.no_such_provider"
    store.save(current)
    with pytest.raises(WSAError) as caught:
        cprovider.start(str(lsp), 0x0202, install(lsp), None)
    assert caught.value.winerror == W.WSAEPROVIDERFAILEDINIT


def test_the_lsp_refuses_versions_below_2_2(lsp, isolated):
    chain = install(lsp)
    with pytest.raises(WSAError) as caught:
        cprovider.start(str(lsp), 0x0101, chain, None)
    assert caught.value.winerror == W.WSAVERNOTSUPPORTED


# ---------------------------------------------------------------------------------------
# Providers a loader must refuse
# ---------------------------------------------------------------------------------------
def _bad(build, option: str) -> str:
    return str(build(BAD_PROVIDER, f"libbad_{option.lower()}.so", f"-D{option}"))


def test_a_library_without_wspstartup_fails_to_load(build, isolated):
    with pytest.raises(WSAError) as caught:
        cprovider.start(_bad(build, "NO_STARTUP"), 0x0202, install("unused"), None)
    assert caught.value.winerror == W.WSAEPROVIDERFAILEDINIT
    assert "WSPStartup" in str(caught.value)


def test_a_library_that_does_not_load_fails_to_load(tmp_path, isolated):
    with pytest.raises(WSAError) as caught:
        cprovider.start(str(tmp_path / "missing.so"), 0x0202, install("unused"), None)
    assert caught.value.winerror == W.WSAEPROVIDERFAILEDINIT


def test_the_returned_version_and_a_null_entry_are_reported_as_they_are(build, isolated):
    """What the loader turns into WSAEINVALIDPROVIDER and WSAEINVALIDPROCTABLE."""
    chain = install("unused")
    data, table = cprovider.start(_bad(build, "OLD_VERSION"), 0x0202, chain, None)
    assert data.wVersion == 0x0101 and table.missing() == []
    data, table = cprovider.start(_bad(build, "NULL_ENTRY"), 0x0202, chain, None)
    assert data.wVersion == 0x0202 and table.missing() == ["WSPSendTo"]


def test_a_wspstartup_error_is_raised_with_its_code(build, isolated):
    with pytest.raises(WSAError) as caught:
        cprovider.start(_bad(build, "STARTUP_FAILS"), 0x0202, install("unused"), None)
    assert caught.value.winerror == W.WSASYSNOTREADY


@pytest.mark.parametrize("option, code", [("NO_STARTUP", W.WSAEPROVIDERFAILEDINIT),
                                          ("OLD_VERSION", W.WSAEINVALIDPROVIDER),
                                          ("NULL_ENTRY", W.WSAEINVALIDPROCTABLE)])
def test_ws2_refuses_bad_providers(build, isolated, option, code):
    from wsemu import ws2
    install(_bad(build, option))
    ws2.WSAStartup(0x0202)
    try:
        with pytest.raises(WSAError) as caught:
            ws2.socket(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)
        assert caught.value.winerror == code
    finally:
        ws2.WSACleanup()


# ---------------------------------------------------------------------------------------
# Through ws2 and the C face: sockets land on the chain
# ---------------------------------------------------------------------------------------
def test_python_winsock_sockets_land_on_the_chain_and_are_counted(lsp, isolated):
    from wsemu import ws2
    chain = install(lsp)
    ws2.WSAStartup(0x0202)
    try:
        listener, client, server = tcp_trio()
        info = ws2.getsockopt(client, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW)
        assert info.dwCatalogEntryId == chain.dwCatalogEntryId
        assert ws2.send(client, b"x" * 3000) == 3000
        got = b""
        while len(got) < 3000:
            got += ws2.recv(server, 3000 - len(got))
        assert ws2.send(server, b"done") == 4
        assert ws2.recv(client, 4) == b"done"
        for s in (client, server, listener):
            ws2.closesocket(s)
    finally:
        ws2.WSACleanup()
    assert counted(isolated) == {client: (3000, 4), server: (4, 3000), listener: (0, 0)}


def test_a_c_program_through_the_c_face_lands_on_the_chain_and_is_counted(build, lsp, isolated):
    chain = install(lsp)
    program = build(EXAMPLE / "counted_echo.c", "counted_echo", shared=False)
    run = subprocess.run([str(program), "hello", "layered", "world"], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"entry {chain.dwCatalogEntryId}"
    printed = {}
    for line in lines[1:]:
        _, handle, _, sent, _, received = line.split()
        printed[int(handle)] = (int(sent), int(received))
    assert sorted(printed.values()) == [(17, 17), (17, 17)]
    log = counted(isolated)
    assert {handle: log[handle] for handle in printed} == printed
    assert sorted(log.values()) == [(0, 0), (17, 17), (17, 17)]       # and the listener's


def test_the_c_lsp_under_the_trace_lsp_is_seen_in_the_trace(lsp, isolated, monkeypatch):
    """trace (Python) over lsp-counter (C, dlopen'd) over the base: the trace's lines name
    the chain through the C layer, and the C layer counted what the trace saw pass."""
    import json
    from wsemu import ws2
    from tests.helpers import install_layer
    counter = install(lsp)
    trace_file = isolated.parent / "trace.jsonl"
    monkeypatch.setenv("WSEMU_TRACE_FILE", str(trace_file))
    [traced] = install_layer("trace", "python:wsemu.lsp.trace:TraceProvider", [counter.dwCatalogEntryId])
    ws2.WSAStartup(0x0202)
    try:
        listener, client, server = tcp_trio()
        assert ws2.send(client, b"seen") == 4
        assert ws2.recv(server, 10) == b"seen"
        for s in (client, server, listener):
            ws2.closesocket(s)
    finally:
        ws2.WSACleanup()
    lines = [json.loads(line) for line in trace_file.read_text().splitlines()]
    first = lines[0]
    assert first["call"] == "WSPSocket"
    assert first["args"][3]["chain"] == [traced.ProtocolChain.ChainEntries[0], counter.dwCatalogEntryId,
                                         TCP4]
    sends = [line for line in lines if line["call"] == "WSPSend"]
    assert [(line["socket"], line["result"]) for line in sends] == [(client, 4)]
    # the C layer's handles are the trace layer's lower ones: four bytes each way, counted in C
    assert sorted(counted(isolated).values()) == [(0, 0), (0, 4), (4, 0)]
