/* The event layer's hot path in C (wsemu.events): the wait behind WSAWaitForMultipleEvents,
 * the drain of the monitor's epoll, and the *lanes* that let that drain post the common
 * reports without Python.
 *
 * A lane is the C copy of one registration's pending/reported record (wsemu.events.state),
 * indexed by the watched fd. Python arms it after a full look at a socket whose next reports
 * can only be data and write space (an unshared, connected stream or bound datagram socket in
 * event mode); while it is armed, the lane's pending, reported and seen are the registration's
 * and a report with nothing else in it (no hang-up, error or urgent data) is posted here,
 * exactly as state.detect + state.post would (tests/test_event_lanes.py checks that against
 * the Python tables). Anything else, or a disarmed lane, goes back to Python. Python takes
 * the lane back (disarms it and reads its record) before it changes the record itself, so
 * the two never both own a record. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "wsemu_native.h"

/* Windows' FD_READ and FD_WRITE bits (winabi.h; this file keeps to Linux names). */
#define LANE_FD_READ 0x01u
#define LANE_FD_WRITE 0x02u

typedef struct lane {
    int32_t kind;                /* 0: disarmed; WSEMU_LANE_STREAM / WSEMU_LANE_DATAGRAM */
    int32_t event;               /* the eventfd to set */
    uint32_t mask, pending, reported;
    int32_t seen;                /* bytes queued at the last look (stream) */
} lane;

#define LANE_PAGE 1024
#define LANE_PAGES 4096          /* fds below 4M have a lane; others always go to Python */
static lane *pages[LANE_PAGES];
static pthread_mutex_t lanes_lock = PTHREAD_MUTEX_INITIALIZER;   /* a leaf: held briefly */
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;

/* (lanes_lock held) */
static lane *lane_at(int fd, int create)
{
    if (fd < 0 || fd >= LANE_PAGE * LANE_PAGES)
        return NULL;
    lane *page = pages[fd / LANE_PAGE];
    if (page == NULL) {
        if (!create || (page = calloc(LANE_PAGE, sizeof *page)) == NULL)
            return NULL;
        pages[fd / LANE_PAGE] = page;
    }
    return &page[fd % LANE_PAGE];
}

int wsemu_lane_arm(int fd, int kind, int event, uint32_t mask, uint32_t pending,
                   uint32_t reported, int32_t seen)
{
    pthread_mutex_lock(&lanes_lock);
    lane *l = lane_at(fd, 1);
    if (l != NULL)
        *l = (lane){ kind, event, mask, pending, reported, seen };
    pthread_mutex_unlock(&lanes_lock);
    return l != NULL;
}

/* Disarm the lane of ``fd``; if it was armed, its record in out[0..2] = pending, reported,
 * seen, and 1 is returned. */
int wsemu_lane_take(int fd, int64_t *out)
{
    int armed = 0;
    pthread_mutex_lock(&lanes_lock);
    lane *l = lane_at(fd, 0);
    if (l != NULL && l->kind) {
        out[0] = l->pending;
        out[1] = l->reported;
        out[2] = l->seen;
        l->kind = 0;
        armed = 1;
    }
    pthread_mutex_unlock(&lanes_lock);
    return armed;
}

/* An event object is being closed: no lane may set it any more (its fd number will be
 * reused). The lanes that named it are disarmed; Python holds their records already. */
void wsemu_lanes_forget_event(int event)
{
    pthread_mutex_lock(&lanes_lock);
    for (int p = 0; p < LANE_PAGES; p++) {
        if (pages[p] == NULL)
            continue;
        for (int i = 0; i < LANE_PAGE; i++)
            if (pages[p][i].kind && pages[p][i].event == event)
                pages[p][i].event = -1;
    }
    pthread_mutex_unlock(&lanes_lock);
}

/* A forked child: no thread holds a lock any more, and its monitor watches nothing yet. */
void wsemu_events_after_fork(void)
{
    pthread_mutex_init(&lanes_lock, NULL);
    pthread_mutex_init(&drain_lock, NULL);
    for (int p = 0; p < LANE_PAGES; p++)
        if (pages[p] != NULL)
            memset(pages[p], 0, LANE_PAGE * sizeof(lane));
}

/* Post what ``revents`` says on an armed lane (lanes_lock held): 1, or 0 when the lane
 * cannot read the socket (Python's full look then). */
static int lane_post(lane *l, int fd, uint32_t revents)
{
    uint32_t level = 0, arrived = 0;
    if (l->kind == WSEMU_LANE_STREAM) {
        int queued = 0;
        if (ioctl(fd, FIONREAD, &queued) < 0)
            return 0;
        if (queued) {
            level = LANE_FD_READ;
            if (queued > l->seen)
                arrived = LANE_FD_READ;      /* new bytes: posted even while reported */
        }
        l->seen = queued;
    } else if (revents & EPOLLIN) {
        level = arrived = LANE_FD_READ;      /* a datagram came */
    }
    if (revents & EPOLLOUT)
        level |= LANE_FD_WRITE;
    uint32_t fresh = (level & ~l->reported) | arrived;
    if (fresh) {
        l->pending |= fresh;
        l->reported |= fresh;
        if (fresh & l->mask && l->event >= 0) {
            uint64_t one = 1;            /* (under the lock: the event cannot be closed meanwhile) */
            ssize_t ignored = write(l->event, &one, sizeof one);
            (void)ignored;
        }
    }
    return 1;
}

#define LANE_HARD (EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLPRI)

/* One report (epoll revents) on the lane of ``fd``: 1 if posted here, 0 if it is Python's. */
int wsemu_lane_report(int fd, uint32_t revents)
{
    if (revents & LANE_HARD)
        return 0;                /* a close, a reset, urgent data: the full look */
    pthread_mutex_lock(&lanes_lock);
    lane *l = lane_at(fd, 0);
    int posted = l != NULL && l->kind && lane_post(l, fd, revents);
    pthread_mutex_unlock(&lanes_lock);
    return posted;
}

/* A recv (``bits`` FD_READ) or a failing send (FD_WRITE) went through ``fd``, whose
 * registration's lane is armed: re-enable those events and look again, as
 * registry.reenable would (state.reenable, then the look). 1 if done here; 0 if the lane is
 * not armed or the socket shows more than data and space (then Python does all of it). */
int wsemu_lane_reenable(int fd, uint32_t bits)
{
    pthread_mutex_lock(&lanes_lock);
    lane *l = lane_at(fd, 0);
    int done = 0;
    if (l != NULL && l->kind) {
        if (!((l->pending | l->reported) & bits)) {
            done = 1;            /* nothing to re-enable: the record stays */
        } else {
            struct pollfd pfd = { fd, POLLIN | POLLOUT | POLLPRI | POLLRDHUP, 0 };
            if (poll(&pfd, 1, 0) >= 0 && !(pfd.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLPRI | POLLNVAL))) {
                uint32_t saved_pending = l->pending, saved_reported = l->reported;
                l->pending &= ~bits;
                l->reported &= ~bits;
                uint32_t revents = (pfd.revents & POLLIN ? EPOLLIN : 0) | (pfd.revents & POLLOUT ? EPOLLOUT : 0);
                done = lane_post(l, fd, revents);
                if (!done) {
                    l->pending = saved_pending;
                    l->reported = saved_reported;
                }
            }
        }
    }
    pthread_mutex_unlock(&lanes_lock);
    return done;
}

void wsemu_drain_lock(void)
{
    pthread_mutex_lock(&drain_lock);
}

int wsemu_drain_trylock(void)
{
    return pthread_mutex_trylock(&drain_lock) == 0;
}

void wsemu_drain_unlock(void)
{
    pthread_mutex_unlock(&drain_lock);
}

/* Take every report of the monitor's epoll (drain lock held): post what the lanes can; the
 * rest into slow[] as (fd, revents) pairs, at most ``cap`` of them. Returns how many, or
 * -errno. Reports beyond ``cap`` stay in the epoll (its items are taken one call's worth at a
 * time). */
int wsemu_events_drain(int epfd, int *slow, int cap)
{
    struct epoll_event ready[64];
    int nslow = 0;
    while (nslow < cap) {
        int room = cap - nslow < 64 ? cap - nslow : 64;
        int n = epoll_wait(epfd, ready, room, 0);
        if (n < 0)
            return errno == EINTR ? nslow : -errno;
        for (int i = 0; i < n; i++) {
            int fd = ready[i].data.fd;
            if (!wsemu_lane_report(fd, ready[i].events)) {
                slow[2 * nslow] = fd;
                slow[2 * nslow + 1] = (int)ready[i].events;
                nslow++;
            }
        }
        if (n < room)
            break;
    }
    return nslow;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* WSAWaitForMultipleEvents' wait over ``n`` (1..64) eventfds; with ``epfd`` >= 0 it also
 * watches the monitor's epoll and drains it on this thread (the event is then set where it
 * is awaited). timeout_ms < 0: forever. Returns the index of the lowest set event (with
 * ``wait_all``: 0, once all are set at the same moment), WSEMU_WAIT_TIMEOUT, or
 * WSEMU_WAIT_REPORTS: reports for Python in slow[], *nslow of them, and the drain lock is
 * held — release it with wsemu_drain_unlock once they are handled. -errno on failure (EINTR:
 * a signal, for Python to run its handlers and call again). */
int wsemu_events_wait(const int *events, int n, int wait_all, int epfd, int timeout_ms,
                      int *slow, int cap, int *nslow)
{
    struct pollfd fds[65];
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    uint64_t all = n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
    uint64_t unset = all;        /* wait_all: the events not yet seen set */
    *nslow = 0;
    for (;;) {
        int count = 0;
        for (int i = 0; i < n; i++)
            if (unset >> i & 1)
                fds[count++] = (struct pollfd){ .fd = events[i], .events = POLLIN };
        int watched = count;
        if (epfd >= 0)
            fds[count++] = (struct pollfd){ .fd = epfd, .events = POLLIN };
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            wait = left < 0 ? 0 : (int)left;
        }
        int got = poll(fds, count, wait);
        if (got < 0)
            return -errno;
        if (epfd >= 0 && fds[watched].revents) {
            pthread_mutex_lock(&drain_lock);
            int taken = wsemu_events_drain(epfd, slow, cap);
            if (taken != 0) {
                if (taken < 0) {
                    pthread_mutex_unlock(&drain_lock);
                    return taken;
                }
                *nslow = taken;
                return WSEMU_WAIT_REPORTS;
            }
            pthread_mutex_unlock(&drain_lock);
            continue;            /* a report set an event: the next poll sees which */
        }
        uint64_t now_set = 0;
        for (int j = 0, i = 0; i < n; i++)
            if (unset >> i & 1) {
                if (fds[j].revents)       /* (POLLNVAL too: a handle closed under the wait) */
                    now_set |= (uint64_t)1 << i;
                j++;
            }
        if (now_set) {
            if (!wait_all)
                return __builtin_ctzll(now_set);
            unset &= ~now_set;
            if (!unset) {
                /* All have been seen set; Windows wants them set at once: look again. */
                uint64_t still = 0;
                for (int i = 0; i < n; i++)
                    fds[i] = (struct pollfd){ .fd = events[i], .events = POLLIN };
                if (poll(fds, n, 0) < 0)
                    return -errno;
                for (int i = 0; i < n; i++)
                    if (fds[i].revents)
                        still |= (uint64_t)1 << i;
                if (still == all)
                    return 0;
                unset = all & ~still;
            }
            continue;
        }
        if (deadline >= 0 && now_ms() >= deadline)
            return WSEMU_WAIT_TIMEOUT;
    }
}
