/* A plain Winsock program to run under lsp-counter: a loopback TCP listener, a client that
 * sends each argument and reads it back from the server's echo, then closes. Nothing in it
 * knows about the LSP; with the LSP installed over TCP/IPv4 its sockets land on the chain.
 *
 *   counted_echo MESSAGE...
 *
 * It prints the catalog entry each socket was made from (SO_PROTOCOL_INFOW) and what each
 * socket sent and received, for comparison with the LSP's log:
 *   entry <catalog id>
 *   client <handle> sent <bytes> received <bytes>
 *   server <handle> sent <bytes> received <bytes>                                        */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what)
{
    printf("%s failed: %d\n", what, WSAGetLastError());
    return 1;
}

/* recv until `len` bytes are in (a stream may deliver them in pieces). */
static int recv_all(SOCKET s, char *buf, int len)
{
    for (int got = 0; got < len;) {
        int n = recv(s, buf + got, len - got, 0);
        if (n <= 0)
            return n < 0 ? SOCKET_ERROR : got;
        got += n;
    }
    return len;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return fail("WSAStartup");
    struct sockaddr_in address = {0};
    int length = sizeof address;
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (listener == INVALID_SOCKET || bind(listener, (struct sockaddr *)&address, sizeof address) == SOCKET_ERROR
            || listen(listener, 1) == SOCKET_ERROR
            || getsockname(listener, (struct sockaddr *)&address, &length) == SOCKET_ERROR)
        return fail("listen");
    WSAPROTOCOL_INFOW info;
    int info_len = sizeof info;
    if (getsockopt(listener, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &info_len) == SOCKET_ERROR)
        return fail("getsockopt(SO_PROTOCOL_INFOW)");
    printf("entry %lu\n", (unsigned long)info.dwCatalogEntryId);

    SOCKET client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (client == INVALID_SOCKET || connect(client, (struct sockaddr *)&address, sizeof address) == SOCKET_ERROR)
        return fail("connect");
    SOCKET server = accept(listener, NULL, NULL);
    if (server == INVALID_SOCKET)
        return fail("accept");

    long long client_sent = 0, client_received = 0, server_sent = 0, server_received = 0;
    for (int i = 1; i < argc; i++) {
        char echo[4096];
        int len = (int)strlen(argv[i]);
        if (len > (int)sizeof echo)
            return 2;
        if (send(client, argv[i], len, 0) != len || recv_all(server, echo, len) != len)
            return fail("client to server");
        client_sent += len;
        server_received += len;
        if (send(server, echo, len, 0) != len || recv_all(client, echo, len) != len || memcmp(echo, argv[i], len))
            return fail("echo");
        server_sent += len;
        client_received += len;
    }
    printf("client %llu sent %lld received %lld\n", (unsigned long long)client, client_sent, client_received);
    printf("server %llu sent %lld received %lld\n", (unsigned long long)server, server_sent, server_received);
    closesocket(client);
    closesocket(server);
    closesocket(listener);
    WSACleanup();
    return 0;
}
