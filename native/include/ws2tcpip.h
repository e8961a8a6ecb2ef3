/* <ws2tcpip.h> on wsemu: Windows' name resolution and text-address calls (getaddrinfo,
 * GetAddrInfoW, getnameinfo, inet_pton, inet_ntop) with Windows' layouts and error codes.
 * ADDRINFOA/ADDRINFOW are Windows' x64 structures: ai_addrlen is a size_t and ai_canonname
 * comes *before* ai_addr (glibc has them the other way round), so they are wsemu's own
 * types under the Windows names, never glibc's struct addrinfo. */
#ifndef WSEMU_WS2TCPIP_H
#define WSEMU_WS2TCPIP_H

#include <winsock2.h>

#define addrinfo WS_addrinfo

/* CDEF-BEGIN */
typedef struct WS_addrinfo {
    int32_t ai_flags;
    int32_t ai_family;
    int32_t ai_socktype;
    int32_t ai_protocol;
    size_t ai_addrlen;
    char *ai_canonname;
    struct WS_sockaddr *ai_addr;
    struct WS_addrinfo *ai_next;
} ADDRINFOA;

typedef struct addrinfoW {
    int32_t ai_flags;
    int32_t ai_family;
    int32_t ai_socktype;
    int32_t ai_protocol;
    size_t ai_addrlen;
    WCHAR *ai_canonname;
    struct WS_sockaddr *ai_addr;
    struct addrinfoW *ai_next;
} ADDRINFOW;

/* One zeroed block for a result node, its address and its name; freeaddrinfo frees a list
 * of them (done in C: native/src/cface_sockets.c). */
void *wsemu_addrinfo_node(size_t size);
void wsemu_freeaddrinfo(ADDRINFOA *pAddrInfo);
/* CDEF-END */

typedef ADDRINFOA *PADDRINFOA;
typedef ADDRINFOW *PADDRINFOW;
typedef const char *PCSTR;
typedef char *PSTR;
typedef const WCHAR *PCWSTR;
typedef WCHAR *PWSTR;
typedef void *PVOID;

/* Windows' flag and error values (glibc's differ: none of <netdb.h> may leak in). */
#undef AI_PASSIVE
#undef AI_CANONNAME
#undef AI_NUMERICHOST
#undef AI_NUMERICSERV
#undef AI_ALL
#undef AI_ADDRCONFIG
#undef AI_V4MAPPED
#define AI_PASSIVE     0x00000001
#define AI_CANONNAME   0x00000002
#define AI_NUMERICHOST 0x00000004
#define AI_NUMERICSERV 0x00000008
#define AI_ALL         0x00000100
#define AI_ADDRCONFIG  0x00000400
#define AI_V4MAPPED    0x00000800

#undef NI_NOFQDN
#undef NI_NUMERICHOST
#undef NI_NAMEREQD
#undef NI_NUMERICSERV
#undef NI_DGRAM
#undef NI_MAXHOST
#undef NI_MAXSERV
#define NI_NOFQDN      0x01
#define NI_NUMERICHOST 0x02
#define NI_NAMEREQD    0x04
#define NI_NUMERICSERV 0x08
#define NI_DGRAM       0x10
#define NI_MAXHOST     1025
#define NI_MAXSERV     32

#undef EAI_AGAIN
#undef EAI_BADFLAGS
#undef EAI_FAIL
#undef EAI_FAMILY
#undef EAI_MEMORY
#undef EAI_NOSECURENAME
#undef EAI_NODATA
#undef EAI_NONAME
#undef EAI_SERVICE
#undef EAI_SOCKTYPE
#define EAI_AGAIN    WSATRY_AGAIN
#define EAI_BADFLAGS WSAEINVAL
#define EAI_FAIL     WSANO_RECOVERY
#define EAI_FAMILY   WSAEAFNOSUPPORT
#define EAI_MEMORY   WSA_NOT_ENOUGH_MEMORY
#define EAI_NONAME   WSAHOST_NOT_FOUND
#define EAI_NODATA   EAI_NONAME
#define EAI_SERVICE  WSATYPE_NOT_FOUND
#define EAI_SOCKTYPE WSAESOCKTNOSUPPORT

#define INET_ADDRSTRLEN  22
#define INET6_ADDRSTRLEN 65

#define getaddrinfo wsemu_getaddrinfo
#define GetAddrInfoW wsemu_GetAddrInfoW
#define GetAddrInfoA wsemu_getaddrinfo
#define freeaddrinfo wsemu_freeaddrinfo
#define FreeAddrInfoW wsemu_FreeAddrInfoW
#define FreeAddrInfoA wsemu_freeaddrinfo
#define getnameinfo wsemu_getnameinfo
#define inet_pton wsemu_inet_pton
#define inet_ntop wsemu_inet_ntop
#define InetPtonA wsemu_inet_pton
#define InetNtopA wsemu_inet_ntop

/* Done in C (native/src/cface_sockets.c): the error code is both returned and the thread's
 * last error, and a result list is freed node by node. */
int32_t wsemu_getaddrinfo(const char *pNodeName, const char *pServiceName, const ADDRINFOA *pHints,
                          ADDRINFOA **ppResult);
int32_t wsemu_GetAddrInfoW(const WCHAR *pNodeName, const WCHAR *pServiceName, const ADDRINFOW *pHints,
                           ADDRINFOW **ppResult);
int32_t wsemu_getnameinfo(const struct WS_sockaddr *pSockaddr, int32_t SockaddrLength, char *pNodeBuffer,
                          DWORD NodeBufferSize, char *pServiceBuffer, DWORD ServiceBufferSize,
                          int32_t Flags);
void wsemu_FreeAddrInfoW(ADDRINFOW *pAddrInfo);

/* EMBEDDED-BEGIN: implemented in Python (wsemu.cface.addresses, wsemu.cface.resolve). The
 * wsemu_resolve_* calls return the Windows error code (0: done) for the C calls above. */
int32_t wsemu_inet_pton(int32_t Family, const char *pszAddrString, void *pAddrBuf);
const char *wsemu_inet_ntop(int32_t Family, const void *pAddr, char *pStringBuf, size_t StringBufSize);
int32_t wsemu_resolve_addrinfo(const void *pNodeName, const void *pServiceName, const ADDRINFOA *pHints,
                               void **ppResult, int32_t wide);
int32_t wsemu_resolve_nameinfo(const struct WS_sockaddr *pSockaddr, int32_t SockaddrLength, char *pNodeBuffer,
                               DWORD NodeBufferSize, char *pServiceBuffer, DWORD ServiceBufferSize,
                               int32_t Flags);
/* EMBEDDED-END */

#endif
