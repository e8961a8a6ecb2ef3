/* <ws2spi.h> on wsemu: the Winsock 2 service provider interface (reference/spi.md §1).
 *
 * The dispatch tables (WSPPROC_TABLE, 30 entries; WSPUPCALLTABLE, 15) and WSPDATA come from
 * wsemu/winabi.h; this header adds the Windows names of their entry types, WSPStartup of the
 * base provider, the WPU upcalls and the WSC catalog functions. As in <winsock2.h>, every
 * function name is a macro for its wsemu_ symbol in libwsemu.
 *
 * WSPStartup takes the upcall table by value, as on Windows; the provider keeps a copy and
 * calls through it (the most recent table wins). wsemu_upcall_table() returns a table of
 * libwsemu's own WPU functions, the ones ws2_32 would hand a provider.
 *
 * A layered provider (LSP) written in C is a shared object exporting WSPStartup; it starts
 * the layer below it with wsemu_WSPStartupProvider() (below), which also reaches providers
 * written in Python. native/examples/lsp-counter is one.
 */
#ifndef WSEMU_WS2SPI_H
#define WSEMU_WS2SPI_H

#include <winsock2.h>

#define WSPAPI WSAAPI
#define WSPDESCRIPTION_LEN 255
#define WSS_OPERATION_IN_PROGRESS 0x00000103L

typedef WSPDATA *LPWSPDATA;
typedef WSPPROC_TABLE *LPWSPPROC_TABLE;
typedef WSPUPCALLTABLE *LPWSPUPCALLTABLE;
typedef WSATHREADID *LPWSATHREADID;

/* ---- the provider's entry points (WSPPROC_TABLE order; lpErrno last) ---- */
typedef SOCKET (WSPAPI *LPWSPACCEPT)(SOCKET s, struct WS_sockaddr *addr, LPINT addrlen,
                                     LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData, LPINT lpErrno);
typedef INT (WSPAPI *LPWSPADDRESSTOSTRING)(struct WS_sockaddr *lpsaAddress, DWORD dwAddressLength,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                                           LPDWORD lpdwAddressStringLength, LPINT lpErrno);
typedef int (WSPAPI *LPWSPASYNCSELECT)(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent, LPINT lpErrno);
typedef int (WSPAPI *LPWSPBIND)(SOCKET s, const struct WS_sockaddr *name, int namelen, LPINT lpErrno);
typedef int (WSPAPI *LPWSPCANCELBLOCKINGCALL)(LPINT lpErrno);
typedef int (WSPAPI *LPWSPCLEANUP)(LPINT lpErrno);
typedef int (WSPAPI *LPWSPCLOSESOCKET)(SOCKET s, LPINT lpErrno);
typedef int (WSPAPI *LPWSPCONNECT)(SOCKET s, const struct WS_sockaddr *name, int namelen, LPWSABUF lpCallerData,
                                   LPWSABUF lpCalleeData, QOS *lpSQOS, QOS *lpGQOS, LPINT lpErrno);
typedef int (WSPAPI *LPWSPDUPLICATESOCKET)(SOCKET s, DWORD dwProcessId, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                           LPINT lpErrno);
typedef int (WSPAPI *LPWSPENUMNETWORKEVENTS)(SOCKET s, WSAEVENT hEventObject,
                                             LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno);
typedef int (WSPAPI *LPWSPEVENTSELECT)(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWSPGETOVERLAPPEDRESULT)(SOCKET s, LPWSAOVERLAPPED lpOverlapped, LPDWORD lpcbTransfer,
                                                BOOL fWait, LPDWORD lpdwFlags, LPINT lpErrno);
typedef int (WSPAPI *LPWSPGETPEERNAME)(SOCKET s, struct WS_sockaddr *name, LPINT namelen, LPINT lpErrno);
typedef int (WSPAPI *LPWSPGETSOCKNAME)(SOCKET s, struct WS_sockaddr *name, LPINT namelen, LPINT lpErrno);
typedef int (WSPAPI *LPWSPGETSOCKOPT)(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                                      LPINT lpErrno);
typedef BOOL (WSPAPI *LPWSPGETQOSBYNAME)(SOCKET s, LPWSABUF lpQOSName, QOS *lpQOS, LPINT lpErrno);
typedef int (WSPAPI *LPWSPIOCTL)(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                                 LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                                 LPWSAOVERLAPPED lpOverlapped,
                                 LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                 LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWSPJOINLEAF)(SOCKET s, const struct WS_sockaddr *name, int namelen,
                                       LPWSABUF lpCallerData, LPWSABUF lpCalleeData, QOS *lpSQOS, QOS *lpGQOS,
                                       DWORD dwFlags, LPINT lpErrno);
typedef int (WSPAPI *LPWSPLISTEN)(SOCKET s, int backlog, LPINT lpErrno);
typedef int (WSPAPI *LPWSPRECV)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
                                LPDWORD lpFlags, LPWSAOVERLAPPED lpOverlapped,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWSPRECVDISCONNECT)(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno);
typedef int (WSPAPI *LPWSPRECVFROM)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct WS_sockaddr *lpFrom,
                                    LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
                                    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                    LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSELECT)(int nfds, WS_fd_set *readfds, WS_fd_set *writefds, WS_fd_set *exceptfds,
                                  const struct WS_timeval *timeout, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSEND)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                                DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSENDDISCONNECT)(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSENDTO)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                                  DWORD dwFlags, const struct WS_sockaddr *lpTo, int iTolen,
                                  LPWSAOVERLAPPED lpOverlapped,
                                  LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                  LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSETSOCKOPT)(SOCKET s, int level, int optname, const char *optval, int optlen,
                                      LPINT lpErrno);
typedef int (WSPAPI *LPWSPSHUTDOWN)(SOCKET s, int how, LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWSPSOCKET)(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                     GROUP g, DWORD dwFlags, LPINT lpErrno);
typedef INT (WSPAPI *LPWSPSTRINGTOADDRESS)(LPWSTR AddressString, INT AddressFamily,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo, struct WS_sockaddr *lpAddress,
                                           LPINT lpAddressLength, LPINT lpErrno);

/* ---- the upcalls (WSPUPCALLTABLE order) ---- */
typedef BOOL (WSPAPI *LPWPUCLOSEEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int (WSPAPI *LPWPUCLOSESOCKETHANDLE)(SOCKET s, LPINT lpErrno);
typedef WSAEVENT (WSPAPI *LPWPUCREATEEVENT)(LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWPUCREATESOCKETHANDLE)(DWORD dwCatalogEntryId, DWORD_PTR dwContext, LPINT lpErrno);
typedef int (WSPAPI *LPWPUFDISSET)(SOCKET s, WS_fd_set *fdset);
typedef int (WSPAPI *LPWPUGETPROVIDERPATH)(LPGUID lpProviderId, WCHAR *lpszProviderDllPath,
                                           LPINT lpProviderDllPathLen, LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWPUMODIFYIFSHANDLE)(DWORD dwCatalogEntryId, SOCKET ProposedHandle, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWPUPOSTMESSAGE)(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
typedef int (WSPAPI *LPWPUQUERYBLOCKINGCALLBACK)(DWORD dwCatalogEntryId, LPBLOCKINGCALLBACK *lplpfnCallback,
                                                 DWORD_PTR *lpdwContext, LPINT lpErrno);
typedef int (WSPAPI *LPWPUQUERYSOCKETHANDLECONTEXT)(SOCKET s, DWORD_PTR *lpContext, LPINT lpErrno);
typedef int (WSPAPI *LPWPUQUEUEAPC)(LPWSATHREADID lpThreadId, LPWSAUSERAPC lpfnUserApc, DWORD_PTR dwContext,
                                    LPINT lpErrno);
typedef BOOL (WSPAPI *LPWPURESETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWPUSETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int (WSPAPI *LPWPUOPENCURRENTTHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWPUCLOSETHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);

/* CDEF-BEGIN */
/* A provider's WSPStartup, as dlsym finds it (WSPAPI is empty on Linux). */
typedef int32_t (*LPWSPSTARTUP)(uint16_t wVersionRequested, WSPDATA *lpWSPData,
                                WSAPROTOCOL_INFOW *lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
                                WSPPROC_TABLE *lpProcTable);
/* What wsemu.spi.cprovider needs in C: libwsemu's upcall table; dlopen + dlsym of a
 * provider's WSPStartup (NULL: the reason, NUL-terminated, in why); and the call itself,
 * which passes the upcall table by value as the provider expects. */
WSPUPCALLTABLE wsemu_upcall_table(void);
LPWSPSTARTUP wsemu_spi_open_provider(const char *path, char *why, uint32_t why_len);
int32_t wsemu_spi_call_startup(LPWSPSTARTUP startup, uint16_t wVersionRequested, WSPDATA *lpWSPData,
                               WSAPROTOCOL_INFOW *lpProtocolInfo, const WSPUPCALLTABLE *lpUpcallTable,
                               WSPPROC_TABLE *lpProcTable);
/* CDEF-END */

/* ---- the functions (libwsemu exports the wsemu_ names) ---- */
/* WSPStartup is the base provider's (libwsemu's), for programs that drive it as ws2_32
 * would; a provider's own source exports WSPStartup itself, so it defines WSEMU_PROVIDER
 * before including this header (the name is then its own, checked against the prototype). */
#ifdef WSEMU_PROVIDER
int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                      WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable);
#else
#define WSPStartup wsemu_WSPStartup
#endif
#define WPUCloseEvent wsemu_WPUCloseEvent
#define WPUCloseSocketHandle wsemu_WPUCloseSocketHandle
#define WPUCreateEvent wsemu_WPUCreateEvent
#define WPUCreateSocketHandle wsemu_WPUCreateSocketHandle
#define WPUFDIsSet wsemu_WPUFDIsSet
#define WPUGetProviderPath wsemu_WPUGetProviderPath
#define WPUModifyIFSHandle wsemu_WPUModifyIFSHandle
#define WPUPostMessage wsemu_WPUPostMessage
#define WPUQueryBlockingCallback wsemu_WPUQueryBlockingCallback
#define WPUQuerySocketHandleContext wsemu_WPUQuerySocketHandleContext
#define WPUQueueApc wsemu_WPUQueueApc
#define WPUResetEvent wsemu_WPUResetEvent
#define WPUSetEvent wsemu_WPUSetEvent
#define WPUOpenCurrentThread wsemu_WPUOpenCurrentThread
#define WPUCloseThread wsemu_WPUCloseThread
#define WPUCompleteOverlappedRequest wsemu_WPUCompleteOverlappedRequest
#define WSCEnumProtocols wsemu_WSCEnumProtocols
#define WSCInstallProvider wsemu_WSCInstallProvider
#define WSCDeinstallProvider wsemu_WSCDeinstallProvider
#define WSCWriteProviderOrder wsemu_WSCWriteProviderOrder
#define WSCGetProviderPath wsemu_WSCGetProviderPath

/* The base provider's WSPStartup: version 2.2 only (below: WSAVERNOTSUPPORTED); fills
 * *lpWSPData and all 30 entries of *lpProcTable; returns 0 or the error code. */
int32_t wsemu_WSPStartup(WORD wVersionRequested, WSPDATA *lpWSPData, WSAPROTOCOL_INFOW *lpProtocolInfo,
                         WSPUPCALLTABLE UpcallTable, WSPPROC_TABLE *lpProcTable);
int32_t wsemu_WPUFDIsSet(SOCKET s, WS_fd_set *fdset);

/* wsemu extension, for layered providers: start the provider of catalog entry GUID
 * lpProviderId, whatever it is, as an LSP's WSPStartup must start the layer below it.
 * On Windows the LSP calls WSCGetProviderPath, LoadLibrary and GetProcAddress("WSPStartup");
 * here the layer below may be a Python provider (path "python:<module>", such as the base
 * provider's "python:wsemu.spi.base"), which a C LSP cannot load itself. A shared-object path
 * is dlopen'ed and its WSPStartup called as is; a Python provider's WSPStartup is called and
 * *lpProcTable filled with C entries over its Python table. The arguments after the GUID are
 * WSPStartup's, passed on unchanged (the upcall table too: layers do not interpose upcalls).
 * Returns 0, or SOCKET_ERROR with *lpErrno: WSAEINVAL for an unknown GUID,
 * WSAEPROVIDERFAILEDINIT when the provider cannot be loaded, WSAEFAULT for a NULL pointer, or
 * the provider's own WSPStartup error. Like LoadLibrary+WSPStartup, it does not check the
 * returned version or table: the LSP does (reference/spi.md §4.1). */
int32_t WSPAPI wsemu_WSPStartupProvider(const GUID *lpProviderId, WORD wVersionRequested, LPWSPDATA lpWSPData,
                                        LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
                                        LPWSPPROC_TABLE lpProcTable, LPINT lpErrno);

/* EMBEDDED-BEGIN: implemented in Python (wsemu/cface/spi.py, wpu.py, wsc.py). The
 * wsemu_spi_WSP* functions are the base provider's entries WSPStartup's table points to. */
int32_t wsemu_spi_startup(WORD wVersionRequested, WSPDATA *lpWSPData, WSAPROTOCOL_INFOW *lpProtocolInfo,
                          const WSPUPCALLTABLE *lpUpcallTable, WSPPROC_TABLE *lpProcTable);
int32_t wsemu_spi_start_provider(const GUID *lpProviderId, uint16_t wVersionRequested, WSPDATA *lpWSPData,
                                 WSAPROTOCOL_INFOW *lpProtocolInfo, const WSPUPCALLTABLE *lpUpcallTable,
                                 WSPPROC_TABLE *lpProcTable, int32_t *lpErrno);
/* No effect: the first call of an embedded function starts libwsemu's Python side, and a
 * Python process that loads libwsemu (wsemu.spi.cprovider) makes this one. */
int32_t wsemu_spi_ready(void);
SOCKET wsemu_spi_WSPAccept(SOCKET s, struct WS_sockaddr *addr, int32_t *addrlen, LPCONDITIONPROC lpfnCondition,
                           DWORD_PTR dwCallbackData, int32_t *lpErrno);
int32_t wsemu_spi_WSPAddressToString(struct WS_sockaddr *lpsaAddress, uint32_t dwAddressLength,
                                     WSAPROTOCOL_INFOW *lpProtocolInfo, uint16_t *lpszAddressString,
                                     uint32_t *lpdwAddressStringLength, int32_t *lpErrno);
int32_t wsemu_spi_WSPAsyncSelect(SOCKET s, HWND hWnd, uint32_t wMsg, int32_t lEvent, int32_t *lpErrno);
int32_t wsemu_spi_WSPBind(SOCKET s, const struct WS_sockaddr *name, int32_t namelen, int32_t *lpErrno);
int32_t wsemu_spi_WSPCancelBlockingCall(int32_t *lpErrno);
int32_t wsemu_spi_WSPCleanup(int32_t *lpErrno);
int32_t wsemu_spi_WSPCloseSocket(SOCKET s, int32_t *lpErrno);
int32_t wsemu_spi_WSPConnect(SOCKET s, const struct WS_sockaddr *name, int32_t namelen, WSABUF *lpCallerData,
                             WSABUF *lpCalleeData, QOS *lpSQOS, QOS *lpGQOS, int32_t *lpErrno);
int32_t wsemu_spi_WSPDuplicateSocket(SOCKET s, uint32_t dwProcessId, WSAPROTOCOL_INFOW *lpProtocolInfo,
                                     int32_t *lpErrno);
int32_t wsemu_spi_WSPEnumNetworkEvents(SOCKET s, WSAEVENT hEventObject, WSANETWORKEVENTS *lpNetworkEvents,
                                       int32_t *lpErrno);
int32_t wsemu_spi_WSPEventSelect(SOCKET s, WSAEVENT hEventObject, int32_t lNetworkEvents, int32_t *lpErrno);
int32_t wsemu_spi_WSPGetOverlappedResult(SOCKET s, WSAOVERLAPPED *lpOverlapped, uint32_t *lpcbTransfer,
                                         int32_t fWait, uint32_t *lpdwFlags, int32_t *lpErrno);
int32_t wsemu_spi_WSPGetPeerName(SOCKET s, struct WS_sockaddr *name, int32_t *namelen, int32_t *lpErrno);
int32_t wsemu_spi_WSPGetSockName(SOCKET s, struct WS_sockaddr *name, int32_t *namelen, int32_t *lpErrno);
int32_t wsemu_spi_WSPGetSockOpt(SOCKET s, int32_t level, int32_t optname, char *optval, int32_t *optlen,
                                int32_t *lpErrno);
int32_t wsemu_spi_WSPGetQOSByName(SOCKET s, WSABUF *lpQOSName, QOS *lpQOS, int32_t *lpErrno);
int32_t wsemu_spi_WSPIoctl(SOCKET s, uint32_t dwIoControlCode, void *lpvInBuffer, uint32_t cbInBuffer,
                           void *lpvOutBuffer, uint32_t cbOutBuffer, uint32_t *lpcbBytesReturned,
                           WSAOVERLAPPED *lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           WSATHREADID *lpThreadId, int32_t *lpErrno);
SOCKET wsemu_spi_WSPJoinLeaf(SOCKET s, const struct WS_sockaddr *name, int32_t namelen, WSABUF *lpCallerData,
                             WSABUF *lpCalleeData, QOS *lpSQOS, QOS *lpGQOS, uint32_t dwFlags, int32_t *lpErrno);
int32_t wsemu_spi_WSPListen(SOCKET s, int32_t backlog, int32_t *lpErrno);
int32_t wsemu_spi_WSPRecv(SOCKET s, WSABUF *lpBuffers, uint32_t dwBufferCount, uint32_t *lpNumberOfBytesRecvd,
                          uint32_t *lpFlags, WSAOVERLAPPED *lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, WSATHREADID *lpThreadId,
                          int32_t *lpErrno);
int32_t wsemu_spi_WSPRecvDisconnect(SOCKET s, WSABUF *lpInboundDisconnectData, int32_t *lpErrno);
int32_t wsemu_spi_WSPRecvFrom(SOCKET s, WSABUF *lpBuffers, uint32_t dwBufferCount, uint32_t *lpNumberOfBytesRecvd,
                              uint32_t *lpFlags, struct WS_sockaddr *lpFrom, int32_t *lpFromlen,
                              WSAOVERLAPPED *lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                              WSATHREADID *lpThreadId, int32_t *lpErrno);
int32_t wsemu_spi_WSPSelect(int32_t nfds, WS_fd_set *readfds, WS_fd_set *writefds, WS_fd_set *exceptfds,
                            const struct WS_timeval *timeout, int32_t *lpErrno);
int32_t wsemu_spi_WSPSend(SOCKET s, WSABUF *lpBuffers, uint32_t dwBufferCount, uint32_t *lpNumberOfBytesSent,
                          uint32_t dwFlags, WSAOVERLAPPED *lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, WSATHREADID *lpThreadId,
                          int32_t *lpErrno);
int32_t wsemu_spi_WSPSendDisconnect(SOCKET s, WSABUF *lpOutboundDisconnectData, int32_t *lpErrno);
int32_t wsemu_spi_WSPSendTo(SOCKET s, WSABUF *lpBuffers, uint32_t dwBufferCount, uint32_t *lpNumberOfBytesSent,
                            uint32_t dwFlags, const struct WS_sockaddr *lpTo, int32_t iTolen,
                            WSAOVERLAPPED *lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                            WSATHREADID *lpThreadId, int32_t *lpErrno);
int32_t wsemu_spi_WSPSetSockOpt(SOCKET s, int32_t level, int32_t optname, const char *optval, int32_t optlen,
                                int32_t *lpErrno);
int32_t wsemu_spi_WSPShutdown(SOCKET s, int32_t how, int32_t *lpErrno);
SOCKET wsemu_spi_WSPSocket(int32_t af, int32_t type, int32_t protocol, WSAPROTOCOL_INFOW *lpProtocolInfo,
                           GROUP g, uint32_t dwFlags, int32_t *lpErrno);
int32_t wsemu_spi_WSPStringToAddress(uint16_t *AddressString, int32_t AddressFamily,
                                     WSAPROTOCOL_INFOW *lpProtocolInfo, struct WS_sockaddr *lpAddress,
                                     int32_t *lpAddressLength, int32_t *lpErrno);

int32_t wsemu_WPUCloseEvent(WSAEVENT hEvent, int32_t *lpErrno);
int32_t wsemu_WPUCloseSocketHandle(SOCKET s, int32_t *lpErrno);
WSAEVENT wsemu_WPUCreateEvent(int32_t *lpErrno);
SOCKET wsemu_WPUCreateSocketHandle(uint32_t dwCatalogEntryId, DWORD_PTR dwContext, int32_t *lpErrno);
int32_t wsemu_WPUGetProviderPath(GUID *lpProviderId, uint16_t *lpszProviderDllPath, int32_t *lpProviderDllPathLen,
                                 int32_t *lpErrno);
SOCKET wsemu_WPUModifyIFSHandle(uint32_t dwCatalogEntryId, SOCKET ProposedHandle, int32_t *lpErrno);
int32_t wsemu_WPUPostMessage(HWND hWnd, uint32_t Msg, WPARAM wParam, LPARAM lParam);
int32_t wsemu_WPUQueryBlockingCallback(uint32_t dwCatalogEntryId, LPBLOCKINGCALLBACK *lplpfnCallback,
                                       DWORD_PTR *lpdwContext, int32_t *lpErrno);
int32_t wsemu_WPUQuerySocketHandleContext(SOCKET s, DWORD_PTR *lpContext, int32_t *lpErrno);
int32_t wsemu_WPUQueueApc(WSATHREADID *lpThreadId, LPWSAUSERAPC lpfnUserApc, DWORD_PTR dwContext,
                          int32_t *lpErrno);
int32_t wsemu_WPUResetEvent(WSAEVENT hEvent, int32_t *lpErrno);
int32_t wsemu_WPUSetEvent(WSAEVENT hEvent, int32_t *lpErrno);
int32_t wsemu_WPUOpenCurrentThread(WSATHREADID *lpThreadId, int32_t *lpErrno);
int32_t wsemu_WPUCloseThread(WSATHREADID *lpThreadId, int32_t *lpErrno);
int32_t wsemu_WPUCompleteOverlappedRequest(SOCKET s, WSAOVERLAPPED *lpOverlapped, uint32_t dwError,
                                           uint32_t cbTransferred, int32_t *lpErrno);

int32_t wsemu_WSCEnumProtocols(int32_t *lpiProtocols, WSAPROTOCOL_INFOW *lpProtocolBuffer,
                               uint32_t *lpdwBufferLength, int32_t *lpErrno);
int32_t wsemu_WSCInstallProvider(GUID *lpProviderId, const uint16_t *lpszProviderDllPath,
                                 WSAPROTOCOL_INFOW *lpProtocolInfoList, uint32_t dwNumberOfEntries,
                                 int32_t *lpErrno);
int32_t wsemu_WSCDeinstallProvider(GUID *lpProviderId, int32_t *lpErrno);
int32_t wsemu_WSCWriteProviderOrder(uint32_t *lpwdCatalogEntryId, uint32_t dwNumberOfEntries);
int32_t wsemu_WSCGetProviderPath(GUID *lpProviderId, uint16_t *lpszProviderDllPath, int32_t *lpProviderDllPathLen,
                                 int32_t *lpErrno);
/* EMBEDDED-END */

#endif
