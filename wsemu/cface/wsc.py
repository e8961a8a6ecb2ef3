"""The WSC catalog functions for C (reference/spi.md §1.4): C arguments in, ``wsemu.spi.wsc``
does the work (the catalog rules and the locked read-modify-write are there), results out.
"""
from __future__ import annotations

from wsemu import abi as W
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.cface import SOCKET_ERROR
from wsemu.cface.spi_boundary import (INFO_SIZE, NULL, code_call, guid_in, info_in, info_out, path_out,
                                      required, spi_call, wide_in)
from wsemu.errors import WSAError
from wsemu.spi import wsc

_LIST_MAX = 4096     # longest lpiProtocols or ID list read: a wild count is no licence to read on


def _protocols(lpiProtocols) -> list[int] | None:
    """The lpiProtocols list up to and including its terminating 0."""
    if lpiProtocols == NULL:
        return None
    for i in range(_LIST_MAX):
        if lpiProtocols[i] == 0:
            return list(lpiProtocols[0:i + 1])
    raise WSAError(W.WSAEINVAL)


@spi_call("wsemu_WSCEnumProtocols", SOCKET_ERROR)
def WSCEnumProtocols(lpiProtocols, lpProtocolBuffer, lpdwBufferLength, lpErrno) -> int:
    """A short buffer: WSAENOBUFS with the size needed."""
    required(lpdwBufferLength)
    infos = wsc.WSCEnumProtocols(_protocols(lpiProtocols))
    needed = len(infos) * INFO_SIZE
    if lpProtocolBuffer == NULL or lpdwBufferLength[0] < needed:
        lpdwBufferLength[0] = needed
        raise WSAError(W.WSAENOBUFS)
    for i, info in enumerate(infos):
        info_out(lpProtocolBuffer, info, i)
    return len(infos)


def _entries_in(lpProtocolInfoList, count: int) -> list[WSAPROTOCOL_INFOW]:
    if count == 0 or count > _LIST_MAX:
        raise WSAError(W.WSAEINVAL)
    required(lpProtocolInfoList)
    return [info_in(lpProtocolInfoList + i) for i in range(count)]


@spi_call("wsemu_WSCInstallProvider", SOCKET_ERROR)
def WSCInstallProvider(lpProviderId, lpszProviderDllPath, lpProtocolInfoList, dwNumberOfEntries, lpErrno) -> int:
    provider = guid_in(lpProviderId)
    path = wide_in(lpszProviderDllPath)
    wsc.WSCInstallProvider(provider, path, _entries_in(lpProtocolInfoList, dwNumberOfEntries))
    return 0


@spi_call("wsemu_WSCDeinstallProvider", SOCKET_ERROR)
def WSCDeinstallProvider(lpProviderId, lpErrno) -> int:
    wsc.WSCDeinstallProvider(guid_in(lpProviderId))
    return 0


@code_call("wsemu_WSCWriteProviderOrder")
def WSCWriteProviderOrder(lpwdCatalogEntryId, dwNumberOfEntries) -> None:
    required(lpwdCatalogEntryId)
    if dwNumberOfEntries > _LIST_MAX:        # more than any catalog holds: not a permutation
        raise WSAError(W.WSAEINVAL)
    wsc.WSCWriteProviderOrder(list(lpwdCatalogEntryId[0:dwNumberOfEntries]))


@spi_call("wsemu_WSCGetProviderPath", SOCKET_ERROR)
def WSCGetProviderPath(lpProviderId, lpszProviderDllPath, lpProviderDllPathLen, lpErrno) -> int:
    return path_out(wsc.WSCGetProviderPath(guid_in(lpProviderId)), lpszProviderDllPath, lpProviderDllPathLen)
