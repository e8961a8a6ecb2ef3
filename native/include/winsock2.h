/* <winsock2.h> on wsemu: Windows names, types, layouts and values (wsemu/winabi.h), and the
 * Winsock functions of libwsemu. Every function name is a macro for its wsemu_ symbol, so
 * libc's socket, send, select... stay libc's for the rest of the process (no interposition),
 * and POSIX types the system headers declared (fd_set, timeval, u_long) are shadowed by the
 * Windows ones from here on. */
#ifndef WSEMU_WINSOCK2_H
#define WSEMU_WINSOCK2_H

#include <windows.h>

/* ---- Windows types under their Windows names ---- */
#define fd_set WS_fd_set
#define timeval WS_timeval
#define linger WS_linger
#define sockaddr WS_sockaddr
#define sockaddr_in WS_sockaddr_in
#define sockaddr_in6 WS_sockaddr_in6
#define sockaddr_storage WS_sockaddr_storage
#define in_addr WS_in_addr
#define in6_addr WS_in6_addr
#define u_short WS_u_short
#define u_int WS_u_int
#define u_long WS_u_long
typedef unsigned char u_char;

typedef struct WS_sockaddr SOCKADDR, *PSOCKADDR, *LPSOCKADDR;
typedef struct WS_sockaddr_in SOCKADDR_IN, *PSOCKADDR_IN, *LPSOCKADDR_IN;
typedef struct WS_sockaddr_in6 SOCKADDR_IN6, *PSOCKADDR_IN6, *LPSOCKADDR_IN6;
typedef struct WS_sockaddr_storage SOCKADDR_STORAGE, *PSOCKADDR_STORAGE;
typedef struct WS_in_addr IN_ADDR, *PIN_ADDR;
typedef struct WS_in6_addr IN6_ADDR, *PIN6_ADDR;
typedef struct WS_linger LINGER;
typedef struct WS_timeval TIMEVAL;
typedef WS_fd_set FD_SET_T;
typedef WSADATA *LPWSADATA;
typedef WSAPROTOCOL_INFOW *LPWSAPROTOCOL_INFOW;
typedef WSANETWORKEVENTS *LPWSANETWORKEVENTS;
typedef WSABUF *LPWSABUF;
typedef WSAOVERLAPPED *LPWSAOVERLAPPED;
typedef WSAPROTOCOL_INFOA *LPWSAPROTOCOL_INFOA;
typedef QOS *LPQOS;
typedef GROUP *LPGROUP;
#ifdef UNICODE
typedef WSAPROTOCOL_INFOW WSAPROTOCOL_INFO;
#else
typedef WSAPROTOCOL_INFOA WSAPROTOCOL_INFO;
#endif
typedef WSAPROTOCOL_INFO *LPWSAPROTOCOL_INFO;

#define INVALID_SOCKET ((SOCKET)(~0))
#define WSAGETSELECTEVENT(lParam) LOWORD(lParam)
#define WSAGETSELECTERROR(lParam) HIWORD(lParam)
#define WSAMAKESELECTREPLY(event, error) ((LONG)MAKELONG(event, error))
#define SOCKET_ERROR (-1)

/* ---- Windows fd_set: a counted array, not a bitmap ---- */
#undef FD_SET
#undef FD_CLR
#undef FD_ISSET
#undef FD_ZERO
#define FD_ZERO(set) (((WS_fd_set *)(set))->fd_count = 0)
#define FD_SET(fd, set) wsemu_fd_set_add((SOCKET)(fd), (WS_fd_set *)(set))
/* (a function, not the loop inline in the macro: gcc's -Wmaybe-uninitialized cannot see that
 * fd_count bounds the reads of a fresh FD_ZERO'd set) */
static inline void wsemu_fd_set_add(SOCKET fd, WS_fd_set *set)
{
    u_int i;
    for (i = 0; i < set->fd_count; i++)
        if (set->fd_array[i] == fd)
            return;
    if (set->fd_count < FD_SETSIZE)
        set->fd_array[set->fd_count++] = fd;
}
#define FD_CLR(fd, set) do {                                                     \
        WS_fd_set *wsemu_set_ = (WS_fd_set *)(set);                              \
        u_int wsemu_i_;                                                           \
        for (wsemu_i_ = 0; wsemu_i_ < wsemu_set_->fd_count; wsemu_i_++)          \
            if (wsemu_set_->fd_array[wsemu_i_] == (SOCKET)(fd)) {                \
                while (++wsemu_i_ < wsemu_set_->fd_count)                         \
                    wsemu_set_->fd_array[wsemu_i_ - 1] = wsemu_set_->fd_array[wsemu_i_]; \
                wsemu_set_->fd_count--;                                           \
                break;                                                            \
            }                                                                     \
    } while (0)

#define FD_ISSET(fd, set) wsemu___WSAFDIsSet((SOCKET)(fd), (WS_fd_set *)(set))
#define __WSAFDIsSet wsemu___WSAFDIsSet
int32_t wsemu___WSAFDIsSet(SOCKET fd, WS_fd_set *set);

/* ---- byte order (Windows is little-endian like this machine) ---- */
#define htons wsemu_htons
#define ntohs wsemu_ntohs
#define htonl wsemu_htonl
#define ntohl wsemu_ntohl
static inline WS_u_short wsemu_htons(WS_u_short v) { return __builtin_bswap16(v); }
static inline WS_u_short wsemu_ntohs(WS_u_short v) { return __builtin_bswap16(v); }
static inline WS_u_long wsemu_htonl(WS_u_long v) { return __builtin_bswap32(v); }
static inline WS_u_long wsemu_ntohl(WS_u_long v) { return __builtin_bswap32(v); }

/* ---- the functions (libwsemu exports the wsemu_ names) ---- */
#define WSAStartup wsemu_WSAStartup
#define WSACleanup wsemu_WSACleanup
#define WSAGetLastError wsemu_WSAGetLastError
#define WSASetLastError wsemu_WSASetLastError
#define socket wsemu_socket
#define closesocket wsemu_closesocket
#define bind wsemu_bind
#define listen wsemu_listen
#define accept wsemu_accept
#define connect wsemu_connect
#define shutdown wsemu_shutdown
#define getsockname wsemu_getsockname
#define getpeername wsemu_getpeername
#define setsockopt wsemu_setsockopt
#define getsockopt wsemu_getsockopt
#define ioctlsocket wsemu_ioctlsocket
#define WSASocketW wsemu_WSASocketW
#define WSASocketA wsemu_WSASocketA
#define WSAAccept wsemu_WSAAccept
#define WSAConnect wsemu_WSAConnect
#define WSAIoctl wsemu_WSAIoctl
#define WSADuplicateSocketW wsemu_WSADuplicateSocketW
#define WSADuplicateSocketA wsemu_WSADuplicateSocketA
#define WSACreateEvent wsemu_WSACreateEvent
#define WSASetEvent wsemu_WSASetEvent
#define WSAResetEvent wsemu_WSAResetEvent
#define WSACloseEvent wsemu_WSACloseEvent
#define WSAEventSelect wsemu_WSAEventSelect
#define WSAEnumNetworkEvents wsemu_WSAEnumNetworkEvents
#define WSAAsyncSelect wsemu_WSAAsyncSelect
#define WSAEnumProtocolsW wsemu_WSAEnumProtocolsW
#define WSAEnumProtocolsA wsemu_WSAEnumProtocolsA
#define WSAAddressToStringW wsemu_WSAAddressToStringW
#define WSAAddressToStringA wsemu_WSAAddressToStringA
#define WSAStringToAddressW wsemu_WSAStringToAddressW
#define WSAStringToAddressA wsemu_WSAStringToAddressA
#define inet_addr wsemu_inet_addr
#define inet_ntoa wsemu_inet_ntoa
#define gethostname wsemu_gethostname
#ifdef UNICODE
#define WSASocket WSASocketW
#define WSADuplicateSocket WSADuplicateSocketW
#define WSAEnumProtocols WSAEnumProtocolsW
#define WSAAddressToString WSAAddressToStringW
#define WSAStringToAddress WSAStringToAddressW
#else
#define WSASocket WSASocketA
#define WSADuplicateSocket WSADuplicateSocketA
#define WSAEnumProtocols WSAEnumProtocolsA
#define WSAAddressToString WSAAddressToStringA
#define WSAStringToAddress WSAStringToAddressA
#endif

/* An event object is the provider's event handle number; NULL is none. */
#define WSA_INVALID_EVENT ((WSAEVENT)NULL)

/* inet_ntoa's answer lives in a per-thread buffer (done in C: native/src/cface_sockets.c). */
char *wsemu_inet_ntoa(struct WS_in_addr in);

int32_t wsemu_WSAGetLastError(void);
void wsemu_WSASetLastError(int32_t iError);

/* ---- the data path: in C (native/src/cface_data.c) ---- */
#define send wsemu_send
#define recv wsemu_recv
#define sendto wsemu_sendto
#define recvfrom wsemu_recvfrom
#define WSASend wsemu_WSASend
#define WSARecv wsemu_WSARecv
#define WSASendTo wsemu_WSASendTo
#define WSARecvFrom wsemu_WSARecvFrom
#define select wsemu_select
#define WSAWaitForMultipleEvents wsemu_WSAWaitForMultipleEvents
int32_t wsemu_send(SOCKET s, const char *buf, int32_t len, int32_t flags);
int32_t wsemu_recv(SOCKET s, char *buf, int32_t len, int32_t flags);
int32_t wsemu_sendto(SOCKET s, const char *buf, int32_t len, int32_t flags, const struct WS_sockaddr *to,
                     int32_t tolen);
int32_t wsemu_recvfrom(SOCKET s, char *buf, int32_t len, int32_t flags, struct WS_sockaddr *from,
                       int32_t *fromlen);
int32_t wsemu_WSASend(SOCKET s, WSABUF *lpBuffers, DWORD dwBufferCount, DWORD *lpNumberOfBytesSent,
                      DWORD dwFlags, WSAOVERLAPPED *lpOverlapped,
                      LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int32_t wsemu_WSARecv(SOCKET s, WSABUF *lpBuffers, DWORD dwBufferCount, DWORD *lpNumberOfBytesRecvd,
                      DWORD *lpFlags, WSAOVERLAPPED *lpOverlapped,
                      LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int32_t wsemu_WSASendTo(SOCKET s, WSABUF *lpBuffers, DWORD dwBufferCount, DWORD *lpNumberOfBytesSent,
                        DWORD dwFlags, const struct WS_sockaddr *lpTo, int32_t iTolen,
                        WSAOVERLAPPED *lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int32_t wsemu_WSARecvFrom(SOCKET s, WSABUF *lpBuffers, DWORD dwBufferCount, DWORD *lpNumberOfBytesRecvd,
                          DWORD *lpFlags, struct WS_sockaddr *lpFrom, int32_t *lpFromlen,
                          WSAOVERLAPPED *lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int32_t wsemu_select(int32_t nfds, WS_fd_set *readfds, WS_fd_set *writefds, WS_fd_set *exceptfds,
                     const struct WS_timeval *timeout);
DWORD wsemu_WSAWaitForMultipleEvents(DWORD cEvents, const WSAEVENT *lphEvents, BOOL fWaitAll,
                                     DWORD dwTimeout, BOOL fAlertable);
/* EMBEDDED-BEGIN: implemented in Python (the package wsemu.cface); native/build_cface.py hands this
 * block to cffi as libwsemu's embedding API. */
int32_t wsemu_WSAStartup(WORD wVersionRequested, WSADATA *lpWSAData);
int32_t wsemu_WSACleanup(void);
SOCKET wsemu_socket(int32_t af, int32_t type, int32_t protocol);
int32_t wsemu_closesocket(SOCKET s);
int32_t wsemu_bind(SOCKET s, const struct WS_sockaddr *name, int32_t namelen);
int32_t wsemu_listen(SOCKET s, int32_t backlog);
SOCKET wsemu_accept(SOCKET s, struct WS_sockaddr *addr, int32_t *addrlen);
int32_t wsemu_connect(SOCKET s, const struct WS_sockaddr *name, int32_t namelen);
int32_t wsemu_shutdown(SOCKET s, int32_t how);
int32_t wsemu_getsockname(SOCKET s, struct WS_sockaddr *name, int32_t *namelen);
int32_t wsemu_getpeername(SOCKET s, struct WS_sockaddr *name, int32_t *namelen);
int32_t wsemu_setsockopt(SOCKET s, int32_t level, int32_t optname, const char *optval, int32_t optlen);
int32_t wsemu_getsockopt(SOCKET s, int32_t level, int32_t optname, char *optval, int32_t *optlen);
int32_t wsemu_ioctlsocket(SOCKET s, int32_t cmd, WS_u_long *argp);
SOCKET wsemu_WSASocketW(int32_t af, int32_t type, int32_t protocol, WSAPROTOCOL_INFOW *lpProtocolInfo, GROUP g, DWORD dwFlags);
SOCKET wsemu_WSASocketA(int32_t af, int32_t type, int32_t protocol, WSAPROTOCOL_INFOA *lpProtocolInfo, GROUP g, DWORD dwFlags);
SOCKET wsemu_WSAAccept(SOCKET s, struct WS_sockaddr *addr, int32_t *addrlen, LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData);
int32_t wsemu_WSAConnect(SOCKET s, const struct WS_sockaddr *name, int32_t namelen, WSABUF *lpCallerData, WSABUF *lpCalleeData, QOS *lpSQOS, QOS *lpGQOS);
int32_t wsemu_WSAIoctl(SOCKET s, DWORD dwIoControlCode, void *lpvInBuffer, DWORD cbInBuffer, void *lpvOutBuffer, DWORD cbOutBuffer, DWORD *lpcbBytesReturned, WSAOVERLAPPED *lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int32_t wsemu_WSADuplicateSocketW(SOCKET s, DWORD dwProcessId, WSAPROTOCOL_INFOW *lpProtocolInfo);
int32_t wsemu_WSADuplicateSocketA(SOCKET s, DWORD dwProcessId, WSAPROTOCOL_INFOA *lpProtocolInfo);
WSAEVENT wsemu_WSACreateEvent(void);
int32_t wsemu_WSASetEvent(WSAEVENT hEvent);
int32_t wsemu_WSAResetEvent(WSAEVENT hEvent);
int32_t wsemu_WSACloseEvent(WSAEVENT hEvent);
int32_t wsemu_WSAEventSelect(SOCKET s, WSAEVENT hEventObject, int32_t lNetworkEvents);
int32_t wsemu_WSAEnumNetworkEvents(SOCKET s, WSAEVENT hEventObject, WSANETWORKEVENTS *lpNetworkEvents);
int32_t wsemu_WSAAsyncSelect(SOCKET s, HWND hWnd, uint32_t wMsg, int32_t lEvent);
int32_t wsemu_WSAEnumProtocolsW(int32_t *lpiProtocols, WSAPROTOCOL_INFOW *lpProtocolBuffer, DWORD *lpdwBufferLength);
int32_t wsemu_WSAEnumProtocolsA(int32_t *lpiProtocols, WSAPROTOCOL_INFOA *lpProtocolBuffer, DWORD *lpdwBufferLength);
int32_t wsemu_WSAAddressToStringW(struct WS_sockaddr *lpsaAddress, DWORD dwAddressLength, WSAPROTOCOL_INFOW *lpProtocolInfo, WCHAR *lpszAddressString, DWORD *lpdwAddressStringLength);
int32_t wsemu_WSAAddressToStringA(struct WS_sockaddr *lpsaAddress, DWORD dwAddressLength, WSAPROTOCOL_INFOA *lpProtocolInfo, char *lpszAddressString, DWORD *lpdwAddressStringLength);
int32_t wsemu_WSAStringToAddressW(WCHAR *AddressString, int32_t AddressFamily, WSAPROTOCOL_INFOW *lpProtocolInfo, struct WS_sockaddr *lpAddress, int32_t *lpAddressLength);
int32_t wsemu_WSAStringToAddressA(char *AddressString, int32_t AddressFamily, WSAPROTOCOL_INFOA *lpProtocolInfo, struct WS_sockaddr *lpAddress, int32_t *lpAddressLength);
WS_u_long wsemu_inet_addr(const char *cp);
int32_t wsemu_gethostname(char *name, int32_t namelen);
/* EMBEDDED-END */

#endif
