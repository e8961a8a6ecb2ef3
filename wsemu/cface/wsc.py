"""The WSC catalog functions for C (reference/spi.md §1.4) over wsemu's catalog file.

Each reads the saved catalog (``catalog.CatalogStore``, under WSEMU_CONFIG_DIR when set); each
change is one locked read-modify-write, so concurrent installers do not lose each other's
entries. As on Windows, a process that already ran WSAStartup keeps the catalog it read then;
its next first WSAStartup sees the change.
"""
from __future__ import annotations

import uuid

from wsemu import abi as W
from wsemu import catalog
from wsemu.abi import WSAPROTOCOL_INFOW
from wsemu.cface import SOCKET_ERROR
from wsemu.cface.spi_boundary import (INFO_SIZE, NULL, code_call, guid_in, info_in, info_out, required,
                                      spi_call, wide_in, wide_out)
from wsemu.errors import WSAError

_PROTOCOLS_MAX = 4096             # longest lpiProtocols list read (it ends at its 0)


def _protocols(lpiProtocols) -> set[int] | None:
    if lpiProtocols == NULL:
        return None
    wanted = set()
    for i in range(_PROTOCOLS_MAX):
        if lpiProtocols[i] == 0:
            return wanted
        wanted.add(lpiProtocols[i])
    raise WSAError(W.WSAEINVAL)


@spi_call("wsemu_WSCEnumProtocols", SOCKET_ERROR)
def WSCEnumProtocols(lpiProtocols, lpProtocolBuffer, lpdwBufferLength, lpErrno) -> int:
    """Every entry, hidden and layered ones too (unlike WSAEnumProtocols); a short buffer:
    WSAENOBUFS with the size needed."""
    required(lpdwBufferLength)
    wanted = _protocols(lpiProtocols)
    infos = [info for info in catalog.CatalogStore().load().all_entries()
             if wanted is None or info.iProtocol in wanted]
    needed = len(infos) * INFO_SIZE
    if lpProtocolBuffer == NULL or lpdwBufferLength[0] < needed:
        lpdwBufferLength[0] = needed
        raise WSAError(W.WSAENOBUFS)
    for i, info in enumerate(infos):
        info_out(lpProtocolBuffer, info, i)
    return len(infos)


def _entries_in(lpProtocolInfoList, count: int) -> list[WSAPROTOCOL_INFOW]:
    if count == 0:
        raise WSAError(W.WSAEINVAL)
    required(lpProtocolInfoList)
    infos = [info_in(lpProtocolInfoList + i) for i in range(count)]
    for info in infos:
        if not 0 <= info.ProtocolChain.ChainLen <= W.MAX_PROTOCOL_CHAIN:
            raise WSAError(W.WSAEINVAL)
    return infos


@spi_call("wsemu_WSCInstallProvider", SOCKET_ERROR)
def WSCInstallProvider(lpProviderId, lpszProviderDllPath, lpProtocolInfoList, dwNumberOfEntries, lpErrno) -> int:
    """Appends the entries under the provider's GUID with new catalog IDs (a base entry's
    chain names itself). A GUID already installed, or no entry: WSAEINVAL."""
    provider = guid_in(lpProviderId)
    path = wide_in(lpszProviderDllPath)
    infos = _entries_in(lpProtocolInfoList, dwNumberOfEntries)
    if not path:
        raise WSAError(W.WSAEINVAL)
    store = catalog.CatalogStore()
    with store.locked():
        current = store.load()
        if any(entry.info.ProviderId == provider for entry in current.entries):
            raise WSAError(W.WSAEINVAL)
        for info in infos:
            info.ProviderId = provider
            info.dwCatalogEntryId = current.next_id
            if info.ProtocolChain.ChainLen == W.BASE_PROTOCOL:
                info.ProtocolChain.ChainEntries[0] = current.next_id
            current.entries.append(catalog.CatalogEntry(info, path))
            current.next_id += 1          # IDs are never reused (reference/spi.md §6)
        store.save(current)
    return 0


@spi_call("wsemu_WSCDeinstallProvider", SOCKET_ERROR)
def WSCDeinstallProvider(lpProviderId, lpErrno) -> int:
    """Removes every entry of the GUID; none: WSAEINVAL."""
    provider = guid_in(lpProviderId)
    store = catalog.CatalogStore()
    with store.locked():
        current = store.load()
        kept = [entry for entry in current.entries if entry.info.ProviderId != provider]
        if len(kept) == len(current.entries):
            raise WSAError(W.WSAEINVAL)
        current.entries = kept
        store.save(current)
    return 0


@code_call("wsemu_WSCWriteProviderOrder")
def WSCWriteProviderOrder(lpwdCatalogEntryId, dwNumberOfEntries) -> None:
    """The new order must be a complete permutation of the catalog's IDs (WSAEINVAL)."""
    required(lpwdCatalogEntryId)
    store = catalog.CatalogStore()
    with store.locked():
        current = store.load()
        if dwNumberOfEntries != len(current.entries):
            raise WSAError(W.WSAEINVAL)
        order = list(lpwdCatalogEntryId[0:dwNumberOfEntries])
        by_id = {entry.id: entry for entry in current.entries}
        if sorted(order) != sorted(by_id):
            raise WSAError(W.WSAEINVAL)
        current.entries = [by_id[catalog_id] for catalog_id in order]
        store.save(current)


def provider_path(provider: uuid.UUID) -> str:
    """The transport catalog's path for a provider GUID (not the namespace catalog, where
    ReactOS looks: reference/spi.md §4.4)."""
    for entry in catalog.CatalogStore().load().entries:
        if entry.info.ProviderId == provider:
            return entry.path
    raise WSAError(W.WSAEINVAL)


@spi_call("wsemu_WSCGetProviderPath", SOCKET_ERROR)
def WSCGetProviderPath(lpProviderId, lpszProviderDllPath, lpProviderDllPathLen, lpErrno) -> int:
    path = provider_path(guid_in(lpProviderId))
    required(lpProviderDllPathLen)
    wide_out(lpszProviderDllPath, lpProviderDllPathLen[0], path)
    return 0

