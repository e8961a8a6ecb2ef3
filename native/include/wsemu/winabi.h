/*
 * wsemu/winabi.h - the Windows (LLP64) socket ABI: scalar types, structure layouts and
 * constant values, exactly as on 64-bit Windows.
 *
 * This header is the single source of truth for every Windows value wsemu uses:
 *   - native/build_native.py feeds the declarations between the CDEF markers to cffi and
 *     turns every "#define NAME value" into a constant of wsemu._native.lib, so the Python
 *     side (wsemu.abi) reads its layouts and constants from here, checked by the C compiler;
 *   - the C face (<winsock2.h> and friends) includes it.
 *
 * Names that collide with POSIX (fd_set, timeval, linger, sockaddr*, in_addr, in6_addr)
 * carry a WS_ prefix here so that this header can sit beside <sys/socket.h> in a
 * translation unit (the cffi extension includes Python.h). Layouts: reference/spi.md §2.
 *
 * The declarations must stay in the subset of C that cffi's cdef parser accepts:
 * fixed-width integer types, plain structs/unions, function-pointer typedefs, and
 * "#define NAME <integer expression>" constants.
 */
#ifndef WSEMU_WINABI_H
#define WSEMU_WINABI_H

#include <stddef.h>
#include <stdint.h>

/* CDEF-BEGIN */

/* ---- LLP64 scalar types: long is 32-bit, pointers and SOCKET are 64-bit ---- */
typedef uint8_t  BYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef int32_t  INT;
typedef uint32_t UINT;
typedef int32_t  LONG;
typedef uint32_t ULONG;
typedef uint16_t WCHAR;
typedef uint16_t WS_u_short;
typedef uint32_t WS_u_int;
typedef uint32_t WS_u_long;
typedef uint64_t SOCKET;
typedef uint32_t GROUP;
typedef uint64_t DWORD_PTR;
typedef uint64_t ULONG_PTR;
typedef uint64_t UINT_PTR;
typedef int64_t  LONG_PTR;
typedef void    *HANDLE;
typedef void    *WSAEVENT;
typedef void    *HWND;
typedef uint64_t WPARAM;
typedef int64_t  LPARAM;

typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t  Data4[8];
} GUID;

/* ---- protocol information (628 bytes; dwProviderReserved at 112) ---- */
typedef struct _WSAPROTOCOLCHAIN {
    int32_t  ChainLen;
    uint32_t ChainEntries[7];
} WSAPROTOCOLCHAIN;

typedef struct _WSAPROTOCOL_INFOW {
    uint32_t dwServiceFlags1;
    uint32_t dwServiceFlags2;
    uint32_t dwServiceFlags3;
    uint32_t dwServiceFlags4;
    uint32_t dwProviderFlags;
    GUID     ProviderId;
    uint32_t dwCatalogEntryId;
    WSAPROTOCOLCHAIN ProtocolChain;
    int32_t  iVersion;
    int32_t  iAddressFamily;
    int32_t  iMaxSockAddr;
    int32_t  iMinSockAddr;
    int32_t  iSocketType;
    int32_t  iProtocol;
    int32_t  iProtocolMaxOffset;
    int32_t  iNetworkByteOrder;
    int32_t  iSecurityScheme;
    uint32_t dwMessageSize;
    uint32_t dwProviderReserved;
    uint16_t szProtocol[256];
} WSAPROTOCOL_INFOW;

typedef struct _WSAPROTOCOL_INFOA {
    uint32_t dwServiceFlags1;
    uint32_t dwServiceFlags2;
    uint32_t dwServiceFlags3;
    uint32_t dwServiceFlags4;
    uint32_t dwProviderFlags;
    GUID     ProviderId;
    uint32_t dwCatalogEntryId;
    WSAPROTOCOLCHAIN ProtocolChain;
    int32_t  iVersion;
    int32_t  iAddressFamily;
    int32_t  iMaxSockAddr;
    int32_t  iMinSockAddr;
    int32_t  iSocketType;
    int32_t  iProtocol;
    int32_t  iProtocolMaxOffset;
    int32_t  iNetworkByteOrder;
    int32_t  iSecurityScheme;
    uint32_t dwMessageSize;
    uint32_t dwProviderReserved;
    char     szProtocol[256];
} WSAPROTOCOL_INFOA;

/* ---- buffers, events, sets ---- */
typedef struct _WSABUF {
    uint32_t len;
    char    *buf;
} WSABUF;

typedef struct _WSANETWORKEVENTS {
    int32_t lNetworkEvents;
    int32_t iErrorCode[10];
} WSANETWORKEVENTS;

/* Windows fd_set: a counted array of 64 SOCKETs, not a bitmap. */
typedef struct WS_fd_set {
    uint32_t fd_count;
    SOCKET   fd_array[64];
} WS_fd_set;

struct WS_timeval {
    int32_t tv_sec;
    int32_t tv_usec;
};

struct WS_linger {
    uint16_t l_onoff;
    uint16_t l_linger;
};

/* ---- addresses (Windows family numbers: AF_INET 2, AF_INET6 23) ---- */
struct WS_sockaddr {
    uint16_t sa_family;
    char     sa_data[14];
};

struct WS_in_addr {
    uint32_t s_addr;
};

struct WS_sockaddr_in {
    int16_t  sin_family;
    uint16_t sin_port;
    struct WS_in_addr sin_addr;
    char     sin_zero[8];
};

struct WS_in6_addr {
    uint8_t s6_addr[16];
};

struct WS_sockaddr_in6 {
    int16_t  sin6_family;
    uint16_t sin6_port;
    uint32_t sin6_flowinfo;
    struct WS_in6_addr sin6_addr;
    uint32_t sin6_scope_id;
};

struct WS_sockaddr_storage {
    int16_t ss_family;
    char    __ss_pad1[6];
    int64_t __ss_align;
    char    __ss_pad2[112];
};

typedef struct _SOCKET_ADDRESS {
    struct WS_sockaddr *lpSockaddr;
    int32_t iSockaddrLength;
} SOCKET_ADDRESS;

typedef struct _CSADDR_INFO {
    SOCKET_ADDRESS LocalAddr;
    SOCKET_ADDRESS RemoteAddr;
    int32_t iSocketType;
    int32_t iProtocol;
} CSADDR_INFO;

/* Interface and address lists of SIO_GET_INTERFACE_LIST / SIO_ADDRESS_LIST_QUERY (ws2ipdef.h,
 * ws2def.h). sockaddr_in6_old is the 24-byte IPv6 address without sin6_scope_id that
 * INTERFACE_INFO still carries, so an entry is 4 + 3 * 24 = 76 bytes. */
struct sockaddr_in6_old {
    int16_t  sin6_family;
    uint16_t sin6_port;
    uint32_t sin6_flowinfo;
    struct WS_in6_addr sin6_addr;
};

typedef union sockaddr_gen {
    struct WS_sockaddr Address;
    struct WS_sockaddr_in AddressIn;
    struct sockaddr_in6_old AddressIn6;
} sockaddr_gen;

typedef struct _INTERFACE_INFO {
    uint32_t     iiFlags;
    sockaddr_gen iiAddress;
    sockaddr_gen iiBroadcastAddress;
    sockaddr_gen iiNetmask;
} INTERFACE_INFO, *LPINTERFACE_INFO;

/* Variable-sized: iAddressCount entries follow (SIZEOF_SOCKET_ADDRESS_LIST below); each
 * lpSockaddr points into the same buffer, after the array. */
typedef struct _SOCKET_ADDRESS_LIST {
    int32_t iAddressCount;
    SOCKET_ADDRESS Address[1];
} SOCKET_ADDRESS_LIST, *PSOCKET_ADDRESS_LIST, *LPSOCKET_ADDRESS_LIST;

struct tcp_keepalive {
    uint32_t onoff;
    uint32_t keepalivetime;
    uint32_t keepaliveinterval;
};

/* ---- startup, overlapped, QoS, messages ---- */
typedef struct _WSADATA {
    uint16_t wVersion;
    uint16_t wHighVersion;
    uint16_t iMaxSockets;
    uint16_t iMaxUdpDg;
    char    *lpVendorInfo;
    char     szDescription[257];
    char     szSystemStatus[129];
} WSADATA;

typedef struct _WSAOVERLAPPED {
    ULONG_PTR Internal;
    ULONG_PTR InternalHigh;
    union {
        struct {
            uint32_t Offset;
            uint32_t OffsetHigh;
        };
        void *Pointer;
    };
    HANDLE hEvent;
} WSAOVERLAPPED;

typedef struct _FLOWSPEC {
    uint32_t TokenRate;
    uint32_t TokenBucketSize;
    uint32_t PeakBandwidth;
    uint32_t Latency;
    uint32_t DelayVariation;
    uint32_t ServiceType;
    uint32_t MaxSduSize;
    uint32_t MinimumPolicedSize;
} FLOWSPEC;

typedef struct _QOS {
    FLOWSPEC SendingFlowspec;
    FLOWSPEC ReceivingFlowspec;
    WSABUF   ProviderSpecific;
} QOS;

typedef struct _WSAMSG {
    struct WS_sockaddr *name;
    int32_t  namelen;
    WSABUF  *lpBuffers;
    uint32_t dwBufferCount;
    WSABUF   Control;
    uint32_t dwFlags;
} WSAMSG;

typedef struct _WSPDATA {
    uint16_t wVersion;
    uint16_t wHighVersion;
    uint16_t szDescription[256];
} WSPDATA;

typedef struct _WSATHREADID {
    HANDLE    ThreadHandle;
    DWORD_PTR Reserved;
} WSATHREADID;

/* ---- SPI dispatch tables (ws2spi.h order; 30 and 15 pointers) ---- */
typedef int (*LPCONDITIONPROC)(WSABUF *CallerId, WSABUF *CallerData, QOS *lpSQOS, QOS *lpGQOS,
                               WSABUF *CalleeId, WSABUF *CalleeData, GROUP *g,
                               DWORD_PTR dwCallbackData);
typedef void (*LPWSAOVERLAPPED_COMPLETION_ROUTINE)(uint32_t dwError, uint32_t cbTransferred,
                                                   WSAOVERLAPPED *lpOverlapped, uint32_t dwFlags);

typedef struct _WSPPROC_TABLE {
    SOCKET (*lpWSPAccept)(SOCKET, struct WS_sockaddr *, int32_t *, LPCONDITIONPROC, DWORD_PTR, int32_t *);
    int32_t (*lpWSPAddressToString)(struct WS_sockaddr *, uint32_t, WSAPROTOCOL_INFOW *, uint16_t *, uint32_t *, int32_t *);
    int (*lpWSPAsyncSelect)(SOCKET, HWND, unsigned int, int32_t, int32_t *);
    int (*lpWSPBind)(SOCKET, const struct WS_sockaddr *, int, int32_t *);
    int (*lpWSPCancelBlockingCall)(int32_t *);
    int (*lpWSPCleanup)(int32_t *);
    int (*lpWSPCloseSocket)(SOCKET, int32_t *);
    int (*lpWSPConnect)(SOCKET, const struct WS_sockaddr *, int, WSABUF *, WSABUF *, QOS *, QOS *, int32_t *);
    int (*lpWSPDuplicateSocket)(SOCKET, uint32_t, WSAPROTOCOL_INFOW *, int32_t *);
    int (*lpWSPEnumNetworkEvents)(SOCKET, WSAEVENT, WSANETWORKEVENTS *, int32_t *);
    int (*lpWSPEventSelect)(SOCKET, WSAEVENT, int32_t, int32_t *);
    int32_t (*lpWSPGetOverlappedResult)(SOCKET, WSAOVERLAPPED *, uint32_t *, int32_t, uint32_t *, int32_t *);
    int (*lpWSPGetPeerName)(SOCKET, struct WS_sockaddr *, int32_t *, int32_t *);
    int (*lpWSPGetSockName)(SOCKET, struct WS_sockaddr *, int32_t *, int32_t *);
    int (*lpWSPGetSockOpt)(SOCKET, int, int, char *, int32_t *, int32_t *);
    int32_t (*lpWSPGetQOSByName)(SOCKET, WSABUF *, QOS *, int32_t *);
    int (*lpWSPIoctl)(SOCKET, uint32_t, void *, uint32_t, void *, uint32_t, uint32_t *, WSAOVERLAPPED *, LPWSAOVERLAPPED_COMPLETION_ROUTINE, WSATHREADID *, int32_t *);
    SOCKET (*lpWSPJoinLeaf)(SOCKET, const struct WS_sockaddr *, int, WSABUF *, WSABUF *, QOS *, QOS *, uint32_t, int32_t *);
    int (*lpWSPListen)(SOCKET, int, int32_t *);
    int (*lpWSPRecv)(SOCKET, WSABUF *, uint32_t, uint32_t *, uint32_t *, WSAOVERLAPPED *, LPWSAOVERLAPPED_COMPLETION_ROUTINE, WSATHREADID *, int32_t *);
    int (*lpWSPRecvDisconnect)(SOCKET, WSABUF *, int32_t *);
    int (*lpWSPRecvFrom)(SOCKET, WSABUF *, uint32_t, uint32_t *, uint32_t *, struct WS_sockaddr *, int32_t *, WSAOVERLAPPED *, LPWSAOVERLAPPED_COMPLETION_ROUTINE, WSATHREADID *, int32_t *);
    int (*lpWSPSelect)(int, WS_fd_set *, WS_fd_set *, WS_fd_set *, const struct WS_timeval *, int32_t *);
    int (*lpWSPSend)(SOCKET, WSABUF *, uint32_t, uint32_t *, uint32_t, WSAOVERLAPPED *, LPWSAOVERLAPPED_COMPLETION_ROUTINE, WSATHREADID *, int32_t *);
    int (*lpWSPSendDisconnect)(SOCKET, WSABUF *, int32_t *);
    int (*lpWSPSendTo)(SOCKET, WSABUF *, uint32_t, uint32_t *, uint32_t, const struct WS_sockaddr *, int, WSAOVERLAPPED *, LPWSAOVERLAPPED_COMPLETION_ROUTINE, WSATHREADID *, int32_t *);
    int (*lpWSPSetSockOpt)(SOCKET, int, int, const char *, int, int32_t *);
    int (*lpWSPShutdown)(SOCKET, int, int32_t *);
    SOCKET (*lpWSPSocket)(int, int, int, WSAPROTOCOL_INFOW *, GROUP, uint32_t, int32_t *);
    int32_t (*lpWSPStringToAddress)(uint16_t *, int32_t, WSAPROTOCOL_INFOW *, struct WS_sockaddr *, int32_t *, int32_t *);
} WSPPROC_TABLE;

typedef int32_t (*LPBLOCKINGCALLBACK)(DWORD_PTR dwContext);
typedef void (*LPWSAUSERAPC)(DWORD_PTR dwContext);

typedef struct _WSPUPCALLTABLE {
    int32_t (*lpWPUCloseEvent)(WSAEVENT, int32_t *);
    int (*lpWPUCloseSocketHandle)(SOCKET, int32_t *);
    WSAEVENT (*lpWPUCreateEvent)(int32_t *);
    SOCKET (*lpWPUCreateSocketHandle)(uint32_t, DWORD_PTR, int32_t *);
    int (*lpWPUFDIsSet)(SOCKET, WS_fd_set *);
    int (*lpWPUGetProviderPath)(GUID *, uint16_t *, int32_t *, int32_t *);
    SOCKET (*lpWPUModifyIFSHandle)(uint32_t, SOCKET, int32_t *);
    int32_t (*lpWPUPostMessage)(HWND, unsigned int, WPARAM, LPARAM);
    int (*lpWPUQueryBlockingCallback)(uint32_t, LPBLOCKINGCALLBACK *, DWORD_PTR *, int32_t *);
    int (*lpWPUQuerySocketHandleContext)(SOCKET, DWORD_PTR *, int32_t *);
    int (*lpWPUQueueApc)(WSATHREADID *, LPWSAUSERAPC, DWORD_PTR, int32_t *);
    int32_t (*lpWPUResetEvent)(WSAEVENT, int32_t *);
    int32_t (*lpWPUSetEvent)(WSAEVENT, int32_t *);
    int (*lpWPUOpenCurrentThread)(WSATHREADID *, int32_t *);
    int (*lpWPUCloseThread)(WSATHREADID *, int32_t *);
} WSPUPCALLTABLE;

/* CDEF-END */

/* ======================= constants (Windows values) ======================= */

/* WSA error codes */
#define WSABASEERR                 10000
#define WSAEINTR                   10004
#define WSAEBADF                   10009
#define WSAEACCES                  10013
#define WSAEFAULT                  10014
#define WSAEINVAL                  10022
#define WSAEMFILE                  10024
#define WSAEWOULDBLOCK             10035
#define WSAEINPROGRESS             10036
#define WSAEALREADY                10037
#define WSAENOTSOCK                10038
#define WSAEDESTADDRREQ            10039
#define WSAEMSGSIZE                10040
#define WSAEPROTOTYPE              10041
#define WSAENOPROTOOPT             10042
#define WSAEPROTONOSUPPORT         10043
#define WSAESOCKTNOSUPPORT         10044
#define WSAEOPNOTSUPP              10045
#define WSAEPFNOSUPPORT            10046
#define WSAEAFNOSUPPORT            10047
#define WSAEADDRINUSE              10048
#define WSAEADDRNOTAVAIL           10049
#define WSAENETDOWN                10050
#define WSAENETUNREACH             10051
#define WSAENETRESET               10052
#define WSAECONNABORTED            10053
#define WSAECONNRESET              10054
#define WSAENOBUFS                 10055
#define WSAEISCONN                 10056
#define WSAENOTCONN                10057
#define WSAESHUTDOWN               10058
#define WSAETOOMANYREFS            10059
#define WSAETIMEDOUT               10060
#define WSAECONNREFUSED            10061
#define WSAELOOP                   10062
#define WSAENAMETOOLONG            10063
#define WSAEHOSTDOWN               10064
#define WSAEHOSTUNREACH            10065
#define WSAENOTEMPTY               10066
#define WSAEPROCLIM                10067
#define WSAEUSERS                  10068
#define WSAEDQUOT                  10069
#define WSAESTALE                  10070
#define WSAEREMOTE                 10071
#define WSASYSNOTREADY             10091
#define WSAVERNOTSUPPORTED         10092
#define WSANOTINITIALISED          10093
#define WSAEDISCON                 10101
#define WSAENOMORE                 10102
#define WSAECANCELLED              10103
#define WSAEINVALIDPROCTABLE       10104
#define WSAEINVALIDPROVIDER        10105
#define WSAEPROVIDERFAILEDINIT     10106
#define WSASYSCALLFAILURE          10107
#define WSASERVICE_NOT_FOUND       10108
#define WSATYPE_NOT_FOUND          10109
#define WSA_E_NO_MORE              10110
#define WSA_E_CANCELLED            10111
#define WSAEREFUSED                10112
#define WSAHOST_NOT_FOUND          11001
#define WSATRY_AGAIN               11002
#define WSANO_RECOVERY             11003
#define WSANO_DATA                 11004
#define WSA_INVALID_HANDLE         6
#define WSA_NOT_ENOUGH_MEMORY      8
#define WSA_INVALID_PARAMETER      87
#define WSA_OPERATION_ABORTED      995
#define WSA_IO_INCOMPLETE          996
#define WSA_IO_PENDING             997
#define ERROR_NETNAME_DELETED      64
#define ERROR_CONNECTION_REFUSED   1225
#define ERROR_CONNECTION_ABORTED   1236
#define ERROR_INVALID_WINDOW_HANDLE 1400

/* address families */
#define AF_UNSPEC                  0
#define AF_UNIX                    1
#define AF_INET                    2
#define AF_IPX                     6
#define AF_APPLETALK               16
#define AF_NETBIOS                 17
#define AF_INET6                   23
#define AF_IRDA                    26
#define AF_BTH                     32

/* socket types */
#define SOCK_STREAM                1
#define SOCK_DGRAM                 2
#define SOCK_RAW                   3
#define SOCK_RDM                   4
#define SOCK_SEQPACKET             5

/* protocols */
#define IPPROTO_IP                 0
#define IPPROTO_HOPOPTS            0
#define IPPROTO_ICMP               1
#define IPPROTO_IGMP               2
#define IPPROTO_GGP                3
#define IPPROTO_IPV4               4
#define IPPROTO_TCP                6
#define IPPROTO_PUP                12
#define IPPROTO_UDP                17
#define IPPROTO_IDP                22
#define IPPROTO_IPV6               41
#define IPPROTO_ROUTING            43
#define IPPROTO_FRAGMENT           44
#define IPPROTO_ESP                50
#define IPPROTO_AH                 51
#define IPPROTO_ICMPV6             58
#define IPPROTO_NONE               59
#define IPPROTO_DSTOPTS            60
#define IPPROTO_ND                 77
#define IPPROTO_SCTP               132
#define IPPROTO_RAW                255
#define IPPROTO_MAX                256

/* socket-level options */
#define SOL_SOCKET                 0xffff
#define SO_DEBUG                   0x0001
#define SO_ACCEPTCONN              0x0002
#define SO_REUSEADDR               0x0004
#define SO_KEEPALIVE               0x0008
#define SO_DONTROUTE               0x0010
#define SO_BROADCAST               0x0020
#define SO_USELOOPBACK             0x0040
#define SO_LINGER                  0x0080
#define SO_OOBINLINE               0x0100
#define SO_DONTLINGER              ((int)(~SO_LINGER))
#define SO_EXCLUSIVEADDRUSE        ((int)(~SO_REUSEADDR))
#define SO_SNDBUF                  0x1001
#define SO_RCVBUF                  0x1002
#define SO_SNDLOWAT                0x1003
#define SO_RCVLOWAT                0x1004
#define SO_SNDTIMEO                0x1005
#define SO_RCVTIMEO                0x1006
#define SO_ERROR                   0x1007
#define SO_TYPE                    0x1008
#define SO_BSP_STATE               0x1009
#define SO_GROUP_ID                0x2001
#define SO_GROUP_PRIORITY          0x2002
#define SO_MAX_MSG_SIZE            0x2003
#define SO_PROTOCOL_INFOA          0x2004
#define SO_PROTOCOL_INFOW          0x2005
#define PVD_CONFIG                 0x3001
#define SO_CONDITIONAL_ACCEPT      0x3002
#define SO_PAUSE_ACCEPT            0x3003
#define SO_COMPARTMENT_ID          0x3004
#define SO_RANDOMIZE_PORT          0x3005
#define SO_PORT_SCALABILITY        0x3006
#define SO_REUSE_UNICASTPORT       0x3007
#define SO_REUSE_MULTICASTPORT     0x3008
#define SO_OPENTYPE                0x7008
#define SO_SYNCHRONOUS_ALERT       0x10
#define SO_SYNCHRONOUS_NONALERT    0x20
#define SO_MAXDG                   0x7009
#define SO_MAXPATHDG               0x700A
#define SO_UPDATE_ACCEPT_CONTEXT   0x700B
#define SO_CONNECT_TIME            0x700C
#define SO_UPDATE_CONNECT_CONTEXT  0x7010

/* IPPROTO_TCP options */
#define TCP_NODELAY                0x0001
#define TCP_EXPEDITED_1122         0x0002
#define TCP_KEEPALIVE              3
#define TCP_MAXSEG                 4
#define TCP_MAXRT                  5
#define TCP_STDURG                 6
#define TCP_NOURG                  7
#define TCP_ATMARK                 8
#define TCP_NOSYNRETRIES           9
#define TCP_TIMESTAMPS             10
#define TCP_CONGESTION_ALGORITHM   12
#define TCP_DELAY_FIN_ACK          13
#define TCP_MAXRTMS                14
#define TCP_FASTOPEN               15
#define TCP_KEEPCNT                16
#define TCP_KEEPIDLE               TCP_KEEPALIVE
#define TCP_KEEPINTVL              17

/* IPPROTO_IP options */
#define IP_OPTIONS                 1
#define IP_HDRINCL                 2
#define IP_TOS                     3
#define IP_TTL                     4
#define IP_MULTICAST_IF            9
#define IP_MULTICAST_TTL           10
#define IP_MULTICAST_LOOP          11
#define IP_ADD_MEMBERSHIP          12
#define IP_DROP_MEMBERSHIP         13
#define IP_DONTFRAGMENT            14
#define IP_ADD_SOURCE_MEMBERSHIP   15
#define IP_DROP_SOURCE_MEMBERSHIP  16
#define IP_BLOCK_SOURCE            17
#define IP_UNBLOCK_SOURCE          18
#define IP_PKTINFO                 19
#define IP_RECVTTL                 21
#define IP_RECEIVE_BROADCAST       22
#define IP_RECVIF                  24
#define IP_RECVDSTADDR             25
#define IP_UNICAST_IF              31
#define IP_RECVTOS                 40
#define IP_MTU_DISCOVER            71
#define IP_MTU                     73

/* IPPROTO_IPV6 options */
#define IPV6_HOPOPTS               1
#define IPV6_HDRINCL               2
#define IPV6_UNICAST_HOPS          4
#define IPV6_MULTICAST_IF          9
#define IPV6_MULTICAST_HOPS        10
#define IPV6_MULTICAST_LOOP        11
#define IPV6_ADD_MEMBERSHIP        12
#define IPV6_JOIN_GROUP            IPV6_ADD_MEMBERSHIP
#define IPV6_DROP_MEMBERSHIP       13
#define IPV6_LEAVE_GROUP           IPV6_DROP_MEMBERSHIP
#define IPV6_DONTFRAG              14
#define IPV6_PKTINFO               19
#define IPV6_HOPLIMIT              21
#define IPV6_PROTECTION_LEVEL      23
#define IPV6_RECVIF                24
#define IPV6_V6ONLY                27
#define IPV6_UNICAST_IF            31
#define IPV6_RECVTCLASS            40
#define IPV6_MTU_DISCOVER          71
#define IPV6_MTU                   72

/* network events */
#define FD_READ_BIT                0
#define FD_READ                    (1 << FD_READ_BIT)
#define FD_WRITE_BIT               1
#define FD_WRITE                   (1 << FD_WRITE_BIT)
#define FD_OOB_BIT                 2
#define FD_OOB                     (1 << FD_OOB_BIT)
#define FD_ACCEPT_BIT              3
#define FD_ACCEPT                  (1 << FD_ACCEPT_BIT)
#define FD_CONNECT_BIT             4
#define FD_CONNECT                 (1 << FD_CONNECT_BIT)
#define FD_CLOSE_BIT               5
#define FD_CLOSE                   (1 << FD_CLOSE_BIT)
#define FD_QOS_BIT                 6
#define FD_QOS                     (1 << FD_QOS_BIT)
#define FD_GROUP_QOS_BIT           7
#define FD_GROUP_QOS               (1 << FD_GROUP_QOS_BIT)
#define FD_ROUTING_INTERFACE_CHANGE_BIT 8
#define FD_ROUTING_INTERFACE_CHANGE (1 << FD_ROUTING_INTERFACE_CHANGE_BIT)
#define FD_ADDRESS_LIST_CHANGE_BIT 9
#define FD_ADDRESS_LIST_CHANGE     (1 << FD_ADDRESS_LIST_CHANGE_BIT)
#define FD_MAX_EVENTS              10
#define FD_ALL_EVENTS              ((1 << FD_MAX_EVENTS) - 1)
#ifdef FD_SETSIZE
/* <sys/select.h> may already have defined the POSIX value; Windows sets are 64 wide. */
#undef FD_SETSIZE
#endif
#define FD_SETSIZE                 64

/* ioctls: _IO* encodings of winsock2.h/ws2def.h/mstcpip.h */
#define IOCPARM_MASK               0x7f
#define IOC_VOID                   0x20000000
#define IOC_OUT                    0x40000000
#define IOC_IN                     0x80000000
#define IOC_INOUT                  (IOC_IN | IOC_OUT)
#define IOC_UNIX                   0x00000000
#define IOC_WS2                    0x08000000
#define IOC_PROTOCOL               0x10000000
#define IOC_VENDOR                 0x18000000
#define FIONREAD                   (IOC_OUT | ((4 & IOCPARM_MASK) << 16) | ('f' << 8) | 127)
#define FIONBIO                    (IOC_IN | ((4 & IOCPARM_MASK) << 16) | ('f' << 8) | 126)
#define FIOASYNC                   (IOC_IN | ((4 & IOCPARM_MASK) << 16) | ('f' << 8) | 125)
#define SIOCSHIWAT                 (IOC_IN | ((4 & IOCPARM_MASK) << 16) | ('s' << 8) | 0)
#define SIOCGHIWAT                 (IOC_OUT | ((4 & IOCPARM_MASK) << 16) | ('s' << 8) | 1)
#define SIOCSLOWAT                 (IOC_IN | ((4 & IOCPARM_MASK) << 16) | ('s' << 8) | 2)
#define SIOCGLOWAT                 (IOC_OUT | ((4 & IOCPARM_MASK) << 16) | ('s' << 8) | 3)
#define SIOCATMARK                 (IOC_OUT | ((4 & IOCPARM_MASK) << 16) | ('s' << 8) | 7)
#define SIO_ASSOCIATE_HANDLE       (IOC_IN | IOC_WS2 | 1)
#define SIO_ENABLE_CIRCULAR_QUEUEING (IOC_VOID | IOC_WS2 | 2)
#define SIO_FIND_ROUTE             (IOC_OUT | IOC_WS2 | 3)
#define SIO_FLUSH                  (IOC_VOID | IOC_WS2 | 4)
#define SIO_GET_BROADCAST_ADDRESS  (IOC_OUT | IOC_WS2 | 5)
#define SIO_GET_EXTENSION_FUNCTION_POINTER (IOC_INOUT | IOC_WS2 | 6)
#define SIO_GET_QOS                (IOC_INOUT | IOC_WS2 | 7)
#define SIO_GET_GROUP_QOS          (IOC_INOUT | IOC_WS2 | 8)
#define SIO_MULTIPOINT_LOOPBACK    (IOC_IN | IOC_WS2 | 9)
#define SIO_MULTICAST_SCOPE        (IOC_IN | IOC_WS2 | 10)
#define SIO_SET_QOS                (IOC_IN | IOC_WS2 | 11)
#define SIO_SET_GROUP_QOS          (IOC_IN | IOC_WS2 | 12)
#define SIO_TRANSLATE_HANDLE       (IOC_INOUT | IOC_WS2 | 13)
#define SIO_ROUTING_INTERFACE_QUERY (IOC_INOUT | IOC_WS2 | 20)
#define SIO_ROUTING_INTERFACE_CHANGE (IOC_IN | IOC_WS2 | 21)
#define SIO_ADDRESS_LIST_QUERY     (IOC_OUT | IOC_WS2 | 22)
#define SIO_ADDRESS_LIST_CHANGE    (IOC_VOID | IOC_WS2 | 23)
#define SIO_QUERY_TARGET_PNP_HANDLE (IOC_OUT | IOC_WS2 | 24)
#define SIO_ADDRESS_LIST_SORT      (IOC_INOUT | IOC_WS2 | 25)
#define SIO_BSP_HANDLE             (IOC_OUT | IOC_WS2 | 27)
#define SIO_BSP_HANDLE_SELECT      (IOC_OUT | IOC_WS2 | 28)
#define SIO_BSP_HANDLE_POLL        (IOC_OUT | IOC_WS2 | 29)
#define SIO_EXT_SELECT             (IOC_INOUT | IOC_WS2 | 30)
#define SIO_EXT_POLL               (IOC_INOUT | IOC_WS2 | 31)
#define SIO_EXT_SENDMSG            (IOC_INOUT | IOC_WS2 | 32)
#define SIO_BASE_HANDLE            (IOC_OUT | IOC_WS2 | 34)
#define SIO_RCVALL                 (IOC_IN | IOC_VENDOR | 1)
#define SIO_KEEPALIVE_VALS         (IOC_IN | IOC_VENDOR | 4)
#define SIO_UDP_CONNRESET          (IOC_IN | IOC_VENDOR | 12)
#define SIO_LOOPBACK_FAST_PATH     (IOC_IN | IOC_VENDOR | 16)
#define SIO_IDEAL_SEND_BACKLOG_CHANGE (IOC_VOID | ('t' << 8) | 122)
#define SIO_IDEAL_SEND_BACKLOG_QUERY (IOC_OUT | ((4 & IOCPARM_MASK) << 16) | ('t' << 8) | 123)
#define SIO_GET_INTERFACE_LIST     (IOC_OUT | ((4 & IOCPARM_MASK) << 16) | ('t' << 8) | 127)

/* send/recv flags */
#define MSG_OOB                    0x1
#define MSG_PEEK                   0x2
#define MSG_DONTROUTE              0x4
#define MSG_WAITALL                0x8
#define MSG_INTERRUPT              0x10
#define MSG_PUSH_IMMEDIATE         0x20
#define MSG_TRUNC                  0x0100
#define MSG_CTRUNC                 0x0200
#define MSG_BCAST                  0x0400
#define MSG_MCAST                  0x0800
#define MSG_ERRQUEUE               0x1000
#define MSG_PARTIAL                0x8000

/* shutdown */
#define SD_RECEIVE                 0
#define SD_SEND                    1
#define SD_BOTH                    2

/* WSASocket */
#define FROM_PROTOCOL_INFO         (-1)
#define WSA_FLAG_OVERLAPPED        0x01
#define WSA_FLAG_MULTIPOINT_C_ROOT 0x02
#define WSA_FLAG_MULTIPOINT_C_LEAF 0x04
#define WSA_FLAG_MULTIPOINT_D_ROOT 0x08
#define WSA_FLAG_MULTIPOINT_D_LEAF 0x10
#define WSA_FLAG_ACCESS_SYSTEM_SECURITY 0x40
#define WSA_FLAG_NO_HANDLE_INHERIT 0x80
#define WSA_FLAG_REGISTERED_IO     0x100
#define SOMAXCONN                  0x7fffffff
#define INADDR_ANY                 0x00000000
#define INADDR_LOOPBACK            0x7f000001
#define INADDR_BROADCAST           0xffffffff
#define INADDR_NONE                0xffffffff

/* WSAAccept condition function results */
#define CF_ACCEPT                  0x0000
#define CF_REJECT                  0x0001
#define CF_DEFER                   0x0002

/* events and waits */
#define WSA_MAXIMUM_WAIT_EVENTS    64
#define WSA_WAIT_FAILED            0xFFFFFFFF
#define WSA_WAIT_EVENT_0           0
#define WSA_WAIT_IO_COMPLETION     0xC0
#define WSA_WAIT_TIMEOUT           258
#define WSA_INFINITE               0xFFFFFFFF

/* protocol catalog */
#define WSAPROTOCOL_LEN            255
#define MAX_PROTOCOL_CHAIN         7
#define LAYERED_PROTOCOL           0
#define BASE_PROTOCOL              1
#define BIGENDIAN                  0x0000
#define LITTLEENDIAN               0x0001
#define SECURITY_PROTOCOL_NONE     0x0000
#define XP1_CONNECTIONLESS         0x00000001
#define XP1_GUARANTEED_DELIVERY    0x00000002
#define XP1_GUARANTEED_ORDER       0x00000004
#define XP1_MESSAGE_ORIENTED       0x00000008
#define XP1_PSEUDO_STREAM          0x00000010
#define XP1_GRACEFUL_CLOSE         0x00000020
#define XP1_EXPEDITED_DATA         0x00000040
#define XP1_CONNECT_DATA           0x00000080
#define XP1_DISCONNECT_DATA        0x00000100
#define XP1_SUPPORT_BROADCAST      0x00000200
#define XP1_SUPPORT_MULTIPOINT     0x00000400
#define XP1_MULTIPOINT_CONTROL_PLANE 0x00000800
#define XP1_MULTIPOINT_DATA_PLANE  0x00001000
#define XP1_QOS_SUPPORTED          0x00002000
#define XP1_INTERRUPT              0x00004000
#define XP1_UNI_SEND               0x00008000
#define XP1_UNI_RECV               0x00010000
#define XP1_IFS_HANDLES            0x00020000
#define XP1_PARTIAL_MESSAGE        0x00040000
#define XP1_SAN_SUPPORT_SDP        0x00080000
#define PFL_MULTIPLE_PROTO_ENTRIES 0x00000001
#define PFL_RECOMMENDED_PROTO_ENTRY 0x00000002
#define PFL_HIDDEN                 0x00000004
#define PFL_MATCHES_PROTOCOL_ZERO  0x00000008
#define PFL_NETWORKDIRECT_PROVIDER 0x00000010

/* startup */
#define WSADESCRIPTION_LEN         256
#define WSASYS_STATUS_LEN          128
#define WSPDESCRIPTION_LEN         255

/* interface flags (ws2ipdef.h) */
#define IFF_UP                     0x00000001
#define IFF_BROADCAST              0x00000002
#define IFF_LOOPBACK               0x00000004
#define IFF_POINTTOPOINT           0x00000008
#define IFF_MULTICAST              0x00000010

/* Bytes a SOCKET_ADDRESS_LIST of n entries takes before its sockaddrs (ws2def.h; Windows
 * spells the offset FIELD_OFFSET, a LONG). */
#define SIZEOF_SOCKET_ADDRESS_LIST(AddressCount) \
    ((LONG)offsetof(SOCKET_ADDRESS_LIST, Address) + (AddressCount) * sizeof(SOCKET_ADDRESS))

#endif /* WSEMU_WINABI_H */
