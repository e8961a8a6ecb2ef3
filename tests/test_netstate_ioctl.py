"""The interface and routing ioctls on real sockets in the test process's own network
namespace: what holds on any machine (loopback is always there; `ip -j addr` says what
else is). Changes, link loss and WSAENETDOWN need a namespace of their own:
tests/test_netstate_netns.py."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
import threading

import pytest

from tests.helpers import wait_for
from wsemu import sockaddr
from wsemu.errors import WSAError
from wsemu.netstate import layouts
from wsemu.netstate.live import live
from wsemu.spi.descriptor import table

pytestmark = pytest.mark.timeout(60)


def _ip_addr() -> list[dict]:
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) on this machine")
    return json.loads(subprocess.run(["ip", "-j", "addr"], capture_output=True, check=True, text=True).stdout)


def _interface_list(ws, s, size: int = 8192) -> list[tuple[int, str, str, str]]:
    data = ws.WSAIoctl(s, ws.SIO_GET_INTERFACE_LIST, None, size)
    rows = []
    for at in range(0, len(data), 76):
        flags = struct.unpack_from("<I", data, at)[0]
        hosts = [sockaddr.decode(data[at + 4 + 24 * i:at + 4 + 24 * i + 16])[1][0] for i in range(3)]
        rows.append((flags, *hosts))
    return rows


def test_interface_list_is_every_ipv4_address_ip_addr_shows_with_windows_flags(ws):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    rows = _interface_list(ws, s)
    expected = {(info["local"], info["prefixlen"]) for link in _ip_addr() for info in link["addr_info"]
                if info["family"] == "inet"}
    import ipaddress
    assert {(address, ipaddress.ip_network(f"0.0.0.0/{mask}").prefixlen) for _, address, _, mask in rows} == expected
    loopback = [row for row in rows if row[1] == "127.0.0.1"]
    assert loopback == [(ws.IFF_UP | ws.IFF_LOOPBACK, "127.0.0.1", "127.255.255.255", "255.0.0.0")]
    ws.closesocket(s)


def test_interface_list_into_too_small_a_buffer_is_wsaefault(ws):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    with pytest.raises(WSAError) as err:
        ws.WSAIoctl(s, ws.SIO_GET_INTERFACE_LIST, None, 75)
    assert err.value.winerror == ws.WSAEFAULT
    ws.closesocket(s)


@pytest.mark.parametrize("family, ip_family", [("AF_INET", "inet"), ("AF_INET6", "inet6")])
def test_address_list_is_the_usable_non_loopback_addresses_of_the_family(ws, family, ip_family):
    s = ws.socket(getattr(ws, family), ws.SOCK_DGRAM, 0)
    listed = [address[0] for _, address in layouts.read_socket_address_list(
        ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_QUERY, None, 8192))]
    expected = [info["local"] for link in _ip_addr() if "LOOPBACK" not in link["flags"]
                and "UP" in link["flags"] and "LOWER_UP" in link["flags"]
                for info in link["addr_info"] if info["family"] == ip_family
                and not info.get("tentative") and not info.get("dadfailed")]
    assert sorted(listed) == sorted(expected)
    ws.closesocket(s)


def test_address_list_into_too_small_a_buffer_is_wsaefault_with_the_size_needed(ws):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    needed = len(ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_QUERY, None, 8192))
    with pytest.raises(WSAError) as err:
        ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_QUERY, None, needed - 1)
    assert err.value.winerror == ws.WSAEFAULT and err.value.bytes_returned == needed
    assert len(ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_QUERY, None, needed)) == needed
    ws.closesocket(s)


def test_routing_interface_query_answers_the_kernels_source_address(ws):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    out = ws.WSAIoctl(s, ws.SIO_ROUTING_INTERFACE_QUERY, sockaddr.encode(ws.AF_INET, ("127.0.0.1", 80)), 16)
    assert sockaddr.decode(out) == (ws.AF_INET, ("127.0.0.1", 0))
    six = ws.socket(ws.AF_INET6, ws.SOCK_DGRAM, 0)
    out = ws.WSAIoctl(six, ws.SIO_ROUTING_INTERFACE_QUERY, sockaddr.encode(ws.AF_INET6, ("::1", 80)), 28)
    assert sockaddr.decode(out) == (ws.AF_INET6, ("::1", 0, 0, 0))
    ws.closesocket(s)
    ws.closesocket(six)


@pytest.mark.parametrize("inbuf, outlen, error, needed", [
    (None, 16, "WSAEFAULT", None),                                           # no destination
    (b"\x02\x00", 16, "WSAEFAULT", None),                                    # a short one
    (sockaddr.encode(23, ("::1", 80)), 16, "WSAEINVAL", None),               # another family
    (sockaddr.encode(2, ("0.0.0.0", 80)), 16, "WSAEINVAL", None),            # the wildcard
    (sockaddr.encode(2, ("127.0.0.1", 80)), 15, "WSAEFAULT", 16),            # output too small
])
def test_routing_interface_query_rejects_bad_arguments_with_windows_errors(ws, inbuf, outlen, error, needed):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    with pytest.raises(WSAError) as err:
        ws.WSAIoctl(s, ws.SIO_ROUTING_INTERFACE_QUERY, inbuf, outlen)
    assert err.value.winerror == getattr(ws, error) and getattr(err.value, "bytes_returned", None) == needed
    ws.closesocket(s)


@pytest.mark.parametrize("code, inbuf", [("SIO_ADDRESS_LIST_CHANGE", None),
                                         ("SIO_ROUTING_INTERFACE_CHANGE", sockaddr.encode(2, ("0.0.0.0", 0)))])
def test_a_change_request_on_a_non_blocking_socket_is_wsaewouldblock_at_once(ws, code, inbuf):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    ws.ioctlsocket(s, ws.FIONBIO, 1)
    with pytest.raises(WSAError) as err:
        ws.WSAIoctl(s, getattr(ws, code), inbuf, 0)
    assert err.value.winerror == ws.WSAEWOULDBLOCK and err.value.bytes_returned == 0
    ev = ws.WSACreateEvent()
    ws.WSAEventSelect(s, ev, ws.FD_ADDRESS_LIST_CHANGE | ws.FD_ROUTING_INTERFACE_CHANGE)
    assert ws.WSAEnumNetworkEvents(s, ev).lNetworkEvents == 0   # nothing changed
    ws.closesocket(s)
    ws.WSACloseEvent(ev)


def test_a_blocking_address_list_change_is_interrupted_by_closesocket(ws):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    result: list = []

    def wait() -> None:
        try:
            ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_CHANGE, None, 0)
            result.append(0)
        except WSAError as exc:
            result.append(exc.winerror)

    thread = threading.Thread(target=wait)
    thread.start()
    desc = table().get(s)
    assert wait_for(lambda: desc.blocked)
    ws.closesocket(s)
    thread.join(10)
    assert result == [ws.WSAEINTR]


def test_queries_are_answered_from_one_listener_and_one_dump_until_something_changes(ws):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_QUERY, None, 8192)
    listener, dumps = live.sock, live.dumps
    for _ in range(50):
        ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_QUERY, None, 8192)
        ws.WSAIoctl(s, ws.SIO_GET_INTERFACE_LIST, None, 8192)
    assert live.sock is listener and live.dumps == dumps
    ws.closesocket(s)


def test_the_last_wsacleanup_closes_the_listener(ws):
    s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)
    ws.WSAIoctl(s, ws.SIO_ADDRESS_LIST_QUERY, None, 8192)
    assert live.sock is not None
    ws.closesocket(s)
    ws.WSACleanup()
    assert live.sock is None and not live.probes
