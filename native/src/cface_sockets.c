/* The parts of libwsemu's socket API that are plain C around the embedded calls: inet_ntoa's
 * per-thread buffer, and getaddrinfo's result lists (allocated node by node so that
 * freeaddrinfo is a walk of free()s, with no call into Python). */
#include <ws2tcpip.h>

char *wsemu_inet_ntoa(struct WS_in_addr in)
{
    /* Windows keeps one buffer per thread, valid until the thread's next call. */
    static __thread char text[16];
    const unsigned char *b = (const unsigned char *)&in;
    snprintf(text, sizeof text, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return text;
}

void *wsemu_addrinfo_node(size_t size)
{
    return calloc(1, size);
}

static int32_t with_last_error(int32_t code)
{
    /* getaddrinfo's family returns its error and also leaves it as the last error. */
    if (code)
        wsemu_set_last_error(code);
    return code;
}

int32_t wsemu_getaddrinfo(const char *pNodeName, const char *pServiceName, const ADDRINFOA *pHints,
                          ADDRINFOA **ppResult)
{
    return with_last_error(wsemu_resolve_addrinfo(pNodeName, pServiceName, pHints, (void **)ppResult, 0));
}

int32_t wsemu_GetAddrInfoW(const WCHAR *pNodeName, const WCHAR *pServiceName, const ADDRINFOW *pHints,
                           ADDRINFOW **ppResult)
{
    /* ADDRINFOW is ADDRINFOA with a WCHAR name: the hints' integer fields are the same. */
    return with_last_error(wsemu_resolve_addrinfo(pNodeName, pServiceName, (const ADDRINFOA *)pHints,
                                                  (void **)ppResult, 1));
}

int32_t wsemu_getnameinfo(const struct WS_sockaddr *pSockaddr, int32_t SockaddrLength, char *pNodeBuffer,
                          DWORD NodeBufferSize, char *pServiceBuffer, DWORD ServiceBufferSize,
                          int32_t Flags)
{
    return with_last_error(wsemu_resolve_nameinfo(pSockaddr, SockaddrLength, pNodeBuffer, NodeBufferSize,
                                                  pServiceBuffer, ServiceBufferSize, Flags));
}

void wsemu_freeaddrinfo(ADDRINFOA *pAddrInfo)
{
    while (pAddrInfo) {
        ADDRINFOA *next = pAddrInfo->ai_next;
        free(pAddrInfo);               /* (the address and name are inside the node's block) */
        pAddrInfo = next;
    }
}

void wsemu_FreeAddrInfoW(ADDRINFOW *pAddrInfo)
{
    wsemu_freeaddrinfo((ADDRINFOA *)pAddrInfo);
}
