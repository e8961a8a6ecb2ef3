/* Event objects and WSAEventSelect: the pending/reported model of CONFORMANCE.md §2 and the
 * catalog's H and I sections (items 125-126, 134, 136, 138, 142-144, 148, 150-151, 161, 163,
 * 168-171, 173, 175). "wait" lines give WSAWaitForMultipleEvents' result (0 = signalled,
 * 258 = WSA_WAIT_TIMEOUT); "enum" lines give WSAEnumNetworkEvents' lNetworkEvents. */
#include "common.h"

/* Windows times out a refused loopback connect only after its SYN retries (about 2 s). */
#define CONNECT_REFUSED_WAIT 10000

static void wait_one(const char *key, WSAEVENT ev, DWORD ms)
{
    printf("%s_wait=%u\n", key, (unsigned)WSAWaitForMultipleEvents(1, &ev, FALSE, ms, FALSE));
}

/* Wait (up to 2 s) for the event, then enumerate: the events and their error codes. */
static void wait_enum(const char *key, SOCKET s, WSAEVENT ev)
{
    WSANETWORKEVENTS ne;
    DWORD w = WSAWaitForMultipleEvents(1, &ev, FALSE, 2000, FALSE);
    memset(&ne, 0x55, sizeof ne);
    int rc = WSAEnumNetworkEvents(s, ev, &ne);
    printf("%s_wait=%u enum=%d events=%#x", key, (unsigned)w, rc, (unsigned)ne.lNetworkEvents);
    for (int bit = 0; bit < FD_MAX_EVENTS; bit++)
        if (ne.lNetworkEvents & (1 << bit))
            printf(" error%d=%d", bit, ne.iErrorCode[bit]);
    printf("\n");
}

/* Nothing is signalled within a short wait, and nothing is pending. */
static void quiet(const char *key, SOCKET s, WSAEVENT ev)
{
    WSANETWORKEVENTS ne;
    DWORD w = WSAWaitForMultipleEvents(1, &ev, FALSE, 200, FALSE);
    WSAEnumNetworkEvents(s, ev, &ne);
    printf("%s_wait=%u events=%#x\n", key, (unsigned)w, (unsigned)ne.lNetworkEvents);
}

int main(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);

    /* the event objects themselves: manual reset, timeouts, which one of several */
    WSAEVENT ev1 = WSACreateEvent(), ev2 = WSACreateEvent();
    printf("create_event=%d\n", ev1 != WSA_INVALID_EVENT && ev2 != WSA_INVALID_EVENT);
    wait_one("fresh_zero_timeout", ev1, 0);
    wait_one("fresh_50ms", ev1, 50);
    printf("set_event=%d\n", WSASetEvent(ev1));
    wait_one("set", ev1, 0);
    wait_one("set_still", ev1, 0);
    WSAEVENT both[2] = {ev1, ev2};
    printf("wait_any=%u\n", (unsigned)WSAWaitForMultipleEvents(2, both, FALSE, 0, FALSE));
    printf("wait_all=%u\n", (unsigned)WSAWaitForMultipleEvents(2, both, TRUE, 0, FALSE));
    printf("reset_event=%d\n", WSAResetEvent(ev1));
    WSASetEvent(ev2);
    printf("wait_second=%u\n", (unsigned)WSAWaitForMultipleEvents(2, both, FALSE, 0, FALSE));
    WSAResetEvent(ev2);
    DWORD w = WSAWaitForMultipleEvents(0, both, FALSE, 0, FALSE);
    printf("wait_none=%u err=%d\n", (unsigned)w, w == WSA_WAIT_FAILED ? WSAGetLastError() : 0);

    /* listener (items 125, 126) */
    struct sockaddr_in addr;
    SOCKET l = loopback_listener(&addr);
    WSAEVENT evl = WSACreateEvent();
    report("select_listener", WSAEventSelect(l, evl, FD_ACCEPT | FD_READ | FD_WRITE | FD_CLOSE));
    quiet("listener_idle", l, evl);

    /* client: FD_CONNECT and FD_WRITE in one go (item 136) */
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    WSAEVENT evc = WSACreateEvent();
    report("select_client", WSAEventSelect(c, evc, FD_CONNECT | FD_READ | FD_WRITE | FD_CLOSE));
    report("connect_nonblocking", connect(c, (struct sockaddr *)&addr, sizeof addr));
    wait_enum("listener_accept", l, evl);
    quiet("listener_again", l, evl);
    wait_enum("client_connect", c, evc);
    quiet("client_again", c, evc);

    /* the accepted socket inherits the listener's registration and reports FD_WRITE (134) */
    SOCKET a = accept(l, NULL, NULL);
    report_socket("accept", a);
    wait_enum("accepted_inherits", a, evl);

    /* re-selecting does not re-signal a consumed FD_WRITE (item 143); a successful send does
     * not re-arm it (item 144) */
    WSAEVENT eva = WSACreateEvent();
    report("select_accepted", WSAEventSelect(a, eva, FD_READ | FD_WRITE | FD_CLOSE));
    quiet("reselect_write", a, eva);
    printf("send_from_accepted=%d\n", send(a, "abc", 3, 0));
    quiet("after_send", a, eva);
    wait_enum("client_read", c, evc);
    char buf[16];
    printf("client_recv=%d\n", recv(c, buf, sizeof buf, 0));

    /* FD_READ: once per arrival until a recv re-enables it (items 148, 150, 151) */
    printf("send_5=%d\n", send(c, "01234", 5, 0));
    wait_enum("read_first", a, eva);
    quiet("read_again", a, eva);
    printf("send_5_more=%d\n", send(c, "56789", 5, 0));
    wait_enum("read_more_before_recv", a, eva);
    printf("recv_2=%d\n", recv(a, buf, 2, 0));
    wait_enum("read_after_partial_recv", a, eva);
    printf("recv_rest=%d\n", recv(a, buf, sizeof buf, 0));
    quiet("read_drained", a, eva);

    /* one registration per socket: a second WSAEventSelect replaces the first (item 171) */
    WSAEVENT evb = WSACreateEvent();
    report("reselect_other_event", WSAEventSelect(a, evb, FD_READ | FD_CLOSE));
    send(c, "z", 1, 0);
    wait_enum("replaced_new_event", a, evb);
    wait_one("replaced_old_event", eva, 200);
    recv(a, buf, sizeof buf, 0);

    /* FIONBIO 0 is refused while selected (item 168) */
    u_long mode = 1;
    report("fionbio_1_selected", ioctlsocket(a, FIONBIO, &mode));
    mode = 0;
    report("fionbio_0_selected", ioctlsocket(a, FIONBIO, &mode));

    /* FD_CLOSE on the peer's shutdown, error 0 for a graceful close (items 161, 175) */
    shutdown(c, SD_SEND);
    wait_enum("close", a, evb);
    closesocket(c);
    quiet("close_then_peer_closes", a, evb);
    closesocket(a);

    /* data then close: FD_READ and FD_CLOSE at once; nothing after draining (item 163;
     * Windows' value, CONFORMANCE.md §4.5) */
    report("unselect_listener", WSAEventSelect(l, NULL, 0));
    SOCKET c2 = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(c2, (struct sockaddr *)&addr, sizeof addr);
    SOCKET a2 = accept(l, NULL, NULL);
    send(c2, "hello", 5, 0);
    closesocket(c2);
    WSAEVENT ev3 = WSACreateEvent();
    WSAEventSelect(a2, ev3, FD_READ | FD_CLOSE);
    wait_enum("data_then_close", a2, ev3);
    printf("recv_3=%d\n", recv(a2, buf, 3, 0));
    wait_enum("after_recv_3", a2, ev3);
    printf("recv_2_last=%d\n", recv(a2, buf, 2, 0));
    quiet("after_drain", a2, ev3);
    closesocket(a2);

    /* a refused connect: FD_CONNECT with WSAECONNREFUSED (item 142) */
    struct sockaddr_in nowhere;
    SOCKET holder = refused_address(&nowhere);
    SOCKET r = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    WSAEVENT evr = WSACreateEvent();
    WSAEventSelect(r, evr, FD_CONNECT | FD_WRITE | FD_CLOSE);
    report("connect_refused", connect(r, (struct sockaddr *)&nowhere, sizeof nowhere));
    w = WSAWaitForMultipleEvents(1, &evr, FALSE, CONNECT_REFUSED_WAIT, FALSE);
    WSANETWORKEVENTS ne;
    WSAEnumNetworkEvents(r, evr, &ne);
    printf("refused_wait=%u events=%#x error_connect=%d\n", (unsigned)w, (unsigned)ne.lNetworkEvents,
           ne.iErrorCode[FD_CONNECT_BIT]);
    closesocket(r);
    closesocket(holder);

    /* bad arguments (item 170) and closing events */
    report("select_not_socket", WSAEventSelect((SOCKET)0xdeadbeef, evr, FD_READ));
    SOCKET u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    report("select_cancel", WSAEventSelect(u, NULL, 0));
    closesocket(u);
    printf("close_event=%d\n", WSACloseEvent(evr));
    BOOL ok = WSACloseEvent(WSA_INVALID_EVENT);
    printf("close_invalid_event=%d err=%d\n", ok, ok ? 0 : WSAGetLastError());

    WSACloseEvent(ev1);
    WSACloseEvent(ev2);
    WSACloseEvent(evl);
    WSACloseEvent(evc);
    WSACloseEvent(eva);
    WSACloseEvent(evb);
    WSACloseEvent(ev3);
    closesocket(l);
    WSACleanup();
    return 0;
}
