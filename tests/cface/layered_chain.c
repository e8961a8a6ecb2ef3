/* A Winsock program whose TCP/IPv4 sockets land on a chain of two Python layers (the test
 * installs them; argv[1] is the top chain entry's catalog ID): every call through the C face
 * dispatches through the chain — handles are the top layer's own (non-IFS: above any fd), the
 * data path and select leave C for the layers, getsockopt(SO_PROTOCOL_INFOW) names the chain,
 * event selection through a self-duplicate keeps one registration per socket. */
#include <stdlib.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include "check.h"

#define NON_IFS_FIRST ((SOCKET)1 << 40)      /* wsemu's WPUCreateSocketHandle numbers */

int main(int argc, char **argv)
{
    WSADATA wsa;
    DWORD chain_id = argc > 1 ? (DWORD)strtoul(argv[1], NULL, 10) : 0;
    CHECK(WSAStartup(MAKEWORD(2, 2), &wsa) == 0);

    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(l != INVALID_SOCKET && l >= NON_IFS_FIRST);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int n = sizeof a;
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&a, &n) == 0 && a.sin_port != 0);
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    SOCKET s = accept(l, NULL, NULL);
    CHECK(s != INVALID_SOCKET && s >= NON_IFS_FIRST);

    WSAPROTOCOL_INFOW info;
    int len = sizeof info;
    CHECK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) == 0);
    CHECK(info.dwCatalogEntryId == chain_id && info.ProtocolChain.ChainLen == 3);

    char buf[64];
    CHECK(send(c, "layered", 7, 0) == 7);
    fd_set set;
    FD_ZERO(&set);
    FD_SET(s, &set);
    struct timeval limit = {5, 0};
    CHECK(select(0, &set, NULL, NULL, &limit) == 1 && FD_ISSET(s, &set));
    CHECK(recv(s, buf, sizeof buf, 0) == 7 && memcmp(buf, "layered", 7) == 0);

    /* one registration per underlying socket, whichever layered descriptor made it */
    CHECK(WSADuplicateSocketW(s, GetCurrentProcessId(), &info) == 0 && info.dwCatalogEntryId == chain_id);
    SOCKET twin = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    CHECK(twin != INVALID_SOCKET && twin >= NON_IFS_FIRST && twin != s);
    WSAEVENT first = WSACreateEvent(), second = WSACreateEvent();
    CHECK(WSAEventSelect(s, first, FD_READ) == 0 && WSAEventSelect(twin, second, FD_READ) == 0);
    CHECK(send(c, "x", 1, 0) == 1);
    CHECK(WSAWaitForMultipleEvents(1, &second, FALSE, 5000, FALSE) == WSA_WAIT_EVENT_0);
    CHECK(WSAWaitForMultipleEvents(1, &first, FALSE, 0, FALSE) == WSA_WAIT_TIMEOUT);
    WSANETWORKEVENTS happened;
    CHECK(WSAEnumNetworkEvents(twin, second, &happened) == 0 && happened.lNetworkEvents == FD_READ);
    WSACloseEvent(first);
    WSACloseEvent(second);

    CHECK(closesocket(twin) == 0 && closesocket(s) == 0 && closesocket(c) == 0 && closesocket(l) == 0);
    CHECK(send(c, "x", 1, 0) == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK);
    CHECK(WSACleanup() == 0);
    printf("%s: %d failures\n", __FILE__, failures);
    return failures != 0;
}
