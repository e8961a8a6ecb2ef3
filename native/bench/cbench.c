/* The C face's benchmarks (scripts/bench.py runs them): one source, two builds.
 *
 *   cc $(wsemu config --cflags) cbench.c $(wsemu config --libs)   Winsock through libwsemu
 *   cc -DRAW_LIBC cbench.c                                         the same loops on libc
 *
 * Usage: cbench server PORTFILE MODE AMOUNT | cbench client PORT MODE AMOUNT
 *        cbench handoff AMOUNT   (it starts its target itself: cbench target IN OUT AMOUNT)
 * Modes: pingpong (AMOUNT 1-byte round trips), bulk (AMOUNT bytes in 64 KiB, server → client),
 * wakeup (AMOUNT 1-byte echoes, the client waiting for each answer: Winsock with
 * WSAEventSelect + WSAWaitForMultipleEvents, libc with poll; timed from the send to the
 * wait's return, as scripts/bench.py times Python's). The client prints the seconds its
 * loop took (wakeup: one line per echo, in µs). The loops
 * are the same statements in both builds, only the names differ (the macros below).
 *
 * handoff: AMOUNT hand-offs of one TCP socket to a second process (fork+exec'd, as the
 * handoff example does), each timed from the start of the hand-off to the target's
 * one-byte acknowledgement that it holds a descriptor, one line per hand-off in µs.
 * Winsock: WSADuplicateSocketW, the 628 bytes over a pipe, WSASocketW(FROM_PROTOCOL_INFO)
 * in the target (the documented hand-off); libc: the fd over a Unix socket with SCM_RIGHTS. */
#include <sys/types.h>          /* the process plumbing of the hand-off (not Winsock), before */
#include <sys/wait.h>           /* the Windows headers rename any socket names */
#include <unistd.h>
#ifdef RAW_LIBC
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
typedef int SOCKET;
#define closesocket close
#define INVALID_SOCKET (-1)
static int startup(void) { return 0; }
static void cleanup(void) {}
#else
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <time.h>
static int startup(void) { WSADATA data; return WSAStartup(MAKEWORD(2, 2), &data); }
#define cleanup() WSACleanup()
#endif

#define CHUNK 65536

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "cbench: %s failed\n", what);
    exit(1);
}

static void nodelay(SOCKET s)
{
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
}

static int serve(const char *portfile, const char *mode, long long amount)
{
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0)
        die("listen");
#ifdef RAW_LIBC
    socklen_t n = sizeof a;
#else
    int n = sizeof a;
#endif
    getsockname(l, (struct sockaddr *)&a, &n);
    FILE *f = fopen(portfile, "w");
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    SOCKET s = accept(l, NULL, NULL);
    if (s == INVALID_SOCKET)
        die("accept");
    nodelay(s);
    static char buf[CHUNK];
    if (strcmp(mode, "bulk") == 0) {
        for (long long sent = 0; sent < amount; ) {
            int r = send(s, buf, CHUNK, 0);
            if (r <= 0)
                die("send");
            sent += r;
        }
    } else {                     /* pingpong, wakeup: echo until the client closes */
        for (;;) {
            int r = recv(s, buf, 1, 0);
            if (r <= 0)
                break;
            if (send(s, buf, 1, 0) != 1)
                die("send");
        }
    }
    closesocket(s);
    closesocket(l);
    return 0;
}

static SOCKET dial(int port)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    nodelay(s);
    return s;
}

/* Wait until ``s`` has data (the wake-up the benchmark measures); then take the report. */
#ifdef RAW_LIBC
static void wakeup_setup(SOCKET s) { (void)s; }
static void wait_read(SOCKET s)
{
    struct pollfd p = { s, POLLIN, 0 };
    if (poll(&p, 1, -1) != 1)
        die("poll");
}
static void take_report(SOCKET s) { (void)s; }
#else
static WSAEVENT event;
static void wakeup_setup(SOCKET s)
{
    event = WSACreateEvent();
    if (event == WSA_INVALID_EVENT || WSAEventSelect(s, event, FD_READ) != 0)
        die("WSAEventSelect");
}
static void wait_read(SOCKET s)
{
    (void)s;
    if (WSAWaitForMultipleEvents(1, &event, FALSE, WSA_INFINITE, FALSE) != WSA_WAIT_EVENT_0)
        die("WSAWaitForMultipleEvents");
}
static void take_report(SOCKET s)
{
    WSANETWORKEVENTS happened;
    if (WSAEnumNetworkEvents(s, event, &happened) != 0 || !(happened.lNetworkEvents & FD_READ))
        die("WSAEnumNetworkEvents");
}
#endif

static int client(int port, const char *mode, long long amount)
{
    SOCKET s = dial(port);
    static char buf[CHUNK];
    if (strcmp(mode, "bulk") == 0) {
        long long got = 0;
        double start = now();
        for (;;) {
            int r = recv(s, buf, CHUNK, 0);
            if (r <= 0)
                break;
            got += r;
        }
        double took = now() - start;
        if (got != amount)
            die("bulk: short");
        printf("%.6f\n", took);
    } else if (strcmp(mode, "pingpong") == 0) {
        double start = now();
        for (long long i = 0; i < amount; i++) {
            if (send(s, "x", 1, 0) != 1 || recv(s, buf, 1, 0) != 1)
                die("pingpong");
        }
        printf("%.6f\n", now() - start);
    } else {
        wakeup_setup(s);
        for (long long i = 0; i < amount; i++) {
            double start = now();
            if (send(s, "x", 1, 0) != 1)
                die("send");
            wait_read(s);
            double took = now() - start;
            take_report(s);
            if (recv(s, buf, 1, 0) != 1)
                die("recv");
            printf("%.3f\n", took * 1e6);
        }
    }
    closesocket(s);
    return 0;
}

/* The hand-off: give() in the source, take() in the target, over a channel of two POSIX
 * descriptors each way round (source: [read, write], target: [read, write]). */
#ifdef RAW_LIBC
/* A one-byte message with room for one descriptor (both ends use the same shape). */
typedef struct {
    char byte;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov;
    struct msghdr m;
} FD_MESSAGE;

static struct msghdr *fd_message(FD_MESSAGE *msg)
{
    memset(msg, 0, sizeof *msg);
    msg->byte = 's';
    msg->iov.iov_base = &msg->byte;
    msg->iov.iov_len = 1;
    msg->m.msg_iov = &msg->iov;
    msg->m.msg_iovlen = 1;
    msg->m.msg_control = msg->control;
    msg->m.msg_controllen = sizeof msg->control;
    return &msg->m;
}

static int give(SOCKET s, pid_t target, int out)
{
    (void)target;
    FD_MESSAGE msg;
    struct msghdr *m = fd_message(&msg);
    struct cmsghdr *c = CMSG_FIRSTHDR(m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &s, sizeof(int));
    return sendmsg(out, m, 0) == 1 ? 0 : -1;
}
static SOCKET take(int in)
{
    FD_MESSAGE msg;
    struct msghdr *m = fd_message(&msg);
    if (recvmsg(in, m, 0) != 1 || CMSG_FIRSTHDR(m) == NULL)
        return INVALID_SOCKET;
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(m)), sizeof fd);
    return fd;
}
/* SCM_RIGHTS needs a Unix socket: one, both ways. */
static int channel(int source[2], int target[2])
{
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0)
        return -1;
    source[0] = source[1] = ends[0];
    target[0] = target[1] = ends[1];
    return 0;
}
#else
static int read_all(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len; ) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}
static int give(SOCKET s, pid_t target, int out)
{
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, (DWORD)target, &info) != 0)
        return -1;
    return write(out, &info, sizeof info) == (ssize_t)sizeof info ? 0 : -1;
}
static SOCKET take(int in)
{
    WSAPROTOCOL_INFOW info;
    if (read_all(in, &info, sizeof info) != 0)
        return INVALID_SOCKET;
    return WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
}
/* The documented channel is a pipe (the handoff example's); one each way. */
static int channel(int source[2], int target[2])
{
    int there[2], back[2];
    if (pipe(there) != 0 || pipe(back) != 0)
        return -1;
    source[0] = back[0], source[1] = there[1];
    target[0] = there[0], target[1] = back[1];
    return 0;
}
#endif

static void close_ends(int ends[2])
{
    close(ends[0]);
    if (ends[1] != ends[0])
        close(ends[1]);
}

static int target(int in, int out, long long amount)
{
    for (long long i = 0; i < amount; i++) {
        SOCKET s = take(in);
        if (s == INVALID_SOCKET)
            die("take");
        if (write(out, "k", 1) != 1)          /* claimed: the hand-off is done */
            die("ack");
        closesocket(s);                       /* (closing is not part of it) */
    }
    return 0;
}

static int handoff(const char *self, long long amount)
{
    int source[2], theirs[2];
    if (channel(source, theirs) != 0)
        die("channel");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        char in[16], out[16], count[32];
        snprintf(in, sizeof in, "%d", theirs[0]);
        snprintf(out, sizeof out, "%d", theirs[1]);
        snprintf(count, sizeof count, "%lld", amount);
        close_ends(source);
        execl(self, self, "target", in, out, count, (char *)NULL);
        _exit(127);
    }
    close_ends(theirs);
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        die("socket");
    char ack;
    for (long long i = 0; i < amount; i++) {
        double start = now();
        if (give(s, child, source[1]) != 0 || read(source[0], &ack, 1) != 1)
            die("hand-off");
        printf("%.3f\n", (now() - start) * 1e6);
    }
    closesocket(s);
    close_ends(source);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("target");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "handoff") == 0) {
        if (startup() != 0)
            die("startup");
        int rc = handoff(argv[0], atoll(argv[2]));
        cleanup();
        return rc;
    }
    if (argc == 5 && strcmp(argv[1], "target") == 0) {
        if (startup() != 0)
            die("startup");
        int rc = target(atoi(argv[2]), atoi(argv[3]), atoll(argv[4]));
        cleanup();
        return rc;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: cbench server PORTFILE MODE AMOUNT | client PORT MODE AMOUNT | handoff AMOUNT\n");
        return 2;
    }
    if (startup() != 0)
        die("startup");
    long long amount = atoll(argv[4]);
    int rc = strcmp(argv[1], "server") == 0 ? serve(argv[2], argv[3], amount)
                                             : client(atoi(argv[2]), argv[3], amount);
    cleanup();
    return rc;
}
