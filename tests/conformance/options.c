/* Socket options (CONFORMANCE.md §6 D: items 37-40, 42, 43, 47-50, 55, 56, 61, 63, 64). */
#include "common.h"

/* getsockopt of an int-sized option: result, error, value and the length Windows reports. */
static void get_int(const char *key, SOCKET s, int level, int name)
{
    int value = 0x5a5a5a5a, len = sizeof value;
    int rc = getsockopt(s, level, name, (char *)&value, &len);
    if (rc == SOCKET_ERROR)
        printf("get_%s=-1 err=%d\n", key, WSAGetLastError());
    else
        printf("get_%s=0 value=%d len=%d\n", key, len == 1 ? (int)(char)value : value, len);
}

static void set_int(const char *key, SOCKET s, int level, int name, int value)
{
    char tag[64];
    snprintf(tag, sizeof tag, "set_%s", key);
    report(tag, setsockopt(s, level, name, (const char *)&value, sizeof value));
}

int main(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

    /* buffers: the stored, advisory value is echoed (item 40) */
    set_int("rcvbuf", s, SOL_SOCKET, SO_RCVBUF, 4096);
    get_int("rcvbuf", s, SOL_SOCKET, SO_RCVBUF);
    set_int("sndbuf", s, SOL_SOCKET, SO_SNDBUF, 8192);
    get_int("sndbuf", s, SOL_SOCKET, SO_SNDBUF);

    /* SO_REUSEADDR default 0 (item 63), boolean options read back 1 for any non-zero (item 50) */
    get_int("reuseaddr_default", s, SOL_SOCKET, SO_REUSEADDR);
    set_int("reuseaddr", s, SOL_SOCKET, SO_REUSEADDR, 0x100);
    get_int("reuseaddr", s, SOL_SOCKET, SO_REUSEADDR);
    SOCKET x = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    get_int("exclusiveaddruse_default", x, SOL_SOCKET, SO_EXCLUSIVEADDRUSE);
    set_int("exclusiveaddruse", x, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1);
    get_int("exclusiveaddruse", x, SOL_SOCKET, SO_EXCLUSIVEADDRUSE);
    closesocket(x);

    /* SO_LINGER and SO_DONTLINGER (items 42, 43) */
    LINGER lg = {1, 5};
    report("set_linger", setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg));
    memset(&lg, 0, sizeof lg);
    int len = sizeof lg;
    report("get_linger", getsockopt(s, SOL_SOCKET, SO_LINGER, (char *)&lg, &len));
    printf("linger_onoff=%d linger_time=%d len=%d\n", lg.l_onoff, lg.l_linger, len);
    get_int("dontlinger", s, SOL_SOCKET, SO_DONTLINGER);
    report("set_linger_null", setsockopt(s, SOL_SOCKET, SO_LINGER, NULL, sizeof lg));
    report("set_linger_null_zero", setsockopt(s, SOL_SOCKET, SO_LINGER, NULL, 0));
    report("set_dontlinger_null", setsockopt(s, SOL_SOCKET, SO_DONTLINGER, NULL, sizeof(int)));

    /* SO_KEEPALIVE, TCP_NODELAY */
    get_int("keepalive_default", s, SOL_SOCKET, SO_KEEPALIVE);
    set_int("keepalive", s, SOL_SOCKET, SO_KEEPALIVE, 1);
    get_int("keepalive", s, SOL_SOCKET, SO_KEEPALIVE);
    get_int("nodelay_default", s, IPPROTO_TCP, TCP_NODELAY);
    set_int("nodelay", s, IPPROTO_TCP, TCP_NODELAY, 1);
    get_int("nodelay", s, IPPROTO_TCP, TCP_NODELAY);

    /* SO_RCVTIMEO/SO_SNDTIMEO are DWORD milliseconds (items 37, 38) */
    get_int("rcvtimeo_default", s, SOL_SOCKET, SO_RCVTIMEO);
    DWORD ms = 63000;
    report("set_rcvtimeo", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof ms));
    get_int("rcvtimeo", s, SOL_SOCKET, SO_RCVTIMEO);
    ms = 997000;
    report("set_sndtimeo", setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&ms, sizeof ms));
    get_int("sndtimeo", s, SOL_SOCKET, SO_SNDTIMEO);

    /* IPV6_V6ONLY defaults to 1 (item 61) */
    SOCKET s6 = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    get_int("v6only_default", s6, IPPROTO_IPV6, IPV6_V6ONLY);
    set_int("v6only", s6, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    get_int("v6only", s6, IPPROTO_IPV6, IPV6_V6ONLY);
    closesocket(s6);

    /* short and missing lengths → WSAEFAULT (item 50) */
    int value = 1;
    len = 2;
    report("get_rcvbuf_len2", getsockopt(s, SOL_SOCKET, SO_RCVBUF, (char *)&value, &len));
    len = 0;
    report("get_rcvbuf_len0", getsockopt(s, SOL_SOCKET, SO_RCVBUF, (char *)&value, &len));
    len = -1;
    report("get_rcvbuf_len_minus1", getsockopt(s, SOL_SOCKET, SO_RCVBUF, (char *)&value, &len));
    report("get_rcvbuf_null_len", getsockopt(s, SOL_SOCKET, SO_RCVBUF, (char *)&value, NULL));
    report("set_rcvbuf_len2", setsockopt(s, SOL_SOCKET, SO_RCVBUF, (const char *)&value, 2));
    report("set_rcvtimeo_len1", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&value, 1));
    report("set_linger_len2", setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, 2));
    report("get_error_len1", getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&value, &(int){1}));

    /* bad level → WSAEINVAL (item 47) */
    len = sizeof value;
    report("set_level_ffffffff", setsockopt(s, (int)0xffffffff, SO_RCVBUF, (const char *)&value, sizeof value));
    report("set_level_8000", setsockopt(s, 0x00008000, SO_RCVBUF, (const char *)&value, sizeof value));
    report("get_level_1234ffff", getsockopt(s, 0x1234ffff, SO_RCVBUF, (char *)&value, &len));
    report("get_level_800", getsockopt(s, 0x00000800, SO_RCVBUF, (char *)&value, &len));

    /* unknown or inapplicable option → WSAENOPROTOOPT (items 55, 56) */
    len = sizeof value;
    report("get_unknown_option", getsockopt(s, SOL_SOCKET, 0x7777, (char *)&value, &len));
    report("set_unknown_option", setsockopt(s, SOL_SOCKET, 0x7777, (const char *)&value, sizeof value));
    report("set_acceptconn", setsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, (const char *)&value, sizeof value));
    SOCKET u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    len = sizeof lg;
    report("get_linger_udp", getsockopt(u, SOL_SOCKET, SO_LINGER, (char *)&lg, &len));
    closesocket(u);

    /* SO_ERROR stores what is set (item 48, Windows' value; CONFORMANCE.md §4.11) */
    set_int("so_error", s, SOL_SOCKET, SO_ERROR, 1234);
    get_int("so_error", s, SOL_SOCKET, SO_ERROR);
    set_int("so_error_clear", s, SOL_SOCKET, SO_ERROR, 0);

    /* SO_ACCEPTCONN: 0 before listen, 1 after (item 55); an accepted socket inherits the
     * listener's options (item 64) and SO_RCVTIMEO makes a blocking recv time out (item 39) */
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    bind(l, (struct sockaddr *)&addr, sizeof addr);
    get_int("acceptconn_before", l, SOL_SOCKET, SO_ACCEPTCONN);
    ms = 100;
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof ms);
    setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, (const char *)&(int){1}, sizeof(int));
    setsockopt(l, IPPROTO_TCP, TCP_NODELAY, (const char *)&(int){1}, sizeof(int));
    lg.l_onoff = 1;
    lg.l_linger = 555;
    setsockopt(l, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg);
    listen(l, 1);
    get_int("acceptconn_after", l, SOL_SOCKET, SO_ACCEPTCONN);
    len = sizeof addr;
    getsockname(l, (struct sockaddr *)&addr, &len);
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(c, (struct sockaddr *)&addr, sizeof addr);
    SOCKET a = accept(l, NULL, NULL);
    get_int("accepted_rcvtimeo", a, SOL_SOCKET, SO_RCVTIMEO);
    get_int("accepted_keepalive", a, SOL_SOCKET, SO_KEEPALIVE);
    get_int("accepted_nodelay", a, IPPROTO_TCP, TCP_NODELAY);
    len = sizeof lg;
    getsockopt(a, SOL_SOCKET, SO_LINGER, (char *)&lg, &len);
    printf("accepted_linger_onoff=%d linger_time=%d\n", lg.l_onoff, lg.l_linger);
    char buf[8];
    report("recv_times_out", recv(a, buf, sizeof buf, 0));

    /* a closed socket → WSAENOTSOCK (item 49) */
    closesocket(a);
    get_int("closed", a, SOL_SOCKET, SO_RCVBUF);

    closesocket(c);
    closesocket(l);
    closesocket(s);
    WSACleanup();
    return 0;
}
