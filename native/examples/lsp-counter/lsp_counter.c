/* lsp-counter: a minimal non-IFS layered service provider that counts the bytes each socket
 * sends and receives (the core of Microsoft's nonifslsp sample, reference/spi.md §4.1-4.3).
 *
 * ws2 starts it once per chain entry it is installed under (one GUID each), with that chain
 * entry's WSAPROTOCOL_INFOW; a layer above it starts it with *its* chain entry, unmodified
 * (the chain then holds ours further down: the first entry whose provider is this file).
 * For each it finds, in the catalog, its chain entry and the entry below it
 * (ChainEntries[1]), and starts that one with wsemu_WSPStartupProvider: the base provider
 * gets its own WSAPROTOCOL_INFOW, another layer the chain entry unmodified.
 *
 * Every socket the application sees is a handle from WPUCreateSocketHandle whose context is
 * a SOCK_INFO: the lower provider's socket, the layer, and the counters. Each entry maps the
 * handle back with WPUQuerySocketHandleContext and calls the lower provider. On close, one
 * line per socket goes to the file named by LSP_COUNTER_LOG (if set):
 *     socket <handle> sent <bytes> received <bytes>
 *
 * Limits (the Microsoft sample does more): no overlapped I/O of its own (the lower provider
 * answers), and WSAAsyncSelect messages name the lower socket (the sample remaps them through
 * a hidden window).
 */
#define _GNU_SOURCE               /* dladdr: the file this provider was loaded from */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WSEMU_PROVIDER            /* this source exports its own WSPStartup (see <ws2spi.h>) */
#include <winsock2.h>
#include <ws2spi.h>

#define MAX_LAYERS 16

typedef struct {
    WSAPROTOCOL_INFOW self;    /* our chain entry */
    WSAPROTOCOL_INFOW next;    /* the entry below it: ChainEntries[1] */
    WSPPROC_TABLE lower;       /* that entry's provider */
    int lower_startups;
} LAYER;

typedef struct {
    SOCKET lower_socket;
    LAYER *layer;
    unsigned long long sent, received;
    int refs;                  /* 1 for the handle, +1 per call in progress */
} SOCK_INFO;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static WSPUPCALLTABLE upcalls;
static LAYER layers[MAX_LAYERS];
static int layer_count, startups;

/* ---- catalog ---------------------------------------------------------------------------- */
static int find_entry(DWORD id, WSAPROTOCOL_INFOW *out, LPINT lpErrno)
{
    DWORD length = 0;
    if (WSCEnumProtocols(NULL, NULL, &length, lpErrno) != SOCKET_ERROR || *lpErrno != WSAENOBUFS)
        return 0;
    WSAPROTOCOL_INFOW *all = malloc(length);
    if (all == NULL)
        return 0;
    int n = WSCEnumProtocols(NULL, all, &length, lpErrno), found = 0;
    for (int i = 0; i < n && !found; i++)
        if (all[i].dwCatalogEntryId == id) {
            *out = all[i];
            found = 1;
        }
    free(all);
    return found;
}

/* Is catalog entry ``entry``'s provider this very file (GetModuleFileName's job on Windows)? */
static int is_ours(const WSAPROTOCOL_INFOW *entry)
{
    Dl_info me;
    WCHAR path[1024];
    int length = sizeof path / sizeof path[0], err = 0;
    if (!dladdr((void *)WSPStartup, &me) || me.dli_fname == NULL
            || WSCGetProviderPath((LPGUID)&entry->ProviderId, path, &length, &err) != 0)
        return 0;
    size_t i = 0;
    for (; me.dli_fname[i] != 0 && path[i] == (WCHAR)(unsigned char)me.dli_fname[i]; i++)
        ;
    return me.dli_fname[i] == 0 && path[i] == 0;
}

/* Our chain entry for a protocol info: the info's own entry when ws2 started us with it, else
 * (started by a layer above, with that layer's chain) the first chain slot that is ours. */
static int own_entry(const WSAPROTOCOL_INFOW *info, WSAPROTOCOL_INFOW *out, LPINT lpErrno)
{
    for (int slot = -1; slot < info->ProtocolChain.ChainLen && slot < MAX_PROTOCOL_CHAIN; slot++) {
        DWORD id = slot < 0 ? info->dwCatalogEntryId : info->ProtocolChain.ChainEntries[slot];
        if (find_entry(id, out, lpErrno) && out->ProtocolChain.ChainLen >= 2 && is_ours(out))
            return 1;
    }
    return 0;
}

static int next_is_base(const LAYER *layer)
{
    return layer->next.ProtocolChain.ChainLen == BASE_PROTOCOL;
}

/* The started layer of a protocol info: ws2 passes our chain entry (or a duplicate's copy of
 * it), a layer above its own, whose chain holds ours. */
static LAYER *layer_for(const WSAPROTOCOL_INFOW *info)
{
    for (int i = 0; info != NULL && i < layer_count; i++)
        if (layers[i].self.dwCatalogEntryId == info->dwCatalogEntryId)
            return &layers[i];
    for (int slot = 0; info != NULL && slot < info->ProtocolChain.ChainLen && slot < MAX_PROTOCOL_CHAIN; slot++)
        for (int i = 0; i < layer_count; i++)
            if (layers[i].self.dwCatalogEntryId == info->ProtocolChain.ChainEntries[slot])
                return &layers[i];
    return layer_count ? &layers[0] : NULL;
}

/* ---- per-socket context ------------------------------------------------------------------ */
static SOCK_INFO *acquire(SOCKET s, LPINT lpErrno)
{
    DWORD_PTR context = 0;
    if (upcalls.lpWPUQuerySocketHandleContext(s, &context, lpErrno) == SOCKET_ERROR)
        return NULL;
    SOCK_INFO *info = (SOCK_INFO *)context;
    __atomic_add_fetch(&info->refs, 1, __ATOMIC_ACQ_REL);
    return info;
}

static void release(SOCK_INFO *info)
{
    if (__atomic_sub_fetch(&info->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(info);
}

/* A new lower socket becomes one of ours: a context and a handle of our chain entry. */
static SOCKET wrap(LAYER *layer, SOCKET lower_socket, LPINT lpErrno)
{
    SOCK_INFO *info = calloc(1, sizeof *info);
    if (info == NULL) {
        int ignored;
        layer->lower.lpWSPCloseSocket(lower_socket, &ignored);
        *lpErrno = WSAENOBUFS;
        return INVALID_SOCKET;
    }
    info->lower_socket = lower_socket;
    info->layer = layer;
    info->refs = 1;
    SOCKET handle = upcalls.lpWPUCreateSocketHandle(layer->self.dwCatalogEntryId, (DWORD_PTR)info, lpErrno);
    if (handle == INVALID_SOCKET) {
        int ignored;
        layer->lower.lpWSPCloseSocket(lower_socket, &ignored);
        free(info);
    }
    return handle;
}

static void report(SOCKET s, const SOCK_INFO *info)
{
    const char *path = getenv("LSP_COUNTER_LOG");
    FILE *log = path != NULL ? fopen(path, "a") : NULL;
    if (log == NULL)
        return;
    fprintf(log, "socket %llu sent %llu received %llu\n", (unsigned long long)s,
            __atomic_load_n(&info->sent, __ATOMIC_RELAXED), __atomic_load_n(&info->received, __ATOMIC_RELAXED));
    fclose(log);
}

/* ---- the 30 entries ------------------------------------------------------------------------ */
/* Most entries: map the handle, call the same entry below with the lower socket. */
#define PASS(s, call) do {                                                      \
        SOCK_INFO *ctx = acquire(s, lpErrno);                                   \
        if (ctx == NULL)                                                        \
            return SOCKET_ERROR;                                                \
        int result = ctx->layer->lower.call;                                    \
        release(ctx);                                                           \
        return result;                                                          \
    } while (0)

static SOCKET WSPAPI LspAccept(SOCKET s, struct sockaddr *addr, LPINT addrlen, LPCONDITIONPROC lpfnCondition,
                               DWORD_PTR dwCallbackData, LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return INVALID_SOCKET;
    SOCKET lower = ctx->layer->lower.lpWSPAccept(ctx->lower_socket, addr, addrlen, lpfnCondition, dwCallbackData,
                                                 lpErrno);
    SOCKET handle = lower == INVALID_SOCKET ? INVALID_SOCKET : wrap(ctx->layer, lower, lpErrno);
    release(ctx);
    return handle;
}

static INT WSPAPI LspAddressToString(struct sockaddr *lpsaAddress, DWORD dwAddressLength,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                                     LPDWORD lpdwAddressStringLength, LPINT lpErrno)
{
    LAYER *layer = layer_for(lpProtocolInfo);
    if (layer == NULL) {
        *lpErrno = WSANOTINITIALISED;
        return SOCKET_ERROR;
    }
    return layer->lower.lpWSPAddressToString(lpsaAddress, dwAddressLength,
                                             next_is_base(layer) ? &layer->next : lpProtocolInfo,
                                             lpszAddressString, lpdwAddressStringLength, lpErrno);
}

static int WSPAPI LspAsyncSelect(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent, LPINT lpErrno)
{
    PASS(s, lpWSPAsyncSelect(ctx->lower_socket, hWnd, wMsg, lEvent, lpErrno));
}

static int WSPAPI LspBind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
    PASS(s, lpWSPBind(ctx->lower_socket, name, namelen, lpErrno));
}

static int WSPAPI LspCancelBlockingCall(LPINT lpErrno)
{
    if (layer_count == 0) {
        *lpErrno = WSANOTINITIALISED;
        return SOCKET_ERROR;
    }
    return layers[0].lower.lpWSPCancelBlockingCall(lpErrno);
}

/* The last cleanup cleans every lower provider up as often as it was started. */
static int WSPAPI LspCleanup(LPINT lpErrno)
{
    pthread_mutex_lock(&lock);
    if (startups == 0) {
        pthread_mutex_unlock(&lock);
        *lpErrno = WSANOTINITIALISED;
        return SOCKET_ERROR;
    }
    if (--startups == 0) {
        for (int i = 0; i < layer_count; i++)
            while (layers[i].lower_startups-- > 0)
                layers[i].lower.lpWSPCleanup(lpErrno);
        layer_count = 0;
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

static int WSPAPI LspCloseSocket(SOCKET s, LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return SOCKET_ERROR;
    /* A lower socket already gone (WSACleanup closes every handle it knows) still lets ours go. */
    if (ctx->layer->lower.lpWSPCloseSocket(ctx->lower_socket, lpErrno) == SOCKET_ERROR && *lpErrno != WSAENOTSOCK) {
        release(ctx);
        return SOCKET_ERROR;
    }
    report(s, ctx);
    int result = upcalls.lpWPUCloseSocketHandle(s, lpErrno);
    release(ctx);
    if (result != SOCKET_ERROR)
        release(ctx);          /* the handle's reference */
    return result;
}

static int WSPAPI LspConnect(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF lpCallerData,
                             LPWSABUF lpCalleeData, QOS *lpSQOS, QOS *lpGQOS, LPINT lpErrno)
{
    PASS(s, lpWSPConnect(ctx->lower_socket, name, namelen, lpCallerData, lpCalleeData, lpSQOS, lpGQOS, lpErrno));
}

/* The duplicate names our chain entry, so the target process's socket comes back through
 * us; the lower provider's claim token rides in dwProviderReserved (reference/spi.md §4.3). */
static int WSPAPI LspDuplicateSocket(SOCKET s, DWORD dwProcessId, LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return SOCKET_ERROR;
    int result = ctx->layer->lower.lpWSPDuplicateSocket(ctx->lower_socket, dwProcessId, lpProtocolInfo, lpErrno);
    if (result != SOCKET_ERROR) {
        DWORD reserved = lpProtocolInfo->dwProviderReserved;
        *lpProtocolInfo = ctx->layer->self;
        lpProtocolInfo->dwProviderReserved = reserved;
    }
    release(ctx);
    return result;
}

static int WSPAPI LspEnumNetworkEvents(SOCKET s, WSAEVENT hEventObject, LPWSANETWORKEVENTS lpNetworkEvents,
                                       LPINT lpErrno)
{
    PASS(s, lpWSPEnumNetworkEvents(ctx->lower_socket, hEventObject, lpNetworkEvents, lpErrno));
}

static int WSPAPI LspEventSelect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents, LPINT lpErrno)
{
    PASS(s, lpWSPEventSelect(ctx->lower_socket, hEventObject, lNetworkEvents, lpErrno));
}

static BOOL WSPAPI LspGetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped, LPDWORD lpcbTransfer, BOOL fWait,
                                          LPDWORD lpdwFlags, LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return FALSE;
    BOOL result = ctx->layer->lower.lpWSPGetOverlappedResult(ctx->lower_socket, lpOverlapped, lpcbTransfer, fWait,
                                                              lpdwFlags, lpErrno);
    release(ctx);
    return result;
}

static int WSPAPI LspGetPeerName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
    PASS(s, lpWSPGetPeerName(ctx->lower_socket, name, namelen, lpErrno));
}

static int WSPAPI LspGetSockName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
    PASS(s, lpWSPGetSockName(ctx->lower_socket, name, namelen, lpErrno));
}

/* SO_PROTOCOL_INFOW names the entry the socket was made from: our chain entry. */
static int WSPAPI LspGetSockOpt(SOCKET s, int level, int optname, char *optval, LPINT optlen, LPINT lpErrno)
{
    if (level != SOL_SOCKET || optname != SO_PROTOCOL_INFOW)
        PASS(s, lpWSPGetSockOpt(ctx->lower_socket, level, optname, optval, optlen, lpErrno));
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return SOCKET_ERROR;
    int result = 0;
    if (optval == NULL || optlen == NULL || *optlen < (int)sizeof(WSAPROTOCOL_INFOW)) {
        if (optlen != NULL)
            *optlen = sizeof(WSAPROTOCOL_INFOW);
        *lpErrno = WSAEFAULT;
        result = SOCKET_ERROR;
    } else {
        memcpy(optval, &ctx->layer->self, sizeof(WSAPROTOCOL_INFOW));
        *optlen = sizeof(WSAPROTOCOL_INFOW);
    }
    release(ctx);
    return result;
}

static BOOL WSPAPI LspGetQOSByName(SOCKET s, LPWSABUF lpQOSName, QOS *lpQOS, LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return FALSE;
    BOOL result = ctx->layer->lower.lpWSPGetQOSByName(ctx->lower_socket, lpQOSName, lpQOS, lpErrno);
    release(ctx);
    return result;
}

static int WSPAPI LspIoctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                           LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                           LPWSAOVERLAPPED lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           LPWSATHREADID lpThreadId, LPINT lpErrno)
{
    PASS(s, lpWSPIoctl(ctx->lower_socket, dwIoControlCode, lpvInBuffer, cbInBuffer, lpvOutBuffer, cbOutBuffer,
                       lpcbBytesReturned, lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno));
}

static SOCKET WSPAPI LspJoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF lpCallerData,
                                 LPWSABUF lpCalleeData, QOS *lpSQOS, QOS *lpGQOS, DWORD dwFlags, LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return INVALID_SOCKET;
    SOCKET lower = ctx->layer->lower.lpWSPJoinLeaf(ctx->lower_socket, name, namelen, lpCallerData, lpCalleeData,
                                                   lpSQOS, lpGQOS, dwFlags, lpErrno);
    SOCKET handle = lower == INVALID_SOCKET ? INVALID_SOCKET
                  : lower == ctx->lower_socket ? s : wrap(ctx->layer, lower, lpErrno);
    release(ctx);
    return handle;
}

static int WSPAPI LspListen(SOCKET s, int backlog, LPINT lpErrno)
{
    PASS(s, lpWSPListen(ctx->lower_socket, backlog, lpErrno));
}

static int WSPAPI LspRecv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
                          LPDWORD lpFlags, LPWSAOVERLAPPED lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                          LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return SOCKET_ERROR;
    int result = ctx->layer->lower.lpWSPRecv(ctx->lower_socket, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd,
                                             lpFlags, lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
    if (result == 0 && lpNumberOfBytesRecvd != NULL)
        __atomic_add_fetch(&ctx->received, *lpNumberOfBytesRecvd, __ATOMIC_RELAXED);
    release(ctx);
    return result;
}

static int WSPAPI LspRecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno)
{
    PASS(s, lpWSPRecvDisconnect(ctx->lower_socket, lpInboundDisconnectData, lpErrno));
}

static int WSPAPI LspRecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
                              LPDWORD lpFlags, struct sockaddr *lpFrom, LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
                              LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                              LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return SOCKET_ERROR;
    int result = ctx->layer->lower.lpWSPRecvFrom(ctx->lower_socket, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd,
                                                 lpFlags, lpFrom, lpFromlen, lpOverlapped, lpCompletionRoutine,
                                                 lpThreadId, lpErrno);
    if (result == 0 && lpNumberOfBytesRecvd != NULL)
        __atomic_add_fetch(&ctx->received, *lpNumberOfBytesRecvd, __ATOMIC_RELAXED);
    release(ctx);
    return result;
}

/* Each set's handles are swapped for the lower sockets (a handle that is not ours passes
 * unchanged, in the hope the lower provider knows it), the lower provider of the first one
 * of ours selects, and the sets are mapped back. */
typedef struct {
    SOCKET handle;
    SOCK_INFO *ctx;
} MAPPED;

static void map_set(fd_set *set, MAPPED *mapped, int *count, LAYER **layer)
{
    for (u_int i = 0; set != NULL && i < set->fd_count && i < FD_SETSIZE; i++) {
        int ignored;
        SOCK_INFO *ctx = acquire(set->fd_array[i], &ignored);
        mapped[*count].handle = set->fd_array[i];
        mapped[*count].ctx = ctx;
        (*count)++;
        if (ctx != NULL) {
            set->fd_array[i] = ctx->lower_socket;
            if (*layer == NULL)
                *layer = ctx->layer;
        }
    }
}

static void unmap_set(fd_set *set, const MAPPED *mapped, int count)
{
    if (set == NULL)
        return;
    for (u_int i = 0; i < set->fd_count; i++)
        for (int j = 0; j < count; j++)
            if (mapped[j].ctx != NULL && mapped[j].ctx->lower_socket == set->fd_array[i]) {
                set->fd_array[i] = mapped[j].handle;
                break;
            }
}

static int WSPAPI LspSelect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                            const struct timeval *timeout, LPINT lpErrno)
{
    MAPPED mapped[3 * FD_SETSIZE];
    int count = 0;
    LAYER *layer = NULL;
    fd_set *sets[3] = {readfds, writefds, exceptfds};
    for (int i = 0; i < 3; i++)
        map_set(sets[i], mapped, &count, &layer);
    if (layer == NULL)
        layer = layer_count ? &layers[0] : NULL;
    int result;
    if (layer == NULL) {
        *lpErrno = WSANOTINITIALISED;
        result = SOCKET_ERROR;
    } else {
        result = layer->lower.lpWSPSelect(nfds, readfds, writefds, exceptfds, timeout, lpErrno);
    }
    for (int i = 0; i < 3; i++)
        unmap_set(sets[i], mapped, count);
    for (int j = 0; j < count; j++)
        if (mapped[j].ctx != NULL)
            release(mapped[j].ctx);
    return result;
}

static int WSPAPI LspSend(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                          DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                          LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return SOCKET_ERROR;
    int result = ctx->layer->lower.lpWSPSend(ctx->lower_socket, lpBuffers, dwBufferCount, lpNumberOfBytesSent,
                                             dwFlags, lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
    if (result == 0 && lpNumberOfBytesSent != NULL)
        __atomic_add_fetch(&ctx->sent, *lpNumberOfBytesSent, __ATOMIC_RELAXED);
    release(ctx);
    return result;
}

static int WSPAPI LspSendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno)
{
    PASS(s, lpWSPSendDisconnect(ctx->lower_socket, lpOutboundDisconnectData, lpErrno));
}

static int WSPAPI LspSendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                            DWORD dwFlags, const struct sockaddr *lpTo, int iTolen, LPWSAOVERLAPPED lpOverlapped,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                            LPINT lpErrno)
{
    SOCK_INFO *ctx = acquire(s, lpErrno);
    if (ctx == NULL)
        return SOCKET_ERROR;
    int result = ctx->layer->lower.lpWSPSendTo(ctx->lower_socket, lpBuffers, dwBufferCount, lpNumberOfBytesSent,
                                               dwFlags, lpTo, iTolen, lpOverlapped, lpCompletionRoutine,
                                               lpThreadId, lpErrno);
    if (result == 0 && lpNumberOfBytesSent != NULL)
        __atomic_add_fetch(&ctx->sent, *lpNumberOfBytesSent, __ATOMIC_RELAXED);
    release(ctx);
    return result;
}

static int WSPAPI LspSetSockOpt(SOCKET s, int level, int optname, const char *optval, int optlen, LPINT lpErrno)
{
    PASS(s, lpWSPSetSockOpt(ctx->lower_socket, level, optname, optval, optlen, lpErrno));
}

static int WSPAPI LspShutdown(SOCKET s, int how, LPINT lpErrno)
{
    PASS(s, lpWSPShutdown(ctx->lower_socket, how, lpErrno));
}

/* The lower socket is made from the base's own entry when the base is next (else from the
 * chain entry as given), carrying the caller's dwProviderReserved: a duplicate's token. */
static SOCKET WSPAPI LspSocket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g,
                               DWORD dwFlags, LPINT lpErrno)
{
    LAYER *layer = layer_for(lpProtocolInfo);
    if (layer == NULL || lpProtocolInfo == NULL) {
        *lpErrno = layer == NULL ? WSANOTINITIALISED : WSAEINVAL;
        return INVALID_SOCKET;
    }
    WSAPROTOCOL_INFOW below = next_is_base(layer) ? layer->next : *lpProtocolInfo;
    below.dwProviderReserved = lpProtocolInfo->dwProviderReserved;
    SOCKET lower = layer->lower.lpWSPSocket(af, type, protocol, &below, g, dwFlags, lpErrno);
    return lower == INVALID_SOCKET ? INVALID_SOCKET : wrap(layer, lower, lpErrno);
}

static INT WSPAPI LspStringToAddress(LPWSTR AddressString, INT AddressFamily, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                     struct sockaddr *lpAddress, LPINT lpAddressLength, LPINT lpErrno)
{
    LAYER *layer = layer_for(lpProtocolInfo);
    if (layer == NULL) {
        *lpErrno = WSANOTINITIALISED;
        return SOCKET_ERROR;
    }
    return layer->lower.lpWSPStringToAddress(AddressString, AddressFamily,
                                             next_is_base(layer) ? &layer->next : lpProtocolInfo, lpAddress,
                                             lpAddressLength, lpErrno);
}

static const WSPPROC_TABLE our_table = {
    LspAccept, LspAddressToString, LspAsyncSelect, LspBind, LspCancelBlockingCall, LspCleanup,
    LspCloseSocket, LspConnect, LspDuplicateSocket, LspEnumNetworkEvents, LspEventSelect,
    LspGetOverlappedResult, LspGetPeerName, LspGetSockName, LspGetSockOpt, LspGetQOSByName, LspIoctl,
    LspJoinLeaf, LspListen, LspRecv, LspRecvDisconnect, LspRecvFrom, LspSelect, LspSend,
    LspSendDisconnect, LspSendTo, LspSetSockOpt, LspShutdown, LspSocket, LspStringToAddress,
};

/* ---- startup ---------------------------------------------------------------------------- */
static int complete(const WSPPROC_TABLE *table)
{
    void *const *entries = (void *const *)table;
    for (size_t i = 0; i < sizeof *table / sizeof(void *); i++)
        if (entries[i] == NULL)
            return 0;
    return 1;
}

/* Our layer for this chain entry: found in the catalog, its lower provider started. */
static int start_layer(const WSAPROTOCOL_INFOW *info, WSPUPCALLTABLE UpcallTable, LPWSPDATA lpWSPData, LAYER **out)
{
    int err = 0;
    WSAPROTOCOL_INFOW self;
    if (!own_entry(info, &self, &err))
        return WSAEPROVIDERFAILEDINIT;          /* no chain entry of ours in this info */
    LAYER *layer = NULL;
    for (int i = 0; i < layer_count; i++)
        if (layers[i].self.dwCatalogEntryId == self.dwCatalogEntryId)
            layer = &layers[i];
    if (layer == NULL) {
        if (layer_count == MAX_LAYERS)
            return WSAEPROVIDERFAILEDINIT;
        layer = &layers[layer_count];
        memset(layer, 0, sizeof *layer);
        layer->self = self;
        if (!find_entry(self.ProtocolChain.ChainEntries[1], &layer->next, &err))
            return WSAEPROVIDERFAILEDINIT;
    }
    WSAPROTOCOL_INFOW below = next_is_base(layer) ? layer->next : *info;
    if (wsemu_WSPStartupProvider(&layer->next.ProviderId, MAKEWORD(2, 2), lpWSPData, &below, UpcallTable,
                                 &layer->lower, &err) == SOCKET_ERROR)
        return err ? err : WSAEPROVIDERFAILEDINIT;
    if (!complete(&layer->lower))
        return WSAEINVALIDPROCTABLE;
    if (layer == &layers[layer_count])
        layer_count++;
    layer->lower_startups++;
    *out = layer;
    return 0;
}

int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                      WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable)
{
    if (LOBYTE(wVersionRequested) < 2 || (LOBYTE(wVersionRequested) == 2 && HIBYTE(wVersionRequested) < 2))
        return WSAVERNOTSUPPORTED;
    if (lpWSPData == NULL || lpProtocolInfo == NULL || lpProcTable == NULL)
        return WSAEFAULT;
    pthread_mutex_lock(&lock);
    upcalls = UpcallTable;            /* the most recent table wins */
    LAYER *layer;
    int err = start_layer(lpProtocolInfo, UpcallTable, lpWSPData, &layer);
    if (err == 0) {
        startups++;
        *lpProcTable = our_table;     /* (lpWSPData: the lower provider's, copied up as it is) */
    }
    pthread_mutex_unlock(&lock);
    return err;
}
