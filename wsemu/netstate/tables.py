"""The network tables in Windows terms, and what a netlink message changes — no I/O.

``Link`` and ``Address`` are built from parsed rtnetlink messages (pyroute2 ``ifinfmsg`` /
``ifaddrmsg``, or anything with their ``get``); a ``Snapshot`` is the links and addresses
of one moment. The Winsock answers are functions of a snapshot:

* ``interface_rows`` — SIO_GET_INTERFACE_LIST: every address of the family, on every link
  (loopback and down links included, as ``ip addr`` lists them), with the Windows IFF_*
  flags of its link;
* ``address_list`` — SIO_ADDRESS_LIST_QUERY: the addresses a socket could use — not
  loopback, not tentative or DAD-failed, and not on a link that is down. Linux keeps an
  address on a link that goes down; Windows drops the addresses of a disconnected adapter
  from this list, so a link going down is an address-list change here too.

``changes`` says which Winsock notifications a netlink message means (a literal table).
"""
from __future__ import annotations

import ipaddress
import socket as L
import typing

from wsemu import abi as W

# Linux IFF_* (linux/if.h) -> Windows IFF_* (ws2ipdef.h); IFF_UP is decided by ``is_up``.
_IFF_UP, _IFF_BROADCAST, _IFF_LOOPBACK, _IFF_POINTOPOINT = 0x1, 0x2, 0x8, 0x10
_IFF_RUNNING, _IFF_MULTICAST = 0x40, 0x1000
FLAG_TABLE = (
    (_IFF_BROADCAST, W.IFF_BROADCAST),
    (_IFF_LOOPBACK, W.IFF_LOOPBACK),
    (_IFF_POINTOPOINT, W.IFF_POINTTOPOINT),
    (_IFF_MULTICAST, W.IFF_MULTICAST),
)
# Address flags (linux/if_addr.h) that make an address unusable yet, or for good.
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40

FAMILIES = {L.AF_INET: W.AF_INET, L.AF_INET6: W.AF_INET6}     # Linux -> Windows


class Link(typing.NamedTuple):
    index: int
    name: str
    flags: int              # Linux IFF_*
    operstate: str          # "UP", "DOWN", "UNKNOWN" (loopback, and links without carrier sense)

    @property
    def up(self) -> bool:
        """Administratively up and carrying traffic: what Windows calls an interface that
        is up (a veth whose peer is down is not)."""
        return bool(self.flags & _IFF_UP and self.flags & _IFF_RUNNING)

    @property
    def loopback(self) -> bool:
        return bool(self.flags & _IFF_LOOPBACK)


class Address(typing.NamedTuple):
    index: int              # the link's
    family: int             # Windows AF_INET / AF_INET6
    address: str
    prefixlen: int
    broadcast: str | None
    flags: int              # IFA_F_*

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_interface(f"{self.address}/{self.prefixlen}").network


class Snapshot(typing.NamedTuple):
    links: dict[int, Link]
    addresses: tuple[Address, ...]


def windows_flags(link: Link) -> int:
    """The INTERFACE_INFO iiFlags of ``link``."""
    flags = W.IFF_UP if link.up else 0
    for linux, windows in FLAG_TABLE:
        if link.flags & linux:
            flags |= windows
    return flags


def link_from(msg) -> Link:
    return Link(msg["index"], msg.get("ifname") or "", msg["flags"], msg.get("operstate") or "UNKNOWN")


def address_from(msg) -> Address | None:
    """``None`` for a family Winsock does not list."""
    family = FAMILIES.get(msg["family"])
    if family is None or msg.get("address") is None:
        return None
    flags = msg.get("IFA_FLAGS")
    return Address(msg["index"], family, msg.get("address"), msg["prefixlen"], msg.get("broadcast"),
                   msg["flags"] if flags is None else flags)


class InterfaceRow(typing.NamedTuple):
    flags: int              # Windows IFF_*
    address: str
    broadcast: str
    netmask: str


def interface_rows(snap: Snapshot, family: int) -> list[InterfaceRow]:
    rows = []
    for addr in snap.addresses:
        link = snap.links.get(addr.index)
        if addr.family != family or link is None:
            continue
        net = addr.network()
        if family == W.AF_INET:
            # The kernel's broadcast when it has one; else the directed broadcast of the
            # subnet (Windows fills it for every interface, loopback included).
            broadcast = addr.broadcast or str(net.broadcast_address)
        else:
            broadcast = "::"                  # IPv6 has none
        rows.append(InterfaceRow(windows_flags(link), addr.address, broadcast, str(net.netmask)))
    return rows


def usable(snap: Snapshot, addr: Address) -> bool:
    link = snap.links.get(addr.index)
    return (link is not None and link.up and not link.loopback
            and not addr.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))


def address_list(snap: Snapshot, family: int) -> list[Address]:
    return [addr for addr in snap.addresses if addr.family == family and usable(snap, addr)]


def link_of_address(snap: Snapshot, address: str) -> Link | None:
    """The link that holds local ``address``."""
    for addr in snap.addresses:
        if addr.address == address:
            return snap.links.get(addr.index)
    return None


def link_towards(snap: Snapshot, destination: str, scope_id: int = 0) -> Link | None:
    """The link whose subnet holds ``destination`` (the longest prefix), or the scope's link
    for an IPv6 link-local destination: where the kernel would send it directly."""
    if scope_id:
        return snap.links.get(scope_id)
    try:
        dest = ipaddress.ip_address(destination)
    except ValueError:
        return None
    best: Address | None = None
    for addr in snap.addresses:
        if addr.network().version == dest.version and dest in addr.network() \
                and (best is None or addr.prefixlen > best.prefixlen):
            best = addr
    return None if best is None else snap.links.get(best.index)


# ---------------------------------------------------------------------------------------
# What a message changes
# ---------------------------------------------------------------------------------------
class Change:
    """Bits: which notifications a netlink message is for."""
    ADDRESSES_V4 = 1
    ADDRESSES_V6 = 2
    ROUTES_V4 = 4
    ROUTES_V6 = 8
    ALL = 15


ADDRESSES = {W.AF_INET: Change.ADDRESSES_V4, W.AF_INET6: Change.ADDRESSES_V6}
ROUTES = {W.AF_INET: Change.ROUTES_V4, W.AF_INET6: Change.ROUTES_V6}

# (message, Linux family) -> what changed. Address messages change the routing too (their
# subnet's route comes and goes; the route messages follow, but a route query must not
# answer from before the address change).
CHANGES: dict[tuple[str, int], int] = {
    ("RTM_NEWADDR", L.AF_INET): Change.ADDRESSES_V4 | Change.ROUTES_V4,
    ("RTM_DELADDR", L.AF_INET): Change.ADDRESSES_V4 | Change.ROUTES_V4,
    ("RTM_NEWADDR", L.AF_INET6): Change.ADDRESSES_V6 | Change.ROUTES_V6,
    ("RTM_DELADDR", L.AF_INET6): Change.ADDRESSES_V6 | Change.ROUTES_V6,
    ("RTM_NEWROUTE", L.AF_INET): Change.ROUTES_V4,
    ("RTM_DELROUTE", L.AF_INET): Change.ROUTES_V4,
    ("RTM_NEWROUTE", L.AF_INET6): Change.ROUTES_V6,
    ("RTM_DELROUTE", L.AF_INET6): Change.ROUTES_V6,
}
# A link that comes up or goes down changes everything: its addresses join or leave the
# address lists, and the kernel drops its IPv4 routes without an RTM_DELROUTE.
LINK_FLIP = Change.ALL


def changes(event: str, family: int, before: Link | None = None, after: Link | None = None) -> int:
    """What one message changes. For link messages, ``before``/``after`` are the link as
    known before the message and as the message gives it (``after`` None: deleted)."""
    if event in ("RTM_NEWLINK", "RTM_DELLINK"):
        was = before is not None and before.up
        now = after is not None and after.up
        return LINK_FLIP if was != now else 0
    return CHANGES.get((event, family), 0)
