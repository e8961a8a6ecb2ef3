/* Address conversion: WSAAddressToString/WSAStringToAddress (A and W), inet_pton/inet_ntop/
 * inet_addr/inet_ntoa, getaddrinfo/getnameinfo (CONFORMANCE.md §6 K: items 183, 185, 186, 188).
 * Wide literals are written u"..." (16-bit in C11 on every compiler, as WCHAR is). */
#include "common.h"

/* A WCHAR string as ASCII for printing (every string here is ASCII). */
static const char *narrow(const WCHAR *w)
{
    static char out[128];
    size_t i = 0;
    for (; w[i] && i < sizeof out - 1; i++)
        out[i] = (char)w[i];
    out[i] = 0;
    return out;
}

static struct sockaddr_in6 ipv6(const char *text, unsigned short port, unsigned long scope)
{
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_scope_id = scope;
    inet_pton(AF_INET6, text, &sa.sin6_addr);
    return sa;
}

static void address_to_string_a(const char *key, void *sa, int salen)
{
    char out[64] = "";
    DWORD len = sizeof out;
    int rc = WSAAddressToStringA((struct sockaddr *)sa, salen, NULL, out, &len);
    printf("%s=%d err=%d text=%s len=%u\n", key, rc, rc ? WSAGetLastError() : 0, out, (unsigned)len);
}

static void address_to_string_w(const char *key, void *sa, int salen)
{
    WCHAR out[64] = {0};
    DWORD len = sizeof out / sizeof out[0];
    int rc = WSAAddressToStringW((struct sockaddr *)sa, salen, NULL, out, &len);
    printf("%s=%d err=%d text=%s len=%u\n", key, rc, rc ? WSAGetLastError() : 0, narrow(out), (unsigned)len);
}

/* WSAStringToAddressA into an IPv4 or IPv6 sockaddr: result, family, port, address text. */
static void string_to_address_a(const char *key, char *text, int af)
{
    struct sockaddr_storage ss;
    char shown[64] = "";
    int len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int rc = WSAStringToAddressA(text, af, NULL, (struct sockaddr *)&ss, &len);
    if (rc) {
        printf("%s=-1 err=%d family=%d\n", key, WSAGetLastError(), ss.ss_family);
        return;
    }
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, shown, sizeof shown);
        printf("%s=0 len=%d family=%d port=%d addr=%s\n", key, len, in->sin_family, ntohs(in->sin_port), shown);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, shown, sizeof shown);
        printf("%s=0 len=%d family=%d port=%d addr=%s scope=%u\n", key, len, in6->sin6_family,
               ntohs(in6->sin6_port), shown, (unsigned)in6->sin6_scope_id);
    }
}

/* getaddrinfo: the error, or the first result's fields and address. */
static void lookup(const char *key, const char *node, const char *service, int family, int flags)
{
    struct addrinfo hints, *res = NULL;
    char host[64] = "", serv[16] = "";
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    int rc = getaddrinfo(node, service, &hints, &res);
    if (rc) {
        printf("%s=%d\n", key, rc);
        return;
    }
    getnameinfo(res->ai_addr, (socklen_t)res->ai_addrlen, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    printf("%s=0 family=%d socktype=%d protocol=%d addrlen=%d host=%s serv=%s\n", key, res->ai_family,
           res->ai_socktype, res->ai_protocol, (int)res->ai_addrlen, host, serv);
    freeaddrinfo(res);
}

int main(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);

    /* WSAAddressToString: the length is counted in characters with the NUL (items 183, 185) */
    struct sockaddr_in v4;
    memset(&v4, 0, sizeof v4);
    v4.sin_family = AF_INET;
    char small[4];
    DWORD len = 0;
    int rc = WSAAddressToStringA((struct sockaddr *)&v4, sizeof v4, NULL, small, &len);
    printf("a_too_small=%d err=%d len=%u\n", rc, rc ? WSAGetLastError() : 0, (unsigned)len);
    len = 0;
    rc = WSAAddressToStringW((struct sockaddr *)&v4, sizeof v4, NULL, NULL, &len);
    printf("w_null_buffer=%d err=%d len=%u\n", rc, rc ? WSAGetLastError() : 0, (unsigned)len);
    address_to_string_a("a_any", &v4, sizeof v4);
    v4.sin_addr.s_addr = htonl(0xc0a80001);
    v4.sin_port = htons(8080);
    address_to_string_a("a_port", &v4, sizeof v4);
    address_to_string_w("w_port", &v4, sizeof v4);
    struct sockaddr_in6 v6 = ipv6("::1", 0, 0);
    address_to_string_a("a_v6_loopback", &v6, sizeof v6);
    v6 = ipv6("20ab::2001", 33274, 0);
    address_to_string_a("a_v6_port", &v6, sizeof v6);
    v6 = ipv6("20ab::2001", 33274, 4660);
    address_to_string_w("w_v6_scope_port", &v6, sizeof v6);
    v6 = ipv6("20ab::2001", 0, 4660);
    address_to_string_a("a_v6_scope", &v6, sizeof v6);

    /* WSAStringToAddress (items 186, 188) */
    struct sockaddr_in out4;
    int olen = 0;
    rc = WSAStringToAddressA((char[]){""}, AF_INET, NULL, (struct sockaddr *)&out4, &olen);
    printf("s2a_zero_len=%d err=%d len_at_least_16=%d\n", rc, rc ? WSAGetLastError() : 0, olen >= 16);
    string_to_address_a("s2a_v4", (char[]){"127.0.0.1"}, AF_INET);
    string_to_address_a("s2a_v4_port", (char[]){"192.168.0.1:8080"}, AF_INET);
    string_to_address_a("s2a_v4_port_0", (char[]){"1.2.3.4:0"}, AF_INET);
    string_to_address_a("s2a_v4_port_65537", (char[]){"1.2.3.4:65537"}, AF_INET);
    string_to_address_a("s2a_v4_empty", (char[]){""}, AF_INET);
    string_to_address_a("s2a_v4_256", (char[]){"255.255.255.256"}, AF_INET);
    string_to_address_a("s2a_v4_leading_space", (char[]){" 1.2.3.4"}, AF_INET);
    string_to_address_a("s2a_v4_given_v6", (char[]){"::1"}, AF_INET);
    string_to_address_a("s2a_v4_name", (char[]){"a"}, AF_INET);
    string_to_address_a("s2a_v6", (char[]){"::1"}, AF_INET6);
    string_to_address_a("s2a_v6_port", (char[]){"[20ab::2001]:33274"}, AF_INET6);
    string_to_address_a("s2a_v6_scope", (char[]){"fe80::1%4"}, AF_INET6);
    string_to_address_a("s2a_v6_scope_port", (char[]){"[fe80::1%4]:80"}, AF_INET6);
    string_to_address_a("s2a_v6_bad", (char[]){"1:2:3:4:5:6:7:8:9"}, AF_INET6);
    struct sockaddr_in6 out6;
    olen = sizeof out6;
    memset(&out6, 0, sizeof out6);
    rc = WSAStringToAddressW((WCHAR *)u"[::1]:443", AF_INET6, NULL, (struct sockaddr *)&out6, &olen);
    printf("s2a_w_v6_port=%d err=%d family=%d port=%d loopback=%d\n", rc, rc ? WSAGetLastError() : 0,
           out6.sin6_family, ntohs(out6.sin6_port), out6.sin6_addr.s6_addr[15] == 1);
    olen = sizeof out4;
    rc = WSAStringToAddressW((WCHAR *)u"10.0.0.1", AF_INET, NULL, (struct sockaddr *)&out4, &olen);
    printf("s2a_w_v4=%d err=%d addr=%08x\n", rc, rc ? WSAGetLastError() : 0, (unsigned)ntohl(out4.sin_addr.s_addr));
    olen = sizeof out4;
    report("s2a_bad_family", WSAStringToAddressA((char[]){"1.2.3.4"}, 0xdead, NULL, (struct sockaddr *)&out4, &olen));

    /* inet_addr / inet_ntoa */
    printf("inet_addr=%08x\n", (unsigned)ntohl(inet_addr("1.2.3.4")));
    printf("inet_addr_short=%08x\n", (unsigned)ntohl(inet_addr("1.2")));
    printf("inet_addr_bad=%d\n", inet_addr("1.2.3.999") == INADDR_NONE);
    printf("inet_addr_broadcast=%d\n", inet_addr("255.255.255.255") == INADDR_NONE);
    struct in_addr ia;
    ia.s_addr = htonl(0x7f000001);
    printf("inet_ntoa=%s\n", inet_ntoa(ia));

    /* inet_pton / inet_ntop */
    struct in6_addr i6;
    printf("pton_v4=%d\n", inet_pton(AF_INET, "10.1.2.3", &ia));
    printf("pton_v4_short=%d\n", inet_pton(AF_INET, "10.1.2", &ia));
    printf("pton_v6=%d\n", inet_pton(AF_INET6, "fe80::1:2", &i6));
    printf("pton_v6_bad=%d\n", inet_pton(AF_INET6, "fe80:::1", &i6));
    rc = inet_pton(0xdead, "1.2.3.4", &ia);
    printf("pton_bad_family=%d err=%d\n", rc, rc < 0 ? WSAGetLastError() : 0);
    char text[64];
    ia.s_addr = htonl(0x0a010203);
    printf("ntop_v4=%s\n", inet_ntop(AF_INET, &ia, text, sizeof text));
    inet_pton(AF_INET6, "fe80::1:2", &i6);
    printf("ntop_v6=%s\n", inet_ntop(AF_INET6, &i6, text, sizeof text));
    inet_pton(AF_INET6, "::ffff:1.2.3.4", &i6);
    printf("ntop_v4mapped=%s\n", inet_ntop(AF_INET6, &i6, text, sizeof text));
    const char *shown = inet_ntop(AF_INET, &ia, text, 4);
    printf("ntop_small=%d\n", shown != NULL);

    /* getaddrinfo on numeric hosts and localhost */
    lookup("gai_numeric", "127.0.0.1", "80", AF_INET, AI_NUMERICHOST);
    lookup("gai_numeric_v6", "::1", "443", AF_INET6, AI_NUMERICHOST);
    lookup("gai_passive", NULL, "8080", AF_INET, AI_PASSIVE);
    lookup("gai_passive_v6", NULL, "8080", AF_INET6, AI_PASSIVE);
    lookup("gai_no_passive", NULL, "8080", AF_INET, 0);
    lookup("gai_localhost", "localhost", NULL, AF_INET, 0);
    lookup("gai_name_numerichost", "localhost", NULL, AF_INET, AI_NUMERICHOST);
    lookup("gai_nothing", NULL, NULL, AF_INET, 0);
    lookup("gai_bad_family", "127.0.0.1", NULL, 0xdead, 0);
    lookup("gai_bad_service", "127.0.0.1", "no-such-service-x", AF_INET, 0);
    printf("eai_values=%d,%d,%d\n", EAI_NONAME, EAI_FAMILY, EAI_SERVICE);

    WSACleanup();
    return 0;
}
