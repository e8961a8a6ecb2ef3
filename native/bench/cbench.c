/* The C face's benchmarks (scripts/bench.py runs them): one source, two builds.
 *
 *   cc $(wsemu config --cflags) cbench.c $(wsemu config --libs)   Winsock through libwsemu
 *   cc -DRAW_LIBC cbench.c                                         the same loops on libc
 *
 * Usage: cbench server PORTFILE MODE AMOUNT | cbench client PORT MODE AMOUNT
 * Modes: pingpong (AMOUNT 1-byte round trips), bulk (AMOUNT bytes in 64 KiB, server → client),
 * wakeup (AMOUNT 1-byte echoes, the client waiting for each answer: Winsock with
 * WSAEventSelect + WSAWaitForMultipleEvents, libc with poll; timed from the send to the
 * wait's return, as scripts/bench.py times Python's). The client prints the seconds its
 * loop took (wakeup: one line per echo, in µs). The loops
 * are the same statements in both builds, only the names differ (the macros below). */
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

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: cbench server PORTFILE MODE AMOUNT | client PORT MODE AMOUNT\n");
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
