/* Socket creation and its error codes (CONFORMANCE.md §6 A and B, items 1-19; 49, 51-53). */
#include "common.h"

/* The fields of SO_PROTOCOL_INFOW that Windows fixes for a socket of this kind (item 53). */
static void print_protocol_info(const char *key, SOCKET s)
{
    WSAPROTOCOL_INFOW info;
    int len = sizeof info;
    int rc = getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len);
    printf("%s_info=%d err=%d len=%d af=%d type=%d proto=%d maxaddr=%d minaddr=%d version=%d"
           " msgsize=%u provider=%08x named=%d\n",
           key, rc, rc ? WSAGetLastError() : 0, len, info.iAddressFamily, info.iSocketType,
           info.iProtocol, info.iMaxSockAddr, info.iMinSockAddr, info.iVersion,
           (unsigned)info.dwMessageSize, (unsigned)info.ProviderId.Data1, info.szProtocol[0] != 0);
}

/* socket(af, type, proto): on success the kind it made (SO_TYPE and the protocol info), on
 * failure the error; the last error is primed so "success leaves err 0" is visible (item 9). */
static void create(const char *key, int af, int type, int proto)
{
    WSASetLastError(0xdead);
    SOCKET s = socket(af, type, proto);
    int err = WSAGetLastError();
    if (s == INVALID_SOCKET) {
        printf("%s=invalid err=%d\n", key, err);
        return;
    }
    int so_type = 0, len = sizeof so_type;
    getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&so_type, &len);
    WSAPROTOCOL_INFOW info;
    int infolen = sizeof info;
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &infolen);
    printf("%s=valid err=%d so_type=%d type=%d proto=%d\n", key, err, so_type, info.iSocketType,
           info.iProtocol);
    closesocket(s);
}

/* WSASocketW(af, type, proto, &template, 0, 0) with a template protocol info (items 12-15). */
static void create_from_info(const char *key, int af, int type, int proto, WSAPROTOCOL_INFOW *info)
{
    SOCKET s = WSASocketW(af, type, proto, info, 0, 0);
    if (s == INVALID_SOCKET) {
        printf("%s=invalid err=%d\n", key, WSAGetLastError());
        return;
    }
    int so_type = 0, len = sizeof so_type;
    getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&so_type, &len);
    printf("%s=valid so_type=%d\n", key, so_type);
    closesocket(s);
}

int main(void)
{
    WSADATA wsa;

    /* A. before WSAStartup (items 1, 3, 4) */
    SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
    report_socket("before_startup_socket", s);
    s = WSASocketW(0, 0, 0, NULL, 0, 0);
    report_socket("before_startup_wsasocketw", s);
    report("before_startup_closesocket", closesocket((SOCKET)1234));
    report("before_startup_cleanup", WSACleanup());

    report("startup", WSAStartup(MAKEWORD(2, 2), &wsa));

    /* B. family/type/protocol combinations (items 5-10, 19) */
    create("bad_af", 0xdead, SOCK_STREAM, IPPROTO_TCP);
    create("minus_one_af", -1, SOCK_STREAM, IPPROTO_TCP);
    create("bad_type", AF_INET, 0xdead, IPPROTO_TCP);
    create("bad_proto", AF_INET, SOCK_STREAM, 0xdead);
    create("bad_af_type", 0xdead, 0xdead, IPPROTO_TCP);
    create("bad_type_proto", AF_INET, 0xdead, 0xdead);
    create("bad_af_udp", 0xdead, SOCK_STREAM, IPPROTO_UDP);
    create("stream_udp", AF_INET, SOCK_STREAM, IPPROTO_UDP);
    create("dgram_tcp", AF_INET, SOCK_DGRAM, IPPROTO_TCP);
    create("stream_0", AF_INET, SOCK_STREAM, 0);
    create("dgram_0", AF_INET, SOCK_DGRAM, 0);
    create("0_tcp", AF_INET, 0, IPPROTO_TCP);
    create("0_udp", AF_INET, 0, IPPROTO_UDP);
    create("0_0", AF_INET, 0, 0);
    create("inet6_stream", AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    create("inet6_dgram", AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    create("ipx", AF_IPX, SOCK_DGRAM, 0);

    /* SO_PROTOCOL_INFOW of TCP/UDP over IPv4/IPv6 (item 53) */
    SOCKET tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    SOCKET udp = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    SOCKET tcp6 = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    SOCKET udp6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    print_protocol_info("tcp", tcp);
    print_protocol_info("udp", udp);
    print_protocol_info("tcp6", tcp6);
    print_protocol_info("udp6", udp6);

    /* SO_PROTOCOL_INFOW buffer rules (items 51, 52) */
    WSAPROTOCOL_INFOW info[2];
    int len = sizeof info[0];
    report("info_invalid_socket", getsockopt(INVALID_SOCKET, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)info, &len));
    printf("info_invalid_socket_len=%d\n", len);
    report("info_null_null", getsockopt(tcp, SOL_SOCKET, SO_PROTOCOL_INFOW, NULL, NULL));
    report("info_buf_null", getsockopt(tcp, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)info, NULL));
    len = sizeof info[0] / 2;
    report("info_half", getsockopt(tcp, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)info, &len));
    printf("info_half_len=%d\n", len);
    len = sizeof info;
    report("info_double", getsockopt(tcp, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)info, &len));
    printf("info_double_len=%d\n", len);

    /* SO_TYPE (value and length) */
    int type = 0;
    len = sizeof type;
    report("so_type_udp", getsockopt(udp, SOL_SOCKET, SO_TYPE, (char *)&type, &len));
    printf("so_type_udp_value=%d len=%d\n", type, len);

    /* WSASocketW with protocol info (items 12-15) */
    WSAPROTOCOL_INFOW template;
    len = sizeof template;
    getsockopt(udp, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&template, &len);
    create_from_info("from_info_all", FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &template);
    create_from_info("from_info_zeros", 0, 0, 0, &template);
    template.iAddressFamily = template.iSocketType = template.iProtocol = -1;
    create_from_info("from_info_minus_one", 0, 0, IPPROTO_UDP, &template);
    template.iAddressFamily = template.iSocketType = template.iProtocol = 0;
    create_from_info("from_info_zero_fields", 0, 0, IPPROTO_UDP, &template);
    create_from_info("wsasocketw_plain", AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL);
    create_from_info("wsasocketw_bad_af", 0xdead, SOCK_STREAM, IPPROTO_TCP, NULL);

    /* WSAENOTSOCK: unknown handle, closesocket twice, a closed socket (items 49) */
    report("close_bogus", closesocket((SOCKET)0xdeadbeef));
    report("close_first", closesocket(tcp));
    report("close_twice", closesocket(tcp));
    type = 0x5555;
    len = sizeof type;
    report("getsockopt_closed", getsockopt(tcp, SOL_SOCKET, SO_TYPE, (char *)&type, &len));
    printf("getsockopt_closed_untouched=%d\n", type == 0x5555);

    closesocket(udp);
    closesocket(tcp6);
    closesocket(udp6);
    report("cleanup", WSACleanup());
    report("cleanup_again", WSACleanup());
    return 0;
}
