"""The interface and routing ioctls from C (DESIGN.md §3.3): tests/cface/netstate_ioctls.c,
built with `wsemu config --cflags --libs` (-Wall -Werror), run as a real process in the
machine's own network namespace. Only what holds on every machine is asserted: loopback is
always there, other interfaces vary (their addresses are compared with what the Python face
answers in the same namespace, not with fixed values).

The SIO_ADDRESS_LIST_QUERY answer holds pointers into the caller's buffer: the Python SPI
writes offsets and each C boundary moves them (wsemu.netstate.layouts.relocate). The same
program is run once on the base provider and once with native/examples/lsp-counter layered
over TCP/IPv4, where the answer crosses C app → ws2 → C LSP (cprovider) → base (C SPI
boundary) and back, relocated at each crossing."""
from __future__ import annotations

import ipaddress
import os
import pathlib
import shutil
import subprocess

import pytest

from tests.helpers import c_face_flags, install_layer, TCP4_ENTRY
from wsemu import abi as W
from wsemu.netstate import layouts

pytestmark = pytest.mark.timeout(120)

HERE = pathlib.Path(__file__).resolve().parent
PROGRAM = HERE / "cface" / "netstate_ioctls.c"
LSP_COUNTER = HERE.parent / "native" / "examples" / "lsp-counter" / "lsp_counter.c"
Entry = tuple[int, ipaddress.IPv4Address | ipaddress.IPv6Address, int]   # family, address, scope id


def _build(cc: str, source: pathlib.Path, target: pathlib.Path, *options: str) -> pathlib.Path:
    built = subprocess.run([cc, *options, "-Wall", "-Werror", *c_face_flags("--cflags"), str(source),
                            *c_face_flags("--libs"), "-o", str(target)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    return target


@pytest.fixture(scope="module")
def program(tmp_path_factory, cc) -> pathlib.Path:
    return _build(cc, PROGRAM, tmp_path_factory.mktemp("cface_netstate") / "netstate_ioctls")


def _run(program: pathlib.Path) -> dict[str, str]:
    ran = subprocess.run([str(program)], capture_output=True, text=True, timeout=100, env=dict(os.environ))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return dict(line.split(": ", 1) for line in ran.stdout.splitlines())


def _numbers(text: str) -> list[int]:
    return [int(word) for word in text.split()]


def _listed(text: str) -> set[Entry]:
    """The program's `addrsN_list` line: (family, address, scope id) per entry."""
    out = set()
    for entry in filter(None, (item.strip() for item in text.split(","))):
        family, host = entry.split()
        host, _, scope = host.partition("%")
        out.add((int(family), ipaddress.ip_address(host), int(scope or 0)))
    return out


def _python_face_addresses(family: int) -> set[Entry]:
    """SIO_ADDRESS_LIST_QUERY through wsemu.ws2 in this process (offsets, read by layouts)."""
    from wsemu import ws2
    ws2.WSAStartup(0x0202)
    try:
        s = ws2.socket(family, W.SOCK_STREAM, W.IPPROTO_TCP)
        data = ws2.WSAIoctl(s, W.SIO_ADDRESS_LIST_QUERY, None, 65536)
        ws2.closesocket(s)
    finally:
        ws2.WSACleanup()
    return {(fam, ipaddress.ip_address(address[0]), address[3] if fam == W.AF_INET6 else 0)
            for fam, address in layouts.read_socket_address_list(data)}


@pytest.fixture(scope="module")
def base(program) -> dict[str, str]:
    """The program's lines on the default catalog (the base TCP providers)."""
    return _run(program)


# ---- SIO_GET_INTERFACE_LIST --------------------------------------------------------------
def test_interface_list_is_whole_76_byte_entries(base):
    rc, err, returned = _numbers(base["iflist"])
    assert (rc, err) == (0, 0)
    assert returned % 76 == 0 and returned >= 76


def test_interface_list_has_127_0_0_1_up_loopback_with_netmask_255_0_0_0(base):
    up, loopback, netmask, family, mask_family = base["iflist_loopback"].split()
    assert (up, loopback, netmask) == ("1", "1", "255.0.0.0")
    assert int(family) == int(mask_family) == W.AF_INET


def test_interface_list_into_too_small_a_buffer_is_wsaefault(base):
    rc, err, _ = _numbers(base["iflist_short"])
    assert (rc, err) == (W.SOCKET_ERROR, W.WSAEFAULT)


# ---- SIO_ADDRESS_LIST_QUERY --------------------------------------------------------------
@pytest.mark.parametrize("tag", ["4", "6"])
def test_address_list_too_small_is_wsaefault_and_tells_the_size_needed(base, tag):
    rc, err, needed = _numbers(base[f"addrs{tag}_short"])
    assert (rc, err) == (W.SOCKET_ERROR, W.WSAEFAULT)
    count = _numbers(base[f"addrs{tag}_checks"])[0]
    sockaddr_len = 16 if tag == "4" else 28
    assert needed == 8 + 16 * count + sockaddr_len * count
    assert _numbers(base[f"addrs{tag}"]) == [0, 0, needed]        # that size is enough


@pytest.mark.parametrize("tag", ["4", "6"])
def test_address_list_pointers_are_inside_the_callers_buffer_with_windows_lengths(base, tag):
    count, inside, lengths, families, loopback = _numbers(base[f"addrs{tag}_checks"])
    assert (inside, lengths, families) == (1, 1, 1)
    assert loopback == 0
    assert len(_listed(base[f"addrs{tag}_list"])) == count


@pytest.mark.parametrize("tag, family", [("4", W.AF_INET), ("6", W.AF_INET6)])
def test_address_list_from_c_is_what_the_python_face_lists(base, tag, family):
    assert _listed(base[f"addrs{tag}_list"]) == _python_face_addresses(family)


# ---- SIO_ROUTING_INTERFACE_QUERY ---------------------------------------------------------
def test_routing_query_to_127_0_0_1_is_127_0_0_1_in_a_16_byte_sockaddr_in(base):
    assert _numbers(base["route4"]) == [0, 0, 16]
    assert base["route4_local"] == f"{W.AF_INET} 127.0.0.1 0"


def test_routing_query_to_ipv6_loopback_is_ipv6_loopback_family_23(base):
    assert _numbers(base["route6"]) == [0, 0, 28]
    assert base["route6_local"] == "23 ::1%0 0"


@pytest.mark.parametrize("tag, size", [("4", 16), ("6", 28)])
def test_routing_query_too_small_is_wsaefault_with_the_size_needed(base, tag, size):
    assert _numbers(base[f"route{tag}_short"]) == [W.SOCKET_ERROR, W.WSAEFAULT, size]


@pytest.mark.parametrize("tag", ["4", "6"])
def test_routing_query_without_a_destination_is_wsaefault(base, tag):
    rc, err, _ = _numbers(base[f"route{tag}_null_input"])
    assert (rc, err) == (W.SOCKET_ERROR, W.WSAEFAULT)


# ---- SIO_ADDRESS_LIST_CHANGE / SIO_ROUTING_INTERFACE_CHANGE ------------------------------
def test_change_ioctls_on_a_non_blocking_socket_are_wsaewouldblock(base):
    assert base["fionbio"] == "0"
    assert _numbers(base["addrchange"])[:2] == [W.SOCKET_ERROR, W.WSAEWOULDBLOCK]
    assert _numbers(base["routechange"])[:2] == [W.SOCKET_ERROR, W.WSAEWOULDBLOCK]


def test_change_events_selected_and_nothing_to_report_while_nothing_changes(base):
    assert base["eventselect"] == "0"
    assert base["enumevents"] == "0 0"


# ---- through a C layered provider over TCP/IPv4 ------------------------------------------
@pytest.fixture
def layered(program, cc, config_dir, monkeypatch) -> tuple[dict[str, str], int]:
    """The program's lines with lsp-counter layered over TCP/IPv4 in a catalog of this test's
    own, and the chain entry's catalog ID."""
    lsp = _build(cc, LSP_COUNTER, config_dir / "liblspcounter.so", "-shared", "-fPIC")
    monkeypatch.setenv("LSP_COUNTER_LOG", str(config_dir / "counter.log"))
    [chain] = install_layer("lsp-counter", str(lsp), [TCP4_ENTRY])
    return _run(program), chain.dwCatalogEntryId


def test_address_list_through_a_c_lsp_points_into_the_c_apps_own_buffer(layered):
    lines, chain_id = layered
    assert lines["entry4"] == str(chain_id)                      # the socket is the chain's
    rc, err, needed = _numbers(lines["addrs4_short"])
    assert (rc, err) == (W.SOCKET_ERROR, W.WSAEFAULT)
    assert _numbers(lines["addrs4"]) == [0, 0, needed]
    count, inside, lengths, families, loopback = _numbers(lines["addrs4_checks"])
    assert (inside, lengths, families, loopback) == (1, 1, 1, 0)
    assert _listed(lines["addrs4_list"]) == _python_face_addresses(W.AF_INET)
    assert len(_listed(lines["addrs4_list"])) == count


def test_routing_query_through_a_c_lsp(layered):
    lines, _ = layered
    assert _numbers(lines["route4"]) == [0, 0, 16]
    assert lines["route4_local"] == f"{W.AF_INET} 127.0.0.1 0"
    assert _numbers(lines["route4_short"]) == [W.SOCKET_ERROR, W.WSAEFAULT, 16]


@pytest.mark.parametrize("label", ["iflist_short", "route4_null_input"])
def test_failed_ioctl_count_the_base_leaves_alone_is_left_alone_through_a_c_lsp(base, layered, label):
    """On Windows the app's lpcbBytesReturned pointer itself goes down the chain, so a layer
    that passes the call through cannot change what the app finds there."""
    lines, _ = layered
    assert _numbers(base[label])[2] == 0xDEAD             # the program's preload, untouched
    assert _numbers(lines[label]) == _numbers(base[label])


# ---- the same source against Windows' own headers ----------------------------------------
def test_the_program_and_its_layout_asserts_compile_against_mingw_headers(tmp_path):
    mingw = shutil.which("x86_64-w64-mingw32-gcc")
    if mingw is None:
        pytest.skip("no mingw-w64")
    built = subprocess.run([mingw, "-Wall", "-Werror", "-fsyntax-only", str(PROGRAM)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
