/* A select()-based TCP echo server, written as for Windows: one thread, a listening socket and
 * an array of clients, select() over all of them, whatever a client sends is sent back.
 *
 *   echo_server PORT [CONNECTIONS]
 *
 * PORT 0 lets the system choose; the server prints "listening on port N" once it accepts
 * connections. With CONNECTIONS > 0 it exits after that many clients have come and gone. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_CLIENTS (FD_SETSIZE - 1)     /* one fd_set slot is the listener's */

static SOCKET clients[MAX_CLIENTS];
static int client_count;

static SOCKET open_listener(const char *port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(NULL, port, &hints, &res);
    if (rc != 0) {
        printf("getaddrinfo failed: %d\n", rc);
        return INVALID_SOCKET;
    }
    SOCKET l = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (l == INVALID_SOCKET || bind(l, res->ai_addr, (int)res->ai_addrlen) == SOCKET_ERROR
            || listen(l, SOMAXCONN) == SOCKET_ERROR) {
        printf("listener setup failed: %d\n", WSAGetLastError());
        freeaddrinfo(res);
        return INVALID_SOCKET;
    }
    freeaddrinfo(res);
    return l;
}

static void drop_client(int i)
{
    closesocket(clients[i]);
    clients[i] = clients[--client_count];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: echo_server PORT [CONNECTIONS]\n");
        return 2;
    }
    int connections = argc > 2 ? atoi(argv[2]) : 0, finished = 0;
    setvbuf(stdout, NULL, _IONBF, 0);

    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        printf("WSAStartup failed: %d\n", rc);
        return 1;
    }
    SOCKET listener = open_listener(argv[1]);
    if (listener == INVALID_SOCKET) {
        WSACleanup();
        return 1;
    }
    struct sockaddr_in bound;
    int len = sizeof bound;
    getsockname(listener, (struct sockaddr *)&bound, &len);
    printf("listening on port %d\n", ntohs(bound.sin_port));

    while (connections == 0 || finished < connections) {
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(listener, &readable);
        for (int i = 0; i < client_count; i++)
            FD_SET(clients[i], &readable);
        if (select(0, &readable, NULL, NULL, NULL) == SOCKET_ERROR) {
            printf("select failed: %d\n", WSAGetLastError());
            break;
        }
        if (FD_ISSET(listener, &readable)) {
            SOCKET c = accept(listener, NULL, NULL);
            if (c == INVALID_SOCKET)
                printf("accept failed: %d\n", WSAGetLastError());
            else if (client_count == MAX_CLIENTS)
                closesocket(c);
            else
                clients[client_count++] = c;
        }
        /* backwards, so dropping client i (the last one moves into its slot) skips nobody */
        for (int i = client_count - 1; i >= 0; i--) {
            if (!FD_ISSET(clients[i], &readable))
                continue;
            char buf[4096];
            int n = recv(clients[i], buf, sizeof buf, 0);
            if (n > 0) {
                int sent = 0;
                while (sent < n) {
                    int m = send(clients[i], buf + sent, n - sent, 0);
                    if (m == SOCKET_ERROR)
                        break;
                    sent += m;
                }
                printf("echoed %d bytes\n", n);
                continue;
            }
            if (n == SOCKET_ERROR)
                printf("recv failed: %d\n", WSAGetLastError());
            drop_client(i);
            finished++;
            printf("client done\n");
        }
    }
    while (client_count > 0)
        drop_client(client_count - 1);
    closesocket(listener);
    WSACleanup();
    return 0;
}
