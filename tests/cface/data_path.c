/* The C face's data path (native/src/cface_data.c): each check prints key=value; the test
 * (tests/test_cface_data.py) asserts them one behaviour at a time. A Linux test program over
 * the Windows API (it uses pthreads for the thread that closes a socket under a blocked
 * recv). */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <pthread.h>
#include <stdio.h>

int64_t wsemu_cface_slow_calls(void);

static SOCKET listener(struct sockaddr_in *a)
{
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(0x7f000001);
    bind(l, (struct sockaddr *)a, sizeof *a);
    listen(l, 5);
    int n = sizeof *a;
    getsockname(l, (struct sockaddr *)a, &n);
    return l;
}

static void pair(SOCKET *client, SOCKET *server)
{
    struct sockaddr_in a;
    SOCKET l = listener(&a);
    *client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(*client, (struct sockaddr *)&a, sizeof a);
    *server = accept(l, NULL, NULL);
    closesocket(l);
}

static int readable(SOCKET s, long usec)
{
    fd_set r;
    FD_ZERO(&r);
    FD_SET(s, &r);
    struct timeval tv = { 0, usec };
    return select(0, &r, NULL, NULL, &tv);
}

static SOCKET closing;
static void *close_later(void *arg)
{
    (void)arg;
    usleep(100000);          /* (the recv is blocked by then; a late close still ends it) */
    closesocket(closing);
    return NULL;
}

int main(void)
{
    WSADATA d;
    SOCKET c, s;
    char buf[256];
    int r;

    r = send(5, "x", 1, 0);
    printf("send_before_startup=%d,%d\n", r, WSAGetLastError());
    WSAStartup(MAKEWORD(2, 2), &d);
    pair(&c, &s);

    /* steady data stays in C */
    int64_t before = wsemu_cface_slow_calls();
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= send(c, "ab", 2, 0) == 2 && recv(s, buf, 2, 0) == 2 && send(s, "c", 1, 0) == 1
              && recv(c, buf, 1, 0) == 1;
    printf("steady_ok=%d steady_slow_calls=%lld\n", ok, (long long)(wsemu_cface_slow_calls() - before));

    /* bad input: Windows errors from the Python half */
    r = send(c, NULL, 4, 0);
    printf("send_null=%d,%d\n", r, WSAGetLastError());
    r = recv(c, NULL, 4, 0);
    printf("recv_null=%d,%d\n", r, WSAGetLastError());
    r = recv((SOCKET)99999, buf, 4, 0);
    printf("recv_notsock=%d,%d\n", r, WSAGetLastError());
    r = send(c, "x", -1, 0);
    printf("send_negative=%d,%d\n", r, WSAGetLastError());

    /* flags go to Python: MSG_PEEK leaves the data */
    send(c, "peek", 4, 0);
    readable(s, 500000);
    r = recv(s, buf, sizeof buf, MSG_PEEK);
    int r2 = recv(s, buf, sizeof buf, 0);
    printf("peek=%d then=%d\n", r, r2);

    /* WSABUF forms */
    WSABUF out[3] = { { 1, "a" }, { 0, NULL }, { 3, "bcd" } };
    DWORD sent = 0, got = 0, flags = 0;
    r = WSASend(c, out, 3, &sent, 0, NULL, NULL);
    char b1[2], b2[8];
    WSABUF in[2] = { { 2, b1 }, { 8, b2 } };
    readable(s, 500000);
    r2 = WSARecv(s, in, 2, &got, &flags, NULL, NULL);
    printf("wsasend=%d,%lu wsarecv=%d,%lu,%.2s%.2s flags=%lu\n", r, (unsigned long)sent, r2,
           (unsigned long)got, b1, b2, (unsigned long)flags);
    r = WSARecv(s, in, 2, &got, NULL, NULL, NULL);
    printf("wsarecv_null_flags=%d,%d\n", r, WSAGetLastError());

    /* non-blocking */
    u_long on = 1;
    ioctlsocket(s, FIONBIO, &on);
    r = recv(s, buf, sizeof buf, 0);
    printf("wouldblock=%d,%d\n", r, WSAGetLastError());

    /* a non-blocking stream send takes everything (the send queue holds the rest) */
    ioctlsocket(c, FIONBIO, &on);
    static char big[8 << 20];
    r = send(c, big, sizeof big, 0);
    printf("big_send=%d all=%d\n", r, r == (int)sizeof big);
    r = send(c, "x", 1, 0);
    printf("send_behind_tail=%d,%d\n", r, WSAGetLastError());
    long long total = 0;
    for (int spins = 0; total < (long long)sizeof big && spins < 100000; spins++) {
        r = recv(s, big, sizeof big, 0);
        if (r > 0)
            total += r;
        else
            readable(s, 100000);
    }
    printf("tail_arrived=%d\n", total == (long long)sizeof big);

    /* end of stream, and shutdown */
    on = 0;
    ioctlsocket(s, FIONBIO, &on);
    ioctlsocket(c, FIONBIO, &on);
    shutdown(c, SD_SEND);
    r = recv(s, buf, sizeof buf, 0);
    printf("eof=%d\n", r);
    r = send(c, "x", 1, 0);
    printf("send_after_shutdown=%d,%d\n", r, WSAGetLastError());
    closesocket(c);
    closesocket(s);

    /* a reset is reported, and keeps being reported */
    pair(&c, &s);
    struct linger hard = { 1, 0 };
    setsockopt(c, SOL_SOCKET, SO_LINGER, (const char *)&hard, sizeof hard);
    closesocket(c);
    readable(s, 500000);
    r = recv(s, buf, sizeof buf, 0);
    int e1 = WSAGetLastError();
    r2 = recv(s, buf, sizeof buf, 0);
    printf("reset=%d,%d again=%d,%d\n", r, e1, r2, WSAGetLastError());
    closesocket(s);

    /* closesocket from another thread ends a blocked recv */
    pair(&c, &s);
    closing = s;
    pthread_t t;
    pthread_create(&t, NULL, close_later, NULL);
    r = recv(s, buf, sizeof buf, 0);
    printf("closed_under_recv=%d,%d\n", r, WSAGetLastError());
    pthread_join(t, NULL);
    r = recv(s, buf, sizeof buf, 0);
    printf("recv_after_close=%d,%d\n", r, WSAGetLastError());
    closesocket(c);

    /* datagrams */
    SOCKET u1 = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP), u2 = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    r = recv(u1, buf, sizeof buf, 0);
    printf("dgram_unbound_recv=%d,%d\n", r, WSAGetLastError());
    struct sockaddr_in a, from;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    bind(u1, (struct sockaddr *)&a, sizeof a);
    int n = sizeof a;
    getsockname(u1, (struct sockaddr *)&a, &n);
    r = sendto(u2, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a);
    int fromlen = sizeof from;
    memset(&from, 0, sizeof from);
    r2 = recvfrom(u1, buf, 2, 0, (struct sockaddr *)&from, &fromlen);
    printf("sendto=%d truncated=%d,%d,%.2s\n", r, r2, WSAGetLastError(), buf);
    sendto(u2, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a);
    fromlen = sizeof from;
    r = recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    struct sockaddr_in me;
    n = sizeof me;
    getsockname(u2, (struct sockaddr *)&me, &n);
    printf("recvfrom=%d family=%d len=%d same_port=%d\n", r, from.sin_family, fromlen, from.sin_port == me.sin_port);
    r = sendto(u2, "x", 1, 0, (struct sockaddr *)&a, 8);
    printf("sendto_short_name=%d,%d\n", r, WSAGetLastError());
    struct sockaddr_in6 six;
    memset(&six, 0, sizeof six);
    six.sin6_family = AF_INET6;
    r = sendto(u2, "x", 1, 0, (struct sockaddr *)&six, sizeof six);
    printf("sendto_other_family=%d,%d\n", r, WSAGetLastError());
    sendto(u2, "xyz", 3, 0, (struct sockaddr *)&a, sizeof a);
    fromlen = 4;
    r = recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    printf("recvfrom_short_fromlen=%d,%d\n", r, WSAGetLastError());
    fromlen = sizeof from;
    r = recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    printf("still_queued=%d\n", r);
    char d1[2], d2[8];
    WSABUF din[2] = { { 2, d1 }, { 8, d2 } };
    sendto(u2, "scatter", 7, 0, (struct sockaddr *)&a, sizeof a);
    fromlen = sizeof from;
    flags = 0;
    r = WSARecvFrom(u1, din, 2, &got, &flags, (struct sockaddr *)&from, &fromlen, NULL, NULL);
    printf("wsarecvfrom=%d,%lu,%.2s%.5s\n", r, (unsigned long)got, d1, d2);
    closesocket(u1);
    closesocket(u2);

    /* select */
    SOCKET never = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    fd_set rs, ws, xs;
    FD_ZERO(&rs); FD_ZERO(&ws); FD_ZERO(&xs);
    FD_SET(never, &rs); FD_SET(never, &ws); FD_SET(never, &xs);
    struct timeval short_wait = { 0, 20000 };
    r = select(0, &rs, &ws, &xs, &short_wait);
    printf("select_never_connected=%d,%u,%u,%u\n", r, rs.fd_count, ws.fd_count, xs.fd_count);
    struct sockaddr_in la;
    SOCKET l = listener(&la);
    c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(c, (struct sockaddr *)&la, sizeof la);
    FD_ZERO(&rs); FD_ZERO(&ws);
    FD_SET(l, &rs); FD_SET(l, &ws);
    r = select(0, &rs, &ws, NULL, NULL);
    printf("select_listener=%d,%u,%u\n", r, rs.fd_count, ws.fd_count);
    s = accept(l, NULL, NULL);
    FD_ZERO(&rs); FD_ZERO(&ws);
    FD_SET(s, &rs); FD_SET(c, &rs); FD_SET(s, &ws); FD_SET(c, &ws);
    r = select(0, &rs, &ws, NULL, &short_wait);
    printf("select_connected=%d,%u,%u\n", r, rs.fd_count, ws.fd_count);
    FD_ZERO(&rs);
    FD_SET(s, &rs);
    r = select(0, &rs, &rs, NULL, &short_wait);
    printf("select_same_set_twice=%d,%u\n", r, rs.fd_count);
    r = select(0, NULL, NULL, NULL, &short_wait);
    printf("select_no_sets=%d,%d\n", r, WSAGetLastError());
    FD_ZERO(&rs);
    FD_SET((SOCKET)99999, &rs);
    r = select(0, &rs, NULL, NULL, &short_wait);
    printf("select_notsock=%d,%d\n", r, WSAGetLastError());
    send(c, "!", 1, MSG_OOB);
    FD_ZERO(&xs);
    FD_SET(s, &xs);
    r = select(0, NULL, NULL, &xs, &short_wait);
    printf("select_oob_except=%d,%u\n", r, xs.fd_count);
    closesocket(c);
    closesocket(s);
    closesocket(l);
    closesocket(never);

    /* WSAWaitForMultipleEvents, and FD_READ re-enabled by a recv in C (item 126) */
    WSAEVENT ev = WSACreateEvent();
    DWORD w = WSAWaitForMultipleEvents(1, &ev, FALSE, 10, FALSE);
    printf("wait_timeout=%lu\n", (unsigned long)w);
    WSAEVENT bogus = (WSAEVENT)(uintptr_t)99999;
    w = WSAWaitForMultipleEvents(1, &bogus, FALSE, 0, FALSE);
    printf("wait_bad_handle=%lx,%d\n", (unsigned long)w, WSAGetLastError());
    w = WSAWaitForMultipleEvents(0, &ev, FALSE, 0, FALSE);
    printf("wait_no_events=%lx,%d\n", (unsigned long)w, WSAGetLastError());
    WSASetEvent(ev);
    w = WSAWaitForMultipleEvents(1, &ev, FALSE, WSA_INFINITE, FALSE);
    printf("wait_set=%lu\n", (unsigned long)w);
    WSAResetEvent(ev);
    pair(&c, &s);
    WSAEventSelect(s, ev, FD_READ);
    WSANETWORKEVENTS ne;
    before = wsemu_cface_slow_calls();
    ok = 1;
    int reenabled = 1;
    for (int i = 0; i < 300; i++) {
        ok &= send(c, "ab", 2, 0) == 2;
        ok &= WSAWaitForMultipleEvents(1, &ev, FALSE, 2000, FALSE) == WSA_WAIT_EVENT_0;
        ok &= WSAEnumNetworkEvents(s, ev, &ne) == 0 && (ne.lNetworkEvents & FD_READ);
        ok &= recv(s, buf, 1, 0) == 1;           /* one byte left: FD_READ again at once */
        reenabled &= WSAWaitForMultipleEvents(1, &ev, FALSE, 2000, FALSE) == WSA_WAIT_EVENT_0;
        ok &= WSAEnumNetworkEvents(s, ev, &ne) == 0 && (ne.lNetworkEvents & FD_READ);
        ok &= recv(s, buf, 1, 0) == 1;
    }
    printf("event_echo_ok=%d reenabled=%d event_slow_calls=%lld\n", ok, reenabled,
           (long long)(wsemu_cface_slow_calls() - before));
    w = WSAWaitForMultipleEvents(1, &ev, FALSE, 20, FALSE);
    printf("drained_then_timeout=%lu\n", (unsigned long)w);
    closesocket(c);
    closesocket(s);
    WSACloseEvent(ev);
    w = WSAWaitForMultipleEvents(1, &ev, FALSE, 0, FALSE);
    printf("wait_closed_event=%lx,%d\n", (unsigned long)w, WSAGetLastError());
    WSACleanup();
    return 0;
}
