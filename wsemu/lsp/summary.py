"""JSON-safe summaries of SPI arguments and results, for the trace LSP (``wsemu.lsp.trace``).

Windows values throughout: integers as they are, socket addresses as "host:port" text
("[host]:port" for IPv6), data buffers as their length and their first ``HEAD`` bytes in hex
(enough to recognise a protocol without copying payloads into the trace), WSAPROTOCOL_INFOW
as the three fields that tell layers apart, callables by name.
"""
from __future__ import annotations

from wsemu import sockaddr
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.errors import WSAError

HEAD = 32                                   # bytes of each buffer shown in hex

# Which positional argument (after the socket) is a socket address, per call: bytes there
# are a SOCKADDR to decode; elsewhere bytes are data.
ADDRESS_ARGUMENT = {"WSPBind": 0, "WSPConnect": 0, "WSPJoinLeaf": 0, "WSPSendTo": 3,
                    "WSPAddressToString": 0}
RECEIVES = frozenset(("WSPRecv", "WSPRecvFrom"))   # their buffers hold only ``result[0]`` bytes


def address(value: object) -> str | None:
    """A SOCKADDR (bytes) or an address tuple as "host:port"; None if it is neither."""
    try:
        if isinstance(value, tuple):
            _, value = sockaddr.parse_name(value)
        else:
            _, value = sockaddr.decode(value)
    except (WSAError, TypeError, ValueError, IndexError):
        return None
    host, port = value[0], value[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_address_tuple(value: tuple) -> bool:
    return len(value) in (2, 4) and isinstance(value[0], str) and isinstance(value[1], int)


def _is_bytes(value: object) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview))


def data(buffers: list, limit: int | None = None) -> dict:
    """Byte buffers (one, or a WSABUF list) as {"len": total length, "hex": first bytes}."""
    shown = HEAD if limit is None else min(HEAD, limit)
    if len(buffers) == 1:                     # the common case: no copy but the head's
        view = _bytes_view(buffers[0])
        return {"len": view.nbytes, "hex": view[:shown].hex()}
    total = 0
    head = bytearray()
    for buf in buffers:
        view = _bytes_view(buf)
        total += view.nbytes
        if len(head) < shown:
            head += view[:shown - len(head)]
    return {"len": total, "hex": head.hex()}


def _bytes_view(buf: object) -> memoryview:
    view = memoryview(buf)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def value(obj: object) -> object:
    """Any argument or result, JSON-safe."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if _is_bytes(obj):
        return data([obj])
    if isinstance(obj, WSAPROTOCOL_INFOW):
        chain = obj.ProtocolChain
        return {"catalog_id": obj.dwCatalogEntryId, "chain": chain.ChainEntries[:chain.ChainLen],
                "reserved": obj.dwProviderReserved}
    if isinstance(obj, (list, tuple)):
        if isinstance(obj, tuple) and _is_address_tuple(obj):
            text = address(obj)
            if text is not None:
                return text
        if obj and all(_is_bytes(b) for b in obj):
            return data(obj)
        return [value(item) for item in obj]
    if hasattr(obj, "fd_array"):                 # an fd_set: its handles
        return list(obj.fd_array)
    if hasattr(obj, "optlen") and hasattr(obj, "data"):   # getsockopt's answer
        return {**data([obj.data]), "optlen": obj.optlen}
    if callable(obj):
        return getattr(obj, "__qualname__", type(obj).__name__)
    return type(obj).__name__


def arguments(call: str, args: tuple, result: object) -> list:
    """A call's arguments (the socket excluded), summarised after the call returned: a
    receive's buffers then show the bytes that arrived."""
    out = [value(a) for a in args]
    where = ADDRESS_ARGUMENT.get(call)
    if where is not None and where < len(args) and _is_bytes(args[where]):
        out[where] = address(args[where]) or out[where]
    if call in RECEIVES and args:
        buffers = args[0]
        if isinstance(buffers, (list, tuple)) and buffers and all(_is_bytes(b) for b in buffers):
            received = result[0] if isinstance(result, tuple) and isinstance(result[0], int) else 0
            out[0] = data(buffers, limit=received)
    return out
