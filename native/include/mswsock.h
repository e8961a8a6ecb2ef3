/* <mswsock.h> on wsemu: the Microsoft extensions' names and values that socket code includes
 * this header for. Declarations only: the extension functions themselves are reached through
 * SIO_GET_EXTENSION_FUNCTION_POINTER with the WSAID_* GUIDs below, and wsemu's providers
 * answer for those the Python side implements. The option and ioctl values it shares with
 * <winsock2.h> (SO_UPDATE_ACCEPT_CONTEXT, SO_CONNECT_TIME, SIO_UDP_CONNRESET, SIO_BSP_HANDLE*,
 * SIO_BASE_HANDLE...) come from wsemu/winabi.h. The LPFN_* types take LPWSAOVERLAPPED, which
 * has OVERLAPPED's layout. */
#ifndef WSEMU_MSWSOCK_H
#define WSEMU_MSWSOCK_H

#include <winsock2.h>

/* ---- socket options of the MS extensions not in winabi.h ---- */
#define SO_CONNDATA                0x7000
#define SO_CONNOPT                 0x7001
#define SO_DISCDATA                0x7002
#define SO_DISCOPT                 0x7003
#define SO_CONNDATALEN             0x7004
#define SO_CONNOPTLEN              0x7005
#define SO_DISCDATALEN             0x7006
#define SO_DISCOPTLEN              0x7007
#define TCP_BSDURGENT              0x7000
#define SIO_SOCKET_CLOSE_NOTIFY    (IOC_IN | IOC_VENDOR | 13)

/* ---- TransmitFile / TransmitPackets / DisconnectEx flags ---- */
#define TF_DISCONNECT              0x01
#define TF_REUSE_SOCKET            0x02
#define TF_WRITE_BEHIND            0x04
#define TF_USE_DEFAULT_WORKER      0x00
#define TF_USE_SYSTEM_THREAD       0x10
#define TF_USE_KERNEL_APC          0x20
#define TP_ELEMENT_MEMORY          1
#define TP_ELEMENT_FILE            2
#define TP_ELEMENT_EOP             4
#define TP_DISCONNECT              TF_DISCONNECT
#define TP_REUSE_SOCKET            TF_REUSE_SOCKET
#define TP_USE_DEFAULT_WORKER      TF_USE_DEFAULT_WORKER
#define TP_USE_SYSTEM_THREAD       TF_USE_SYSTEM_THREAD
#define TP_USE_KERNEL_APC          TF_USE_KERNEL_APC
#define DE_REUSE_SOCKET            TF_REUSE_SOCKET

typedef struct _TRANSMIT_FILE_BUFFERS {
    LPVOID Head;
    DWORD  HeadLength;
    LPVOID Tail;
    DWORD  TailLength;
} TRANSMIT_FILE_BUFFERS, *PTRANSMIT_FILE_BUFFERS, *LPTRANSMIT_FILE_BUFFERS;

typedef struct _TRANSMIT_PACKETS_ELEMENT {
    ULONG dwElFlags;
    ULONG cLength;
    union {
        struct {
            LONGLONG nFileOffset;
            HANDLE   hFile;
        };
        LPVOID pBuffer;
    };
} TRANSMIT_PACKETS_ELEMENT, *PTRANSMIT_PACKETS_ELEMENT, *LPTRANSMIT_PACKETS_ELEMENT;

/* ---- the extension functions and their GUIDs (initialisers for a GUID variable) ---- */
typedef BOOL (WINAPI *LPFN_TRANSMITFILE)(SOCKET hSocket, HANDLE hFile, DWORD nNumberOfBytesToWrite,
                                         DWORD nNumberOfBytesPerSend, LPWSAOVERLAPPED lpOverlapped,
                                         LPTRANSMIT_FILE_BUFFERS lpTransmitBuffers, DWORD dwReserved);
#define WSAID_TRANSMITFILE {0xb5367df0, 0xcbac, 0x11cf, {0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92}}

typedef BOOL (WINAPI *LPFN_ACCEPTEX)(SOCKET sListenSocket, SOCKET sAcceptSocket, LPVOID lpOutputBuffer,
                                     DWORD dwReceiveDataLength, DWORD dwLocalAddressLength,
                                     DWORD dwRemoteAddressLength, LPDWORD lpdwBytesReceived,
                                     LPWSAOVERLAPPED lpOverlapped);
#define WSAID_ACCEPTEX {0xb5367df1, 0xcbac, 0x11cf, {0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92}}

typedef void (WINAPI *LPFN_GETACCEPTEXSOCKADDRS)(LPVOID lpOutputBuffer, DWORD dwReceiveDataLength,
                                                 DWORD dwLocalAddressLength, DWORD dwRemoteAddressLength,
                                                 struct WS_sockaddr **LocalSockaddr, LPINT LocalSockaddrLength,
                                                 struct WS_sockaddr **RemoteSockaddr, LPINT RemoteSockaddrLength);
#define WSAID_GETACCEPTEXSOCKADDRS {0xb5367df2, 0xcbac, 0x11cf, {0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92}}

typedef BOOL (WINAPI *LPFN_TRANSMITPACKETS)(SOCKET hSocket, LPTRANSMIT_PACKETS_ELEMENT lpPacketArray,
                                            DWORD nElementCount, DWORD nSendSize, LPWSAOVERLAPPED lpOverlapped,
                                            DWORD dwFlags);
#define WSAID_TRANSMITPACKETS {0xd9689da0, 0x1f90, 0x11d3, {0x99, 0x71, 0x00, 0xc0, 0x4f, 0x68, 0xc8, 0x76}}

typedef BOOL (WINAPI *LPFN_CONNECTEX)(SOCKET s, const struct WS_sockaddr *name, int namelen, LPVOID lpSendBuffer,
                                      DWORD dwSendDataLength, LPDWORD lpdwBytesSent, LPWSAOVERLAPPED lpOverlapped);
#define WSAID_CONNECTEX {0x25a207b9, 0xddf3, 0x4660, {0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e}}

typedef BOOL (WINAPI *LPFN_DISCONNECTEX)(SOCKET s, LPWSAOVERLAPPED lpOverlapped, DWORD dwFlags, DWORD dwReserved);
#define WSAID_DISCONNECTEX {0x7fda2e11, 0x8630, 0x436f, {0xa0, 0x31, 0xf5, 0x36, 0xa6, 0xee, 0xc1, 0x57}}

typedef INT (WINAPI *LPFN_WSARECVMSG)(SOCKET s, WSAMSG *lpMsg, LPDWORD lpdwNumberOfBytesRecvd,
                                      LPWSAOVERLAPPED lpOverlapped,
                                      LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
#define WSAID_WSARECVMSG {0xf689d7c8, 0x6f1f, 0x436b, {0x8a, 0x53, 0xe5, 0x4f, 0xe3, 0x51, 0xc3, 0x22}}

typedef INT (WSAAPI *LPFN_WSASENDMSG)(SOCKET s, WSAMSG *lpMsg, DWORD dwFlags, LPDWORD lpNumberOfBytesSent,
                                      LPWSAOVERLAPPED lpOverlapped,
                                      LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
#define WSAID_WSASENDMSG {0xa441e712, 0x754f, 0x43ca, {0x84, 0xa7, 0x0d, 0xee, 0x44, 0xcf, 0x60, 0x6d}}

#define WSAID_WSAPOLL {0x18c76f85, 0xdc66, 0x4964, {0x97, 0x2e, 0x23, 0xc2, 0x72, 0x38, 0x31, 0x2b}}

#endif
