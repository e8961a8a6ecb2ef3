"""The interface and routing ioctls of WSPIoctl, over ``wsemu.netstate``.

* SIO_GET_INTERFACE_LIST: INTERFACE_INFO per address of the socket's family (a buffer too
  small: WSAEFAULT).
* SIO_ADDRESS_LIST_QUERY: SOCKET_ADDRESS_LIST of the usable addresses of the socket's family
  (too small: WSAEFAULT, and lpcbBytesReturned says the size needed).
* SIO_ROUTING_INTERFACE_QUERY: the local address the kernel would send to the given
  destination from (too small: WSAEFAULT with the size needed; no route: WSAENETUNREACH).
* SIO_ADDRESS_LIST_CHANGE / SIO_ROUTING_INTERFACE_CHANGE: on a blocking socket, wait for the
  change; on a non-blocking one, WSAEWOULDBLOCK at once and FD_ADDRESS_LIST_CHANGE /
  FD_ROUTING_INTERFACE_CHANGE when it comes. Either way the call re-enables that event.
"""
from __future__ import annotations

from wsemu import abi as W
from wsemu import sockaddr
from wsemu.errors import ioctl_failure
from wsemu.events import registry
from wsemu.events import state as S
from wsemu.netstate import layouts, tables
from wsemu.netstate.live import live
from wsemu.spi.descriptor import Descriptor


def _fits(data: bytes, cb_out: int, tell_size: bool) -> bytes:
    if cb_out < len(data):
        raise ioctl_failure(W.WSAEFAULT, len(data) if tell_size else None)
    return data


def interface_list(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    rows = tables.interface_rows(live.snapshot(), desc.family)
    return _fits(layouts.interface_info(desc.family, rows), cb_out, tell_size=False)


def address_list_query(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    addresses = tables.address_list(live.snapshot(), desc.family)
    return _fits(layouts.socket_address_list(addresses), cb_out, tell_size=True)


def _destination(desc: Descriptor, inbuf: bytes | None) -> tuple:
    if inbuf is None:
        raise ioctl_failure(W.WSAEFAULT)
    family, address = sockaddr.decode(inbuf)
    if family != desc.family:
        raise ioctl_failure(W.WSAEINVAL)
    return address


def _is_wildcard(address: tuple) -> bool:
    return address[0] in ("0.0.0.0", "::")


def routing_interface_query(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    destination = _destination(desc, inbuf)
    if _is_wildcard(destination):
        raise ioctl_failure(W.WSAEINVAL)         # (Linux would answer for the local host)
    answer = live.route_source(desc.family, destination)
    if isinstance(answer, int):
        raise ioctl_failure(answer)
    return _fits(sockaddr.encode(desc.family, answer), cb_out, tell_size=True)


def _await_change(desc: Descriptor, call: S.Call, event: int, kinds: int, destination: tuple | None) -> bytes:
    registry.reenable(desc, call)
    if desc.is_nonblocking():
        live.watch((desc, event), kinds, desc.family, destination,
                   lambda: registry.network_changed(desc, event))
        raise ioctl_failure(W.WSAEWOULDBLOCK, 0)
    live.wait(desc, kinds, desc.family, destination)
    return b""


def address_list_change(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    return _await_change(desc, S.Call.ADDRESS_LIST_QUERY, S.ADDRESS_LIST_CHANGE,
                         tables.ADDRESSES[desc.family], None)


def routing_interface_change(provider, desc: Descriptor, inbuf: bytes | None, cb_out: int) -> bytes:
    destination = _destination(desc, inbuf)
    return _await_change(desc, S.Call.ROUTING_QUERY, S.ROUTING_CHANGE, tables.ROUTES[desc.family],
                         None if _is_wildcard(destination) else destination)


HANDLERS = {
    W.SIO_GET_INTERFACE_LIST: interface_list,
    W.SIO_ADDRESS_LIST_QUERY: address_list_query,
    W.SIO_ROUTING_INTERFACE_QUERY: routing_interface_query,
    W.SIO_ADDRESS_LIST_CHANGE: address_list_change,
    W.SIO_ROUTING_INTERFACE_CHANGE: routing_interface_change,
}
