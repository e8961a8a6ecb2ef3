/* What every conformance program shares: the Windows headers in the order Windows wants them
 * (winsock2.h before windows.h), a result printer and a loopback TCP pair. Plain Winsock only,
 * so the same text builds with mingw-w64 (recorded under Wine) and against libwsemu. */
#ifndef CONFORMANCE_COMMON_H
#define CONFORMANCE_COMMON_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

/* "key=rc err=N": the error is only meaningful when the call failed, so it is 0 otherwise
 * (a successful Winsock call does not promise to reset the thread's last error). */
static inline void report(const char *key, int rc)
{
    printf("%s=%d err=%d\n", key, rc, rc == SOCKET_ERROR ? WSAGetLastError() : 0);
}

/* A socket's creation result: whether it is valid, and the error when it is not. */
static inline void report_socket(const char *key, SOCKET s)
{
    printf("%s_valid=%d err=%d\n", key, s != INVALID_SOCKET, s == INVALID_SOCKET ? WSAGetLastError() : 0);
}

/* A TCP listener on 127.0.0.1 with a kernel-chosen port; *addr receives its address. */
static inline SOCKET loopback_listener(struct sockaddr_in *addr)
{
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    int len = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)addr, sizeof *addr) || listen(l, 8)
            || getsockname(l, (struct sockaddr *)addr, &len)) {
        printf("setup_listener_failed err=%d\n", WSAGetLastError());
        exit(1);
    }
    return l;
}

/* A connected blocking TCP pair over loopback (the catalog's "pair"). */
static inline void tcp_pair(SOCKET *client, SOCKET *server)
{
    struct sockaddr_in addr;
    SOCKET l = loopback_listener(&addr);
    *client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (connect(*client, (struct sockaddr *)&addr, sizeof addr)) {
        printf("setup_connect_failed err=%d\n", WSAGetLastError());
        exit(1);
    }
    *server = accept(l, NULL, NULL);
    if (*server == INVALID_SOCKET) {
        printf("setup_accept_failed err=%d\n", WSAGetLastError());
        exit(1);
    }
    closesocket(l);
}

/* A loopback address where nothing listens: a bound, non-listening socket holds the port so
 * no other program can take it while the caller connects to it (and is refused). */
static inline SOCKET refused_address(struct sockaddr_in *addr)
{
    SOCKET holder = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    int len = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(holder, (struct sockaddr *)addr, sizeof *addr);
    getsockname(holder, (struct sockaddr *)addr, &len);
    return holder;
}

#endif
