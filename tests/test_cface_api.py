"""The C face's control API (DESIGN.md §3.3): Windows C programs, built with `wsemu config`
flags (-Wall -Werror) and run as real processes over real loopback sockets, get Windows'
values and errors from WSASocket, WSAAccept, WSAConnect, WSAIoctl, WSADuplicateSocket, the
event calls, WSAEnumProtocols, the address-string calls, inet_*, gethostname and
getaddrinfo/GetAddrInfoW/getnameinfo. One C program per area prints `label: values` lines;
each test checks the lines of one behaviour."""
from __future__ import annotations

import subprocess

import pytest

from tests.helpers import c_face_flags as _flags


# Every program starts with the Windows headers and SHOW: a call's value and last error.
PRELUDE = r"""
#include <winsock2.h>
#include <ws2tcpip.h>

#define SHOW(label, expr) do { WSASetLastError(0); long long r_ = (long long)(expr); \
    printf("%s: %lld %d\n", label, r_, WSAGetLastError()); } while (0)
"""

ADDRESS_STRINGS = r"""

int main(void)
{
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
    struct sockaddr_in sin;
    INT len = sizeof sin;
    SHOW("s2a_w", WSAStringToAddressW(L"127.0.0.1:8080", AF_INET, NULL, (struct sockaddr *)&sin, &len));
    printf("s2a_w_value: %d %d %08x %d\n", sin.sin_family, ntohs(sin.sin_port), ntohl(sin.sin_addr.s_addr), len);
    WCHAR wtext[64];
    DWORD wlen = 64;
    SHOW("a2s_w", WSAAddressToStringW((struct sockaddr *)&sin, sizeof sin, NULL, wtext, &wlen));
    printf("a2s_w_value: %d %d\n", (int)wlen, wtext[0] == L'1' && wtext[13] == L'0' && wtext[14] == 0);
    char text[64];
    DWORD alen = 64;
    SHOW("a2s_a", WSAAddressToStringA((struct sockaddr *)&sin, sizeof sin, NULL, text, &alen));
    printf("a2s_a_value: %s %d\n", text, (int)alen);
    alen = 3;
    SHOW("a2s_a_short", WSAAddressToStringA((struct sockaddr *)&sin, sizeof sin, NULL, text, &alen));
    printf("a2s_a_short_len: %d\n", (int)alen);
    wlen = 64;
    SHOW("a2s_w_null_buffer", WSAAddressToStringW((struct sockaddr *)&sin, sizeof sin, NULL, NULL, &wlen));
    printf("a2s_w_null_buffer_len: %d\n", (int)wlen);
    SHOW("a2s_a_null_len", WSAAddressToStringA((struct sockaddr *)&sin, sizeof sin, NULL, text, NULL));
    struct sockaddr_in6 sin6;
    len = sizeof sin6;
    SHOW("s2a_a6", WSAStringToAddressA("[20ab::2001%4660]:33274", AF_INET6, NULL, (struct sockaddr *)&sin6, &len));
    alen = 64;
    SHOW("a2s_a6", WSAAddressToStringA((struct sockaddr *)&sin6, sizeof sin6, NULL, text, &alen));
    printf("a2s_a6_value: %s %d\n", text, len);
    len = 0;
    SHOW("s2a_a_short", WSAStringToAddressA("1.2.3.4", AF_INET, NULL, (struct sockaddr *)&sin, &len));
    printf("s2a_a_short_len: %d\n", len);
    len = sizeof sin;
    sin.sin_family = 77;
    SHOW("s2a_a_bad", WSAStringToAddressA("1.2.3.4 ", AF_INET, NULL, (struct sockaddr *)&sin, &len));
    printf("s2a_a_bad_family: %d %d\n", sin.sin_family, len);
    SHOW("s2a_w_null_len", WSAStringToAddressW(L"1.2.3.4", AF_INET, NULL, (struct sockaddr *)&sin, NULL));
    return 0;
}
"""

INET_AND_RESOLVER = r"""

int main(void)
{
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
    printf("inet_addr: %08x %08x %08x %08x %08x\n", inet_addr("1.2.3.4"), inet_addr("1.2.3.4 junk"),
           inet_addr("0x7f.1"), inet_addr(""), inet_addr("1.2.3.4:80"));
    SHOW("inet_addr_null", inet_addr(NULL) == INADDR_NONE);
    struct in_addr a = {0}, b = {0};
    a.s_addr = inet_addr("10.0.0.1");
    b.s_addr = inet_addr("192.168.1.254");
    printf("inet_ntoa: %s\n", inet_ntoa(a));
    printf("inet_ntoa_reused: %d %s\n", inet_ntoa(a) == inet_ntoa(b), inet_ntoa(b));
    unsigned char raw[16];
    SHOW("pton4", inet_pton(AF_INET, "127.0.0.1", raw));
    printf("pton4_value: %d.%d.%d.%d\n", raw[0], raw[1], raw[2], raw[3]);
    SHOW("pton4_leading_zero", inet_pton(AF_INET, "001.2.3.4", raw));
    SHOW("pton4_three_parts", inet_pton(AF_INET, "1.2.3", raw));
    SHOW("pton6", inet_pton(AF_INET6, "::ffff:1.2.3.4", raw));
    printf("pton6_value: %02x%02x %d\n", raw[10], raw[11], raw[15]);
    SHOW("pton6_scope", inet_pton(AF_INET6, "fe80::1%2", raw));
    SHOW("pton_family", inet_pton(99, "1.2.3.4", raw));
    SHOW("pton_null", inet_pton(AF_INET, NULL, raw));
    char text[64];
    unsigned char v4[4] = {127, 0, 0, 1}, v6[16] = {0x20, 0xab, [15] = 1};
    printf("ntop4: %s\n", inet_ntop(AF_INET, v4, text, sizeof text));
    printf("ntop6: %s\n", inet_ntop(AF_INET6, v6, text, sizeof text));
    SHOW("ntop_exact", inet_ntop(AF_INET, v4, text, 10) == text);
    SHOW("ntop_short", inet_ntop(AF_INET, v4, text, 9) == NULL);
    SHOW("ntop_null_buffer", inet_ntop(AF_INET, v4, NULL, 64) == NULL);
    SHOW("ntop_family", inet_ntop(99, v4, text, 64) == NULL);
    char host[256];
    SHOW("gethostname", gethostname(host, sizeof host));
    SHOW("gethostname_short", gethostname(host, 1));
    SHOW("gethostname_null", gethostname(NULL, 256));

    ADDRINFOA hints = {0}, *res = NULL;
    hints.ai_family = AF_INET;
    SHOW("gai_numeric", getaddrinfo("127.0.0.1", "80", &hints, &res));
    int n = 0;
    for (ADDRINFOA *x = res; x; x = x->ai_next)
        n++;
    struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
    printf("gai_numeric_value: %d %d %d %d %d %d %08x %d %d\n", n, res->ai_family, res->ai_socktype,
           res->ai_protocol, (int)res->ai_addrlen, sin->sin_family, ntohl(sin->sin_addr.s_addr),
           ntohs(sin->sin_port), res->ai_canonname == NULL);
    freeaddrinfo(res);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_CANONNAME;
    SHOW("gai_localhost", getaddrinfo("localhost", "http", &hints, &res));
    int v4n = 0, v6n = 0, tcp = 1;   /* (hints protocol 0 comes back 0, as under Wine: tests/conformance/addresses.c) */
    for (ADDRINFOA *x = res; x; x = x->ai_next) {
        v4n += x->ai_family == AF_INET && x->ai_addrlen == 16;
        v6n += x->ai_family == AF_INET6 && x->ai_addrlen == 28 && ((struct sockaddr_in6 *)x->ai_addr)->sin6_family == AF_INET6;
        tcp &= x->ai_socktype == SOCK_STREAM && x->ai_protocol == 0 && ntohs(((struct sockaddr_in *)x->ai_addr)->sin_port) == 80;
    }
    printf("gai_localhost_value: %d %d %s\n", v4n >= 1, tcp, res->ai_canonname ? res->ai_canonname : "(null)");
    freeaddrinfo(res);
    freeaddrinfo(NULL);
    hints.ai_flags = AI_NUMERICHOST;
    SHOW("gai_numerichost_name", getaddrinfo("localhost", "80", &hints, &res));
    hints.ai_flags = 0;
    SHOW("gai_nothing", getaddrinfo(NULL, NULL, &hints, &res));
    SHOW("gai_bad_service", getaddrinfo("127.0.0.1", "nosuchservice", &hints, &res));
    hints.ai_family = 99;
    SHOW("gai_bad_family", getaddrinfo("127.0.0.1", "80", &hints, &res));
    hints.ai_family = AF_INET;
    hints.ai_socktype = 99;
    SHOW("gai_bad_socktype", getaddrinfo("127.0.0.1", "80", &hints, &res));
    hints.ai_socktype = 0;
    hints.ai_flags = AI_CANONNAME;
    SHOW("gai_canonname_no_host", getaddrinfo(NULL, "80", &hints, &res));
    hints.ai_flags = 0;
    SHOW("gai_null_result", getaddrinfo("127.0.0.1", "80", &hints, NULL));

    ADDRINFOW whints = {0}, *wres = NULL;
    whints.ai_family = AF_INET6;
    whints.ai_flags = AI_CANONNAME | AI_NUMERICHOST;
    SHOW("gaiw", GetAddrInfoW(L"::1", L"443", &whints, &wres));
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)wres->ai_addr;
    printf("gaiw_value: %d %d %d %d %d\n", wres->ai_family, (int)wres->ai_addrlen, ntohs(sin6->sin6_port),
           sin6->sin6_addr.s6_addr[15], wres->ai_canonname != NULL && wres->ai_canonname[0] == L':');
    FreeAddrInfoW(wres);

    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(80);
    addr.sin_addr.s_addr = htonl(0x7f000001);
    char name[NI_MAXHOST], serv[NI_MAXSERV];
    SHOW("gni", getnameinfo((struct sockaddr *)&addr, sizeof addr, name, sizeof name, serv, sizeof serv,
                            NI_NUMERICHOST | NI_NUMERICSERV));
    printf("gni_value: %s %s\n", name, serv);
    SHOW("gni_short_length", getnameinfo((struct sockaddr *)&addr, 8, name, sizeof name, NULL, 0, NI_NUMERICHOST));
    SHOW("gni_short_host", getnameinfo((struct sockaddr *)&addr, sizeof addr, name, 2, NULL, 0, NI_NUMERICHOST));
    SHOW("gni_nothing", getnameinfo((struct sockaddr *)&addr, sizeof addr, NULL, 0, NULL, 0, 0));
    addr.sin_family = 99;
    SHOW("gni_family", getnameinfo((struct sockaddr *)&addr, sizeof addr, name, sizeof name, NULL, 0, 0));
    return 0;
}
"""

SOCKETS_AND_EVENTS = r"""
#include <poll.h>

static int calls;

static int CALLBACK verdict(WSABUF *caller_id, WSABUF *caller_data, QOS *sqos, QOS *gqos, WSABUF *callee_id,
                            WSABUF *callee_data, GROUP *g, DWORD_PTR data)
{
    struct sockaddr_in *peer = (struct sockaddr_in *)caller_id->buf;
    struct sockaddr_in *local = (struct sockaddr_in *)callee_id->buf;
    calls++;
    printf("condition: %d %d %08x %d %d %d %d\n", (int)caller_id->len, peer->sin_family, ntohl(peer->sin_addr.s_addr),
           (int)callee_id->len, ntohs(local->sin_port) != 0, caller_data == NULL && sqos == NULL, (int)data);
    return (int)data;
}

static SOCKET listener(struct sockaddr_in *where)
{
    SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    INT len = sizeof *where;
    memset(where, 0, sizeof *where);
    where->sin_family = AF_INET;
    where->sin_addr.s_addr = htonl(0x7f000001);
    bind(s, (struct sockaddr *)where, sizeof *where);
    listen(s, 8);
    getsockname(s, (struct sockaddr *)where, &len);
    return s;
}

static void wait_event(WSAEVENT ev)
{
    /* A WSAEVENT is an eventfd: poll it (WSAWaitForMultipleEvents is the C side's). */
    struct pollfd p = {(int)(uintptr_t)ev, POLLIN, 0};
    poll(&p, 1, 10000);
}

int main(void)
{
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
    struct sockaddr_in where, peer;
    INT len;

    /* ---- catalog ---- */
    DWORD size = 0;
    SHOW("enum_w_sizing", WSAEnumProtocolsW(NULL, NULL, &size));
    printf("enum_w_size_multiple: %d\n", size > 0 && size % sizeof(WSAPROTOCOL_INFOW) == 0);
    WSAPROTOCOL_INFOW *infos = malloc(size);
    int count = WSAEnumProtocolsW(NULL, infos, &size);
    int tcp_w = -1;
    for (int i = 0; i < count; i++)
        if (infos[i].iAddressFamily == AF_INET && infos[i].iProtocol == IPPROTO_TCP)
            tcp_w = i;
    printf("enum_w: %d %d %d\n", count > 0, tcp_w >= 0, infos[tcp_w].iSocketType);
    INT filter[] = {IPPROTO_UDP, 0};
    DWORD asize = 0;
    SHOW("enum_a_sizing", WSAEnumProtocolsA(filter, NULL, &asize));
    WSAPROTOCOL_INFOA ainfos[16];
    asize = sizeof ainfos;
    int acount = WSAEnumProtocolsA(filter, ainfos, &asize);
    printf("enum_a: %d %d %d %d\n", acount >= 1, ainfos[0].iProtocol, asize == sizeof ainfos,
           strlen(ainfos[0].szProtocol) > 0);
    SHOW("enum_null_length", WSAEnumProtocolsW(NULL, infos, NULL));

    /* ---- creation ---- */
    SOCKET s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &infos[tcp_w], 0, 0);
    int type = 0;
    len = sizeof type;
    getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &len);
    printf("wsasocketw_info: %d %d\n", s != INVALID_SOCKET, type);
    closesocket(s);
    s = WSASocketA(0, 0, 0, &ainfos[0], 0, 0);
    getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &len);
    printf("wsasocketa_info: %d %d\n", s != INVALID_SOCKET, type);
    closesocket(s);
    SHOW("wsasocket_bad_family", WSASocketW(0xdead, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0) == INVALID_SOCKET);
    SHOW("wsasocket_bad_protocol", WSASocketA(AF_INET, SOCK_STREAM, IPPROTO_UDP, NULL, 0, 0) == INVALID_SOCKET);

    /* ---- duplication ---- */
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    WSAPROTOCOL_INFOW dupw;
    WSAPROTOCOL_INFOA dupa;
    SHOW("dup_w", WSADuplicateSocketW(s, getpid(), &dupw));
    printf("dup_w_value: %d %d %d %d\n", dupw.iAddressFamily, dupw.iSocketType, dupw.iProtocol, (int)sizeof dupw);
    SOCKET copy = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &dupw, 0, 0);
    printf("dup_w_socket: %d\n", copy != INVALID_SOCKET && copy != s);
    closesocket(copy);
    SHOW("dup_a", WSADuplicateSocketA(s, getpid(), &dupa));
    copy = WSASocketA(0, 0, 0, &dupa, 0, 0);
    printf("dup_a_value: %d %d %d\n", dupa.iProtocol, copy != INVALID_SOCKET && copy != s, dupa.szProtocol[0] != 0);
    closesocket(copy);
    SHOW("dup_not_socket", WSADuplicateSocketA(0, 0, NULL));
    SHOW("dup_bad_pid", WSADuplicateSocketA(s, 0, NULL));
    SHOW("dup_null_info", WSADuplicateSocketW(s, getpid(), NULL));
    closesocket(s);

    /* ---- WSAIoctl ---- */
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    u_long on = 1;
    DWORD returned = 99;
    SHOW("ioctl_fionbio", WSAIoctl(s, FIONBIO, &on, sizeof on, NULL, 0, &returned, NULL, NULL));
    printf("ioctl_fionbio_returned: %d\n", (int)returned);
    SOCKET base = 0;
    SHOW("ioctl_base_handle", WSAIoctl(s, SIO_BASE_HANDLE, NULL, 0, &base, sizeof base, &returned, NULL, NULL));
    printf("ioctl_base_handle_value: %d %d\n", base == s, (int)returned);
    SHOW("ioctl_short_out", WSAIoctl(s, SIO_BASE_HANDLE, NULL, 0, &base, 4, &returned, NULL, NULL));
    SHOW("ioctl_null_returned", WSAIoctl(s, FIONBIO, &on, sizeof on, NULL, 0, NULL, NULL, NULL));
    returned = 99;
    SHOW("ioctl_unknown", WSAIoctl(s, 0xdeadbeef, NULL, 0, NULL, 0, &returned, NULL, NULL));
    printf("ioctl_unknown_returned: %d\n", (int)returned);
    SHOW("ioctl_not_socket", WSAIoctl(12345, FIONBIO, &on, sizeof on, NULL, 0, &returned, NULL, NULL));
    closesocket(s);

    /* ---- WSAConnect / WSAAccept ---- */
    SOCKET l = listener(&where);
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    SHOW("wsaconnect", WSAConnect(c, (struct sockaddr *)&where, sizeof where, NULL, NULL, NULL, NULL));
    len = sizeof peer;
    SOCKET a = WSAAccept(l, (struct sockaddr *)&peer, &len, verdict, CF_ACCEPT);
    printf("wsaaccept_accept: %d %d %d %d\n", a != INVALID_SOCKET, calls, len, peer.sin_family);
    printf("wsaaccept_data: %d\n", send(c, "hi", 2, 0) == 2 && recv(a, (char *)&type, 2, 0) == 2);
    closesocket(a);
    closesocket(c);
    c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(c, (struct sockaddr *)&where, sizeof where);
    SHOW("wsaaccept_defer", WSAAccept(l, NULL, NULL, verdict, CF_DEFER) == INVALID_SOCKET);
    SHOW("wsaaccept_reject", WSAAccept(l, NULL, NULL, verdict, CF_REJECT) == INVALID_SOCKET);
    closesocket(c);
    len = 4;
    SHOW("wsaaccept_short_addrlen", WSAAccept(l, (struct sockaddr *)&peer, &len, NULL, 0) == INVALID_SOCKET);
    SHOW("wsaconnect_null_name", WSAConnect(socket(AF_INET, SOCK_STREAM, 0), NULL, 16, NULL, NULL, NULL, NULL));
    SHOW("wsaaccept_not_socket", WSAAccept(12345, NULL, NULL, NULL, 0) == INVALID_SOCKET);

    /* ---- event objects and network events ---- */
    WSAEVENT ev = WSACreateEvent();
    printf("event_created: %d\n", ev != WSA_INVALID_EVENT);
    SHOW("event_set", WSASetEvent(ev));
    SHOW("event_reset", WSAResetEvent(ev));
    SHOW("event_select", WSAEventSelect(l, ev, FD_ACCEPT | FD_CLOSE));
    c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    connect(c, (struct sockaddr *)&where, sizeof where);
    wait_event(ev);
    WSANETWORKEVENTS ne;
    memset(&ne, 0xff, sizeof ne);
    SHOW("enum_events", WSAEnumNetworkEvents(l, ev, &ne));
    printf("enum_events_value: %d %d\n", (int)ne.lNetworkEvents, ne.iErrorCode[FD_ACCEPT_BIT]);
    struct pollfd p = {(int)(uintptr_t)ev, POLLIN, 0};
    printf("enum_events_reset: %d\n", poll(&p, 1, 0));
    SHOW("enum_events_null", WSAEnumNetworkEvents(l, ev, NULL));
    SHOW("enum_events_not_socket", WSAEnumNetworkEvents(12345, ev, &ne));
    SHOW("event_select_bad_event", WSAEventSelect(l, (WSAEVENT)(uintptr_t)54321, FD_READ));
    SHOW("event_select_not_socket", WSAEventSelect(12345, ev, FD_READ));
    SHOW("async_select_bad_window", WSAAsyncSelect(l, (HWND)(uintptr_t)54321, 0x400, FD_ACCEPT));
    SHOW("async_select_not_socket", WSAAsyncSelect(12345, (HWND)(uintptr_t)1, 0x400, FD_ACCEPT));
    SHOW("event_close", WSACloseEvent(ev));
    SHOW("event_set_closed", WSASetEvent(ev));
    SHOW("event_set_null", WSASetEvent(WSA_INVALID_EVENT));
    SHOW("event_reset_null", WSAResetEvent(WSA_INVALID_EVENT));
    SHOW("event_close_null", WSACloseEvent(WSA_INVALID_EVENT));
    closesocket(c);
    closesocket(l);
    return 0;
}
"""




@pytest.fixture(scope="module")
def run_program(tmp_path_factory, cc):
    """Build a program (-Wall -Werror, L"" literals included) and run it once: its lines."""
    compiler = cc
    cflags, libs = _flags("--cflags"), _flags("--libs")
    done: dict[str, dict[str, str]] = {}

    def run(source: str) -> dict[str, str]:
        if source not in done:
            where = tmp_path_factory.mktemp("cface_api")
            (where / "program.c").write_text(PRELUDE + source)
            subprocess.run([compiler, "-Wall", "-Werror", *cflags, str(where / "program.c"), *libs,
                            "-o", str(where / "program")], check=True, capture_output=True, text=True)
            ran = subprocess.run([str(where / "program")], capture_output=True, text=True, timeout=120)
            assert ran.returncode == 0, ran.stderr
            lines = [line.split(": ", 1) for line in ran.stdout.splitlines()]
            done[source] = {label: value for label, value in lines}
        return done[source]
    return run


@pytest.fixture
def strings(run_program):
    return run_program(ADDRESS_STRINGS)


@pytest.fixture
def inet(run_program):
    return run_program(INET_AND_RESOLVER)


@pytest.fixture
def sockets(run_program):
    return run_program(SOCKETS_AND_EVENTS)


# ---- address strings ----------------------------------------------------------------------
def test_string_to_address_w_parses_a_short_wchar_literal(strings):
    assert strings["s2a_w"] == "0 0"
    assert strings["s2a_w_value"] == "2 8080 7f000001 16"


def test_address_to_string_w_writes_utf16_and_counts_wchars(strings):
    assert strings["a2s_w"] == "0 0"
    assert strings["a2s_w_value"] == "15 1"


def test_address_to_string_a_writes_windows_format(strings):
    assert strings["a2s_a"] == "0 0"
    assert strings["a2s_a_value"] == "127.0.0.1:8080 15"
    assert strings["a2s_a6_value"] == "[20ab::2001%4660]:33274 28"


def test_address_to_string_short_or_null_buffer_is_wsaefault_with_the_needed_length(strings):
    assert strings["a2s_a_short"] == "-1 10014" and strings["a2s_a_short_len"] == "15"
    assert strings["a2s_w_null_buffer"] == "-1 10014" and strings["a2s_w_null_buffer_len"] == "15"
    assert strings["a2s_a_null_len"] == "-1 10014"


def test_string_to_address_short_length_is_wsaefault_with_the_needed_length(strings):
    assert strings["s2a_a_short"] == "-1 10014" and strings["s2a_a_short_len"] == "16"
    assert strings["s2a_w_null_len"] == "-1 10014"


def test_string_to_address_bad_text_is_wsaeinval_and_leaves_family_zero(strings):
    assert strings["s2a_a_bad"] == "-1 10022"
    assert strings["s2a_a_bad_family"] == "0 16"


# ---- inet_* and the resolver --------------------------------------------------------------
def test_inet_addr_reads_windows_forms_up_to_a_blank(inet):
    assert inet["inet_addr"] == "04030201 04030201 0100007f ffffffff ffffffff"
    assert inet["inet_addr_null"] == "1 0"


def test_inet_ntoa_answers_in_one_per_thread_buffer(inet):
    assert inet["inet_ntoa"] == "10.0.0.1"
    assert inet["inet_ntoa_reused"] == "1 192.168.1.254"


def test_inet_pton_is_strict_and_returns_1_0_or_minus_1(inet):
    assert inet["pton4"] == "1 0" and inet["pton4_value"] == "127.0.0.1"
    assert inet["pton4_leading_zero"] == "0 0" and inet["pton4_three_parts"] == "0 0"
    assert inet["pton6"] == "1 0" and inet["pton6_value"] == "ffff 4"
    assert inet["pton6_scope"] == "0 0"
    assert inet["pton_family"] == "-1 10047"
    assert inet["pton_null"] == "-1 10014"


def test_inet_ntop_formats_and_refuses_short_buffers(inet):
    assert inet["ntop4"] == "127.0.0.1" and inet["ntop6"] == "20ab::1"
    assert inet["ntop_exact"] == "1 0"
    assert inet["ntop_short"] == "1 87" and inet["ntop_null_buffer"] == "1 87"
    assert inet["ntop_family"] == "1 10047"


def test_gethostname_needs_room_for_the_name(inet):
    assert inet["gethostname"] == "0 0"
    assert inet["gethostname_short"] == "-1 10014" and inet["gethostname_null"] == "-1 10014"


def test_getaddrinfo_numeric_host_gives_one_windows_addrinfo(inet):
    assert inet["gai_numeric"] == "0 0"
    # one node, AF_INET, type/protocol 0 as hinted, size_t addrlen 16, Windows SOCKADDR_IN
    assert inet["gai_numeric_value"] == "1 2 0 0 16 2 7f000001 80 1"


def test_getaddrinfo_localhost_resolves_offline_with_canonical_name(inet):
    assert inet["gai_localhost"] == "0 0"
    assert inet["gai_localhost_value"] == "1 1 localhost"


def test_getaddrinfo_errors_are_windows_eai_codes_and_the_last_error(inet):
    assert inet["gai_numerichost_name"] == "11001 11001"
    assert inet["gai_nothing"] == "11001 11001"
    assert inet["gai_bad_service"] == "10109 10109"
    assert inet["gai_bad_family"] == "10047 10047"
    assert inet["gai_bad_socktype"] == "10044 10044"
    assert inet["gai_canonname_no_host"] == "10022 10022"
    assert inet["gai_null_result"] == "10014 10014"


def test_getaddrinfow_takes_and_gives_utf16(inet):
    assert inet["gaiw"] == "0 0"
    assert inet["gaiw_value"] == "23 28 443 1 1"


def test_getnameinfo_numeric_and_its_errors(inet):
    assert inet["gni"] == "0 0" and inet["gni_value"] == "127.0.0.1 80"
    assert inet["gni_short_length"] == "10014 10014"
    assert inet["gni_short_host"] == "10014 10014"
    assert inet["gni_nothing"] == "11001 11001"
    assert inet["gni_family"] == "10047 10047"


# ---- catalog, creation, duplication, ioctl, accept/connect, events ------------------------
def test_enum_protocols_sizes_with_wsaenobufs_then_fills_w_and_a(sockets):
    assert sockets["enum_w_sizing"] == "-1 10055" and sockets["enum_w_size_multiple"] == "1"
    assert sockets["enum_w"] == "1 1 1"
    assert sockets["enum_a_sizing"] == "-1 10055"
    assert sockets["enum_a"] == "1 17 1 1"
    assert sockets["enum_null_length"] == "-1 10014"


def test_wsasocket_w_and_a_create_from_protocol_info(sockets):
    assert sockets["wsasocketw_info"] == "1 1"
    assert sockets["wsasocketa_info"] == "1 2"
    assert sockets["wsasocket_bad_family"] == "1 10047"
    assert sockets["wsasocket_bad_protocol"] == "1 10043"


def test_duplicate_socket_fills_628_byte_w_and_a_info_that_wsasocket_takes(sockets):
    assert sockets["dup_w"] == "0 0" and sockets["dup_w_value"] == "2 1 6 628"
    assert sockets["dup_w_socket"] == "1"
    assert sockets["dup_a"] == "0 0" and sockets["dup_a_value"] == "6 1 1"


def test_duplicate_socket_checks_socket_then_pid_then_buffer(sockets):
    assert sockets["dup_not_socket"] == "-1 10038"
    assert sockets["dup_bad_pid"] == "-1 10022"
    assert sockets["dup_null_info"] == "-1 10014"


def test_wsaioctl_buffers_and_bytes_returned(sockets):
    assert sockets["ioctl_fionbio"] == "0 0" and sockets["ioctl_fionbio_returned"] == "0"
    assert sockets["ioctl_base_handle"] == "0 0" and sockets["ioctl_base_handle_value"] == "1 8"
    assert sockets["ioctl_short_out"] == "-1 10014"
    assert sockets["ioctl_null_returned"] == "-1 10014"
    assert sockets["ioctl_unknown"] == "-1 10045" and sockets["ioctl_unknown_returned"] == "0"
    assert sockets["ioctl_not_socket"] == "-1 10038"


def test_wsaaccept_calls_the_c_condition_with_windows_arguments(sockets):
    assert sockets["wsaconnect"] == "0 0"
    assert sockets["wsaaccept_accept"] == "1 1 16 2"
    assert sockets["wsaaccept_data"] == "1"
    assert sockets["condition"] == "16 2 7f000001 16 1 1 1"      # (the last call: CF_REJECT)


def test_wsaaccept_defer_and_reject_verdicts(sockets):
    assert sockets["wsaaccept_defer"] == "1 11002"
    assert sockets["wsaaccept_reject"] == "1 10061"


def test_wsaaccept_and_wsaconnect_bad_input(sockets):
    assert sockets["wsaaccept_short_addrlen"] == "1 10014"
    assert sockets["wsaconnect_null_name"] == "-1 10014"
    assert sockets["wsaaccept_not_socket"] == "1 10038"


def test_event_objects_set_reset_close(sockets):
    assert sockets["event_created"] == "1"
    assert sockets["event_set"] == "1 0" and sockets["event_reset"] == "1 0"
    assert sockets["event_close"] == "1 0"


def test_event_calls_refuse_closed_and_null_events(sockets):
    for label in ("event_set_closed", "event_set_null", "event_reset_null", "event_close_null"):
        assert sockets[label] == "0 6", label


def test_event_select_reports_fd_accept_and_enum_resets_the_event(sockets):
    assert sockets["event_select"] == "0 0"
    assert sockets["enum_events"] == "0 0"
    assert sockets["enum_events_value"] == "8 0"                 # FD_ACCEPT, no error
    assert sockets["enum_events_reset"] == "0"


def test_network_event_calls_bad_input(sockets):
    assert sockets["enum_events_null"] == "-1 10014"
    assert sockets["enum_events_not_socket"] == "-1 10038"
    assert sockets["event_select_bad_event"] == "-1 10022"
    assert sockets["event_select_not_socket"] == "-1 10038"
    assert sockets["async_select_bad_window"] == "-1 10022"
    assert sockets["async_select_not_socket"] == "-1 10038"


def test_libwsemu_exports_only_wsemu_names_for_the_new_calls():
    from wsemu.cli import LIB_DIR
    symbols = set(subprocess.run(["nm", "-D", "--defined-only", f"{LIB_DIR}/libwsemu.so"], check=True,
                                 capture_output=True, text=True).stdout.split())
    calls = ("WSASocketW WSASocketA WSAAccept WSAConnect WSAIoctl WSADuplicateSocketW WSADuplicateSocketA "
             "WSACreateEvent WSASetEvent WSAResetEvent WSACloseEvent WSAEventSelect WSAEnumNetworkEvents "
             "WSAAsyncSelect WSAEnumProtocolsW WSAEnumProtocolsA WSAAddressToStringW WSAAddressToStringA "
             "WSAStringToAddressW WSAStringToAddressA inet_pton inet_ntop inet_addr inet_ntoa gethostname "
             "getaddrinfo freeaddrinfo GetAddrInfoW FreeAddrInfoW getnameinfo").split()
    for name in calls:
        assert "wsemu_" + name in symbols and name not in symbols, name
