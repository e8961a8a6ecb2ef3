/* The interface and routing ioctls from C (SIO_GET_INTERFACE_LIST, SIO_ADDRESS_LIST_QUERY,
 * SIO_ROUTING_INTERFACE_QUERY, SIO_ADDRESS_LIST_CHANGE, SIO_ROUTING_INTERFACE_CHANGE) on TCP
 * sockets, printed as `label: values` lines for tests/test_cface_netstate.py to judge.
 *
 * Windows names only, so the same file compiles against mingw-w64's headers: the layouts
 * asserted below are then Windows' own. Every socket is TCP, the protocol a layered
 * provider installed over TCP/IPv4 sits on, so the IPv4 lines also come through such a chain
 * when one is installed (the `entry4` line names the catalog entry the socket came from). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>

#define SIZE(type, size) _Static_assert(sizeof(type) == (size), "sizeof(" #type ") != " #size)
#define AT(type, field, offset) \
    _Static_assert(offsetof(type, field) == (offset), "offsetof(" #type ", " #field ") != " #offset)

SIZE(struct sockaddr_in6_old, 24);
AT(struct sockaddr_in6_old, sin6_flowinfo, 4);
AT(struct sockaddr_in6_old, sin6_addr, 8);
SIZE(sockaddr_gen, 24);
SIZE(INTERFACE_INFO, 76);
AT(INTERFACE_INFO, iiAddress, 4);
AT(INTERFACE_INFO, iiBroadcastAddress, 28);
AT(INTERFACE_INFO, iiNetmask, 52);
SIZE(SOCKET_ADDRESS_LIST, 24);
AT(SOCKET_ADDRESS_LIST, Address, 8);
SIZE(*(LPINTERFACE_INFO)0, 76);
SIZE(*(LPSOCKET_ADDRESS_LIST)0, 24);
#if defined(__MINGW32__) && !defined(SIZEOF_SOCKET_ADDRESS_LIST)
/* mingw-w64 lacks the Windows SDK's macro (ws2def.h, Vista and later): its definition */
#define SIZEOF_SOCKET_ADDRESS_LIST(n) (FIELD_OFFSET(SOCKET_ADDRESS_LIST, Address) + (n) * sizeof(SOCKET_ADDRESS))
#endif
_Static_assert(SIZEOF_SOCKET_ADDRESS_LIST(2) == 40, "SIZEOF_SOCKET_ADDRESS_LIST(2) != 40");

/* WSAIoctl, its outcome printed as `label: return-value last-error bytes-returned` (the last
 * error 0 on success; bytes-returned 57005 (0xDEAD) when the call left it alone). */
static int query(const char *label, SOCKET s, DWORD code, const void *in, DWORD cb_in, void *out, DWORD cb_out,
                 DWORD *bytes)
{
    *bytes = 0xDEAD;
    WSASetLastError(0);
    int rc = WSAIoctl(s, code, (void *)in, cb_in, out, cb_out, bytes, NULL, NULL);
    printf("%s: %d %d %lu\n", label, rc, rc == SOCKET_ERROR ? WSAGetLastError() : 0, (unsigned long)*bytes);
    return rc;
}

static SOCKET tcp(int family)
{
    SOCKET s = socket(family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        printf("socket(%d): error %d\n", family, WSAGetLastError());
        exit(1);
    }
    return s;
}

/* "family text[%scope]" of an address, port left out. */
static void text_of(const struct sockaddr *sa, char *text, size_t size)
{
    char host[64];
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        snprintf(text, size, "%d %s%%%lu", sa->sa_family, host, (unsigned long)sin6->sin6_scope_id);
    } else {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(text, size, "%d %s", sa->sa_family, host);
    }
}

static int is_loopback(const struct sockaddr *sa)
{
    static const unsigned char v6_loopback[16] = {[15] = 1};
    if (sa->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, v6_loopback, 16) == 0;
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
}

static void catalog_entry(SOCKET s)
{
    WSAPROTOCOL_INFOW info;
    int len = sizeof info;
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) == SOCKET_ERROR)
        printf("entry4: error %d\n", WSAGetLastError());
    else
        printf("entry4: %lu\n", (unsigned long)info.dwCatalogEntryId);
}

/* SIO_GET_INTERFACE_LIST: the whole list, then the loopback entry, then too small a buffer. */
static void interface_list(SOCKET s)
{
    INTERFACE_INFO list[64];
    DWORD bytes;
    int rc = query("iflist", s, SIO_GET_INTERFACE_LIST, NULL, 0, list, sizeof list, &bytes);
    for (DWORD i = 0; rc == 0 && i < bytes / sizeof(INTERFACE_INFO); i++) {
        const INTERFACE_INFO *entry = &list[i];
        if (ntohl(entry->iiAddress.AddressIn.sin_addr.s_addr) != INADDR_LOOPBACK)
            continue;
        char mask[16];
        inet_ntop(AF_INET, &entry->iiNetmask.AddressIn.sin_addr, mask, sizeof mask);
        printf("iflist_loopback: %d %d %s %d %d\n", (entry->iiFlags & IFF_UP) != 0,
               (entry->iiFlags & IFF_LOOPBACK) != 0, mask, entry->iiAddress.Address.sa_family,
               entry->iiNetmask.Address.sa_family);
    }
    query("iflist_short", s, SIO_GET_INTERFACE_LIST, NULL, 0, list, sizeof(INTERFACE_INFO) - 1, &bytes);
}

/* SIO_ADDRESS_LIST_QUERY: the size asked for, then the list in a buffer of exactly that size,
 * its pointers checked against the buffer and its addresses printed (`addrs<tag>_list`). */
static void address_list(SOCKET s, const char *tag, int family, int sockaddr_len)
{
    char label[64];
    DWORD needed, bytes;
    char small[4];
    snprintf(label, sizeof label, "addrs%s_short", tag);
    query(label, s, SIO_ADDRESS_LIST_QUERY, NULL, 0, small, sizeof small, &needed);
    if (needed == 0xDEAD || needed < SIZEOF_SOCKET_ADDRESS_LIST(0))
        return;
    char *buffer = malloc(needed);
    SOCKET_ADDRESS_LIST *list = (SOCKET_ADDRESS_LIST *)buffer;
    snprintf(label, sizeof label, "addrs%s", tag);
    int rc = query(label, s, SIO_ADDRESS_LIST_QUERY, NULL, 0, buffer, needed, &bytes);
    if (rc != 0) {
        free(buffer);
        return;
    }
    const char *names = buffer + SIZEOF_SOCKET_ADDRESS_LIST(list->iAddressCount);
    int inside = 1, lengths = 1, families = 1, loopback = 0;
    printf("addrs%s_list:", tag);
    for (INT i = 0; i < list->iAddressCount; i++) {
        const SOCKET_ADDRESS *entry = &list->Address[i];
        const char *at = (const char *)entry->lpSockaddr;
        inside &= at >= names && at + entry->iSockaddrLength <= buffer + bytes;
        lengths &= entry->iSockaddrLength == sockaddr_len;
        if (!(at >= buffer && at + sizeof(struct sockaddr) <= buffer + bytes))
            continue;                /* never read outside the buffer */
        families &= entry->lpSockaddr->sa_family == family;
        loopback |= is_loopback(entry->lpSockaddr);
        char text[96];
        text_of(entry->lpSockaddr, text, sizeof text);
        printf(" %s,", text);
    }
    printf("\n");
    printf("addrs%s_checks: %d %d %d %d %d\n", tag, list->iAddressCount, inside, lengths, families, loopback);
    free(buffer);
}

/* SIO_ROUTING_INTERFACE_QUERY towards the loopback address of the socket's family. */
static void routing_query(SOCKET s, const char *tag, const struct sockaddr *to, int to_len)
{
    char label[64], text[96];
    SOCKADDR_STORAGE local;
    DWORD bytes;
    memset(&local, 0xAA, sizeof local);
    snprintf(label, sizeof label, "route%s", tag);
    query(label, s, SIO_ROUTING_INTERFACE_QUERY, to, to_len, &local, sizeof local, &bytes);
    text_of((struct sockaddr *)&local, text, sizeof text);
    printf("route%s_local: %s %d\n", tag, text, ntohs(((struct sockaddr_in *)&local)->sin_port));
    snprintf(label, sizeof label, "route%s_short", tag);
    query(label, s, SIO_ROUTING_INTERFACE_QUERY, to, to_len, &local, to_len - 1, &bytes);
    snprintf(label, sizeof label, "route%s_null_input", tag);
    query(label, s, SIO_ROUTING_INTERFACE_QUERY, NULL, to_len, &local, sizeof local, &bytes);
}

/* The change notifications on a non-blocking socket: WSAEWOULDBLOCK at once, and nothing
 * to report while nothing changes. */
static void change_notifications(SOCKET s, const struct sockaddr *to, int to_len)
{
    u_long on = 1;
    DWORD bytes;
    printf("fionbio: %d\n", ioctlsocket(s, FIONBIO, &on));
    query("addrchange", s, SIO_ADDRESS_LIST_CHANGE, NULL, 0, NULL, 0, &bytes);
    query("routechange", s, SIO_ROUTING_INTERFACE_CHANGE, to, to_len, NULL, 0, &bytes);
    WSAEVENT event = WSACreateEvent();
    printf("eventselect: %d\n", WSAEventSelect(s, event, FD_ADDRESS_LIST_CHANGE | FD_ROUTING_INTERFACE_CHANGE));
    WSANETWORKEVENTS happened;
    memset(&happened, 0xAA, sizeof happened);
    int rc = WSAEnumNetworkEvents(s, event, &happened);
    printf("enumevents: %d %ld\n", rc, (long)happened.lNetworkEvents);
    WSACloseEvent(event);
}

int main(void)
{
    WSADATA data;
    if (WSAStartup(MAKEWORD(2, 2), &data) != 0)
        return 1;
    struct sockaddr_in to4 = {0};
    to4.sin_family = AF_INET;
    to4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in6 to6 = {0};
    to6.sin6_family = AF_INET6;
    to6.sin6_addr.s6_addr[15] = 1;

    SOCKET s4 = tcp(AF_INET), s6 = tcp(AF_INET6);
    catalog_entry(s4);
    interface_list(s4);
    address_list(s4, "4", AF_INET, sizeof(SOCKADDR_IN));
    address_list(s6, "6", AF_INET6, sizeof(SOCKADDR_IN6));
    routing_query(s4, "4", (struct sockaddr *)&to4, sizeof to4);
    routing_query(s6, "6", (struct sockaddr *)&to6, sizeof to6);
    change_notifications(s4, (struct sockaddr *)&to4, sizeof to4);
    closesocket(s4);
    closesocket(s6);
    WSACleanup();
    return 0;
}
