"""Layered service providers in the catalog (reference/spi.md §1.4, §3.4): the WSC changes of
the pure model (install, deinstall, order, path), LSP install and removal the Microsoft
installer's way, stacked LSPs and next_entry for both chain conventions; the same through the
store and wsemu.spi.wsc (one locked change each, concurrent installers in real processes), a
corrupt file, and the `wsemu catalog install|remove|order` commands.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
import uuid

import pytest

from wsemu import abi as W
from wsemu import catalog as C
from wsemu import ws2
from wsemu.catalog import Catalog, CatalogCorrupt, CatalogStore
from wsemu.errors import WSAError
from wsemu.spi import wsc

TCP4, UDP4, RAW4, TCP6, UDP6, RAW6 = range(1001, 1007)
PATH_A, PATH_B = "python:tests.lsp_a:Provider", "python:tests.lsp_b:Provider"


def _invalid(call, *args, **kwargs) -> WSAError:
    with pytest.raises(WSAError) as caught:
        call(*args, **kwargs)
    assert caught.value.winerror == W.WSAEINVAL, caught.value
    return caught.value


def _layout(catalog: Catalog) -> list[tuple[int, int, list[int]]]:
    return [(e.id, e.chain_len, e.chain) for e in catalog.entries]


# ======================================================================================
# WSCInstallProvider / WSCDeinstallProvider / WSCWriteProviderOrder / WSCGetProviderPath
# ======================================================================================
def test_install_provider_appends_under_new_ids_and_a_base_entry_names_itself():
    catalog = Catalog.default()
    guid = uuid.uuid4()
    base = catalog.by_id(TCP4).info.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(1, [4242]))
    layered = base.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(0))
    assert catalog.install_provider(guid, PATH_A, [base, layered]) == [1007, 1008]
    assert base.dwCatalogEntryId == TCP4                   # the caller's structures are not changed
    new, dummy = catalog.entries[-2:]
    assert (new.id, new.info.ProtocolChain.ChainEntries[0], new.path) == (1007, 1007, PATH_A)
    assert (dummy.id, dummy.chain_len, dummy.info.ProviderId) == (1008, 0, guid)
    assert catalog.provider_path(guid) == PATH_A
    assert catalog.next_id == 1009


@pytest.mark.parametrize("case", ["installed-guid", "no-entries", "empty-path", "chainlen-8", "chainlen-negative"])
def test_install_provider_refusals_change_nothing(case):
    catalog = Catalog.default()
    info = catalog.by_id(TCP4).info
    args = {"installed-guid": (C.MSAFD_TCPIP_GUID, PATH_A, [info]),
            "no-entries": (uuid.uuid4(), PATH_A, []),
            "empty-path": (uuid.uuid4(), "", [info]),
            "chainlen-8": (uuid.uuid4(), PATH_A, [info.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(8, [1] * 7))]),
            "chainlen-negative": (uuid.uuid4(), PATH_A, [info.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(-1))]),
            }[case]
    before = catalog.to_json()
    _invalid(catalog.install_provider, *args)
    assert catalog.to_json() == before


def test_deinstall_provider_removes_every_entry_of_the_guid():
    catalog = Catalog.default()
    catalog.deinstall_provider(C.MSAFD_TCPIP6_GUID)
    assert [e.id for e in catalog.entries] == [TCP4, UDP4, RAW4]
    _invalid(catalog.deinstall_provider, C.MSAFD_TCPIP6_GUID)
    _invalid(catalog.provider_path, C.MSAFD_TCPIP6_GUID)


@pytest.mark.parametrize("order", [
    [1006, 1005, 1004, 1003, 1002],                         # one short
    [1006, 1005, 1004, 1003, 1002, 1001, 1007],             # one too many
    [1006, 1005, 1004, 1003, 1002, 1002],                   # a duplicate for a missing one
    [1006, 1005, 1004, 1003, 1002, 4242],                   # an unknown ID
    [],
], ids=["short", "long", "duplicate", "unknown", "empty"])
def test_write_order_needs_a_complete_permutation(order):
    catalog = Catalog.default()
    err = _invalid(catalog.write_order, order)
    assert "exactly once" in err.strerror
    assert [e.id for e in catalog.entries] == list(range(1001, 1007))


def test_write_order_reorders_and_selection_follows():
    catalog = Catalog.default()
    catalog.write_order([TCP6, UDP6, RAW6, TCP4, UDP4, RAW4])
    assert [e.id for e in catalog.entries] == [TCP6, UDP6, RAW6, TCP4, UDP4, RAW4]
    assert catalog.select_entry(W.AF_UNSPEC, W.SOCK_STREAM, W.IPPROTO_TCP).id == TCP6


# ======================================================================================
# install_layered: the dummy, the chains, the order
# ======================================================================================
def test_install_layered_makes_a_hidden_dummy_and_one_chain_per_target():
    catalog = Catalog.default()
    dummy = catalog.install_layered("trace", PATH_A, [TCP4, TCP6, UDP4])
    d = dummy.info
    tcp = catalog.by_id(TCP4).info
    assert (dummy.id, dummy.chain_len, d.szProtocol, dummy.path) == (1007, W.LAYERED_PROTOCOL, "trace", PATH_A)
    assert (d.iSocketType, d.iProtocol, d.iAddressFamily) == (0, 0, W.AF_INET)        # a copy of the first target
    assert d.dwProviderFlags == W.PFL_HIDDEN                                           # MATCHES_PROTOCOL_ZERO cleared
    assert d.dwServiceFlags1 == tcp.dwServiceFlags1 & ~W.XP1_IFS_HANDLES
    assert d.ProviderId == uuid.uuid5(C.LSP_NAMESPACE, "trace")
    chains = catalog.entries[:3]
    assert [(e.id, e.chain) for e in chains] == [(1008, [1007, TCP4]), (1009, [1007, TCP6]), (1010, [1007, UDP4])]
    for chain, target in zip(chains, (TCP4, TCP6, UDP4)):
        base = catalog.by_id(target).info
        i = chain.info
        assert i.szProtocol == f"trace over [{base.szProtocol}]"
        assert i.ProviderId == uuid.uuid5(d.ProviderId, str(target))
        assert chain.path == PATH_A
        assert (i.iAddressFamily, i.iSocketType, i.iProtocol) == (base.iAddressFamily, base.iSocketType, base.iProtocol)
        assert i.dwProviderFlags == base.dwProviderFlags                                # still matches protocol 0
        assert i.dwServiceFlags1 == base.dwServiceFlags1 & ~W.XP1_IFS_HANDLES
        assert catalog.next_entry(chain).id == target
    assert len({e.info.ProviderId for e in catalog.entries[:3] + [dummy]}) == 4          # one GUID each
    # the chains first, then the rest in their old order (the dummy was appended last)
    assert [e.id for e in catalog.entries] == [1008, 1009, 1010, 1001, 1002, 1003, 1004, 1005, 1006, 1007]
    assert catalog.layers() == [dummy]
    assert 1007 not in [i.dwCatalogEntryId for i in catalog.enum_protocols()]
    assert [i.dwCatalogEntryId for i in catalog.enum_protocols([W.IPPROTO_TCP])] == [1008, 1009, 1001, 1004]


def test_an_ifs_lsp_keeps_ifs_handles_and_a_given_guid_is_used():
    catalog = Catalog.default()
    guid = uuid.UUID("11112222-3333-4444-5555-666677778888")
    dummy = catalog.install_layered("ifs", PATH_A, [TCP4], ifs=True, provider_id=guid)
    assert dummy.info.ProviderId == guid
    assert dummy.info.dwServiceFlags1 & W.XP1_IFS_HANDLES
    assert catalog.entries[0].info.dwServiceFlags1 & W.XP1_IFS_HANDLES
    assert catalog.entries[0].info.ProviderId == uuid.uuid5(guid, str(TCP4))


@pytest.mark.parametrize("request_", [(W.AF_INET, W.SOCK_STREAM, 0), (W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP),
                                      (W.AF_INET, 0, 0), (W.AF_UNSPEC, W.SOCK_STREAM, W.IPPROTO_TCP)])
def test_selection_lands_on_the_chain_and_back_on_the_base_after_removal(request_):
    catalog = Catalog.default()
    catalog.install_layered("trace", PATH_A, [TCP4, TCP6])
    assert catalog.select_entry(*request_).id == 1008
    catalog.remove_layered("trace")
    assert catalog.select_entry(*request_).id == TCP4


def test_reinstall_gets_the_same_guid_but_new_ids():
    """IDs are never reused, even after removal; the GUID of a named LSP is reproducible."""
    catalog = Catalog.default()
    first = catalog.install_layered("trace", PATH_A, [TCP4])
    catalog.remove_layered("trace")
    assert _layout(catalog) == _layout(Catalog.default())
    again = catalog.install_layered("trace", PATH_A, [TCP4])
    assert (first.id, again.id) == (1007, 1009)
    assert catalog.entries[0].chain == [1009, TCP4]
    assert first.info.ProviderId == again.info.ProviderId
    assert catalog.next_id == 1011


def test_two_lsps_stacked_and_removal_order():
    catalog = Catalog.default()
    a = catalog.install_layered("A", PATH_A, [TCP4, UDP4])
    a_tcp, a_udp = catalog.entries[0], catalog.entries[1]
    b = catalog.install_layered("B", PATH_B, [a_tcp.id, TCP6])
    b_tcp, b_tcp6 = catalog.entries[0], catalog.entries[1]
    assert b_tcp.chain == [b.id, a_tcp.id, TCP4]                 # [dB, chain A, base]
    assert b_tcp.info.ProtocolChain.ChainLen == 3
    assert b_tcp.info.szProtocol == "B over [A over [MSAFD Tcpip [TCP/IP]]]"
    assert b_tcp6.chain == [b.id, TCP6]
    assert [e.id for e in catalog.entries[:4]] == [b_tcp.id, b_tcp6.id, a_tcp.id, a_udp.id]
    assert catalog.select_entry(W.AF_INET, W.SOCK_STREAM, 0) is b_tcp
    assert catalog.select_entry(W.AF_INET, W.SOCK_DGRAM, 0) is a_udp
    assert catalog.next_entry(b_tcp) is a_tcp and catalog.next_entry(a_tcp).id == TCP4
    assert catalog.layers() == [a, b]

    before = catalog.to_json()
    err = _invalid(catalog.remove_layered, "A")
    assert "'B'" in err.strerror and "remove it first" in err.strerror
    assert catalog.to_json() == before                            # a refusal changes nothing
    catalog.remove_layered(b.info.ProviderId)                     # by GUID
    catalog.remove_layered(str(a.info.ProviderId))                # by GUID as text
    assert _layout(catalog) == _layout(Catalog.default())


def test_next_entry_when_slot_1_holds_the_lower_lsps_layered_entry():
    """The documented convention (spi.md §3.1): [dB, dA, base]. The lower LSP's chain entry
    for the rest of the chain, else its entry for the same (af, type, protocol)."""
    catalog = Catalog.default()
    a = catalog.install_layered("A", PATH_A, [TCP4, TCP6])
    a_tcp, a_tcp6 = catalog.entries[0], catalog.entries[1]
    b_guid = uuid.uuid4()
    tcp = catalog.by_id(TCP4).info
    dummy_b = tcp.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(0), szProtocol="B")
    exact = tcp.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(3, [0, a.id, TCP4]), szProtocol="B over A tcp")
    by_triple = catalog.by_id(TCP6).info.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(3, [0, a.id, 4242]))
    dangling = catalog.by_id(UDP4).info.copy(ProtocolChain=W.WSAPROTOCOLCHAIN(3, [0, a.id, UDP4]))
    ids = catalog.install_provider(b_guid, PATH_B, [dummy_b, exact, by_triple, dangling])
    entries = [catalog.by_id(i) for i in ids]
    for e in entries[1:]:
        e.info.ProtocolChain.ChainEntries[0] = ids[0]
    assert catalog.next_entry(entries[1]) is a_tcp
    assert catalog.next_entry(entries[2]) is a_tcp6
    _invalid(catalog.next_entry, entries[3])                      # A has no UDP chain
    _invalid(catalog.next_entry, catalog.by_id(TCP4))             # a base entry passes nothing on
    _invalid(catalog.next_entry, a)                               # nor does a layered entry


def _lsp_tower(catalog: Catalog, height: int) -> int:
    """LSPs L1..Lheight, each over the previous one's TCP chain; the top chain's ID."""
    top = TCP4
    for level in range(1, height + 1):
        catalog.install_layered(f"L{level}", PATH_A, [top])
        top = catalog.entries[0].id
    return top


@pytest.mark.parametrize("case", ["same-name", "no-targets", "over-a-dummy", "unknown-id", "duplicate-target",
                                  "chain-too-long", "empty-path", "name-too-long", "guid-taken"])
def test_install_layered_refusals_change_nothing(case):
    catalog = Catalog.default()
    catalog.install_layered("trace", PATH_A, [TCP4])
    args = {"same-name": ("trace", PATH_B, [UDP4]),
            "no-targets": ("x", PATH_A, []),
            "over-a-dummy": ("x", PATH_A, [catalog.layers()[0].id]),
            "unknown-id": ("x", PATH_A, [UDP4, 4242]),
            "duplicate-target": ("x", PATH_A, [UDP4, UDP4]),
            "empty-path": ("x", "", [UDP4]),
            "name-too-long": ("x" * 256, PATH_A, [UDP4]),
            }.get(case)
    kwargs = {}
    if case == "chain-too-long":
        args = ("x", PATH_A, [_lsp_tower(catalog, 6)])             # L6's chain has 7 slots already
        assert catalog.entries[0].info.ProtocolChain.ChainLen == W.MAX_PROTOCOL_CHAIN
    if case == "guid-taken":
        args, kwargs = ("x", PATH_A, [UDP4]), {"provider_id": C.MSAFD_TCPIP_GUID}
    before = catalog.to_json()
    _invalid(catalog.install_layered, *args, **kwargs)
    assert catalog.to_json() == before


def test_remove_layered_of_an_unknown_lsp():
    catalog = Catalog.default()
    _invalid(catalog.remove_layered, "nothing")
    _invalid(catalog.remove_layered, uuid.uuid4())
    _invalid(catalog.remove_layered, "MSAFD Tcpip [TCP/IP]")       # a base entry is no LSP


def test_target_aliases_name_the_base_entries_wherever_they_are():
    catalog = Catalog.default()
    catalog.install_layered("trace", PATH_A, [TCP4])
    assert catalog.target_ids(["tcp4", "udp4", "raw4", "tcp6", "udp6", "raw6", "1008", 1002]) == \
        [TCP4, UDP4, RAW4, TCP6, UDP6, RAW6, 1008, UDP4]
    _invalid(catalog.target_ids, ["tcp5"])


def test_the_file_keeps_layers_exactly(tmp_path):
    store = CatalogStore(tmp_path)
    catalog = Catalog.default()
    catalog.install_layered("A", PATH_A, [TCP4, UDP6], ifs=True)
    catalog.install_layered("B", PATH_B, [catalog.entries[0].id])
    store.save(catalog)
    loaded = store.load()
    assert [(bytes(e.info), e.path) for e in loaded.entries] == [(bytes(e.info), e.path) for e in catalog.entries]
    assert loaded.next_id == catalog.next_id


# ======================================================================================
# The store: CatalogStore.change and wsemu.spi.wsc
# ======================================================================================
def test_change_saves_what_the_block_did_and_nothing_when_it_raises(tmp_path):
    store = CatalogStore(tmp_path)
    with store.change() as catalog:
        catalog.install_layered("trace", PATH_A, [TCP4])
    assert [e.id for e in store.load().layers()] == [1007]
    with pytest.raises(WSAError):
        with store.change() as catalog:
            catalog.remove_layered("trace")
            catalog.install_layered("bad", PATH_A, [4242])
    assert [e.id for e in store.load().layers()] == [1007]


def test_wsc_functions_round_trip_through_the_file(config_dir):
    dummy = wsc.install_lsp("trace", PATH_A, ["tcp4", "tcp6"])
    assert (dummy.dwCatalogEntryId, dummy.szProtocol, dummy.ProtocolChain.ChainLen) == (1007, "trace", 0)
    every = wsc.WSCEnumProtocols()
    assert [i.dwCatalogEntryId for i in every] == [1008, 1009, 1001, 1002, 1003, 1004, 1005, 1006, 1007]
    assert [i.dwCatalogEntryId for i in wsc.WSCEnumProtocols([W.IPPROTO_TCP, 0, W.IPPROTO_UDP])] == \
        [1008, 1009, 1001, 1004]
    assert wsc.WSCGetProviderPath(dummy.ProviderId) == PATH_A
    assert wsc.WSCGetProviderPath(dummy.ProviderId.bytes_le) == PATH_A     # the C in-memory form
    assert wsc.WSCGetProviderPath(every[0].ProviderId) == PATH_A

    wsc.WSCWriteProviderOrder([1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009])
    assert CatalogStore().load().select_entry(W.AF_INET, W.SOCK_STREAM, 0).id == TCP4
    with pytest.raises(WSAError) as caught:
        wsc.WSCWriteProviderOrder([1001, 1002])
    assert caught.value.winerror == W.WSAEINVAL

    wsc.remove_lsp("trace")
    assert [i.dwCatalogEntryId for i in wsc.WSCEnumProtocols()] == list(range(1001, 1007))
    guid = uuid.uuid4()
    base = every[2].copy(ProtocolChain=W.WSAPROTOCOLCHAIN(1))
    wsc.WSCInstallProvider(guid.bytes_le, PATH_B, [bytes(base)])
    assert [i.dwCatalogEntryId for i in wsc.WSCEnumProtocols()][-1] == 1010       # never reused
    wsc.WSCDeinstallProvider(guid)
    with pytest.raises(WSAError) as caught:
        wsc.WSCDeinstallProvider(guid)
    assert caught.value.winerror == W.WSAEINVAL


@pytest.mark.parametrize("call,code", [
    (lambda: wsc.WSCGetProviderPath(None), W.WSAEFAULT),
    (lambda: wsc.WSCGetProviderPath(b"short"), W.WSAEFAULT),
    (lambda: wsc.WSCGetProviderPath("e70f1aa0"), W.WSAEINVAL),
    (lambda: wsc.WSCGetProviderPath(uuid.uuid4()), W.WSAEINVAL),
    (lambda: wsc.WSCInstallProvider(uuid.uuid4(), None, []), W.WSAEFAULT),
    (lambda: wsc.WSCInstallProvider(uuid.uuid4(), "", []), W.WSAEINVAL),
    (lambda: wsc.WSCInstallProvider(uuid.uuid4(), PATH_A, None), W.WSAEFAULT),
    (lambda: wsc.WSCInstallProvider(uuid.uuid4(), PATH_A, []), W.WSAEINVAL),
    (lambda: wsc.WSCInstallProvider(uuid.uuid4(), PATH_A, [b"x" * 10]), W.WSAEFAULT),
    (lambda: wsc.WSCInstallProvider(uuid.uuid4(), PATH_A, [42]), W.WSAEINVAL),
    (lambda: wsc.WSCWriteProviderOrder(None), W.WSAEFAULT),
    (lambda: wsc.WSCWriteProviderOrder(["1001"]), W.WSAEINVAL),
    (lambda: wsc.WSCWriteProviderOrder(1001), W.WSAEINVAL),
    (lambda: wsc.WSCEnumProtocols([None]), W.WSAEINVAL),
    (lambda: wsc.install_lsp(None, PATH_A, [TCP4]), W.WSAEFAULT),
    (lambda: wsc.install_lsp("x", PATH_A, "tcp4"), W.WSAEINVAL),
    (lambda: wsc.install_lsp("x", PATH_A, [None]), W.WSAEINVAL),
    (lambda: wsc.install_lsp("x", PATH_A, [4242]), W.WSAEINVAL),
    (lambda: wsc.install_lsp("", PATH_A, [TCP4]), W.WSAEINVAL),
    (lambda: wsc.remove_lsp(None), W.WSAEFAULT),
    (lambda: wsc.remove_lsp(42), W.WSAEINVAL),
    (lambda: wsc.remove_lsp("nothing"), W.WSAEINVAL),
], ids=lambda x: "" if callable(x) else str(x))
def test_wsc_bad_arguments_are_wsa_errors(config_dir, call, code):
    with pytest.raises(WSAError) as caught:
        call()
    assert caught.value.winerror == code
    assert not (config_dir / "catalog.json").exists()             # nothing was written


def test_a_process_keeps_the_catalog_of_its_first_wsastartup(config_dir):
    ws2.WSAStartup(0x0202)
    try:
        wsc.install_lsp("trace", PATH_A, ["tcp4"])
        assert [i.dwCatalogEntryId for i in ws2.WSAEnumProtocolsW([W.IPPROTO_TCP])] == [TCP4, TCP6]
        assert 1008 in [i.dwCatalogEntryId for i in wsc.WSCEnumProtocols()]      # WSC reads the file
        ws2.WSAStartup(0x0202)                                                    # not a first one
        assert [i.dwCatalogEntryId for i in ws2.WSAEnumProtocolsW([W.IPPROTO_TCP])] == [TCP4, TCP6]
        ws2.WSACleanup()
    finally:
        ws2.WSACleanup()
    ws2.WSAStartup(0x0202)
    try:
        assert [i.dwCatalogEntryId for i in ws2.WSAEnumProtocolsW([W.IPPROTO_TCP])] == [1008, TCP4, TCP6]
    finally:
        ws2.WSACleanup()


def _install_at_once(config: str, name: str, ready, go) -> None:
    """A child process: say it is ready, wait for the start, install one LSP (a spawn target)."""
    os.environ["WSEMU_CONFIG_DIR"] = config
    ready.release()
    go.wait()
    wsc.install_lsp(name, PATH_A, ["tcp4", "udp4", "tcp6"])


def test_concurrent_installers_in_real_processes_lose_nothing(tmp_path):
    """Six processes, each released at the same moment once all are up (semaphores, not a
    Barrier: its shared memory would stay open in this process), install an LSP each."""
    installers = 6
    spawn = multiprocessing.get_context("spawn")
    ready, go = spawn.Semaphore(0), spawn.Event()
    procs = [spawn.Process(target=_install_at_once, args=(str(tmp_path), f"lsp{n}", ready, go))
             for n in range(installers)]
    for p in procs:
        p.start()
    for _ in procs:
        assert ready.acquire(timeout=120)
    go.set()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * installers
    loaded = CatalogStore(tmp_path).load()
    assert sorted(e.info.szProtocol for e in loaded.layers()) == [f"lsp{n}" for n in range(installers)]
    ids = [e.id for e in loaded.entries]
    assert len(ids) == len(set(ids)) == 6 + installers * 4
    assert loaded.next_id == 1007 + installers * 4
    # the last installer's chains are first; every chain is on a layer that exists
    layered = {e.id for e in loaded.layers()}
    assert all(e.chain[0] in layered for e in loaded.entries if e.chain)
    assert loaded.select_entry(W.AF_INET, W.SOCK_STREAM, 0).chain_len == 2


# ======================================================================================
# A corrupt file
# ======================================================================================
@pytest.mark.parametrize("call", [
    lambda: wsc.WSCEnumProtocols(),
    lambda: wsc.install_lsp("trace", PATH_A, ["tcp4"]),
    lambda: wsc.remove_lsp("trace"),
    lambda: wsc.WSCWriteProviderOrder([1001]),
    lambda: wsc.WSCGetProviderPath(C.MSAFD_TCPIP_GUID),
], ids=["enum", "install", "remove", "order", "path"])
def test_a_corrupt_file_is_catalogcorrupt_naming_it_and_is_left_alone(config_dir, call):
    path = config_dir / "catalog.json"
    path.write_text('{"format": 1, "next_id": 1007, "entries": [')
    with pytest.raises(CatalogCorrupt) as caught:
        call()
    assert str(path) in caught.value.strerror and "wsemu catalog reset" in caught.value.strerror
    assert path.read_text() == '{"format": 1, "next_id": 1007, "entries": ['


# ======================================================================================
# The CLI, as users run it
# ======================================================================================
def _wsemu(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wsemu.cli", *args], capture_output=True, text=True,
                          timeout=90, env={**os.environ, "WSEMU_CONFIG_DIR": str(config)})


def _field(listing: str, label: str) -> list[str]:
    return re.findall(rf"^{label}: +(.*)$", listing, re.M)


def test_cli_install_list_remove(tmp_path):
    done = _wsemu(tmp_path, "catalog", "install", "--lsp", "trace", "--over", "tcp4,tcp6")
    assert done.returncode == 0, done.stderr
    assert "layered entry 1007" in done.stdout and "1008, 1009" in done.stdout
    listing = _wsemu(tmp_path, "catalog", "list").stdout
    assert listing.count("Winsock Catalog Provider Entry") == 9
    assert _field(listing, "Catalog Entry ID")[:2] == ["1008", "1009"]
    assert _field(listing, "Entry Type")[:2] == ["Layered Chain Entry"] * 2
    assert _field(listing, "Entry Type")[-1] == "Layered Service Provider"
    assert _field(listing, "Description")[:2] == ["trace over [MSAFD Tcpip [TCP/IP]]", "trace over [MSAFD Tcpip [TCP/IPv6]]"]
    assert _field(listing, "Protocol Chain") == ["1007 : 1001", "1007 : 1004"]
    assert _field(listing, "Provider Path")[:2] == ["python:wsemu.lsp.trace:TraceProvider"] * 2
    assert _field(listing, "Provider Path")[-1] == "python:wsemu.lsp.trace:TraceProvider"
    assert _field(listing, "Protocol Chain Length")[-1] == "0"

    stacked = _wsemu(tmp_path, "catalog", "install", "--lsp", "mine", "--over", "1008", "--path", PATH_B, "--ifs")
    assert stacked.returncode == 0, stacked.stderr
    listing = _wsemu(tmp_path, "catalog", "list").stdout
    assert _field(listing, "Protocol Chain")[0] == "1010 : 1008 : 1001"

    refused = _wsemu(tmp_path, "catalog", "remove", "trace")
    assert refused.returncode == 1 and "'mine'" in refused.stderr and "Traceback" not in refused.stderr
    assert _wsemu(tmp_path, "catalog", "remove", "mine").returncode == 0
    assert _wsemu(tmp_path, "catalog", "remove", "trace").returncode == 0
    listing = _wsemu(tmp_path, "catalog", "list").stdout
    assert _field(listing, "Catalog Entry ID") == [str(i) for i in range(1001, 1007)]
    assert "Protocol Chain:" not in listing


def test_cli_order(tmp_path):
    done = _wsemu(tmp_path, "catalog", "order", *map(str, [1004, 1005, 1006, 1001, 1002, 1003]))
    assert done.returncode == 0, done.stderr
    assert _field(_wsemu(tmp_path, "catalog", "list").stdout, "Catalog Entry ID") == \
        ["1004", "1005", "1006", "1001", "1002", "1003"]
    short = _wsemu(tmp_path, "catalog", "order", "1001", "1002")
    assert short.returncode == 1 and "exactly once" in short.stderr


@pytest.mark.parametrize("args,message", [
    (("install", "--lsp", "mine", "--over", "tcp4"), "--path"),
    (("install", "--lsp", "trace", "--over", "tcp5"), "unknown target 'tcp5'"),
    (("install", "--lsp", "trace", "--over", "4242"), "4242"),
    (("remove", "nothing"), "no LSP 'nothing'"),
], ids=["unknown-lsp-without-path", "bad-alias", "unknown-id", "remove-unknown"])
def test_cli_errors_are_one_line_and_a_nonzero_exit(tmp_path, args, message):
    done = _wsemu(tmp_path, "catalog", *args)
    assert done.returncode == 1
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "catalog.json").exists()


def test_cli_install_on_a_corrupt_catalog_names_the_file(tmp_path):
    (tmp_path / "catalog.json").write_text("{ corrupt")
    done = _wsemu(tmp_path, "catalog", "install", "--lsp", "trace", "--over", "tcp4")
    assert done.returncode == 1
    assert str(tmp_path / "catalog.json") in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "catalog.json").read_text() == "{ corrupt"


# ======================================================================================
# The C face sees the same catalog
# ======================================================================================
_C_LISTING = r"""
#include <stdio.h>
#include <winsock2.h>
#include <ws2spi.h>

int main(void)
{
    static WSAPROTOCOL_INFOW entries[64];
    DWORD length = sizeof entries;
    INT err = 0;
    int n = WSCEnumProtocols(NULL, entries, &length, &err);
    for (int i = 0; i < n; i++) {
        WSAPROTOCOL_INFOW *e = &entries[i];           /* LPGUID: not const, as on Windows */
        WCHAR path[128];
        INT pathlen = 128;
        if (WSCGetProviderPath(&e->ProviderId, path, &pathlen, &err) != 0)
            return 2;
        printf("%lu %d %08lx %04x", (unsigned long)e->dwCatalogEntryId, e->ProtocolChain.ChainLen,
               (unsigned long)e->ProviderId.Data1, (unsigned)e->dwProviderFlags);
        for (int k = 0; k < e->ProtocolChain.ChainLen && e->ProtocolChain.ChainLen > 1; k++)
            printf(" %lu", (unsigned long)e->ProtocolChain.ChainEntries[k]);
        printf(" %c\n", (char)path[0]);
    }
    return n < 0;
}
"""


def test_a_c_program_enumerates_the_lsp_python_installed(tmp_path, cc):
    from tests.helpers import c_face_flags
    source, exe = tmp_path / "listing.c", tmp_path / "listing"
    source.write_text(_C_LISTING)
    built = subprocess.run([cc, "-Wall", "-Werror", *c_face_flags("--cflags"), str(source),
                            *c_face_flags("--libs"), "-o", str(exe)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    config = tmp_path / "config"
    store = CatalogStore(config)
    with store.change() as catalog:
        dummy = catalog.install_layered("trace", PATH_A, [TCP4])
        chain = catalog.entries[0]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "WSEMU_CONFIG_DIR": str(config)})
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"1008 2 {chain.info.ProviderId.fields[0]:08x} 0008 1007 1001 p"
    assert lines[-1] == f"1007 0 {dummy.info.ProviderId.fields[0]:08x} 0004 p"
    assert len(lines) == 8
