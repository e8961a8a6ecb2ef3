/* The documented shared-socket hand-off, as a Windows program does it (WSADuplicateSocketW's
 * documentation): a source process owns a connected socket, duplicates it for a target
 * process, passes the WSAPROTOCOL_INFOW to the target by some interprocess channel, and the
 * target makes its own descriptor with WSASocketW(FROM_PROTOCOL_INFO, ..., &info, 0, 0) and
 * talks on the connection.
 *
 * Everything Winsock here is Windows API. Starting the target and the channel are not Winsock:
 * on Windows they would be CreateProcess and an anonymous pipe; here the source re-executes
 * itself with fork+exec (the child's pid is the target pid) and writes the 628-byte structure
 * into the target's stdin. See README.md.
 *
 *   handoff            run the source (it starts the target itself)
 *   handoff target     run the target (reads WSAPROTOCOL_INFOW from stdin)
 */
#include <sys/types.h>          /* the process plumbing (not Winsock), before the Windows */
#include <sys/wait.h>           /* headers rename any socket names */
#include <unistd.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *who, const char *what)
{
    printf("%s: %s failed, error %d\n", who, what, WSAGetLastError());
    return 1;
}

/* Read exactly len bytes from a POSIX descriptor (the pipe). */
static int read_all(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static int target(void)
{
    WSADATA wsa;
    WSAPROTOCOL_INFOW info;
    if (WSAStartup(MAKEWORD(2, 2), &wsa))
        return fail("target", "WSAStartup");
    if (read_all(0, &info, sizeof info)) {
        printf("target: no WSAPROTOCOL_INFOW on stdin\n");
        return 1;
    }
    SOCKET s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    if (s == INVALID_SOCKET)
        return fail("target", "WSASocketW(FROM_PROTOCOL_INFO)");
    printf("target: claimed the socket (family %d, type %d, protocol %d)\n", info.iAddressFamily,
           info.iSocketType, info.iProtocol);

    const char greeting[] = "hello from the target";
    if (send(s, greeting, (int)sizeof greeting, 0) != (int)sizeof greeting)
        return fail("target", "send");
    char reply[64] = {0};
    int n = recv(s, reply, sizeof reply - 1, 0);
    if (n <= 0)
        return fail("target", "recv");
    printf("target: received \"%s\"\n", reply);
    closesocket(s);
    WSACleanup();
    return 0;
}

static int source(const char *self)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa))
        return fail("source", "WSAStartup");

    /* A server on loopback and the source's connection to it. */
    SOCKET server = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in addr;
    int len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(server, (struct sockaddr *)&addr, sizeof addr) || listen(server, 1)
            || getsockname(server, (struct sockaddr *)&addr, &len))
        return fail("source", "server setup");
    SOCKET conn = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (connect(conn, (struct sockaddr *)&addr, sizeof addr))
        return fail("source", "connect");
    SOCKET peer = accept(server, NULL, NULL);
    if (peer == INVALID_SOCKET)
        return fail("source", "accept");
    printf("source: connected\n");

    /* Start the target (not Winsock: fork+exec, its stdin is our pipe). */
    int channel[2];
    if (pipe(channel)) {
        printf("source: pipe failed\n");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(channel[0], 0);
        close(channel[0]);
        close(channel[1]);
        execl(self, self, "target", (char *)NULL);
        _exit(127);
    }
    close(channel[0]);

    /* Duplicate for the target's pid and pass the structure; then the source's own
     * descriptor is no longer needed. */
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(conn, (DWORD)pid, &info))
        return fail("source", "WSADuplicateSocketW");
    if (write(channel[1], &info, sizeof info) != (ssize_t)sizeof info) {
        printf("source: writing to the target failed\n");
        return 1;
    }
    close(channel[1]);
    closesocket(conn);
    printf("source: passed a %d-byte WSAPROTOCOL_INFOW to the target\n", (int)sizeof info);

    /* The server end now talks with the target. */
    char greeting[64] = {0};
    int n = recv(peer, greeting, sizeof greeting - 1, 0);
    if (n <= 0)
        return fail("source", "recv");
    printf("source: server received \"%s\"\n", greeting);
    const char reply[] = "welcome, target";
    if (send(peer, reply, (int)sizeof reply, 0) != (int)sizeof reply)
        return fail("source", "send");
    n = recv(peer, greeting, sizeof greeting, 0);
    printf("source: server sees the connection closed (recv %d)\n", n);

    int status = 0;
    waitpid(pid, &status, 0);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 0;
    printf("source: target exited with %d; hand-off %s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           ok ? "ok" : "FAILED");
    closesocket(peer);
    closesocket(server);
    WSACleanup();
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "target"))
        return target();
    return source(argv[0]);
}
