"""libwsemu's WSAEnumProtocolsW/A: the catalog entries into the caller's array; a buffer too
small for all of them (or NULL) is WSAENOBUFS with the needed bytes in *lpdwBufferLength."""
from __future__ import annotations

from wsemu import abi as W
from wsemu import ws2
from wsemu.cface import _call, ffi, protocol_info
from wsemu.errors import WSAError

_ffi = ffi()


def _enum(filter_, buffer, length, ansi: bool) -> int:
    if length == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    found = ws2.WSAEnumProtocolsW(_protocols(filter_))
    size = protocol_info.size(ansi)
    available = 0 if buffer == _ffi.NULL else length[0]
    if available < len(found) * size:
        length[0] = len(found) * size
        raise WSAError(W.WSAENOBUFS)
    for i, info in enumerate(found):
        protocol_info.write(buffer + i, info, ansi)
    return len(found)


def _protocols(filter_) -> list[int] | None:
    """The zero-terminated lpiProtocols array (NULL: every protocol)."""
    if filter_ == _ffi.NULL:
        return None
    protocols, i = [], 0
    while filter_[i]:
        protocols.append(filter_[i])
        i += 1
    return protocols


@_call()
def WSAEnumProtocolsW(filter_, buffer, length) -> int:
    return _enum(filter_, buffer, length, ansi=False)


@_call()
def WSAEnumProtocolsA(filter_, buffer, length) -> int:
    return _enum(filter_, buffer, length, ansi=True)
