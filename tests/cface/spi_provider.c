/* Drives wsemu's base provider as ws2_32 would: WSPStartup with an upcall table, then only
 * the 30 pointers it returns (loopback TCP, a self-duplicate, event select, select, options,
 * address strings), checking *lpErrno for bad input and that the last error is not touched. */
#include <poll.h>
#include <unistd.h>

#include <winsock2.h>
#include <ws2spi.h>

#include "check.h"

static WSPPROC_TABLE p;
static int err;
static int registered;           /* sockets the provider registered through our table */

static SOCKET WSPAPI counting_modify(DWORD id, SOCKET handle, LPINT lpErrno)
{
    registered++;
    return WPUModifyIFSHandle(id, handle, lpErrno);
}

static int condition_calls;

static int CALLBACK accept_loopback(LPWSABUF caller, LPWSABUF caller_data, QOS *sqos, QOS *gqos,
                                    LPWSABUF callee, LPWSABUF callee_data, GROUP *g, DWORD_PTR context)
{
    struct sockaddr_in *from = (struct sockaddr_in *)caller->buf;
    condition_calls++;
    if (caller->len != sizeof *from || from->sin_addr.s_addr != htonl(INADDR_LOOPBACK) || callee->len != sizeof *from
            || caller_data != NULL || context != 77)
        return CF_REJECT;
    return CF_ACCEPT;
}

static WSAPROTOCOL_INFOW base_entry(int type)
{
    WSAPROTOCOL_INFOW infos[64], found = {0};
    DWORD length = 0;
    CHECK_FAILS(WSCEnumProtocols(NULL, NULL, &length, &err), SOCKET_ERROR, WSAENOBUFS);
    CHECK(length % sizeof(WSAPROTOCOL_INFOW) == 0 && length <= sizeof infos);
    int n = WSCEnumProtocols(NULL, infos, &length, &err);
    for (int i = 0; i < n; i++)
        if (infos[i].iAddressFamily == AF_INET && infos[i].iSocketType == type
                && infos[i].ProtocolChain.ChainLen == BASE_PROTOCOL)
            found = infos[i];
    CHECK(found.dwCatalogEntryId != 0);
    return found;
}

static int readable(SOCKET s)
{
    fd_set set;
    struct timeval limit = {10, 0};
    FD_ZERO(&set);
    FD_SET(s, &set);
    int ready = p.lpWSPSelect(0, &set, NULL, NULL, &limit, &err);
    return ready == 1 && FD_ISSET(s, &set);
}

int main(void)
{
    WSAPROTOCOL_INFOW info = base_entry(SOCK_STREAM), udp = base_entry(SOCK_DGRAM);
    WSPDATA data;
    WSPUPCALLTABLE upcalls = wsemu_upcall_table();
    upcalls.lpWPUModifyIFSHandle = counting_modify;

    /* ---- startup: 2.2 only; every entry filled ---- */
    CHECK(WSPStartup(MAKEWORD(2, 1), &data, &info, upcalls, &p) == WSAVERNOTSUPPORTED);
    CHECK(WSPStartup(MAKEWORD(1, 1), &data, &info, upcalls, &p) == WSAVERNOTSUPPORTED);
    CHECK(WSPStartup(MAKEWORD(2, 2), NULL, &info, upcalls, &p) == WSAEFAULT);
    CHECK(WSPStartup(MAKEWORD(2, 2), &data, &info, upcalls, &p) == 0);
    CHECK(data.wVersion == 0x0202 && data.wHighVersion == 0x0202 && data.szDescription[0] != 0);
    void **entries = (void **)&p;
    for (size_t i = 0; i < sizeof p / sizeof(void *); i++)
        CHECK(entries[i] != NULL);

    WSASetLastError(12345);      /* SPI errors go to lpErrno only */

    /* ---- a loopback connection ---- */
    SOCKET listener = p.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &info, 0, 0, &err);
    CHECK(listener != INVALID_SOCKET);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(p.lpWSPBind(listener, (struct sockaddr *)&addr, sizeof addr, &err) == 0);
    int len = sizeof addr;
    CHECK(p.lpWSPGetSockName(listener, (struct sockaddr *)&addr, &len, &err) == 0);
    CHECK(len == sizeof addr && addr.sin_port != 0);
    CHECK(p.lpWSPListen(listener, 5, &err) == 0);

    SOCKET client = p.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0, &err);
    CHECK(client != INVALID_SOCKET);
    CHECK(p.lpWSPConnect(client, (struct sockaddr *)&addr, sizeof addr, NULL, NULL, NULL, NULL, &err) == 0);
    struct sockaddr_in peer;
    len = sizeof peer;
    SOCKET server = p.lpWSPAccept(listener, (struct sockaddr *)&peer, &len, NULL, 0, &err);
    CHECK(server != INVALID_SOCKET);
    CHECK(len == sizeof peer && peer.sin_family == AF_INET && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    len = sizeof peer;
    CHECK(p.lpWSPGetPeerName(client, (struct sockaddr *)&peer, &len, &err) == 0);
    CHECK(peer.sin_port == addr.sin_port);
    CHECK(registered == 3);     /* listener, client, accepted */

    /* ---- gather-send, scatter-receive ---- */
    char hello[] = "hello, ", world[] = "world";
    WSABUF out[2] = {{7, hello}, {5, world}};
    DWORD sent = 0, got = 0, flags = 0;
    CHECK(p.lpWSPSend(client, out, 2, &sent, 0, NULL, NULL, NULL, &err) == 0 && sent == 12);
    char a[5], b[16] = {0};
    WSABUF in[2] = {{5, a}, {sizeof b, b}};
    CHECK(readable(server));
    CHECK(p.lpWSPRecv(server, in, 2, &got, &flags, NULL, NULL, NULL, &err) == 0 && got == 12);
    CHECK(memcmp(a, "hello", 5) == 0 && strcmp(b, ", world") == 0);

    /* ---- a duplicate for this process, claimed through WSPSocket ---- */
    WSAPROTOCOL_INFOW dup;
    CHECK(p.lpWSPDuplicateSocket(client, getpid(), &dup, &err) == 0);
    CHECK(dup.dwProviderReserved != 0 && dup.dwCatalogEntryId == info.dwCatalogEntryId);
    SOCKET twin = p.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &dup, 0, 0, &err);
    CHECK(twin != INVALID_SOCKET && twin != client);
    WSABUF one = {3, "dup"};
    CHECK(p.lpWSPSend(twin, &one, 1, &sent, 0, NULL, NULL, NULL, &err) == 0 && sent == 3);

    /* ---- event select: FD_READ recorded for the data the duplicate sent ---- */
    WSAEVENT event = WPUCreateEvent(&err);
    CHECK(event != NULL);
    CHECK(p.lpWSPEventSelect(server, event, FD_READ | FD_CLOSE, &err) == 0);
    CHECK(readable(server));
    WSANETWORKEVENTS events;
    CHECK(p.lpWSPEnumNetworkEvents(server, event, &events, &err) == 0);
    CHECK(events.lNetworkEvents == FD_READ && events.iErrorCode[FD_READ_BIT] == 0);
    DWORD pending = 0, returned = 0;
    CHECK(p.lpWSPIoctl(server, FIONREAD, NULL, 0, &pending, sizeof pending, &returned, NULL, NULL, NULL, &err) == 0);
    CHECK(pending == 3 && returned == sizeof pending);
    CHECK(p.lpWSPRecvFrom(server, in, 1, &got, &flags, NULL, NULL, NULL, NULL, NULL, &err) == 0 && got == 3);
    CHECK(p.lpWSPEventSelect(server, NULL, 0, &err) == 0);
    CHECK(WPUCloseEvent(event, &err) == TRUE);

    /* ---- a condition function sees the caller's address ---- */
    SOCKET second = p.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &info, 0, 0, &err);
    CHECK(p.lpWSPConnect(second, (struct sockaddr *)&addr, sizeof addr, NULL, NULL, NULL, NULL, &err) == 0);
    SOCKET accepted = p.lpWSPAccept(listener, NULL, NULL, accept_loopback, 77, &err);
    CHECK(accepted != INVALID_SOCKET && condition_calls == 1);
    CHECK(p.lpWSPCloseSocket(accepted, &err) == 0 && p.lpWSPCloseSocket(second, &err) == 0);

    /* ---- datagrams: sendto and recvfrom with the sender's address ---- */
    SOCKET dgram = p.lpWSPSocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP, &udp, 0, 0, &err);
    CHECK(dgram != INVALID_SOCKET);
    struct sockaddr_in here = {0};
    here.sin_family = AF_INET;
    here.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(p.lpWSPBind(dgram, (struct sockaddr *)&here, sizeof here, &err) == 0);
    len = sizeof here;
    CHECK(p.lpWSPGetSockName(dgram, (struct sockaddr *)&here, &len, &err) == 0);
    WSABUF ping = {4, "ping"};
    CHECK(p.lpWSPSendTo(dgram, &ping, 1, &sent, 0, (struct sockaddr *)&here, sizeof here, NULL, NULL, NULL, &err) == 0);
    CHECK(sent == 4 && readable(dgram));
    struct sockaddr_in from;
    int fromlen = sizeof from;
    char pong[8];
    WSABUF reply = {sizeof pong, pong};
    flags = 0;
    CHECK(p.lpWSPRecvFrom(dgram, &reply, 1, &got, &flags, (struct sockaddr *)&from, &fromlen, NULL, NULL, NULL,
                          &err) == 0);
    CHECK(got == 4 && memcmp(pong, "ping", 4) == 0 && fromlen == sizeof from && from.sin_port == here.sin_port);
    CHECK(p.lpWSPCloseSocket(dgram, &err) == 0);

    /* ---- options ---- */
    int type = 0, optlen = sizeof type, size = 65536;
    CHECK(p.lpWSPGetSockOpt(server, SOL_SOCKET, SO_TYPE, (char *)&type, &optlen, &err) == 0);
    CHECK(type == SOCK_STREAM && optlen == sizeof type);
    CHECK(p.lpWSPSetSockOpt(server, SOL_SOCKET, SO_RCVBUF, (char *)&size, sizeof size, &err) == 0);

    /* ---- address strings ---- */
    WCHAR text[64];
    DWORD textlen = 64;
    struct sockaddr_in target = {0};
    target.sin_family = AF_INET;
    target.sin_port = htons(80);
    target.sin_addr.s_addr = htonl(0x7f000001);
    CHECK(p.lpWSPAddressToString((struct sockaddr *)&target, sizeof target, &info, text, &textlen, &err) == 0);
    CHECK(textlen == 13 && text[0] == '1' && text[9] == ':' && text[12] == 0);
    struct sockaddr_in back;
    len = sizeof back;
    CHECK(p.lpWSPStringToAddress(text, AF_INET, &info, (struct sockaddr *)&back, &len, &err) == 0);
    CHECK(len == sizeof back && back.sin_port == htons(80) && back.sin_addr.s_addr == htonl(0x7f000001));
    textlen = 4;
    CHECK_FAILS(p.lpWSPAddressToString((struct sockaddr *)&target, sizeof target, &info, text, &textlen, &err),
                SOCKET_ERROR, WSAEFAULT);
    CHECK(textlen == 13);

    /* ---- bad input: the Windows code in *lpErrno ---- */
    CHECK_FAILS(p.lpWSPBind(client, NULL, 16, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(p.lpWSPSend((SOCKET)0x7ffffff0, out, 1, &sent, 0, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAENOTSOCK);
    CHECK_FAILS(p.lpWSPSend(client, NULL, 1, &sent, 0, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(p.lpWSPRecv(server, in, 1, &got, NULL, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(p.lpWSPSend(client, out, 1, NULL, 0, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAEFAULT);
    len = 4;
    CHECK_FAILS(p.lpWSPGetSockName(client, (struct sockaddr *)&peer, &len, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(p.lpWSPSocket(999, SOCK_STREAM, 0, &info, 0, 0, &err), INVALID_SOCKET, WSAEAFNOSUPPORT);
    CHECK_FAILS(p.lpWSPListen(client, 5, &err), SOCKET_ERROR, WSAEISCONN);
    CHECK_FAILS(p.lpWSPSelect(0, NULL, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAEINVAL);
    WSAOVERLAPPED ov = {0};
    CHECK_FAILS(p.lpWSPSend(client, out, 1, &sent, 0, &ov, NULL, NULL, &err), SOCKET_ERROR, WSAEOPNOTSUPP);
    CHECK_FAILS(p.lpWSPJoinLeaf(client, (struct sockaddr *)&addr, sizeof addr, NULL, NULL, NULL, NULL, 0, &err),
                INVALID_SOCKET, WSAEOPNOTSUPP);
    CHECK_FAILS(p.lpWSPCancelBlockingCall(&err), SOCKET_ERROR, WSAEINVAL);
    CHECK_FAILS(p.lpWSPSocket(AF_INET, SOCK_STREAM, 0, NULL, 0, 0, &err), INVALID_SOCKET, WSAEFAULT);
    CHECK_FAILS(p.lpWSPDuplicateSocket(client, getpid(), NULL, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(p.lpWSPEnumNetworkEvents(server, NULL, NULL, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(p.lpWSPIoctl(server, 0x12345678, NULL, 0, NULL, 0, &returned, NULL, NULL, NULL, &err),
                SOCKET_ERROR, WSAEOPNOTSUPP);
    CHECK_FAILS(p.lpWSPGetSockOpt(server, SOL_SOCKET, SO_TYPE, (char *)&type, NULL, &err), SOCKET_ERROR, WSAEFAULT);
    CHECK_FAILS(p.lpWSPAccept(client, NULL, NULL, NULL, 0, &err), INVALID_SOCKET, WSAEINVAL);
    CHECK_FAILS(p.lpWSPConnect(client, (struct sockaddr *)&addr, 3, NULL, NULL, NULL, NULL, &err), SOCKET_ERROR,
                WSAEFAULT);
    CHECK_FAILS(p.lpWSPRecv(server, in, 0, &got, &flags, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAEINVAL);
    WCHAR junk[] = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'a', 'd', 'd', 'r', 'e', 's', 's', 0};
    len = sizeof back;
    CHECK_FAILS(p.lpWSPStringToAddress(junk, AF_INET, &info, (struct sockaddr *)&back, &len, &err), SOCKET_ERROR,
                WSAEINVAL);
    fd_set bogus;
    FD_ZERO(&bogus);
    FD_SET((SOCKET)0x7ffffff0, &bogus);
    CHECK_FAILS(p.lpWSPSelect(0, &bogus, NULL, NULL, NULL, &err), SOCKET_ERROR, WSAENOTSOCK);
    DWORD transferred, ovflags;
    CHECK_FAILS(p.lpWSPGetOverlappedResult(client, &ov, &transferred, FALSE, &ovflags, &err), FALSE, WSAEOPNOTSUPP);
    CHECK_FAILS(p.lpWSPGetQOSByName(client, NULL, NULL, &err), FALSE, WSAEOPNOTSUPP);
    CHECK_FAILS(p.lpWSPAsyncSelect(server, (HWND)(intptr_t)0x7fff0000, 0x400, FD_READ, &err), SOCKET_ERROR, WSAEINVAL);
    CHECK(WSAGetLastError() == 12345);

    /* ---- teardown ---- */
    CHECK(p.lpWSPShutdown(client, SD_SEND, &err) == 0);
    CHECK(readable(server));
    CHECK(p.lpWSPRecv(server, in, 1, &got, &flags, NULL, NULL, NULL, &err) == 0 && got == 0);
    SOCKET all[] = {twin, client, server, listener};
    for (int i = 0; i < 4; i++)
        CHECK(p.lpWSPCloseSocket(all[i], &err) == 0);
    CHECK_FAILS(p.lpWSPCloseSocket(client, &err), SOCKET_ERROR, WSAENOTSOCK);

    /* ---- ws2's own calls reach the same provider, which ws2 starts with its own upcall
     * table: the most recent table wins (reference/spi.md §1.1), so ours sees no more
     * registrations (last: the final WSACleanup closes every socket ws2 registered) ---- */
    WSADATA wsa;
    int before = registered;
    CHECK(WSAStartup(MAKEWORD(2, 2), &wsa) == 0);
    SOCKET api = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(api != INVALID_SOCKET && registered == before);
    SOCKET after = p.lpWSPSocket(AF_INET, SOCK_DGRAM, 0, &udp, 0, 0, &err);
    CHECK(after != INVALID_SOCKET && registered == before && p.lpWSPCloseSocket(after, &err) == 0);
    CHECK(closesocket(api) == 0 && WSACleanup() == 0);
    CHECK(p.lpWSPCleanup(&err) == 0);
    CHECK_FAILS(p.lpWSPSocket(AF_INET, SOCK_STREAM, 0, &info, 0, 0, &err), INVALID_SOCKET, WSANOTINITIALISED);
    printf("%s: %d failures\n", __FILE__, failures);
    return failures != 0;
}
