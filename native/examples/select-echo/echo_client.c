/* The echo server's client, written as for Windows: resolve, connect, send each message and
 * read until the whole echo is back, print it, close.
 *
 *   echo_client HOST PORT MESSAGE... */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

static SOCKET connect_to(const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        printf("getaddrinfo failed: %d\n", rc);
        return INVALID_SOCKET;
    }
    SOCKET s = INVALID_SOCKET;
    for (ai = res; ai != NULL && s == INVALID_SOCKET; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s != INVALID_SOCKET && connect(s, ai->ai_addr, (int)ai->ai_addrlen) == SOCKET_ERROR) {
            closesocket(s);
            s = INVALID_SOCKET;
        }
    }
    freeaddrinfo(res);
    if (s == INVALID_SOCKET)
        printf("could not connect: %d\n", WSAGetLastError());
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        printf("usage: echo_client HOST PORT MESSAGE...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        printf("WSAStartup failed: %d\n", rc);
        return 1;
    }
    SOCKET s = connect_to(argv[1], argv[2]);
    if (s == INVALID_SOCKET) {
        WSACleanup();
        return 1;
    }
    int status = 0;
    for (int i = 3; i < argc && status == 0; i++) {
        int len = (int)strlen(argv[i]);
        char echo[4096];
        if (len >= (int)sizeof echo || send(s, argv[i], len, 0) != len) {
            printf("send failed: %d\n", WSAGetLastError());
            status = 1;
            break;
        }
        int got = 0;
        while (got < len) {
            int n = recv(s, echo + got, len - got, 0);
            if (n <= 0) {
                printf("recv failed: %d\n", n == 0 ? 0 : WSAGetLastError());
                status = 1;
                break;
            }
            got += n;
        }
        echo[got] = 0;
        if (status == 0)
            printf("echo: %s\n", echo);
    }
    shutdown(s, SD_SEND);
    closesocket(s);
    WSACleanup();
    return status;
}
