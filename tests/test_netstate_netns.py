"""wsemu.netstate in a network namespace of its own (tests/netlab.py): the subject (wsv0,
198.51.100.1/24 and 2001:db8:1::1/64) runs wsemu, its peer (wsv1, .2 and ::2) plain
sockets. What the issue asks, on real links: the interface list is what `ip -j addr`
says; adding or removing an address wakes SIO_ADDRESS_LIST_CHANGE and fires
FD_ADDRESS_LIST_CHANGE; a route change fires FD_ROUTING_INTERFACE_CHANGE; with the link
down, connect/send/sendto fail with WSAENETDOWN, and work again once it is up.

Every test gets a fresh lab (a new pair of namespaces: nothing one test does to the links
can reach another), and the lab's agents die with it, taking the namespaces and links.
"""
from __future__ import annotations

import ipaddress

import pytest

from tests.netlab import PEER_V4, SUBJECT_IF, SUBJECT_V4
from wsemu import abi as W

pytestmark = pytest.mark.timeout(120)
JOBS = "tests.netns_jobs"
PORT = 4555


def job(lab, name: str, *args, **kwargs):
    return lab.subject(f"{JOBS}:{name}", *args, **kwargs)


@pytest.fixture
def lab(netlab):
    job(netlab, "startup")
    return netlab


def test_the_interface_list_matches_ip_addr_in_the_namespace(lab):
    rows = job(lab, "interface_list")
    shown = {(info["local"], info["prefixlen"], "UP" in link["flags"] and "LOWER_UP" in link["flags"],
              "LOOPBACK" in link["flags"])
             for link in lab.ip_json("addr") for info in link["addr_info"] if info["family"] == "inet"}
    listed = {(address, ipaddress.ip_network(f"0.0.0.0/{mask}").prefixlen, bool(flags & W.IFF_UP),
               bool(flags & W.IFF_LOOPBACK)) for flags, address, _, mask in rows}
    assert listed == shown and (SUBJECT_V4, 24, True, False) in listed
    wsv0 = next(row for row in rows if row[1] == SUBJECT_V4)
    assert wsv0 == (W.IFF_UP | W.IFF_BROADCAST | W.IFF_MULTICAST, SUBJECT_V4, "198.51.100.255", "255.255.255.0")
    six = {row[1] for row in job(lab, "interface_list", W.AF_INET6)}
    assert six == {info["local"] for link in lab.ip_json("addr") for info in link["addr_info"]
                   if info["family"] == "inet6"}


def test_adding_an_address_wakes_a_blocked_address_list_change_and_lists_it(lab):
    job(lab, "block", "waiter", "SIO_ADDRESS_LIST_CHANGE")
    assert job(lab, "unblocked", "waiter", 0) == []             # nothing has changed yet
    lab.addr_add(SUBJECT_IF, "198.51.100.7", 24)
    assert job(lab, "unblocked", "waiter") == [0]
    assert "198.51.100.7" in job(lab, "address_list")
    job(lab, "block", "again", "SIO_ADDRESS_LIST_CHANGE")
    lab.addr_del(SUBJECT_IF, "198.51.100.7", 24)
    assert job(lab, "unblocked", "again") == [0]
    assert "198.51.100.7" not in job(lab, "address_list")


def test_an_ipv4_change_does_not_wake_an_ipv6_socket_s_request(lab):
    job(lab, "block", "six", "SIO_ADDRESS_LIST_CHANGE", None, W.AF_INET6)
    lab.addr_add(SUBJECT_IF, "198.51.100.8", 24)
    job(lab, "address_list")                                     # (the change has been read)
    assert job(lab, "unblocked", "six", 0) == []
    lab.addr_add(SUBJECT_IF, "2001:db8:1::8", 64)
    assert job(lab, "unblocked", "six") == [0]


@pytest.mark.parametrize("mode", ["event", "message"])
def test_fd_address_list_change_fires_once_per_request(lab, mode):
    assert job(lab, "watch", "w", "SIO_ADDRESS_LIST_CHANGE", mode) == W.WSAEWOULDBLOCK
    lab.addr_add(SUBJECT_IF, "198.51.100.9", 24)
    events, error = job(lab, "wait_notice", "w")
    assert events & W.FD_ADDRESS_LIST_CHANGE and error == 0
    # Not again until the request is made again (it re-enables the event and re-arms).
    lab.addr_del(SUBJECT_IF, "198.51.100.9", 24)
    assert job(lab, "pending_notice", "w") == 0
    assert job(lab, "reissue", "w") == W.WSAEWOULDBLOCK
    lab.addr_add(SUBJECT_IF, "198.51.100.9", 24)
    assert job(lab, "wait_notice", "w")[0] & W.FD_ADDRESS_LIST_CHANGE
    job(lab, "forget", "w")


@pytest.mark.parametrize("mode", ["event", "message"])
def test_a_route_change_fires_fd_routing_interface_change_for_the_destination_it_moves(lab, mode):
    assert job(lab, "route_query", "203.0.113.5") == W.WSAENETUNREACH      # no route there yet
    assert job(lab, "watch", "moved", "SIO_ROUTING_INTERFACE_CHANGE", mode, "203.0.113.5") == W.WSAEWOULDBLOCK
    assert job(lab, "watch", "same", "SIO_ROUTING_INTERFACE_CHANGE", mode, "127.0.0.1") == W.WSAEWOULDBLOCK
    lab.route_add("203.0.113.0", 24, PEER_V4)
    assert job(lab, "wait_notice", "moved")[0] & W.FD_ROUTING_INTERFACE_CHANGE
    assert job(lab, "route_query", "203.0.113.5") == SUBJECT_V4
    assert job(lab, "pending_notice", "same") == 0              # 127.0.0.1 still goes the same way
    job(lab, "forget", "moved")
    job(lab, "forget", "same")


def test_a_wildcard_routing_request_fires_on_any_route_change(lab):
    assert job(lab, "watch", "any", "SIO_ROUTING_INTERFACE_CHANGE", "event", "0.0.0.0") == W.WSAEWOULDBLOCK
    lab.route_add("192.0.2.128", 25, PEER_V4)
    assert job(lab, "wait_notice", "any")[0] & W.FD_ROUTING_INTERFACE_CHANGE
    job(lab, "forget", "any")


def test_a_blocked_routing_request_returns_when_its_destination_moves(lab):
    job(lab, "block", "route", "SIO_ROUTING_INTERFACE_CHANGE", "203.0.113.5")
    lab.route_add("203.0.113.0", 24, PEER_V4)
    assert job(lab, "unblocked", "route") == [0]


def test_link_down_is_wsaenetdown_for_connect_send_and_sendto_and_up_works_again(lab):
    lab.peer(f"{JOBS}:listen_tcp", PORT)
    assert job(lab, "connect_tcp", PEER_V4, PORT) == 0
    assert job(lab, "udp_connected", "udp", PEER_V4, PORT) == 0
    job(lab, "block", "down", "SIO_ADDRESS_LIST_CHANGE")
    lab.link_down(SUBJECT_IF)
    assert job(lab, "unblocked", "down") == [0]                 # its address left the list
    assert SUBJECT_V4 not in job(lab, "address_list")
    wsv0 = next(row for row in job(lab, "interface_list") if row[1] == SUBJECT_V4)
    assert not wsv0[0] & W.IFF_UP                               # still listed, not up
    assert job(lab, "connect_tcp", PEER_V4, PORT) == W.WSAENETDOWN
    assert job(lab, "connect_tcp_nonblocking", PEER_V4, PORT) == W.WSAENETDOWN
    assert job(lab, "sendto_udp", PEER_V4, PORT) == W.WSAENETDOWN
    assert job(lab, "udp_send", "udp") == W.WSAENETDOWN        # connected while the link was up
    assert job(lab, "udp_connected", "udp2", PEER_V4, PORT) == W.WSAENETDOWN
    # A destination no interface leads to is still unreachable, not down.
    assert job(lab, "connect_tcp", "203.0.113.5", PORT) == W.WSAENETUNREACH
    job(lab, "block", "up", "SIO_ADDRESS_LIST_CHANGE")
    lab.link_up(SUBJECT_IF)
    assert job(lab, "unblocked", "up") == [0]                   # usable again
    assert job(lab, "connect_tcp", PEER_V4, PORT) == 0
    assert job(lab, "sendto_udp", PEER_V4, PORT) == 0
    assert job(lab, "udp_send", "udp") == 0
    assert job(lab, "udp_connected", "udp2", PEER_V4, PORT) == 0 and job(lab, "udp_send", "udp2") == 0


def test_link_down_fires_fd_address_list_change(lab):
    assert job(lab, "watch", "w", "SIO_ADDRESS_LIST_CHANGE") == W.WSAEWOULDBLOCK
    lab.link_down(SUBJECT_IF)
    assert job(lab, "wait_notice", "w")[0] & W.FD_ADDRESS_LIST_CHANGE
    job(lab, "forget", "w")


# The C face's data path sends in C; an unreachable sendto goes back to Python whole so the
# link state can say WSAENETDOWN (native/src/cface_data.c).
C_SENDTO = r"""
#include <stdio.h>
#include <stdlib.h>
#include <winsock2.h>
#include <ws2tcpip.h>

int main(int argc, char **argv)
{
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    struct sockaddr_in to = { 0 };
    to.sin_family = AF_INET;
    to.sin_port = htons((u_short)atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    int sent = sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof to);
    printf("sendto: %d %d\n", sent, sent < 0 ? WSAGetLastError() : 0);
    WSABUF buf = { 1, "y" };
    DWORD n = 0;
    int wsa = WSASendTo(s, &buf, 1, &n, 0, (struct sockaddr *)&to, sizeof to, NULL, NULL);
    printf("wsasendto: %d %d\n", wsa, wsa < 0 ? WSAGetLastError() : 0);
    closesocket(s);
    WSACleanup();
    return 0;
}
"""


def test_link_down_is_wsaenetdown_for_sendto_from_the_c_face(lab, tmp_path, cc):
    import subprocess
    from tests.helpers import c_face_flags
    (tmp_path / "sendto.c").write_text(C_SENDTO)
    subprocess.run([cc, "-Wall", "-Werror", *c_face_flags("--cflags"), str(tmp_path / "sendto.c"),
                    *c_face_flags("--libs"), "-o", str(tmp_path / "sendto")], check=True, capture_output=True)
    program = [str(tmp_path / "sendto"), PEER_V4, str(PORT)]
    status, out = job(lab, "run", program)
    assert status == 0 and out.splitlines() == ["sendto: 1 0", "wsasendto: 0 0"], out
    lab.link_down(SUBJECT_IF)
    status, out = job(lab, "run", program)
    assert status == 0 and out.splitlines() == ["sendto: -1 10050", "wsasendto: -1 10050"], out
