/* WSADuplicateSocketW and its claim by WSASocketW (CONFORMANCE.md §1, §6 C: items 20-25, 31,
 * 32, 34), all within one process (the documented self-duplication; the cross-process hand-off
 * is native/examples/handoff). */
#include "common.h"

/* send on one descriptor, recv on another: whether the 4 bytes went through */
static void flows(const char *key, SOCKET from, SOCKET to)
{
    char buf[8] = {0};
    int sent = send(from, "ping", 4, 0);
    int got = recv(to, buf, sizeof buf, 0);
    printf("%s_sent=%d got=%d same=%d\n", key, sent, got, got == 4 && !memcmp(buf, "ping", 4));
}

int main(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    DWORD self = GetCurrentProcessId();
    WSAPROTOCOL_INFOW info;
    SOCKET c, a;
    tcp_pair(&c, &a);

    /* argument checks, in Windows' order: socket, then pid, then buffer (items 20-24) */
    report("dup_zero_socket", WSADuplicateSocketW(0, 0, NULL));
    report("dup_pid_zero_null", WSADuplicateSocketW(c, 0, NULL));
    report("dup_pid_all_ones", WSADuplicateSocketW(c, ~0u, &info));
    report("dup_zero_socket_self", WSADuplicateSocketW(0, self, &info));
    report("dup_self_null", WSADuplicateSocketW(c, self, NULL));

    /* a duplicate for this process (item 25) */
    memset(&info, 0, sizeof info);
    report("dup_self", WSADuplicateSocketW(c, self, &info));
    printf("info_af=%d type=%d proto=%d\n", info.iAddressFamily, info.iSocketType, info.iProtocol);
    WSAPROTOCOL_INFOW spare = info;
    SOCKET d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    report_socket("claim", d);
    printf("claim_distinct=%d\n", d != c);
    int type = 0, len = sizeof type;
    getsockopt(d, SOL_SOCKET, SO_TYPE, (char *)&type, &len);
    printf("claim_so_type=%d\n", type);

    /* the info is single-use (item 31; Windows' rule, CONFORMANCE.md §4.1) */
    SOCKET again = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &spare, 0, 0);
    printf("claim_again_valid=%d\n", again != INVALID_SOCKET);

    /* one socket behind both descriptors: data, options (item 34), peer name */
    flows("dup_to_peer", d, a);
    flows("peer_to_dup", a, d);
    flows("orig_to_peer", c, a);
    int rcvbuf = 12345;
    setsockopt(d, SOL_SOCKET, SO_RCVBUF, (const char *)&rcvbuf, sizeof rcvbuf);
    rcvbuf = 0;
    len = sizeof rcvbuf;
    getsockopt(c, SOL_SOCKET, SO_RCVBUF, (char *)&rcvbuf, &len);
    printf("option_shared=%d\n", rcvbuf == 12345);
    struct sockaddr_in p1, p2;
    int l1 = sizeof p1, l2 = sizeof p2;
    getpeername(c, (struct sockaddr *)&p1, &l1);
    getpeername(d, (struct sockaddr *)&p2, &l2);
    printf("peer_shared=%d\n", l1 == l2 && p1.sin_port == p2.sin_port && p1.sin_addr.s_addr == p2.sin_addr.s_addr);

    /* one event registration per socket: the duplicate's replaces the original's (item 32) */
    WSAEVENT ev_orig = WSACreateEvent(), ev_dup = WSACreateEvent();
    WSAEventSelect(c, ev_orig, FD_READ);
    WSAEventSelect(d, ev_dup, FD_READ);
    send(a, "x", 1, 0);
    DWORD w = WSAWaitForMultipleEvents(1, &ev_dup, FALSE, 2000, FALSE);
    printf("dup_event_signalled=%d\n", w == WSA_WAIT_EVENT_0);
    w = WSAWaitForMultipleEvents(1, &ev_orig, FALSE, 0, FALSE);
    printf("orig_event_signalled=%d\n", w == WSA_WAIT_EVENT_0);
    char buf[8];
    recv(c, buf, sizeof buf, 0);
    WSAEventSelect(c, NULL, 0);
    u_long blocking = 0;
    ioctlsocket(c, FIONBIO, &blocking);
    WSACloseEvent(ev_orig);
    WSACloseEvent(ev_dup);

    /* closing one descriptor keeps the socket; closing the last one ends it */
    report("close_original", closesocket(c));
    flows("after_close_dup_to_peer", d, a);
    flows("after_close_peer_to_dup", a, d);
    report("send_on_closed_original", send(c, "x", 1, 0));
    report("close_duplicate", closesocket(d));
    report("peer_sees_eof", recv(a, buf, sizeof buf, 0));

    if (again != INVALID_SOCKET && again != d)
        closesocket(again);
    closesocket(a);
    WSACleanup();
    return 0;
}
