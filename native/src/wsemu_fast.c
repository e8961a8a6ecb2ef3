/* The C face's data path (DESIGN.md §3.3): send/recv, their WSABUF forms and select on
 * base-provider sockets, in C, for libwsemu (which calls these through wsemu_fast_ops()).
 *
 * C only takes the common case and leaves the rest to the Python provider, so the Windows
 * rules keep one implementation. Python publishes, per fd, a *gate* (the descriptor: stream
 * or datagram, bound) and, per socket, a *slot* of state bits (wsemu.spi.cgate keeps both in
 * step with the Python state). A call C cannot take whole returns WSEMU_FAST_SLOW before it
 * touches the socket, and libwsemu goes to Python instead; a call C made that needs Python
 * afterwards (an errno to map, a re-enabling for a registration without a lane, a send tail to
 * queue, a closed socket to release) says so in ``after``.
 *
 * Blocking calls are counted on the gate with the calling thread's id, as Python's
 * Descriptor.blocked does, so that closesocket from another thread can interrupt them. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wsemu_native.h"

#define WIN_FD_READ 0x01u
#define WIN_FD_WRITE 0x02u

/* ---- slots: per-socket state bits ---- */
#define SLOT_PAGE 4096
#define SLOT_PAGES 1024
static uint32_t *slot_pages[SLOT_PAGES];
static int32_t slot_free_head = -1;      /* free list threaded through the free slots' words */
static int32_t slot_next;                /* slots ever handed out */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t *slot_word(int32_t slot)
{
    if (slot < 0 || slot >= SLOT_PAGE * SLOT_PAGES || slot_pages[slot / SLOT_PAGE] == NULL)
        return NULL;
    return &slot_pages[slot / SLOT_PAGE][slot % SLOT_PAGE];
}

int32_t wsemu_slot_new(uint32_t bits)
{
    int32_t slot = -1;
    pthread_mutex_lock(&slots_lock);
    if (slot_free_head >= 0) {
        slot = slot_free_head;
        slot_free_head = (int32_t)*slot_word(slot);
    } else if (slot_next < SLOT_PAGE * SLOT_PAGES) {
        uint32_t **page = &slot_pages[slot_next / SLOT_PAGE];
        if (*page == NULL)
            *page = calloc(SLOT_PAGE, sizeof **page);
        if (*page != NULL)
            slot = slot_next++;
    }
    if (slot >= 0)
        __atomic_store_n(slot_word(slot), bits, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&slots_lock);
    return slot;                 /* -1: no room; the socket then stays on Python's path */
}

void wsemu_slot_set(int32_t slot, uint32_t bits)
{
    uint32_t *word = slot_word(slot);
    if (word != NULL)
        __atomic_store_n(word, bits, __ATOMIC_RELEASE);
}

void wsemu_slot_free(int32_t slot)
{
    pthread_mutex_lock(&slots_lock);
    uint32_t *word = slot_word(slot);
    if (word != NULL) {
        *word = (uint32_t)slot_free_head;
        slot_free_head = slot;
    }
    pthread_mutex_unlock(&slots_lock);
}

/* ---- gates: per-fd descriptor facts and the threads blocked in C ---- */
#define GATE_TIDS 8
typedef struct gate {
    int32_t slot;                /* -1: no gate (Python's path) */
    uint8_t kind;                /* WSEMU_GATE_STREAM / WSEMU_GATE_DATAGRAM */
    uint8_t bound;
    uint16_t family;             /* Windows AF_INET / AF_INET6 */
    uint8_t closing;
    uint8_t nblocked;
    uint64_t tids[GATE_TIDS];    /* pthread ids of the threads blocked in C on this fd */
} gate;

#define GATE_PAGE 1024
#define GATE_PAGES 4096
static gate *gate_pages[GATE_PAGES];
static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;

/* (no lock: a page, once made, stays; a gate's fields are read racily and re-checked under
 * gates_lock where it matters — blocking calls) */
static gate *gate_at(int64_t fd, int create)
{
    if (fd < 0 || fd >= (int64_t)GATE_PAGE * GATE_PAGES)
        return NULL;
    gate **page = &gate_pages[fd / GATE_PAGE];
    if (*page == NULL) {
        if (!create)
            return NULL;
        gate *made = calloc(GATE_PAGE, sizeof *made);
        if (made == NULL)
            return NULL;
        for (int i = 0; i < GATE_PAGE; i++)
            made[i].slot = -1;
        gate *expected = NULL;
        if (!__atomic_compare_exchange_n(page, &expected, made, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            free(made);
    }
    return &(*page)[fd % GATE_PAGE];
}

int wsemu_gate_set(int fd, int32_t slot, int kind, int family, int bound)
{
    pthread_mutex_lock(&gates_lock);
    gate *g = gate_at(fd, 1);
    if (g != NULL) {
        g->kind = (uint8_t)kind;
        g->family = (uint16_t)family;
        g->bound = (uint8_t)bound;
        if (!g->nblocked)
            g->closing = 0;
        __atomic_store_n(&g->slot, slot, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&gates_lock);
    return g != NULL;
}

/* closesocket (or the descriptor forgotten): C takes no new call on ``fd``. Returns how many
 * threads are blocked in C on it, their ids in tids[0..] (Python interrupts them, as it does
 * its own), and marks the gate closing while there are any. */
int wsemu_gate_close(int fd, uint64_t *tids, int cap)
{
    int n = 0;
    pthread_mutex_lock(&gates_lock);
    gate *g = gate_at(fd, 0);
    if (g != NULL) {
        __atomic_store_n(&g->slot, -1, __ATOMIC_RELEASE);
        for (n = 0; n < g->nblocked && n < cap; n++)
            tids[n] = g->tids[n];
        g->closing = g->nblocked != 0;
    }
    pthread_mutex_unlock(&gates_lock);
    return n;
}

int wsemu_gate_blocked(int fd)
{
    pthread_mutex_lock(&gates_lock);
    gate *g = gate_at(fd, 0);
    int n = g != NULL ? g->nblocked : 0;
    pthread_mutex_unlock(&gates_lock);
    return n;
}

static int monitor_epfd = -1;            /* wsemu.events.monitor publishes it */
static int drivers;                      /* C threads waiting (Monitor.driving counts Python's) */
static int64_t last_drive;

void wsemu_fast_after_fork(void)
{
    monitor_epfd = -1;                   /* the child's monitor is its own, made when needed */
    drivers = 0;
    pthread_mutex_init(&gates_lock, NULL);
    pthread_mutex_init(&slots_lock, NULL);
    for (int p = 0; p < GATE_PAGES; p++)
        if (gate_pages[p] != NULL)
            for (int i = 0; i < GATE_PAGE; i++)
                gate_pages[p][i] = (gate){ .slot = -1 };
}

/* The slot bits of an open gate, or -1 when C does not take calls on ``fd``. */
static int64_t gate_bits(int64_t fd, gate **out)
{
    gate *g = gate_at(fd, 0);
    if (g == NULL)
        return -1;
    int32_t slot = __atomic_load_n(&g->slot, __ATOMIC_ACQUIRE);
    if (slot < 0)
        return -1;
    uint32_t *word = slot_word(slot);
    if (word == NULL)
        return -1;
    *out = g;
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

/* Enter a blocking call: 1 if registered (the gate is still open), 0 if not. */
static int enter(gate *g)
{
    int ok = 0;
    pthread_mutex_lock(&gates_lock);
    if (g->slot >= 0 && g->nblocked < GATE_TIDS) {
        g->tids[g->nblocked++] = (uint64_t)pthread_self();
        ok = 1;
    }
    pthread_mutex_unlock(&gates_lock);
    return ok;
}

/* Leave it: 1 if the socket was closed meanwhile (the call ends with WSAEINTR); *last is set
 * when this was the last thread blocked in C on a closed socket (Python releases the fd). */
static int leave(gate *g, int *last)
{
    uint64_t me = (uint64_t)pthread_self();
    pthread_mutex_lock(&gates_lock);
    for (int i = 0; i < g->nblocked; i++)
        if (g->tids[i] == me) {
            g->tids[i] = g->tids[--g->nblocked];
            break;
        }
    int closed = g->closing;
    *last = closed && g->nblocked == 0;
    if (*last)
        g->closing = 0;
    pthread_mutex_unlock(&gates_lock);
    return closed;
}

/* ---- the calls ---- */
#define SLOW WSEMU_FAST_SLOW

static void done(wsemu_io *io, int64_t result, int32_t error, int32_t after)
{
    io->result = result;
    io->error = error;
    io->after = after;
}

/* The end of a kernel call that failed with errno ``err``: Python maps it. */
static void failed(wsemu_io *io, int err, int32_t after)
{
    done(io, -1, err, WSEMU_AFTER_ERRNO | after);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The re-enabling a call owes (``bits`` of the registration, WSEMU_AFTER_RECV or _SEND_FAILED
 * for Python), done here by the socket's C lane when it is armed: 0 then. */
static int32_t owed(int64_t fd, uint32_t slot_bits, int32_t reenable)
{
    if (!(slot_bits & WSEMU_SLOT_EVENTS))
        return 0;
    uint32_t events = reenable == WSEMU_AFTER_RECV ? WIN_FD_READ : WIN_FD_WRITE;
    return wsemu_lane_reenable((int)fd, events) ? 0 : reenable;
}

/* One send/recv-family kernel call through ``msg``: the shared body of every data call. */
static int transfer(int64_t fd, int sending, struct msghdr *msg, uint32_t bits, gate *g,
                    wsemu_io *io, int32_t reenable)
{
    int lflags = sending ? MSG_NOSIGNAL : 0;
    if (bits & WSEMU_SLOT_NONBLOCK) {
        ssize_t n = sending ? sendmsg((int)fd, msg, lflags) : recvmsg((int)fd, msg, lflags);
        if (n < 0) {
            int err = errno;
            if (err == EAGAIN) {
                /* recv: re-enables FD_READ; send: a failing send re-enables FD_WRITE */
                done(io, -1, WSEMU_WOULDBLOCK, owed(fd, bits, reenable));
                return 0;
            }
            failed(io, err, bits & WSEMU_SLOT_EVENTS ? reenable : 0);
            return 0;
        }
        done(io, n, 0, sending ? 0 : owed(fd, bits, reenable));
        return 1;
    }
    if (!enter(g))
        return -1;
    ssize_t n;
    int err = 0;
    do {
        n = sending ? sendmsg((int)fd, msg, lflags) : recvmsg((int)fd, msg, lflags);
        err = n < 0 ? errno : 0;
    } while (n < 0 && err == EINTR && !__atomic_load_n(&g->closing, __ATOMIC_ACQUIRE));
    int last = 0;
    int closed = leave(g, &last);
    int32_t release = last ? WSEMU_AFTER_RELEASE : 0;
    if (closed) {
        done(io, -1, WSEMU_EINTR, release);       /* closesocket ended the call */
        return 0;
    }
    if (n < 0) {
        failed(io, err, bits & WSEMU_SLOT_EVENTS ? reenable : 0);
        return 0;
    }
    done(io, n, 0, sending ? 0 : owed(fd, bits, reenable));
    return 1;
}

/* send/WSASend/sendto/WSASendTo, flags 0. ``name`` (a Linux sockaddr of Windows family
 * ``family``) is used on a datagram socket only: a stream ignores it (item 96). */
int wsemu_fast_send(int64_t fd, const struct iovec *iov, int niov, int64_t total, const void *name,
                    uint32_t namelen, int family, wsemu_io *io)
{
    gate *g;
    int64_t bits = gate_bits(fd, &g);
    if (bits < 0 || bits & (WSEMU_SLOT_SHUT_WR | WSEMU_SLOT_STICKY | WSEMU_SLOT_SHARED | WSEMU_SLOT_TAIL))
        return SLOW;
    int stream = g->kind == WSEMU_GATE_STREAM;
    if (stream ? !(bits & WSEMU_SLOT_CONNECTED)
               : name != NULL ? family != g->family : !(bits & WSEMU_SLOT_CONNECTED))
        return SLOW;             /* WSAENOTCONN, WSAEAFNOSUPPORT...: Python says which */
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov };
    if (!stream && name != NULL) {
        msg.msg_name = (void *)name;
        msg.msg_namelen = namelen;
    }
    int took = transfer(fd, 1, &msg, (uint32_t)bits, g, io, WSEMU_AFTER_SEND_FAILED);
    if (took < 0)
        return SLOW;
    if (!took && !stream && io->after & WSEMU_AFTER_ERRNO && io->error == ECONNREFUSED) {
        /* An earlier datagram's ICMP refusal: Windows does not report it on a send (item 95). */
        took = transfer(fd, 1, &msg, (uint32_t)bits, g, io, WSEMU_AFTER_SEND_FAILED);
        if (took < 0)
            return SLOW;
    }
    if (took && stream && bits & WSEMU_SLOT_NONBLOCK && io->result < total)
        io->after |= WSEMU_AFTER_TAIL;   /* a non-blocking stream send takes all (sendqueue) */
    if (took && !stream && !g->bound)
        io->after |= WSEMU_AFTER_BOUND;  /* sendto binds implicitly (item 94) */
    return 0;
}

/* recv/WSARecv, flags 0. A datagram cut short: WSAEMSGSIZE with the buffer filled. */
int wsemu_fast_recv(int64_t fd, struct iovec *iov, int niov, int64_t total, void *name,
                    uint32_t *namelen, wsemu_io *io)
{
    gate *g;
    int64_t bits = gate_bits(fd, &g);
    if (bits < 0 || bits & (WSEMU_SLOT_SHUT_RD | WSEMU_SLOT_STICKY | WSEMU_SLOT_SHARED))
        return SLOW;
    int stream = g->kind == WSEMU_GATE_STREAM;
    if (!stream && !g->bound)
        return SLOW;             /* WSAEINVAL, decided by the descriptor's context: Python */
    if (stream && !(bits & WSEMU_SLOT_CONNECTED))
        return SLOW;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
    if (!stream && name != NULL) {
        msg.msg_name = name;
        msg.msg_namelen = *namelen;
    }
    int took = transfer(fd, 0, &msg, (uint32_t)bits, g, io, WSEMU_AFTER_RECV);
    if (took < 0)
        return SLOW;
    if (!took)
        return 0;
    if (!stream && name != NULL)
        *namelen = msg.msg_namelen;
    if (!stream && msg.msg_flags & MSG_TRUNC) {
        io->error = WSEMU_MSGSIZE;     /* (io->result: what the buffer holds) */
    } else if (stream && io->result == 0 && total) {
        io->after |= WSEMU_AFTER_EOF;  /* a close or a reset not yet reported: Python looks */
    }
    return 0;
}

/* ---- select ---- */
/* Windows' answer for one socket from its poll bits: bit 0 read, 1 write, 2 except; bit 3:
 * its kernel condition can still change (worth blocking on). */
static int answer(int64_t fd, gate *g, uint32_t bits, short revents)
{
    if (g->kind == WSEMU_GATE_DATAGRAM)
        return (revents & (POLLIN | POLLERR) ? 1 : 0) | (revents & POLLOUT ? 2 : 0)
            | (revents & (POLLERR | POLLHUP | POLLNVAL) ? 0 : 8);
    if (bits & WSEMU_SLOT_LISTENING)
        return (revents & POLLIN ? 1 : 0) | (revents & (POLLERR | POLLHUP | POLLNVAL) ? 0 : 8);
    if (!(bits & WSEMU_SLOT_CONNECTED))
        return 0;                /* never connected: nothing, ever (until a connect: Python) */
    int urgent = revents & POLLPRI, inline_ = 0;
    if (urgent) {
        int on = 0;
        socklen_t len = sizeof on;
        inline_ = getsockopt((int)fd, SOL_SOCKET, SO_OOBINLINE, &on, &len) == 0 && on;
    }
    return (revents & (POLLIN | POLLERR | POLLHUP) || inline_ ? 1 : 0) | (revents & POLLOUT ? 2 : 0)
        | (urgent && !inline_ ? 4 : 0) | (revents & (POLLERR | POLLHUP | POLLNVAL) ? 0 : 8);
}

/* select over ``n`` sockets (sockets[i], wants[i]: bit 0 read, 1 write, 2 except); got[i]
 * receives Windows' answer bits (bit 4: closed during the wait). timeout_ms < 0: forever.
 * Returns 0, or SLOW (before waiting) when a socket is not C's. */
int wsemu_fast_select(const int64_t *sockets, const uint8_t *wants, uint8_t *got, int n,
                      int64_t timeout_ms, wsemu_io *io)
{
    if (n > 1024)
        return SLOW;
    gate *gates[1024];
    uint32_t bits[1024];
    struct pollfd fds[1024];
    for (int i = 0; i < n; i++) {
        int64_t b = gate_bits(sockets[i], &gates[i]);
        if (b < 0 || b & (WSEMU_SLOT_SHARED | WSEMU_SLOT_TAIL | WSEMU_SLOT_SPECIAL))
            return SLOW;
        bits[i] = (uint32_t)b;
    }
    int entered = 0;
    for (; entered < n; entered++)
        if (!enter(gates[entered]))
            break;
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int ready = 0, err = 0;
    while (entered == n) {
        int closed = 0;
        for (int i = 0; i < n; i++) {
            fds[i] = (struct pollfd){ .fd = (int)sockets[i], .events = POLLIN | POLLPRI | POLLOUT };
            got[i] = 0;
            if (__atomic_load_n(&gates[i]->closing, __ATOMIC_ACQUIRE)) {
                got[i] = 16;
                fds[i].fd = -1;
                closed = 1;
            }
        }
        if (closed) {
            ready = 1;
            break;
        }
        if (poll(fds, (nfds_t)n, 0) < 0 && errno != EINTR) {
            err = errno;
            break;
        }
        for (int i = 0; i < n; i++) {
            int a = answer(sockets[i], gates[i], bits[i], fds[i].revents);
            got[i] = (uint8_t)(a & wants[i] & 7);
            ready |= got[i] != 0;
            if (a & 8) {
                fds[i].events = (short)((wants[i] & 1 ? POLLIN | POLLPRI : 0) | (wants[i] & 2 ? POLLOUT : 0)
                                        | (wants[i] & 4 ? POLLPRI : 0));
            } else {
                fds[i].fd = -1;
            }
        }
        if (ready)
            break;
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                break;
            wait = (int)(left > 0x7FFFFFFF ? 0x7FFFFFFF : left);
        }
        /* (with nothing worth blocking on, poll just sleeps out the timeout) */
        if (poll(fds, (nfds_t)n, wait) < 0 && errno != EINTR) {
            err = errno;
            break;
        }
    }
    int32_t after = 0;
    for (int i = 0; i < entered; i++) {
        int last = 0;
        leave(gates[i], &last);
        if (last)
            after |= WSEMU_AFTER_RELEASE;    /* (Python releases every closed one it finds) */
    }
    if (entered < n) {
        return SLOW;             /* a socket closed as we started: Python's select says what */
    }
    done(io, 0, err, after | (err ? WSEMU_AFTER_ERRNO : 0));
    return 0;
}

/* ---- WSAWaitForMultipleEvents: the events layer's C wait, with the monitor's epoll ---- */
void wsemu_set_monitor_epoll(int epfd)
{
    __atomic_store_n(&monitor_epfd, epfd, __ATOMIC_RELEASE);
}

int wsemu_drivers(void)
{
    return __atomic_load_n(&drivers, __ATOMIC_ACQUIRE);
}

int64_t wsemu_last_drive_ms(void)
{
    return __atomic_load_n(&last_drive, __ATOMIC_ACQUIRE);
}

/* wsemu_events_wait while driving the monitor (Python's Monitor.drive/done_driving, in C). */
static int fast_wait(const int *events, int n, int wait_all, int timeout_ms, int *slow, int cap,
                     int *nslow)
{
    __atomic_add_fetch(&drivers, 1, __ATOMIC_ACQ_REL);
    int epfd = __atomic_load_n(&monitor_epfd, __ATOMIC_ACQUIRE);
    int got = wsemu_events_wait(events, n, wait_all, epfd, timeout_ms, slow, cap, nslow);
    if (got == -EBADF && epfd >= 0)      /* WSACleanup closed the epoll meanwhile */
        got = -EINTR;
    __atomic_store_n(&last_drive, now_ms(), __ATOMIC_RELEASE);
    __atomic_sub_fetch(&drivers, 1, __ATOMIC_ACQ_REL);
    return got;
}

/* Which fds are event objects (wsemu.events.objects marks them): a C caller's handle is
 * checked here, as Python checks its own. */
#define EVENT_PAGE 65536
static uint8_t *event_pages[GATE_PAGE * GATE_PAGES / EVENT_PAGE];

void wsemu_event_mark(int fd, int on)
{
    if (fd < 0 || fd >= GATE_PAGE * GATE_PAGES)
        return;
    uint8_t **page = &event_pages[fd / EVENT_PAGE];
    if (*page == NULL) {
        if (!on)
            return;
        uint8_t *made = calloc(EVENT_PAGE, 1), *expected = NULL;
        if (made == NULL)
            return;
        if (!__atomic_compare_exchange_n(page, &expected, made, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            free(made);
    }
    __atomic_store_n(&(*page)[fd % EVENT_PAGE], (uint8_t)on, __ATOMIC_RELEASE);
}

static int event_valid(int64_t fd)
{
    if (fd < 0 || fd >= GATE_PAGE * GATE_PAGES)
        return 0;
    uint8_t *page = __atomic_load_n(&event_pages[fd / EVENT_PAGE], __ATOMIC_ACQUIRE);
    return page != NULL && __atomic_load_n(&page[fd % EVENT_PAGE], __ATOMIC_ACQUIRE);
}

static const wsemu_fast_table table = {
    WSEMU_FAST_VERSION, wsemu_fast_send, wsemu_fast_recv, wsemu_fast_select, fast_wait,
    wsemu_drain_unlock, event_valid,
};

uintptr_t wsemu_fast_ops(void)
{
    return (uintptr_t)&table;
}
