"""wsemu.catalog: the default entries, the selection rules, WSAEnumProtocols filtering, and
the catalog file (CatalogStore) — round trip, atomic replacement under concurrent writers,
corruption, reset. Pure model tests build their own catalogs; no sockets except where ws2's
use of the catalog is the point.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import uuid

import pytest

from wsemu import abi as W
from wsemu import catalog as C
from wsemu import ws2
from wsemu.catalog import Catalog, CatalogCorrupt, CatalogEntry, CatalogStore
from wsemu.errors import WSAError

TCP_FLAGS = (W.XP1_IFS_HANDLES | W.XP1_EXPEDITED_DATA | W.XP1_GRACEFUL_CLOSE | W.XP1_GUARANTEED_ORDER
             | W.XP1_GUARANTEED_DELIVERY)
UDP_FLAGS = (W.XP1_IFS_HANDLES | W.XP1_SUPPORT_BROADCAST | W.XP1_SUPPORT_MULTIPOINT | W.XP1_MESSAGE_ORIENTED
             | W.XP1_CONNECTIONLESS)
V4_GUID = uuid.UUID("e70f1aa0-ab8b-11cf-8ca3-00805f48a192")
V6_GUID = uuid.UUID("f9eab0c0-26d4-11d0-bbbf-00aa006c34e4")
LSP_GUID = uuid.UUID("5f3c1d2e-1111-4222-8333-944455556666")

# (id, name, family, type, protocol, max offset, address size, message size, hidden)
DEFAULTS = [
    (1001, "MSAFD Tcpip [TCP/IP]", W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP, 0, 16, 0, False),
    (1002, "MSAFD Tcpip [UDP/IP]", W.AF_INET, W.SOCK_DGRAM, W.IPPROTO_UDP, 0, 16, 0xFFBB, False),
    (1003, "MSAFD Tcpip [RAW/IP]", W.AF_INET, W.SOCK_RAW, 0, 255, 16, 0x8000, True),
    (1004, "MSAFD Tcpip [TCP/IPv6]", W.AF_INET6, W.SOCK_STREAM, W.IPPROTO_TCP, 0, 28, 0, False),
    (1005, "MSAFD Tcpip [UDP/IPv6]", W.AF_INET6, W.SOCK_DGRAM, W.IPPROTO_UDP, 0, 28, 0xFFBB, False),
    (1006, "MSAFD Tcpip [RAW/IPv6]", W.AF_INET6, W.SOCK_RAW, 0, 255, 28, 0x8000, True),
]


# ======================================================================================
# Default entries
# ======================================================================================
@pytest.mark.parametrize("row", DEFAULTS, ids=[r[1] for r in DEFAULTS])
def test_default_entry(row):
    catalog_id, name, family, type_, protocol, max_offset, address_size, message_size, hidden = row
    entry = Catalog.default().by_id(catalog_id)
    i = entry.info
    assert i.szProtocol == name
    assert (i.iAddressFamily, i.iSocketType, i.iProtocol, i.iProtocolMaxOffset) == (family, type_, protocol, max_offset)
    assert (i.iMaxSockAddr, i.iMinSockAddr) == (address_size, address_size)
    assert i.dwMessageSize == message_size
    assert i.ProviderId == (V4_GUID if family == W.AF_INET else V6_GUID)
    assert i.dwServiceFlags1 == (TCP_FLAGS if type_ == W.SOCK_STREAM else UDP_FLAGS)
    assert i.dwProviderFlags == W.PFL_MATCHES_PROTOCOL_ZERO | (W.PFL_HIDDEN if hidden else 0)
    assert (i.iVersion, i.iNetworkByteOrder, i.iSecurityScheme, i.dwProviderReserved) == (2, W.BIGENDIAN, 0, 0)
    assert i.ProtocolChain.ChainLen == W.BASE_PROTOCOL
    assert (i.dwServiceFlags2, i.dwServiceFlags3, i.dwServiceFlags4) == (0, 0, 0)
    assert entry.path == C.BASE_PROVIDER_PATH


def test_default_catalog_ids_are_sequential_from_1001_in_order():
    catalog = Catalog.default()
    assert [e.id for e in catalog.entries] == [row[0] for row in DEFAULTS]
    assert catalog.next_id == 1007


# ======================================================================================
# Selection rules
# ======================================================================================
def _entry(catalog_id: int, base: CatalogEntry, chain: list[int], flags: int | None = None,
           name: str | None = None, guid: uuid.UUID = LSP_GUID) -> CatalogEntry:
    """A copy of ``base`` as another entry: layered (chain []), or a chain over base IDs."""
    info = base.info.copy(
        dwCatalogEntryId=catalog_id, ProviderId=guid,
        ProtocolChain=W.WSAPROTOCOLCHAIN(len(chain), chain),
        dwProviderFlags=base.info.dwProviderFlags if flags is None else flags,
        szProtocol=name or f"entry {catalog_id}")
    return CatalogEntry(info, "python:tests.lsp")


def _with(*front: CatalogEntry) -> Catalog:
    catalog = Catalog.default()
    catalog.entries[:0] = list(front)
    catalog.next_id = max(e.id for e in catalog.entries) + 1
    return catalog


def test_selection_takes_the_first_matching_entry_in_order():
    base = Catalog.default()
    chain = _entry(1007, base.by_id(1001), [1008, 1001], name="LSP over [TCP/IP]")
    catalog = _with(chain)
    assert catalog.select_entry(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP).id == 1007
    catalog.entries.append(catalog.entries.pop(0))                # reorder: the base comes first
    assert catalog.select_entry(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP).id == 1001


def test_layered_entries_chainlen_0_are_never_chosen_nor_enumerated():
    base = Catalog.default()
    layered = _entry(1007, base.by_id(1001), [], name="LSP dummy")
    catalog = _with(layered)
    assert catalog.entries[0].chain_len == W.LAYERED_PROTOCOL
    for args in ((W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP), (W.AF_INET, W.SOCK_STREAM, 0), (W.AF_INET, 0, 0)):
        assert catalog.select_entry(*args).id == 1001
    assert 1007 not in [i.dwCatalogEntryId for i in catalog.enum_protocols()]
    assert 1007 in [i.dwCatalogEntryId for i in catalog.all_entries()]     # WSCEnumProtocols sees it
    assert catalog.by_id(1007) is layered                                 # but it can be looked up


def test_a_catalog_of_only_layered_entries_selects_nothing():
    base = Catalog.default()
    catalog = Catalog([_entry(1007, base.by_id(1001), [])], 1008)
    with pytest.raises(WSAError):
        catalog.select_entry(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP)


def test_protocol_0_needs_pfl_matches_protocol_zero():
    base = Catalog.default()
    no_zero = _entry(1007, base.by_id(1001), [1008, 1001], flags=0, name="chain without MATCHES_PROTOCOL_ZERO")
    catalog = _with(no_zero)
    assert catalog.select_entry(W.AF_INET, W.SOCK_STREAM, W.IPPROTO_TCP).id == 1007
    assert catalog.select_entry(W.AF_INET, W.SOCK_STREAM, 0).id == 1001
    assert catalog.select_entry(W.AF_INET, 0, 0).id == 1001


def test_protocol_range_uses_iprotocolmaxoffset():
    catalog = Catalog.default()
    assert catalog.select_entry(W.AF_INET, W.SOCK_RAW, 200).id == 1003             # 0 <= 200 <= 0 + 255
    assert catalog.select_entry(0, 0, W.IPPROTO_RAW).id == 1003
    assert catalog.select_entry(W.AF_INET6, W.SOCK_RAW, 58).id == 1006


def test_hidden_entries_are_chosen_but_not_enumerated():
    catalog = Catalog.default()
    chosen = catalog.select_entry(W.AF_INET, W.SOCK_RAW, W.IPPROTO_ICMP)
    assert chosen.id == 1003 and chosen.hidden
    assert [i.dwCatalogEntryId for i in catalog.enum_protocols()] == [1001, 1002, 1004, 1005]
    assert len(catalog.all_entries()) == 6


def test_lookup_is_by_catalog_entry_id_only():
    catalog = Catalog.default()
    assert catalog.by_id(1002).info.iProtocol == W.IPPROTO_UDP
    with pytest.raises(WSAError) as caught:
        catalog.by_id(4242)
    assert caught.value.winerror == W.WSAEINVAL


def test_wsasocket_resolves_an_info_by_its_id_and_passes_it_through(ws):
    """The caller's structure goes to the provider unchanged: a TCP triple carried under the
    UDP entry's ID makes a TCP socket whose SO_PROTOCOL_INFOW is the caller's structure; an
    unknown ID is WSAEINVAL."""
    tcp = next(i for i in ws2.WSAEnumProtocolsW() if i.dwCatalogEntryId == 1001)
    forged = tcp.copy(dwCatalogEntryId=1002, szProtocol="caller's copy")
    s = ws2.WSASocketW(0, 0, 0, forged, 0, 0)
    try:
        assert ws2.getsockopt(s, W.SOL_SOCKET, W.SO_TYPE) == W.SOCK_STREAM
        info = ws2.getsockopt(s, W.SOL_SOCKET, W.SO_PROTOCOL_INFOW)
        assert (info.dwCatalogEntryId, info.szProtocol) == (1002, "caller's copy")
    finally:
        ws2.closesocket(s)
    with pytest.raises(WSAError) as caught:
        ws2.WSASocketW(0, 0, 0, tcp.copy(dwCatalogEntryId=4242), 0, 0)
    assert caught.value.winerror == W.WSAEINVAL


# ======================================================================================
# WSAEnumProtocols filtering
# ======================================================================================
@pytest.mark.parametrize("protocols,ids", [
    (None, [1001, 1002, 1004, 1005]),
    ([W.IPPROTO_TCP], [1001, 1004]),
    ([W.IPPROTO_UDP, W.IPPROTO_TCP], [1001, 1002, 1004, 1005]),              # catalog order, not filter order
    ([0xDEAD, W.IPPROTO_TCP, 0xCAFE, W.IPPROTO_UDP, 0xBEEF, 0], [1001, 1002, 1004, 1005]),
    ([W.IPPROTO_TCP, 0, W.IPPROTO_UDP], [1001, 1004]),                       # IPPROTO_IP (0) ends the list
    ([0], []),
    ([W.IPPROTO_RAW], []),                                                   # iProtocol equality, and RAW is hidden
    ([], []),
], ids=["all", "tcp", "udp+tcp", "wine-filter", "stops-at-0", "empty-at-0", "raw", "empty"])
def test_enum_protocols_filter(protocols, ids):
    assert [i.dwCatalogEntryId for i in Catalog.default().enum_protocols(protocols)] == ids


def test_enum_protocols_returns_copies():
    catalog = Catalog.default()
    catalog.enum_protocols()[0].szProtocol = "changed"
    assert catalog.by_id(1001).info.szProtocol == "MSAFD Tcpip [TCP/IP]"


def test_enum_protocols_includes_chains_in_order():
    base = Catalog.default()
    catalog = _with(_entry(1007, base.by_id(1001), [], name="dummy"),
                    _entry(1008, base.by_id(1001), [1007, 1001], name="LSP over [TCP/IP]"))
    assert [i.dwCatalogEntryId for i in catalog.enum_protocols([W.IPPROTO_TCP])] == [1008, 1001, 1004]


# ======================================================================================
# The file
# ======================================================================================
def _custom_catalog() -> Catalog:
    base = Catalog.default()
    return _with(_entry(1007, base.by_id(1001), [], name="LSP dummy", flags=W.PFL_HIDDEN),
                 _entry(1008, base.by_id(1001), [1007, 1001], name="LSP über [TCP/IP]"))


def _same(a: Catalog, b: Catalog) -> bool:
    return (a.next_id == b.next_id
            and [(bytes(e.info), e.path) for e in a.entries] == [(bytes(e.info), e.path) for e in b.entries])


def test_store_without_a_file_loads_the_default(tmp_path):
    assert _same(CatalogStore(tmp_path / "none").load(), Catalog.default())


def test_store_round_trip(tmp_path):
    store = CatalogStore(tmp_path)
    catalog = _custom_catalog()
    store.save(catalog)
    loaded = store.load()
    assert _same(loaded, catalog)
    assert loaded.by_id(1008).path == "python:tests.lsp"
    assert loaded.by_id(1008).info.ProtocolChain.ChainEntries[:2] == [1007, 1001]
    assert sorted(os.listdir(tmp_path)) == ["catalog.json"]               # no temporary left behind


def test_store_reset_restores_the_default(tmp_path):
    store = CatalogStore(tmp_path)
    store.save(_custom_catalog())
    fresh = store.reset()
    assert _same(fresh, Catalog.default())
    assert _same(store.load(), Catalog.default())


_WRITER = textwrap.dedent("""
    import pathlib, sys
    from wsemu.catalog import CatalogStore
    store = CatalogStore(pathlib.Path(sys.argv[1]))
    for n in range(int(sys.argv[2])):
        with store.locked():
            catalog = store.load()
            catalog.next_id += 1
            # vary the size of the file so that a torn write could not go unnoticed
            catalog.entries[0].info.szProtocol = "w" * (catalog.next_id % 200)
            store.save(catalog)
""")


def test_store_concurrent_writers_lose_nothing_and_readers_never_see_a_partial_file(tmp_path):
    """Four writer processes each do 40 locked read-modify-write cycles (next_id += 1) while
    this process keeps reading the file: every read is a complete, valid catalog, and at the
    end no increment was lost."""
    store = CatalogStore(tmp_path)
    store.save(Catalog.default())
    writers, rounds = 4, 40
    root = pathlib.Path(__file__).resolve().parent.parent
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), str(rounds)], cwd=root)
             for _ in range(writers)]
    reads = 0
    try:
        while any(p.poll() is None for p in procs) or reads == 0:
            text = store.path.read_text(encoding="utf-8")
            Catalog.from_json(json.loads(text))                 # raises on a partial file
            store.load()
            reads += 1
    finally:
        for p in procs:
            p.wait(timeout=60)
    assert [p.returncode for p in procs] == [0] * writers
    assert store.load().next_id == Catalog.default().next_id + writers * rounds
    assert sorted(os.listdir(tmp_path)) == ["catalog.json", "catalog.lock"]
    assert reads > 0, reads
    print(f"{reads} complete reads during {writers * rounds} replacements")


CORRUPT_FILES = {
    "not-json": b"{ this is not json",
    "not-utf8": b"\xff\xfe\x00\x01binary",
    "truncated": json.dumps(Catalog.default().to_json()).encode()[:200],
    "wrong-format": json.dumps({"format": 99, "next_id": 1007, "entries": []}).encode(),
    "top-level-list": b"[]",
    "missing-key": json.dumps({"format": 1, "entries": []}).encode(),
    "entries-not-list": json.dumps({"format": 1, "next_id": 1007, "entries": 5}).encode(),
    "entry-not-object": json.dumps({"format": 1, "next_id": 1007, "entries": [5]}).encode(),
    "duplicate-ids": json.dumps({"format": 1, "next_id": 1007,
                                 "entries": [C._entry_to_json(Catalog.default().entries[0])] * 2}).encode(),
    "next-id-too-low": json.dumps({"format": 1, "next_id": 1001,
                                   "entries": [C._entry_to_json(Catalog.default().entries[0])]}).encode(),
    "bad-guid": json.dumps({"format": 1, "next_id": 1007, "entries": [
        dict(C._entry_to_json(Catalog.default().entries[0]), ProviderId="not-a-guid")]}).encode(),
    "chainlen-out-of-range": json.dumps({"format": 1, "next_id": 1007, "entries": [
        dict(C._entry_to_json(Catalog.default().entries[0]), ChainLen=9)]}).encode(),
    "field-not-int": json.dumps({"format": 1, "next_id": 1007, "entries": [
        dict(C._entry_to_json(Catalog.default().entries[0]), iProtocol="6")]}).encode(),
}


@pytest.mark.parametrize("content", list(CORRUPT_FILES.values()), ids=list(CORRUPT_FILES))
def test_corrupt_file_gives_catalogcorrupt_naming_the_file(tmp_path, content):
    store = CatalogStore(tmp_path)
    store.path.write_bytes(content)
    with pytest.raises(CatalogCorrupt) as caught:
        store.load()
    err = caught.value
    assert isinstance(err, WSAError)
    assert err.winerror == W.WSASYSNOTREADY
    assert str(store.path) in err.strerror
    assert "wsemu catalog reset" in err.strerror


def test_unreadable_catalog_path_gives_catalogcorrupt(tmp_path):
    store = CatalogStore(tmp_path)
    store.path.mkdir()                                            # a directory where the file should be
    with pytest.raises(CatalogCorrupt) as caught:
        store.load()
    assert str(store.path) in caught.value.strerror


def test_wsastartup_with_a_corrupt_catalog_fails_cleanly(config_dir):
    """WSAStartup raises the CatalogCorrupt (WSASYSNOTREADY, last error set), counts
    nothing (WSACleanup: WSANOTINITIALISED), and works again once the file is reset."""
    (config_dir / "catalog.json").write_text("{ corrupt")
    ws2.WSASetLastError(0)
    with pytest.raises(CatalogCorrupt) as caught:
        ws2.WSAStartup(0x0202)
    assert caught.value.winerror == W.WSASYSNOTREADY
    assert str(config_dir / "catalog.json") in caught.value.strerror
    assert ws2.WSAGetLastError() == W.WSASYSNOTREADY
    assert ws2._proc.startups == 0
    with pytest.raises(WSAError) as caught:
        ws2.WSACleanup()
    assert caught.value.winerror == W.WSANOTINITIALISED
    CatalogStore().reset()
    ws2.WSAStartup(0x0202)
    ws2.WSACleanup()


def test_wsastartup_reads_the_catalog_file(config_dir):
    """A catalog saved by another process is what the next first WSAStartup uses."""
    CatalogStore().save(_custom_catalog())
    ws2.WSAStartup(0x0202)
    try:
        ids = [i.dwCatalogEntryId for i in ws2.WSAEnumProtocolsW([W.IPPROTO_TCP])]
        assert ids == [1008, 1001, 1004]
    finally:
        ws2.WSACleanup()


def test_cli_reset_repairs_a_corrupt_catalog(config_dir, capsys):
    from wsemu import cli
    (config_dir / "catalog.json").write_text("garbage")
    assert cli.main(["catalog", "list"]) == 1
    assert str(config_dir / "catalog.json") in capsys.readouterr().err
    assert cli.main(["catalog", "reset"]) == 0
    assert _same(CatalogStore().load(), Catalog.default())


# ======================================================================================
# Listing
# ======================================================================================
def test_listing_names_entry_types():
    catalog = _custom_catalog()
    assert [C.entry_type(e) for e in catalog.entries[:3]] == [
        "Layered Service Provider", "Layered Chain Entry", "Base Service Provider"]
    listing = C.format_listing(catalog)
    assert listing.count("Winsock Catalog Provider Entry") == len(catalog.entries)
    assert "Protocol Chain:                     1007 : 1001" in listing
    assert "{E70F1AA0-AB8B-11CF-8CA3-00805F48A192}" in listing
