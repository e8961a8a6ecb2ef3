/* select(): readable/writable/except semantics, timeouts and argument errors (CONFORMANCE.md
 * §6 G: items 111-113, 117, 118, 120, 122; FD_SETSIZE). Windows' fd_set is a counted array;
 * the first argument is ignored. */
#include "common.h"

/* Windows times out a refused loopback connect only after its SYN retries (about 2 s). */
#define CONNECT_REFUSED_SECONDS 10

/* select on one socket in the sets named by the flags; prints the count and membership. */
static void probe(const char *key, SOCKET s, int in_read, int in_write, int in_except, long usec)
{
    fd_set r, w, e;
    struct timeval tv = {usec / 1000000, usec % 1000000};
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    if (in_read)
        FD_SET(s, &r);
    if (in_write)
        FD_SET(s, &w);
    if (in_except)
        FD_SET(s, &e);
    int n = select(0, &r, &w, &e, &tv);
    printf("%s=%d err=%d read=%d write=%d except=%d\n", key, n, n == SOCKET_ERROR ? WSAGetLastError() : 0,
           FD_ISSET(s, &r) != 0, FD_ISSET(s, &w) != 0, FD_ISSET(s, &e) != 0);
}

int main(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    fd_set r, w, e;
    struct timeval tv = {0, 0};

    /* no sockets at all → WSAEINVAL (item 111) */
    report("all_null", select(0, NULL, NULL, NULL, &tv));
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    report("all_empty", select(0, &r, &w, &e, &tv));

    /* a non-socket in a set → WSAENOTSOCK (item 112) */
    FD_SET(INVALID_SOCKET, &r);
    report("invalid_socket", select(0, &r, NULL, NULL, &tv));

    /* FD_SETSIZE: the counted array holds 64 and FD_SET stops there */
    printf("fd_setsize=%d\n", FD_SETSIZE);
    SOCKET udp[FD_SETSIZE + 1];
    FD_ZERO(&w);
    for (int i = 0; i < FD_SETSIZE + 1; i++) {
        udp[i] = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
        FD_SET(udp[i], &w);
    }
    printf("fd_count_after_65=%u\n", (unsigned)w.fd_count);
    /* unbound UDP sockets are writable at once (item 122), order preserved */
    int n = select(0, NULL, &w, NULL, &tv);
    int in_order = 1;
    for (int i = 0; i < FD_SETSIZE; i++)
        in_order &= w.fd_array[i] == udp[i];
    printf("udp_writable=%d in_order=%d\n", n, in_order);
    for (int i = 0; i < FD_SETSIZE + 1; i++)
        closesocket(udp[i]);

    /* a listener: not readable when idle (timeout leaves tv alone), readable with a pending
     * connection, never writable (item 117) */
    struct sockaddr_in addr;
    SOCKET l = loopback_listener(&addr);
    FD_ZERO(&r);
    FD_SET(l, &r);
    tv.tv_sec = 0;
    tv.tv_usec = 100000;
    n = select(0, &r, NULL, NULL, &tv);
    printf("listener_idle=%d fd_count=%u tv_sec=%d tv_usec=%d\n", n, (unsigned)r.fd_count, (int)tv.tv_sec,
           (int)tv.tv_usec);
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(c, (struct sockaddr *)&addr, sizeof addr);
    probe("listener_pending", l, 1, 1, 1, 2000000);
    SOCKET a = accept(l, NULL, NULL);
    probe("listener_after_accept", l, 1, 0, 0, 0);

    /* a connected pair: writable, not readable until data arrives, then readable and writable,
     * never in except (items 117, 118) */
    probe("connected_client", c, 1, 1, 1, 0);
    int err = -1, len = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
    printf("connected_so_error=%d\n", err);
    probe("no_data", a, 1, 0, 0, 100000);
    send(c, "data", 4, 0);
    probe("data", a, 1, 1, 1, 2000000);
    char buf[16];
    printf("recv_data=%d\n", recv(a, buf, sizeof buf, 0));
    probe("drained", a, 1, 0, 0, 0);

    /* an OOB byte puts the receiver in exceptfds; recv(MSG_OOB) returns it (item 118) */
    send(c, "!", 1, MSG_OOB);
    probe("oob", a, 0, 0, 1, 2000000);
    printf("recv_oob=%d\n", recv(a, buf, sizeof buf, MSG_OOB));

    /* the peer's FIN: readable, recv returns 0 */
    shutdown(c, SD_SEND);
    probe("eof", a, 1, 0, 1, 2000000);
    printf("recv_eof=%d\n", recv(a, buf, sizeof buf, 0));

    /* a closed socket in the sets → WSAENOTSOCK and the sets unchanged (item 113) */
    closesocket(c);
    FD_ZERO(&r);
    FD_ZERO(&e);
    FD_SET(a, &r);
    FD_SET(c, &r);
    FD_SET(a, &e);
    FD_SET(c, &e);
    tv.tv_sec = tv.tv_usec = 0;
    report("closed_in_set", select(0, &r, NULL, &e, &tv));
    printf("closed_in_set_counts=%u,%u\n", (unsigned)r.fd_count, (unsigned)e.fd_count);

    /* a refused nonblocking connect: in exceptfds only, SO_ERROR WSAECONNREFUSED, read twice
     * (item 120) */
    struct sockaddr_in nowhere;
    SOCKET holder = refused_address(&nowhere);
    SOCKET r2 = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    u_long on = 1;
    ioctlsocket(r2, FIONBIO, &on);
    report("connect_refused", connect(r2, (struct sockaddr *)&nowhere, sizeof nowhere));
    probe("refused", r2, 1, 1, 1, CONNECT_REFUSED_SECONDS * 1000000L);
    for (int i = 0; i < 2; i++) {
        err = -1;
        len = sizeof err;
        getsockopt(r2, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
        printf("refused_so_error=%d\n", err);
    }
    closesocket(r2);
    closesocket(holder);

    closesocket(a);
    closesocket(l);
    WSACleanup();
    return 0;
}
