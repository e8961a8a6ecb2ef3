/* Every size and offset of reference/spi.md §2 (64-bit Windows, LLP64) as compile-time
 * checks. Written with the Windows names only, so the same file compiles against wsemu's C
 * face and against mingw-w64's Windows headers: both must agree with the numbers below. */
#include <stddef.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <ws2spi.h>
#include <mswsock.h>

#define SIZE(type, size) _Static_assert(sizeof(type) == (size), "sizeof(" #type ") != " #size)
#define AT(type, field, offset) \
    _Static_assert(offsetof(type, field) == (offset), "offsetof(" #type ", " #field ") != " #offset)

/* ---- scalars ---- */
SIZE(SOCKET, 8);
SIZE(WSAEVENT, 8);
SIZE(GROUP, 4);
SIZE(u_long, 4);
SIZE(u_short, 2);
SIZE(DWORD, 4);
SIZE(WORD, 2);
SIZE(WCHAR, 2);
SIZE(DWORD_PTR, 8);
SIZE(HANDLE, 8);

/* ---- WSAPROTOCOL_INFOW: 628 bytes, dwProviderReserved a DWORD at 112 ---- */
SIZE(WSAPROTOCOL_INFOW, 628);
AT(WSAPROTOCOL_INFOW, dwServiceFlags1, 0);
AT(WSAPROTOCOL_INFOW, dwServiceFlags2, 4);
AT(WSAPROTOCOL_INFOW, dwServiceFlags3, 8);
AT(WSAPROTOCOL_INFOW, dwServiceFlags4, 12);
AT(WSAPROTOCOL_INFOW, dwProviderFlags, 16);
AT(WSAPROTOCOL_INFOW, ProviderId, 20);
AT(WSAPROTOCOL_INFOW, dwCatalogEntryId, 36);
AT(WSAPROTOCOL_INFOW, ProtocolChain, 40);
AT(WSAPROTOCOL_INFOW, iVersion, 72);
AT(WSAPROTOCOL_INFOW, iAddressFamily, 76);
AT(WSAPROTOCOL_INFOW, iMaxSockAddr, 80);
AT(WSAPROTOCOL_INFOW, iMinSockAddr, 84);
AT(WSAPROTOCOL_INFOW, iSocketType, 88);
AT(WSAPROTOCOL_INFOW, iProtocol, 92);
AT(WSAPROTOCOL_INFOW, iProtocolMaxOffset, 96);
AT(WSAPROTOCOL_INFOW, iNetworkByteOrder, 100);
AT(WSAPROTOCOL_INFOW, iSecurityScheme, 104);
AT(WSAPROTOCOL_INFOW, dwMessageSize, 108);
AT(WSAPROTOCOL_INFOW, dwProviderReserved, 112);
SIZE(((WSAPROTOCOL_INFOW *)0)->dwProviderReserved, 4);
AT(WSAPROTOCOL_INFOW, szProtocol, 116);
SIZE(((WSAPROTOCOL_INFOW *)0)->szProtocol, 512);
SIZE(WSAPROTOCOL_INFOA, 372);
AT(WSAPROTOCOL_INFOA, dwProviderReserved, 112);
AT(WSAPROTOCOL_INFOA, szProtocol, 116);
SIZE(WSAPROTOCOLCHAIN, 32);
AT(WSAPROTOCOLCHAIN, ChainEntries, 4);
SIZE(GUID, 16);
AT(GUID, Data2, 4);
AT(GUID, Data3, 6);
AT(GUID, Data4, 8);

/* ---- buffers, events, sets, times ---- */
SIZE(WSABUF, 16);
AT(WSABUF, len, 0);
AT(WSABUF, buf, 8);
SIZE(WSANETWORKEVENTS, 44);
AT(WSANETWORKEVENTS, iErrorCode, 4);
SIZE(fd_set, 520);
AT(fd_set, fd_count, 0);
AT(fd_set, fd_array, 8);
SIZE(struct linger, 4);
AT(struct linger, l_linger, 2);
SIZE(struct timeval, 8);
AT(struct timeval, tv_usec, 4);
SIZE(WSAOVERLAPPED, 32);
AT(WSAOVERLAPPED, Internal, 0);
AT(WSAOVERLAPPED, InternalHigh, 8);
AT(WSAOVERLAPPED, Offset, 16);
AT(WSAOVERLAPPED, OffsetHigh, 20);
AT(WSAOVERLAPPED, Pointer, 16);
AT(WSAOVERLAPPED, hEvent, 24);

/* ---- addresses ---- */
SIZE(struct sockaddr, 16);
AT(struct sockaddr, sa_data, 2);
SIZE(struct sockaddr_in, 16);
AT(struct sockaddr_in, sin_port, 2);
AT(struct sockaddr_in, sin_addr, 4);
AT(struct sockaddr_in, sin_zero, 8);
SIZE(struct sockaddr_in6, 28);
AT(struct sockaddr_in6, sin6_port, 2);
AT(struct sockaddr_in6, sin6_flowinfo, 4);
AT(struct sockaddr_in6, sin6_addr, 8);
AT(struct sockaddr_in6, sin6_scope_id, 24);
SIZE(SOCKADDR_STORAGE, 128);
AT(SOCKADDR_STORAGE, __ss_pad1, 2);
AT(SOCKADDR_STORAGE, __ss_align, 8);
AT(SOCKADDR_STORAGE, __ss_pad2, 16);
_Static_assert(_Alignof(SOCKADDR_STORAGE) == 8, "SOCKADDR_STORAGE is 8-byte aligned");
SIZE(SOCKET_ADDRESS, 16);
AT(SOCKET_ADDRESS, iSockaddrLength, 8);
SIZE(CSADDR_INFO, 40);
AT(CSADDR_INFO, RemoteAddr, 16);
AT(CSADDR_INFO, iSocketType, 32);
AT(CSADDR_INFO, iProtocol, 36);

/* ---- startup, QoS, messages ---- */
SIZE(WSADATA, 408);
AT(WSADATA, wHighVersion, 2);
AT(WSADATA, iMaxSockets, 4);
AT(WSADATA, iMaxUdpDg, 6);
AT(WSADATA, lpVendorInfo, 8);
AT(WSADATA, szDescription, 16);
AT(WSADATA, szSystemStatus, 273);
SIZE(QOS, 80);
AT(QOS, ReceivingFlowspec, 32);
AT(QOS, ProviderSpecific, 64);
SIZE(WSAMSG, 56);
AT(WSAMSG, namelen, 8);
AT(WSAMSG, lpBuffers, 16);
AT(WSAMSG, dwBufferCount, 24);
AT(WSAMSG, Control, 32);
AT(WSAMSG, dwFlags, 48);

/* ---- the SPI ---- */
SIZE(WSPDATA, 516);
AT(WSPDATA, szDescription, 4);
SIZE(WSATHREADID, 16);
AT(WSATHREADID, Reserved, 8);
SIZE(WSPPROC_TABLE, 240);
AT(WSPPROC_TABLE, lpWSPAccept, 0);
AT(WSPPROC_TABLE, lpWSPAddressToString, 8);
AT(WSPPROC_TABLE, lpWSPAsyncSelect, 16);
AT(WSPPROC_TABLE, lpWSPBind, 24);
AT(WSPPROC_TABLE, lpWSPCancelBlockingCall, 32);
AT(WSPPROC_TABLE, lpWSPCleanup, 40);
AT(WSPPROC_TABLE, lpWSPCloseSocket, 48);
AT(WSPPROC_TABLE, lpWSPConnect, 56);
AT(WSPPROC_TABLE, lpWSPDuplicateSocket, 64);
AT(WSPPROC_TABLE, lpWSPEnumNetworkEvents, 72);
AT(WSPPROC_TABLE, lpWSPEventSelect, 80);
AT(WSPPROC_TABLE, lpWSPGetOverlappedResult, 88);
AT(WSPPROC_TABLE, lpWSPGetPeerName, 96);
AT(WSPPROC_TABLE, lpWSPGetSockName, 104);
AT(WSPPROC_TABLE, lpWSPGetSockOpt, 112);
AT(WSPPROC_TABLE, lpWSPGetQOSByName, 120);
AT(WSPPROC_TABLE, lpWSPIoctl, 128);
AT(WSPPROC_TABLE, lpWSPJoinLeaf, 136);
AT(WSPPROC_TABLE, lpWSPListen, 144);
AT(WSPPROC_TABLE, lpWSPRecv, 152);
AT(WSPPROC_TABLE, lpWSPRecvDisconnect, 160);
AT(WSPPROC_TABLE, lpWSPRecvFrom, 168);
AT(WSPPROC_TABLE, lpWSPSelect, 176);
AT(WSPPROC_TABLE, lpWSPSend, 184);
AT(WSPPROC_TABLE, lpWSPSendDisconnect, 192);
AT(WSPPROC_TABLE, lpWSPSendTo, 200);
AT(WSPPROC_TABLE, lpWSPSetSockOpt, 208);
AT(WSPPROC_TABLE, lpWSPShutdown, 216);
AT(WSPPROC_TABLE, lpWSPSocket, 224);
AT(WSPPROC_TABLE, lpWSPStringToAddress, 232);
SIZE(WSPUPCALLTABLE, 120);
AT(WSPUPCALLTABLE, lpWPUCloseEvent, 0);
AT(WSPUPCALLTABLE, lpWPUCloseSocketHandle, 8);
AT(WSPUPCALLTABLE, lpWPUCreateEvent, 16);
AT(WSPUPCALLTABLE, lpWPUCreateSocketHandle, 24);
AT(WSPUPCALLTABLE, lpWPUFDIsSet, 32);
AT(WSPUPCALLTABLE, lpWPUGetProviderPath, 40);
AT(WSPUPCALLTABLE, lpWPUModifyIFSHandle, 48);
AT(WSPUPCALLTABLE, lpWPUPostMessage, 56);
AT(WSPUPCALLTABLE, lpWPUQueryBlockingCallback, 64);
AT(WSPUPCALLTABLE, lpWPUQuerySocketHandleContext, 72);
AT(WSPUPCALLTABLE, lpWPUQueueApc, 80);
AT(WSPUPCALLTABLE, lpWPUResetEvent, 88);
AT(WSPUPCALLTABLE, lpWPUSetEvent, 96);
AT(WSPUPCALLTABLE, lpWPUOpenCurrentThread, 104);
AT(WSPUPCALLTABLE, lpWPUCloseThread, 112);

/* ---- <mswsock.h> ---- */
SIZE(TRANSMIT_FILE_BUFFERS, 32);
AT(TRANSMIT_FILE_BUFFERS, HeadLength, 8);
AT(TRANSMIT_FILE_BUFFERS, Tail, 16);
AT(TRANSMIT_FILE_BUFFERS, TailLength, 24);
SIZE(TRANSMIT_PACKETS_ELEMENT, 24);
AT(TRANSMIT_PACKETS_ELEMENT, cLength, 4);
AT(TRANSMIT_PACKETS_ELEMENT, nFileOffset, 8);
AT(TRANSMIT_PACKETS_ELEMENT, hFile, 16);
AT(TRANSMIT_PACKETS_ELEMENT, pBuffer, 8);

/* ---- values socket code compares against (spi.md §2) ---- */
_Static_assert(AF_INET6 == 23 && SOL_SOCKET == 0xffff && FD_SETSIZE == 64, "Windows numbers");
_Static_assert(FIONBIO == (long)0x8004667E && FIONREAD == 0x4004667F && SIOCATMARK == 0x40047307, "ioctls");
_Static_assert(SIO_GET_EXTENSION_FUNCTION_POINTER == (long)0xC8000006 && SIO_BSP_HANDLE == 0x4800001B
               && SIO_BSP_HANDLE_SELECT == 0x4800001C && SIO_BSP_HANDLE_POLL == 0x4800001D
               && SIO_BASE_HANDLE == 0x48000022, "SIO codes");
_Static_assert(WSAVERNOTSUPPORTED == 10092 && WSAEINVALIDPROCTABLE == 10104 && WSAEINVALIDPROVIDER == 10105
               && WSAEPROVIDERFAILEDINIT == 10106 && WSASYSCALLFAILURE == 10107, "SPI errors");
_Static_assert(SO_UPDATE_ACCEPT_CONTEXT == 0x700B && SO_CONNECT_TIME == 0x700C && TF_DISCONNECT == 1
               && TF_REUSE_SOCKET == 2, "mswsock values");

#ifdef WSEMU_LAYOUT_SELF_TEST
SIZE(WSAPROTOCOL_INFOW, 627);    /* must not compile: proves the checks are live */
#endif

int main(void)
{
    static const GUID accept_ex = WSAID_ACCEPTEX, connect_ex = WSAID_CONNECTEX;
    return !(accept_ex.Data1 == 0xb5367df1 && connect_ex.Data4[7] == 0x3e);
}
