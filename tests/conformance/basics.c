/* A Windows socket program, unchanged: a loopback TCP exchange and a few error cases,
 * printed as key=value lines. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdio.h>

int main(void)
{
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    printf("startup=%d version=%#06x\n", rc, wsa.wVersion);

    SOCKET lst = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    printf("bind=%d\n", bind(lst, (struct sockaddr *)&addr, sizeof addr));
    int len = sizeof addr;
    rc = getsockname(lst, (struct sockaddr *)&addr, &len);
    printf("getsockname=%d len=%d family=%d\n", rc, len, addr.sin_family);
    printf("listen=%d\n", listen(lst, 4));

    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    printf("connect=%d\n", connect(c, (struct sockaddr *)&addr, sizeof addr));
    struct sockaddr_in peer;
    int peerlen = sizeof peer;
    SOCKET a = accept(lst, (struct sockaddr *)&peer, &peerlen);
    printf("accept_valid=%d peerlen=%d peer_is_loopback=%d\n", a != INVALID_SOCKET, peerlen,
           peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));

    printf("send=%d\n", send(c, "hello", 5, 0));
    char buf[16] = {0};
    rc = recv(a, buf, sizeof buf, 0);
    printf("recv=%d data=%s\n", rc, buf);

    u_long avail = 0;
    send(a, "xyz", 3, 0);
    u_long on = 1;
    rc = ioctlsocket(c, FIONBIO, &on);
    printf("fionbio=%d on=%lu\n", rc, (unsigned long)on);
    int got, tries = 0;
    do {
        got = ioctlsocket(c, FIONREAD, &avail);
    } while (got == 0 && avail < 3 && ++tries < 1000000);
    printf("fionread=%d avail=%lu\n", got, (unsigned long)avail);
    recv(c, buf, 3, 0);
    rc = recv(c, buf, sizeof buf, 0);
    printf("recv_empty=%d error=%d\n", rc, WSAGetLastError());

    int type = 0, typelen = sizeof type;
    rc = getsockopt(c, SOL_SOCKET, SO_TYPE, (char *)&type, &typelen);
    printf("so_type=%d value=%d len=%d\n", rc, type, typelen);

    rc = closesocket((SOCKET)123456);
    printf("bad_socket=%d error=%d\n", rc, WSAGetLastError());
    rc = bind(c, NULL, 16);
    printf("null_name=%d error=%d\n", rc, WSAGetLastError());

    closesocket(a);
    closesocket(c);
    closesocket(lst);
    printf("cleanup=%d\n", WSACleanup());
    SOCKET late = socket(AF_INET, SOCK_STREAM, 0);
    printf("after_cleanup=%d error=%d\n", late == INVALID_SOCKET, WSAGetLastError());
    return 0;
}
