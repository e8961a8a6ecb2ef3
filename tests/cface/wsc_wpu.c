/* The WSC catalog calls (install, enumerate, reorder, path, remove) over the catalog in
 * WSEMU_CONFIG_DIR, and the WPU upcalls a non-IFS provider relies on: socket handles with a
 * context, and WPUCompleteOverlappedRequest completing a WSAOVERLAPPED. */
#include <poll.h>

#include <winsock2.h>
#include <ws2spi.h>

#include "check.h"

static int err;
static const GUID lsp_guid = {0x5f3c1d2e, 0x1111, 0x4222, {0x83, 0x33, 0x94, 0x44, 0x55, 0x55, 0x66, 0x66}};
static const GUID unknown_guid = {0x01020304, 0x0506, 0x0708, {1, 2, 3, 4, 5, 6, 7, 8}};
static const WCHAR lsp_path[] = {'/', 'o', 'p', 't', '/', 'l', 's', 'p', '.', 's', 'o', 0};

static WSAPROTOCOL_INFOW catalog[64];

static int enumerate(INT *protocols)
{
    DWORD length = sizeof catalog;
    return WSCEnumProtocols(protocols, catalog, &length, &err);
}

/* wsemu's event objects are eventfds: readable while signalled */
static int signalled(WSAEVENT event)
{
    struct pollfd fd = {(int)(intptr_t)event, POLLIN, 0};
    return poll(&fd, 1, 0) == 1;
}

static void catalog_calls(void)
{
    int base = enumerate(NULL);
    CHECK(base == 6);
    DWORD needed = 0;
    CHECK_FAILS(WSCEnumProtocols(NULL, catalog, &needed, &err), SOCKET_ERROR, WSAENOBUFS);
    CHECK(needed == 6 * sizeof(WSAPROTOCOL_INFOW));
    CHECK_FAILS(WSCEnumProtocols(NULL, catalog, NULL, &err), SOCKET_ERROR, WSAEFAULT);

    /* an LSP: its layered (dummy) entry and one chain over TCP/IPv4 */
    WSAPROTOCOL_INFOW tcp = catalog[0], entries[2];
    entries[0] = tcp;
    entries[0].ProtocolChain.ChainLen = LAYERED_PROTOCOL;
    entries[0].dwProviderFlags |= PFL_HIDDEN;
    entries[1] = tcp;
    entries[1].ProtocolChain.ChainLen = 2;
    entries[1].ProtocolChain.ChainEntries[1] = tcp.dwCatalogEntryId;
    CHECK(WSCInstallProvider((GUID *)&lsp_guid, lsp_path, entries, 2, &err) == 0);
    CHECK(enumerate(NULL) == base + 2);
    DWORD dummy = catalog[base].dwCatalogEntryId, chain = catalog[base + 1].dwCatalogEntryId;
    CHECK(dummy == 1007 && chain == 1008);
    CHECK(catalog[base].ProtocolChain.ChainLen == 0 && catalog[base + 1].ProtocolChain.ChainLen == 2);
    CHECK(memcmp(&catalog[base].ProviderId, &lsp_guid, sizeof(GUID)) == 0);
    CHECK_FAILS(WSCInstallProvider((GUID *)&lsp_guid, lsp_path, entries, 2, &err), SOCKET_ERROR, WSAEINVAL);
    CHECK_FAILS(WSCInstallProvider((GUID *)&unknown_guid, lsp_path, entries, 0, &err), SOCKET_ERROR, WSAEINVAL);
    CHECK_FAILS(WSCInstallProvider(NULL, lsp_path, entries, 1, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(WSCInstallProvider((GUID *)&unknown_guid, NULL, entries, 1, &err), SOCKET_ERROR, WSAEFAULT);

    INT udp_only[] = {IPPROTO_UDP, 0};
    CHECK(enumerate(udp_only) == 2);

    WCHAR path[64];
    INT pathlen = 64;
    CHECK(WSCGetProviderPath((GUID *)&lsp_guid, path, &pathlen, &err) == 0);
    CHECK(memcmp(path, lsp_path, sizeof lsp_path) == 0);
    pathlen = 5;
    CHECK_FAILS(WSCGetProviderPath((GUID *)&lsp_guid, path, &pathlen, &err), SOCKET_ERROR, WSAEFAULT);
    pathlen = 64;
    CHECK_FAILS(WSCGetProviderPath((GUID *)&unknown_guid, path, &pathlen, &err), SOCKET_ERROR, WSAEINVAL);

    /* the chain first: a complete permutation of the IDs, nothing less */
    DWORD order[64];
    int n = enumerate(NULL);
    order[0] = chain;
    for (int i = 0, k = 1; i < n; i++)
        if (catalog[i].dwCatalogEntryId != chain)
            order[k++] = catalog[i].dwCatalogEntryId;
    CHECK(WSCWriteProviderOrder(order, n) == 0);
    CHECK(enumerate(NULL) == n && catalog[0].dwCatalogEntryId == chain);
    CHECK(WSCWriteProviderOrder(order, n - 1) == WSAEINVAL);
    order[1] = order[2];
    CHECK(WSCWriteProviderOrder(order, n) == WSAEINVAL);
    CHECK(WSCWriteProviderOrder(NULL, n) == WSAEFAULT);

    CHECK(WSCDeinstallProvider((GUID *)&lsp_guid, &err) == 0);
    CHECK(enumerate(NULL) == base);
    CHECK_FAILS(WSCDeinstallProvider((GUID *)&lsp_guid, &err), SOCKET_ERROR, WSAEINVAL);
}

static void upcalls(void)
{
    /* a non-IFS handle and its context */
    SOCKET handle = WPUCreateSocketHandle(1001, (DWORD_PTR)0xC0FFEE, &err);
    CHECK(handle != INVALID_SOCKET);
    DWORD_PTR context = 0;
    CHECK(WPUQuerySocketHandleContext(handle, &context, &err) == 0 && context == 0xC0FFEE);
    CHECK_FAILS(WPUQuerySocketHandleContext(handle, NULL, &err), SOCKET_ERROR, WSAEFAULT);

    /* completion: InternalHigh, then Internal, then the event */
    WSAOVERLAPPED ov = {0};
    ov.Internal = WSS_OPERATION_IN_PROGRESS;
    ov.hEvent = WPUCreateEvent(&err);
    CHECK(ov.hEvent != NULL && !signalled(ov.hEvent));
    CHECK(WPUCompleteOverlappedRequest(handle, &ov, 0, 42, &err) == 0);
    CHECK(ov.Internal == 0 && ov.InternalHigh == 42 && signalled(ov.hEvent));
    CHECK(WPUResetEvent(ov.hEvent, &err) == TRUE && !signalled(ov.hEvent));
    CHECK(WPUSetEvent(ov.hEvent, &err) == TRUE && signalled(ov.hEvent));
    CHECK_FAILS(WPUCompleteOverlappedRequest(handle, NULL, 0, 0, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK(WPUCloseEvent(ov.hEvent, &err) == TRUE);
    CHECK_FAILS(WPUSetEvent(ov.hEvent, &err), FALSE, WSA_INVALID_HANDLE);

    /* an IFS handle is no WPUCreateSocketHandle handle */
    SOCKET ifs = WPUModifyIFSHandle(1001, (SOCKET)123456, &err);
    CHECK(ifs == 123456);
    CHECK_FAILS(WPUCompleteOverlappedRequest(ifs, &ov, 0, 0, &err), SOCKET_ERROR, WSAEINVAL);
    CHECK_FAILS(WPUQuerySocketHandleContext(ifs, &context, &err), SOCKET_ERROR, WSAENOTSOCK);
    CHECK(WPUCloseSocketHandle(ifs, &err) == 0);

    CHECK(WPUCloseSocketHandle(handle, &err) == 0);
    CHECK_FAILS(WPUCloseSocketHandle(handle, &err), SOCKET_ERROR, WSAENOTSOCK);
    CHECK_FAILS(WPUQuerySocketHandleContext(handle, &context, &err), SOCKET_ERROR, WSAENOTSOCK);
    CHECK_FAILS(WPUCompleteOverlappedRequest(handle, &ov, 0, 0, &err), SOCKET_ERROR, WSAEINVAL);

    /* the rest of the table */
    fd_set set;
    FD_ZERO(&set);
    FD_SET(handle, &set);
    CHECK(WPUFDIsSet(handle, &set) == 1 && WPUFDIsSet(handle + 4, &set) == 0 && WPUFDIsSet(handle, NULL) == 0);
    WSATHREADID thread = {0};
    CHECK(WPUOpenCurrentThread(&thread, &err) == 0 && thread.ThreadHandle != NULL);
    CHECK_FAILS(WPUQueueApc(&thread, NULL, 0, &err), SOCKET_ERROR, WSAEOPNOTSUPP);   /* no APCs yet */
    CHECK(WPUCloseThread(&thread, &err) == 0);
    LPBLOCKINGCALLBACK callback = (LPBLOCKINGCALLBACK)1;
    DWORD_PTR callback_context = 1;
    CHECK(WPUQueryBlockingCallback(1001, &callback, &callback_context, &err) == 0);
    CHECK(callback == NULL && callback_context == 0);
    CHECK(WPUPostMessage((HWND)(intptr_t)0x7fff0000, 0x400, 0, 0) == FALSE);   /* no such window */
    WCHAR path[64];
    INT pathlen = 64;
    WSAPROTOCOL_INFOW tcp = catalog[0];
    CHECK(WPUGetProviderPath(&tcp.ProviderId, path, &pathlen, &err) == 0 && path[0] == 'p');
    WSPUPCALLTABLE table = wsemu_upcall_table();
    void **entries = (void **)&table;
    for (size_t i = 0; i < sizeof table / sizeof(void *); i++)
        CHECK(entries[i] != NULL);
}

int main(void)
{
    catalog_calls();
    upcalls();
    printf("%s: %d failures\n", __FILE__, failures);
    return failures != 0;
}
