/* libwsemu's data path: send/recv and their WSABUF and address forms, select and
 * WSAWaitForMultipleEvents, in C on base-provider sockets (DESIGN.md §3.3).
 *
 * Each call asks wsemu._native's fast table (native/src/wsemu_fast.c) to do it; that table
 * says SLOW before touching a socket it does not take, and the call then goes to the
 * embedded Python whole (wsemu/cface/data.py). After a call C made, ``after`` bits name the
 * Windows work left for Python (an errno to map, a re-enabling for a registration without a
 * C lane, a send tail to queue, a stream's end to examine). So the rules keep one
 * implementation, and a steady stream of data never enters Python. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "wsemu/winabi.h"
#include "wsemu/dataplane.h"
#include "wsemu_native.h"

/* (This translation unit has Windows' AF_* from winabi.h, so no Linux socket header: the
 * Linux address families are spelt out, and a sockaddr is the generic storage below —
 * Windows' sockaddr_in/in6 have Linux's layouts, only the family number differs.) */
#define LINUX_AF_INET 2
#define LINUX_AF_INET6 10
#define SOCKET_ERROR_VALUE (-1)
typedef struct linux_sockaddr { uint16_t family; uint8_t rest[126]; } linux_sockaddr;

void wsemu_set_last_error(int32_t code);

static const wsemu_fast_table *fast;
static int64_t slow_calls;               /* data calls C left to Python whole (for tests) */

int64_t wsemu_cface_slow_calls(void)
{
    return __atomic_load_n(&slow_calls, __ATOMIC_RELAXED);
}

#define SLOW_CALL(call) (__atomic_add_fetch(&slow_calls, 1, __ATOMIC_RELAXED), (call))

void wsemu_cface_attach(uintptr_t table)
{
    const wsemu_fast_table *t = (const wsemu_fast_table *)table;
    if (t != NULL && t->version == WSEMU_FAST_VERSION)
        fast = t;
}

/* The fast table, once the embedded interpreter has started (its init attaches it). */
static const wsemu_fast_table *ops(void)
{
    if (fast == NULL)
        wsemu_py_init();
    return fast;
}

/* The end of a call C made: Python's part if any, else the result or the error. */
static int64_t finish(SOCKET s, int op, const wsemu_io *io, const char *tail, int64_t tail_len)
{
    if (io->after)
        return wsemu_py_after(s, op, io->result, io->error, io->after, tail, tail_len);
    if (io->error) {
        wsemu_set_last_error(io->error);
        return SOCKET_ERROR_VALUE;
    }
    wsemu_set_last_error(0);
    return io->result;
}

/* A Windows sockaddr → the Linux one (same layouts, Linux family numbers); its Windows
 * family, or -1 when C should not take it (Python then says what is wrong with it). */
static int linux_name(const struct WS_sockaddr *name, int32_t namelen, linux_sockaddr *out,
                      uint32_t *outlen)
{
    if (name == NULL || namelen < 2 || namelen > (int32_t)sizeof *out)
        return -1;
    uint16_t family;
    memcpy(&family, name, 2);
    if (family == AF_INET && namelen >= 16) {
        memcpy(out, name, 16);
        out->family = LINUX_AF_INET;
        *outlen = 16;
    } else if (family == AF_INET6 && namelen >= 28) {
        memcpy(out, name, 28);
        out->family = LINUX_AF_INET6;
        *outlen = 28;
    } else {
        return -1;
    }
    return family;
}

/* A Linux sockaddr the kernel filled → the caller's Windows buffer; 0, or -1 if it is short. */
static int windows_name(const linux_sockaddr *name, uint32_t namelen, struct WS_sockaddr *out,
                        int32_t *outlen)
{
    uint16_t family = name->family == LINUX_AF_INET6 ? AF_INET6 : AF_INET;
    int32_t size = family == AF_INET6 ? 28 : 16;
    if (namelen < (uint32_t)size || *outlen < size)
        return -1;
    memcpy(out, name, (size_t)size);
    memcpy(out, &family, 2);
    *outlen = size;
    return 0;
}

/* ---- send family ---- */
static int64_t send_vec(SOCKET s, struct iovec *iov, int niov, int64_t total, const struct WS_sockaddr *to,
                        int32_t tolen, int *slow)
{
    const wsemu_fast_table *t = ops();
    linux_sockaddr name;
    uint32_t namelen = 0;
    int family = 0;
    if (t == NULL || s > INT_MAX)
        return *slow = 1, 0;
    if (to != NULL && (family = linux_name(to, tolen, &name, &namelen)) < 0)
        return *slow = 1, 0;
    wsemu_io io;
    if (t->send((int64_t)s, iov, niov, total, to != NULL ? &name : NULL, namelen, family, &io) == WSEMU_FAST_SLOW)
        return *slow = 1, 0;
    /* An unreachable destination may be WSAENETDOWN (its link is down): Python decides that
     * from the destination, so it makes the call again whole (nothing was sent). */
    if (to != NULL && (io.after & WSEMU_AFTER_ERRNO)
        && (io.error == ENETUNREACH || io.error == EHOSTUNREACH || io.error == EADDRNOTAVAIL))
        return *slow = 1, 0;
    *slow = 0;
    if (!(io.after & WSEMU_AFTER_TAIL))
        return finish(s, WSEMU_OP_SEND, &io, NULL, 0);
    /* The unsent rest, contiguous, for the send queue. */
    int64_t skip = io.result, left = total - io.result;
    char *rest = malloc(left > 0 ? (size_t)left : 1);
    if (rest == NULL) {
        io.after &= ~WSEMU_AFTER_TAIL;   /* (what went out is the result) */
        return finish(s, WSEMU_OP_SEND, &io, NULL, 0);
    }
    int64_t at = 0;
    for (int i = 0; i < niov; i++) {
        int64_t len = (int64_t)iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(rest + at, (char *)iov[i].iov_base + skip, (size_t)(len - skip));
        at += len - skip;
        skip = 0;
    }
    int64_t result = finish(s, WSEMU_OP_SEND, &io, rest, left);
    free(rest);
    return result;
}

int32_t wsemu_send(SOCKET s, const char *buf, int32_t len, int32_t flags)
{
    if (flags == 0 && len > 0 && buf != NULL) {
        struct iovec iov = { (void *)buf, (size_t)len };
        int slow;
        int64_t n = send_vec(s, &iov, 1, len, NULL, 0, &slow);
        if (!slow)
            return (int32_t)n;
    }
    return SLOW_CALL(wsemu_py_send(s, buf, len, flags));
}

int32_t wsemu_sendto(SOCKET s, const char *buf, int32_t len, int32_t flags, const struct WS_sockaddr *to,
                     int32_t tolen)
{
    if (flags == 0 && len > 0 && buf != NULL) {
        struct iovec iov = { (void *)buf, (size_t)len };
        int slow;
        int64_t n = send_vec(s, &iov, 1, len, to, tolen, &slow);
        if (!slow)
            return (int32_t)n;
    }
    return SLOW_CALL(wsemu_py_sendto(s, buf, len, flags, to, tolen));
}

#define MAX_IOV 64

/* The WSABUF array as iovecs; the total, or -1 when C should leave it to Python. */
static int64_t gather(const WSABUF *buffers, uint32_t count, struct iovec *iov)
{
    if (buffers == NULL || count == 0 || count > MAX_IOV)
        return -1;
    int64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (buffers[i].len && buffers[i].buf == NULL)
            return -1;
        iov[i] = (struct iovec){ buffers[i].buf, buffers[i].len };
        total += buffers[i].len;
    }
    return total > INT_MAX ? -1 : total;
}

static int32_t wsasend(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *sent, uint32_t flags,
                       WSAOVERLAPPED *overlapped, void *routine, const struct WS_sockaddr *to, int32_t tolen)
{
    struct iovec iov[MAX_IOV];
    int64_t total;
    if (flags == 0 && overlapped == NULL && routine == NULL && sent != NULL
            && (total = gather(buffers, count, iov)) > 0) {
        int slow;
        int64_t n = send_vec(s, iov, (int)count, total, to, tolen, &slow);
        if (!slow) {
            if (n < 0)
                return SOCKET_ERROR_VALUE;
            *sent = (uint32_t)n;
            return 0;
        }
    }
    return SLOW_CALL(wsemu_py_wsasend(s, buffers, count, sent, flags, overlapped, routine, to, tolen));
}

int32_t wsemu_WSASend(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *sent, uint32_t flags,
                      WSAOVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
    return wsasend(s, buffers, count, sent, flags, overlapped, (void *)routine, NULL, 0);
}

int32_t wsemu_WSASendTo(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *sent, uint32_t flags,
                        const struct WS_sockaddr *to, int32_t tolen, WSAOVERLAPPED *overlapped,
                        LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
    if (to == NULL)
        return SLOW_CALL(wsemu_py_wsasend(s, buffers, count, sent, flags, overlapped, (void *)routine, NULL, tolen));
    return wsasend(s, buffers, count, sent, flags, overlapped, (void *)routine, to, tolen);
}

/* ---- recv family ---- */
static int64_t recv_vec(SOCKET s, struct iovec *iov, int niov, int64_t total, struct WS_sockaddr *from,
                        int32_t *fromlen, int *slow)
{
    const wsemu_fast_table *t = ops();
    if (t == NULL || s > INT_MAX || (from != NULL && (fromlen == NULL || *fromlen < 16)))
        return *slow = 1, 0;
    linux_sockaddr name;
    uint32_t namelen = sizeof name;
    wsemu_io io;
    if (t->recv((int64_t)s, iov, niov, total, from != NULL ? &name : NULL, &namelen, &io) == WSEMU_FAST_SLOW)
        return *slow = 1, 0;
    *slow = 0;
    /* The sender's address for recvfrom: a datagram socket's only (a stream leaves it alone). */
    if (from != NULL && io.result >= 0 && namelen != sizeof name && !(io.after & WSEMU_AFTER_ERRNO)
            && windows_name(&name, namelen, from, fromlen) < 0) {
        io.error = WSAEFAULT;
    }
    return finish(s, WSEMU_OP_RECV, &io, NULL, 0);
}

int32_t wsemu_recv(SOCKET s, char *buf, int32_t len, int32_t flags)
{
    if (flags == 0 && len > 0 && buf != NULL) {
        struct iovec iov = { buf, (size_t)len };
        int slow;
        int64_t n = recv_vec(s, &iov, 1, len, NULL, NULL, &slow);
        if (!slow)
            return (int32_t)n;
    }
    return SLOW_CALL(wsemu_py_recv(s, buf, len, flags));
}

int32_t wsemu_recvfrom(SOCKET s, char *buf, int32_t len, int32_t flags, struct WS_sockaddr *from,
                       int32_t *fromlen)
{
    if (flags == 0 && len > 0 && buf != NULL) {
        struct iovec iov = { buf, (size_t)len };
        int slow;
        int64_t n = recv_vec(s, &iov, 1, len, from, fromlen, &slow);
        if (!slow)
            return (int32_t)n;
    }
    return SLOW_CALL(wsemu_py_recvfrom(s, buf, len, flags, from, fromlen));
}

static int32_t wsarecv(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *received, uint32_t *flags,
                       WSAOVERLAPPED *overlapped, void *routine, struct WS_sockaddr *from, int32_t *fromlen,
                       int with_from)
{
    struct iovec iov[MAX_IOV];
    int64_t total;
    if (flags != NULL && *flags == 0 && overlapped == NULL && routine == NULL && received != NULL
            && (total = gather(buffers, count, iov)) > 0) {
        int slow;
        int64_t n = recv_vec(s, iov, (int)count, total, from, fromlen, &slow);
        if (!slow) {
            if (n < 0)
                return SOCKET_ERROR_VALUE;
            *received = (uint32_t)n;
            *flags = 0;
            return 0;
        }
    }
    return SLOW_CALL(wsemu_py_wsarecv(s, buffers, count, received, flags, overlapped, routine, from, fromlen, with_from));
}

int32_t wsemu_WSARecv(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *received, uint32_t *flags,
                      WSAOVERLAPPED *overlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
    return wsarecv(s, buffers, count, received, flags, overlapped, (void *)routine, NULL, NULL, 0);
}

int32_t wsemu_WSARecvFrom(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *received, uint32_t *flags,
                          struct WS_sockaddr *from, int32_t *fromlen, WSAOVERLAPPED *overlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
    return wsarecv(s, buffers, count, received, flags, overlapped, (void *)routine, from, fromlen, 1);
}

/* ---- select ---- */
#define SELECT_MAX 1024

int32_t wsemu_select(int32_t nfds, WS_fd_set *readfds, WS_fd_set *writefds, WS_fd_set *exceptfds,
                     const struct WS_timeval *timeout)
{
    const wsemu_fast_table *t = ops();
    WS_fd_set *sets[3] = { readfds, writefds, exceptfds };
    static __thread int64_t sockets[SELECT_MAX];
    static __thread uint8_t wants[SELECT_MAX], got[SELECT_MAX];
    static __thread SOCKET inputs[3][SELECT_MAX];
    uint32_t counts[3] = { 0, 0, 0 };
    int n = 0;
    if (t == NULL || (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_usec < 0)))
        goto slow;
    for (int k = 0; k < 3; k++) {
        if (sets[k] == NULL)
            continue;
        if (sets[k]->fd_count > SELECT_MAX)
            goto slow;
        counts[k] = sets[k]->fd_count;
        for (uint32_t i = 0; i < counts[k]; i++) {
            SOCKET s = inputs[k][i] = sets[k]->fd_array[i];
            if (s > INT_MAX)
                goto slow;
            int j = 0;
            while (j < n && sockets[j] != (int64_t)s)
                j++;
            if (j == n) {
                if (n == SELECT_MAX)
                    goto slow;
                sockets[n] = (int64_t)s;
                wants[n++] = 0;
            }
            wants[j] |= (uint8_t)(1 << k);
        }
    }
    if (n == 0)
        goto slow;                       /* WSAEINVAL: Python says it */
    int64_t timeout_ms = timeout == NULL ? -1
        : (int64_t)timeout->tv_sec * 1000 + (timeout->tv_usec + 999) / 1000;
    wsemu_io io;
    if (t->select(sockets, wants, got, n, timeout_ms, &io) == WSEMU_FAST_SLOW)
        goto slow;
    if (io.after) {
        int64_t r = wsemu_py_after(0, WSEMU_OP_SELECT, 0, io.error, io.after, NULL, 0);
        if (r < 0)
            return SOCKET_ERROR_VALUE;
    }
    /* Windows' results: every given set emptied first (one set may be passed twice), then
     * each filled in its input order; a socket closed meanwhile is readable in readfds and
     * fails the call in any other set it alone was in. */
    for (int k = 0; k < 3; k++)
        if (sets[k] != NULL)
            sets[k]->fd_count = 0;
    int32_t total = 0, closed_elsewhere = 0;
    for (int k = 0; k < 3; k++) {
        if (sets[k] == NULL)
            continue;
        for (uint32_t i = 0; i < counts[k]; i++) {
            int j = 0;
            while (sockets[j] != (int64_t)inputs[k][i])
                j++;
            int hit = got[j] & 16 ? k == 0 : got[j] >> k & 1;
            if (got[j] & 16 && k != 0 && !(wants[j] & 1))
                closed_elsewhere = 1;
            if (!hit)
                continue;
            uint32_t c = sets[k]->fd_count, dup = 0;
            for (uint32_t m = 0; m < c; m++)
                dup |= sets[k]->fd_array[m] == inputs[k][i];
            if (!dup) {
                sets[k]->fd_array[sets[k]->fd_count++] = inputs[k][i];
                total++;
            }
        }
    }
    if (closed_elsewhere) {
        wsemu_set_last_error(WSAENOTSOCK);
        return SOCKET_ERROR_VALUE;
    }
    wsemu_set_last_error(0);
    return total;
slow:
    return SLOW_CALL(wsemu_py_select(nfds, readfds, writefds, exceptfds, timeout));
}

/* ---- WSAWaitForMultipleEvents ---- */
#define SLOW_CAP 64

uint32_t wsemu_WSAWaitForMultipleEvents(uint32_t count, const WSAEVENT *events, int32_t wait_all,
                                        uint32_t timeout, int32_t alertable)
{
    const wsemu_fast_table *t = ops();
    int fds[64];
    int slow[2 * SLOW_CAP], nslow = 0;
    (void)alertable;                     /* (no APCs here: nothing to be alerted by) */
    if (t == NULL) {
        wsemu_set_last_error(WSA_INVALID_PARAMETER);
        return WSA_WAIT_FAILED;
    }
    if (count == 0 || count > 64 || events == NULL) {
        wsemu_set_last_error(WSA_INVALID_PARAMETER);
        return WSA_WAIT_FAILED;
    }
    for (uint32_t i = 0; i < count; i++) {
        uintptr_t h = (uintptr_t)events[i];
        if (h > INT_MAX || !t->event_valid((int64_t)h)) {
            wsemu_set_last_error(WSA_INVALID_HANDLE);
            return WSA_WAIT_FAILED;
        }
        fds[i] = (int)h;
    }
    int forever = timeout == 0xFFFFFFFFu;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout;
    int wait_ms = forever ? -1 : (int)(timeout > INT_MAX ? INT_MAX : timeout);
    for (;;) {
        int got = t->wait(fds, (int)count, wait_all != 0, wait_ms, slow, SLOW_CAP, &nslow);
        if (got >= 0) {
            wsemu_set_last_error(0);
            return (uint32_t)got;        /* WSA_WAIT_EVENT_0 + index */
        }
        if (got == WSEMU_WAIT_TIMEOUT) {
            if (forever || timeout <= INT_MAX)
                return WSA_WAIT_TIMEOUT;
        } else if (got == WSEMU_WAIT_REPORTS) {
            wsemu_py_reports(slow, nslow);   /* (posts them; releases the drain lock) */
        } else if (got != -EINTR) {
            wsemu_set_last_error(WSA_INVALID_PARAMETER);
            return WSA_WAIT_FAILED;
        }
        if (!forever) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t left = deadline - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
            if (left <= 0)
                return WSA_WAIT_TIMEOUT;
            wait_ms = (int)(left > INT_MAX ? INT_MAX : left);
        }
    }
}
