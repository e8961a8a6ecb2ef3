"""Calls the netns tests make inside the lab's namespaces (tests/netlab.py runs them in its
agents): wsemu in the subject's namespace, plain sockets in the peer's. State between
calls (sockets, event objects, windows, blocked threads) lives in ``_held`` by name.

Every call returns plain values (WSA error codes as ints, 0 for success) so the test
process can compare them."""
from __future__ import annotations

import socket
import struct
import threading

from wsemu import msgqueue, sockaddr, ws2
from wsemu.errors import WSAError
from wsemu.netstate import layouts

WM_SOCKET = 0x0400 + 7
_held: dict[str, dict] = {}


def _code(call, *args) -> int:
    try:
        call(*args)
        return 0
    except WSAError as exc:
        return exc.winerror


def startup() -> None:
    ws2.WSAStartup(0x0202)


def _socket(family: int, kind: int = ws2.SOCK_DGRAM) -> int:
    return ws2.socket(family, kind, ws2.IPPROTO_TCP if kind == ws2.SOCK_STREAM else ws2.IPPROTO_UDP)


def interface_list(family: int = ws2.AF_INET) -> list[tuple[int, str, str, str]]:
    s = _socket(family)
    try:
        data = ws2.WSAIoctl(s, ws2.SIO_GET_INTERFACE_LIST, None, 16384)
    finally:
        ws2.closesocket(s)
    rows = []
    for at in range(0, len(data), 76):
        flags = struct.unpack_from("<I", data, at)[0]
        hosts = []
        for i in range(3):
            gen = data[at + 4 + 24 * i:at + 28 + 24 * i]
            hosts.append(socket.inet_ntop(socket.AF_INET, gen[4:8]) if family == ws2.AF_INET
                         else socket.inet_ntop(socket.AF_INET6, gen[8:24]))
        rows.append((flags, *hosts))
    return rows


def address_list(family: int = ws2.AF_INET) -> list[str]:
    s = _socket(family)
    try:
        return [address[0] for _, address in
                layouts.read_socket_address_list(ws2.WSAIoctl(s, ws2.SIO_ADDRESS_LIST_QUERY, None, 16384))]
    finally:
        ws2.closesocket(s)


def route_query(host: str, family: int = ws2.AF_INET):
    """The local address towards ``host``, or the WSA error."""
    s = _socket(family)
    try:
        out = ws2.WSAIoctl(s, ws2.SIO_ROUTING_INTERFACE_QUERY, sockaddr.encode(family, (host, 80)), 64)
        return sockaddr.decode(out)[1][0]
    except WSAError as exc:
        return exc.winerror
    finally:
        ws2.closesocket(s)


def _request(name: str) -> int:
    held = _held[name]
    return _code(ws2.WSAIoctl, held["s"], held["code"], held["inbuf"], 0)


def watch(name: str, code: str, mode: str = "event", destination: str | None = None,
          family: int = ws2.AF_INET) -> int:
    """A socket registered for FD_ADDRESS_LIST_CHANGE | FD_ROUTING_INTERFACE_CHANGE (an
    event object, or a window's messages) that has issued ``code``: its WSA result
    (WSAEWOULDBLOCK expected)."""
    s = _socket(family)
    mask = ws2.FD_ADDRESS_LIST_CHANGE | ws2.FD_ROUTING_INTERFACE_CHANGE
    held = _held[name] = {"s": s, "code": getattr(ws2, code), "mode": mode,
                          "inbuf": None if destination is None else sockaddr.encode(family, (destination, 0))}
    if mode == "event":
        held["event"] = ws2.WSACreateEvent()
        ws2.WSAEventSelect(s, held["event"], mask)
    else:
        held["hwnd"] = msgqueue.CreateWindow()
        ws2.WSAAsyncSelect(s, held["hwnd"], WM_SOCKET, mask)
    return _request(name)


def reissue(name: str) -> int:
    return _request(name)


def wait_notice(name: str, timeout_ms: int = 10_000) -> tuple[int, int]:
    """Event mode: (the FD_* events WSAEnumNetworkEvents reports, the error of the change
    bit) once the event is set; (0, 0) at the timeout. Message mode: (lParam's event,
    lParam's error) of the next message."""
    held = _held[name]
    if held["mode"] == "event":
        if ws2.WSAWaitForMultipleEvents([held["event"]], False, timeout_ms) == ws2.WSA_WAIT_TIMEOUT:
            return 0, 0
        events = ws2.WSAEnumNetworkEvents(held["s"], held["event"])
        bit = ws2.FD_ADDRESS_LIST_CHANGE_BIT if events.lNetworkEvents & ws2.FD_ADDRESS_LIST_CHANGE \
            else ws2.FD_ROUTING_INTERFACE_CHANGE_BIT
        return events.lNetworkEvents, events.iErrorCode[bit]
    msg = msgqueue.GetMessage(held["hwnd"], timeout_ms)
    if msg is None:
        return 0, 0
    assert msg.wParam == held["s"] and msg.message == WM_SOCKET
    return msg.lParam & 0xFFFF, msg.lParam >> 16


def pending_notice(name: str) -> int:
    """What is posted and not yet consumed, right now (after a query has read every netlink
    message the kernel had queued, so nothing is still on its way)."""
    address_list()
    held = _held[name]
    if held["mode"] == "event":
        return ws2.WSAEnumNetworkEvents(held["s"], held["event"]).lNetworkEvents
    msg = msgqueue.PeekMessage(held["hwnd"])
    return 0 if msg is None else msg.lParam & 0xFFFF


def forget(name: str) -> None:
    held = _held.pop(name)
    ws2.closesocket(held["s"])
    if "event" in held:
        ws2.WSACloseEvent(held["event"])
    if "hwnd" in held:
        msgqueue.DestroyWindow(held["hwnd"])


def block(name: str, code: str, destination: str | None = None, family: int = ws2.AF_INET) -> None:
    """A thread blocked in ``code`` on a blocking socket; returns once it is inside the wait."""
    from tests.helpers import wait_for
    from wsemu.spi.descriptor import table
    s = _socket(family)
    inbuf = None if destination is None else sockaddr.encode(family, (destination, 0))
    held = _held[name] = {"s": s, "result": []}
    thread = held["thread"] = threading.Thread(
        target=lambda: held["result"].append(_code(ws2.WSAIoctl, s, getattr(ws2, code), inbuf, 0)))
    thread.start()
    desc = table().get(s)
    assert wait_for(lambda: desc.blocked or held["result"]), "the request never blocked"


def unblocked(name: str, timeout: float = 10.0) -> list[int]:
    """The blocked request's result once it returns ([] if it is still waiting)."""
    held = _held[name]
    held["thread"].join(timeout)
    return list(held["result"])


def close_blocked(name: str) -> list[int]:
    held = _held.pop(name)
    ws2.closesocket(held["s"])
    held["thread"].join(10)
    return list(held["result"])


def connect_tcp(host: str, port: int, family: int = ws2.AF_INET) -> int:
    s = _socket(family, ws2.SOCK_STREAM)
    try:
        return _code(ws2.connect, s, sockaddr.encode(family, (host, port)))
    finally:
        ws2.closesocket(s)


def connect_tcp_nonblocking(host: str, port: int) -> int:
    """A non-blocking connect's result (the kernel refuses at once when the link is down)."""
    s = _socket(ws2.AF_INET, ws2.SOCK_STREAM)
    ws2.ioctlsocket(s, ws2.FIONBIO, 1)
    try:
        return _code(ws2.connect, s, sockaddr.encode(ws2.AF_INET, (host, port)))
    finally:
        ws2.closesocket(s)


def sendto_udp(host: str, port: int) -> int:
    s = _socket(ws2.AF_INET)
    try:
        return _code(ws2.sendto, s, b"x", 0, sockaddr.encode(ws2.AF_INET, (host, port)))
    finally:
        ws2.closesocket(s)


def udp_connected(name: str, host: str, port: int) -> int:
    """A UDP socket connected to ``host`` (kept as ``name``): connect's result."""
    s = _socket(ws2.AF_INET)
    _held[name] = {"s": s}
    return _code(ws2.connect, s, sockaddr.encode(ws2.AF_INET, (host, port)))


def udp_send(name: str) -> int:
    return _code(ws2.send, _held[name]["s"], b"x", 0)


def run(argv: list[str]) -> tuple[int, str]:
    """A program run in this namespace: (exit status, its output)."""
    import subprocess
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


# ---- the peer's side (plain sockets) -------------------------------------------------------
def listen_tcp(port: int, family: int = socket.AF_INET) -> None:
    """A listener that accepts and drops connections, in a thread, until the agent exits."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    listener.listen(64)

    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
