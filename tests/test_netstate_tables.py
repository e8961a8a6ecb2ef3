"""wsemu.netstate's pure cores, without sockets: the tables in Windows terms (flags, which
addresses each ioctl lists, where a destination would go), what each netlink message
changes, the Windows structures the ioctls write, and the two change events in the
pending/reported machine."""
from __future__ import annotations

import socket as L
import struct

import pytest

from wsemu import abi as W
from wsemu.events import state as S
from wsemu.netstate import layouts, tables as T

LO = T.Link(1, "lo", 0x10049, "UNKNOWN")              # UP|LOOPBACK|RUNNING|LOWER_UP
ETH = T.Link(2, "eth0", 0x11043, "UP")                # UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
DOWN = T.Link(3, "wsv0", 0x1002, "DOWN")              # BROADCAST|MULTICAST, admin down
NO_CARRIER = T.Link(4, "wsv9", 0x1003, "LOWERLAYERDOWN")   # admin up, peer down: not RUNNING


def addr(index, address, prefixlen, family=W.AF_INET, broadcast=None, flags=0x80):
    return T.Address(index, family, address, prefixlen, broadcast, flags)


SNAP = T.Snapshot({1: LO, 2: ETH, 3: DOWN, 4: NO_CARRIER}, (
    addr(1, "127.0.0.1", 8),
    addr(2, "192.0.2.2", 24, broadcast="192.0.2.255"),
    addr(3, "198.51.100.1", 24),
    addr(4, "203.0.113.1", 24),
    addr(2, "10.1.0.5", 16),
    addr(1, "::1", 128, W.AF_INET6),
    addr(2, "2001:db8::2", 64, W.AF_INET6),
    addr(2, "2001:db8::99", 64, W.AF_INET6, flags=0x80 | T.IFA_F_TENTATIVE),
    addr(2, "2001:db8::98", 64, W.AF_INET6, flags=0x80 | T.IFA_F_DADFAILED),
    addr(2, "fe80::1", 64, W.AF_INET6),
))


# ---------------------------------------------------------------------------------------
# flags and rows
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("link, flags", [
    (LO, W.IFF_UP | W.IFF_LOOPBACK),
    (ETH, W.IFF_UP | W.IFF_BROADCAST | W.IFF_MULTICAST),
    (DOWN, W.IFF_BROADCAST | W.IFF_MULTICAST),
    (NO_CARRIER, W.IFF_BROADCAST | W.IFF_MULTICAST),
    (T.Link(5, "tun0", 0x10d1, "UNKNOWN"), W.IFF_UP | W.IFF_POINTTOPOINT | W.IFF_MULTICAST),
])
def test_linux_link_flags_become_windows_iff_flags_and_up_means_running(link, flags):
    assert T.windows_flags(link) == flags


def test_interface_rows_list_every_address_of_the_family_with_mask_and_broadcast():
    rows = T.interface_rows(SNAP, W.AF_INET)
    assert [row.address for row in rows] == ["127.0.0.1", "192.0.2.2", "198.51.100.1", "203.0.113.1", "10.1.0.5"]
    by = {row.address: row for row in rows}
    assert by["127.0.0.1"] == T.InterfaceRow(W.IFF_UP | W.IFF_LOOPBACK, "127.0.0.1", "127.255.255.255", "255.0.0.0")
    assert by["192.0.2.2"].broadcast == "192.0.2.255"          # the kernel's
    assert by["10.1.0.5"] == T.InterfaceRow(W.IFF_UP | W.IFF_BROADCAST | W.IFF_MULTICAST, "10.1.0.5",
                                            "10.1.255.255", "255.255.0.0")
    assert not by["198.51.100.1"].flags & W.IFF_UP             # listed, marked down
    six = T.interface_rows(SNAP, W.AF_INET6)
    assert {row.address for row in six} >= {"::1", "2001:db8::2", "fe80::1"}
    assert {row.netmask for row in six if row.address == "2001:db8::2"} == {"ffff:ffff:ffff:ffff::"}


def test_address_list_is_usable_addresses_only_no_loopback_down_link_tentative_or_failed():
    assert [a.address for a in T.address_list(SNAP, W.AF_INET)] == ["192.0.2.2", "10.1.0.5"]
    assert [a.address for a in T.address_list(SNAP, W.AF_INET6)] == ["2001:db8::2", "fe80::1"]


def test_destinations_go_to_the_longest_matching_subnet_or_the_scope_link():
    assert T.link_towards(SNAP, "198.51.100.2") == DOWN
    assert T.link_towards(SNAP, "10.1.2.3") == ETH
    assert T.link_towards(SNAP, "8.8.8.8") is None
    assert T.link_towards(SNAP, "fe80::2", scope_id=4) == NO_CARRIER
    assert T.link_towards(SNAP, "not an address") is None
    assert T.link_of_address(SNAP, "198.51.100.1") == DOWN
    assert T.link_of_address(SNAP, "192.0.2.200") is None


def test_messages_parse_from_pyroute2_dumps_of_this_namespace():
    """The loopback link and 127.0.0.1 as the kernel dumps them, through the same parser."""
    from wsemu.netstate.live import _RTM_GETADDR, _RTM_GETLINK, LiveTables, _parser
    tables = LiveTables()
    tables.marshal = _parser()
    links = [T.link_from(m) for m in tables._dump(_RTM_GETLINK)]
    lo = next(link for link in links if link.name == "lo")
    assert lo.loopback and lo.up and T.windows_flags(lo) == W.IFF_UP | W.IFF_LOOPBACK
    addresses = [a for a in map(T.address_from, tables._dump(_RTM_GETADDR)) if a is not None]
    assert T.Address(lo.index, W.AF_INET, "127.0.0.1", 8, None, 0x80) in addresses


# ---------------------------------------------------------------------------------------
# what a message changes (the literal table)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("event, family, changed", [
    ("RTM_NEWADDR", L.AF_INET, T.Change.ADDRESSES_V4 | T.Change.ROUTES_V4),
    ("RTM_DELADDR", L.AF_INET6, T.Change.ADDRESSES_V6 | T.Change.ROUTES_V6),
    ("RTM_NEWROUTE", L.AF_INET, T.Change.ROUTES_V4),
    ("RTM_DELROUTE", L.AF_INET6, T.Change.ROUTES_V6),
    ("RTM_NEWNEIGH", L.AF_INET, 0),
    ("RTM_NEWADDR", L.AF_PACKET, 0),
])
def test_address_and_route_messages_change_their_familys_lists(event, family, changed):
    assert T.changes(event, family) == changed


def test_a_link_changes_everything_only_when_it_comes_up_or_goes_down():
    up, down = ETH, ETH._replace(flags=0x1002)
    assert T.changes("RTM_NEWLINK", 0, up, down) == T.Change.ALL
    assert T.changes("RTM_NEWLINK", 0, down, up) == T.Change.ALL
    assert T.changes("RTM_NEWLINK", 0, up, up._replace(name="renamed")) == 0
    assert T.changes("RTM_NEWLINK", 0, None, down) == 0         # a new link, still down
    assert T.changes("RTM_DELLINK", 0, up, None) == T.Change.ALL
    assert T.changes("RTM_DELLINK", 0, down, None) == 0


# ---------------------------------------------------------------------------------------
# layouts
# ---------------------------------------------------------------------------------------
def test_interface_info_is_76_bytes_of_flags_and_three_sockaddr_gen():
    row = T.InterfaceRow(W.IFF_UP | W.IFF_BROADCAST, "192.0.2.2", "192.0.2.255", "255.255.255.0")
    data = layouts.interface_info(W.AF_INET, [row, row])
    assert len(data) == 2 * layouts.INTERFACE_INFO_SIZE == 152
    assert struct.unpack_from("<I", data)[0] == W.IFF_UP | W.IFF_BROADCAST
    for at, host in ((4, "192.0.2.2"), (28, "192.0.2.255"), (52, "255.255.255.0")):
        family, port = struct.unpack_from("<hH", data, at)
        assert (family, port, L.inet_ntoa(data[at + 4:at + 8])) == (W.AF_INET, 0, host)
    six = layouts.interface_info(W.AF_INET6, [T.InterfaceRow(W.IFF_UP, "2001:db8::2", "::", "ffff::")])
    assert len(six) == 76 and struct.unpack_from("<h", six, 4)[0] == W.AF_INET6
    assert L.inet_ntop(L.AF_INET6, six[12:28]) == "2001:db8::2"


def test_socket_address_list_offsets_point_at_the_sockaddrs_that_follow():
    data = layouts.socket_address_list([addr(2, "192.0.2.2", 24), addr(2, "10.1.0.5", 16)])
    assert struct.unpack_from("<i", data)[0] == 2
    assert len(data) == 8 + 2 * 16 + 2 * 16
    assert struct.unpack_from("<Qi", data, 8) == (40, 16) and struct.unpack_from("<Qi", data, 24) == (56, 16)
    assert layouts.read_socket_address_list(data) == [(W.AF_INET, ("192.0.2.2", 0)), (W.AF_INET, ("10.1.0.5", 0))]
    six = layouts.socket_address_list([addr(7, "fe80::1", 64, W.AF_INET6), addr(7, "2001:db8::2", 64, W.AF_INET6)])
    assert layouts.read_socket_address_list(six) == [(W.AF_INET6, ("fe80::1", 0, 0, 7)),
                                                     (W.AF_INET6, ("2001:db8::2", 0, 0, 0))]
    assert layouts.socket_address_list([]) == struct.pack("<i4x", 0)


def test_relocate_turns_offsets_into_pointers_and_back_for_the_address_list_only():
    data = layouts.socket_address_list([addr(2, "192.0.2.2", 24)])
    moved = layouts.relocate(W.SIO_ADDRESS_LIST_QUERY, data, 0x7F0000001000)
    assert struct.unpack_from("<Q", moved, 8)[0] == 0x7F0000001000 + 24
    assert layouts.relocate(W.SIO_ADDRESS_LIST_QUERY, moved, -0x7F0000001000) == data
    assert layouts.relocate(W.SIO_GET_INTERFACE_LIST, data, 0x1000) == data


# ---------------------------------------------------------------------------------------
# the change events in the pending/reported machine
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("event, call", [(S.ADDRESS_LIST_CHANGE, S.Call.ADDRESS_LIST_QUERY),
                                         (S.ROUTING_CHANGE, S.Call.ROUTING_QUERY)])
def test_a_change_event_is_posted_once_until_its_ioctl_reenables_it(event, call):
    rec, _ = S.event_select(S.Record(), event)
    rec, effects = S.network_changed(rec, event)
    assert effects.signal and rec.pending == rec.reported == event
    rec, effects = S.network_changed(rec, event)
    assert not effects.signal                                  # reported: not again
    rec = S.reenable(rec, call)
    assert not rec.reported & event
    assert S.network_changed(rec, event)[1].signal


def test_message_mode_posts_the_change_event_with_no_error():
    rec = S.async_select(S.Record(), S.ADDRESS_LIST_CHANGE | S.READ)
    rec, effects = S.network_changed(rec, S.ADDRESS_LIST_CHANGE)
    assert effects.messages == ((S.ADDRESS_LIST_CHANGE, 0),) and rec.pending == 0
    assert S.network_changed(rec, S.ADDRESS_LIST_CHANGE)[1] == S.NOTHING


def test_an_unselected_change_stays_pending_for_a_later_event_select():
    rec, effects = S.network_changed(S.Record(), S.ADDRESS_LIST_CHANGE)
    assert effects == S.NOTHING and rec.pending == S.ADDRESS_LIST_CHANGE
    assert S.event_select(rec, S.ADDRESS_LIST_CHANGE)[1].signal
