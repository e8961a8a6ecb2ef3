/* Small Linux-side helpers for the Python face (a separate translation unit from winabi.h,
 * so Linux and Windows names never meet). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wsemu_native.h"

/* The wake signal interrupts a thread blocked in a socket call (closesocket from another
 * thread): the handler does nothing, and installing it without SA_RESTART makes the blocked
 * system call return EINTR. */
static void wsemu_wake_handler(int signo)
{
    (void)signo;
}

int wsemu_install_wake_signal(int signo)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = wsemu_wake_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    return sigaction(signo, &sa, NULL);
}

/* connect(AF_UNSPEC) dissolves a datagram socket's association (Windows: connect to an
 * all-zero address). Python's socket.connect cannot express it. */
int wsemu_disconnect(int fd)
{
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    return connect(fd, &unspec, sizeof unspec);
}

/* What the event layer looks at on every wake-up, in one call (wsemu.events.registry):
 * out[0] = poll revents (``revents`` when the caller has them from epoll, else polled now),
 * out[1] = bytes queued to read (FIONREAD), out[2] = the TCP state when the socket shows a
 * hang-up (else -1). Returns 0, or -errno. */
int wsemu_sock_observe(int fd, int revents, int *out)
{
    if (revents < 0) {
        struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI | POLLOUT | POLLRDHUP };
        int n = poll(&p, 1, 0);
        if (n < 0)
            return -errno;
        revents = n ? p.revents : 0;
    }
    int queued = 0;
    if (ioctl(fd, FIONREAD, &queued) < 0)
        queued = 0;
    int state = -1;
    if (revents & (POLLRDHUP | POLLHUP)) {
        struct tcp_info info;
        socklen_t len = sizeof info;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0)
            state = info.tcpi_state;
    }
    out[0] = revents;
    out[1] = queued;
    out[2] = state;
    return 0;
}

/* The event record's lock: held for a few microseconds of Python (load, transition,
 * store). A holder that died inside is noticed (its pid is gone) and the lock taken over. */
void wsemu_event_lock(wsemu_shared_state *state, int32_t pid)
{
    int32_t *word = &state->events.lock;
    for (unsigned spins = 0;; spins++) {
        int32_t holder = 0;
        if (__atomic_compare_exchange_n(word, &holder, pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        if (spins > 64) {
            if (kill(holder, 0) < 0 && errno == ESRCH
                    && __atomic_compare_exchange_n(word, &holder, pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
            sched_yield();
        }
    }
}

void wsemu_event_unlock(wsemu_shared_state *state)
{
    __atomic_store_n(&state->events.lock, 0, __ATOMIC_RELEASE);
}

/* ---- Shared-state arenas (wsemu.spi.sharedstate) ------------------------------------ */
#define WSEMU_ARENA_SIZE ((size_t)WSEMU_SLOT_SIZE * WSEMU_ARENA_SLOTS)
_Static_assert(sizeof(wsemu_shared_state) <= WSEMU_SLOT_SIZE, "a state fits its slot");

/* Map an arena read-write and shared; its identity (inode) in *inode. NULL when the memfd is
 * no regular file of the arena's size (touching beyond its end would raise SIGBUS) or cannot
 * be mapped so (sealed, read-only). */
void *wsemu_arena_map(int memfd, uint64_t *inode)
{
    struct stat st;
    void *arena;
    if (fstat(memfd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)WSEMU_ARENA_SIZE)
        return NULL;
    arena = mmap(NULL, WSEMU_ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (arena == MAP_FAILED)
        return NULL;
    *inode = (uint64_t)st.st_ino;
    return arena;
}

int wsemu_arena_unmap(void *arena)
{
    return munmap(arena, WSEMU_ARENA_SIZE);
}

/* Slot ``slot`` of a mapped arena, if in range and in use (a delivery names a slot: one
 * outside the arena, the header, or one never allocated, is refused). */
wsemu_shared_state *wsemu_arena_slot(void *arena, uint32_t slot)
{
    wsemu_shared_state *state;
    if (slot == 0 || slot >= WSEMU_ARENA_SLOTS)
        return NULL;
    state = (wsemu_shared_state *)((char *)arena + (size_t)slot * WSEMU_SLOT_SIZE);
    if (__atomic_load_n(&state->magic, __ATOMIC_ACQUIRE) != WSEMU_STATE_MAGIC
            || __atomic_load_n(&state->holders, __ATOMIC_ACQUIRE) == 0)
        return NULL;
    return state;
}

static wsemu_shared_state *slot_at(void *arena, uint32_t slot)
{
    return (wsemu_shared_state *)((char *)arena + (size_t)slot * WSEMU_SLOT_SIZE);
}

/* Take a free slot (holders 0 -> 1, then zeroed and stamped, with ``pid`` as its first
 * holder in the ledger), searching from ``hint``; its index, or -1 when the arena is full.
 * Any process that maps the arena may allocate. */
int32_t wsemu_slot_alloc(void *arena, uint32_t hint, int32_t pid)
{
    for (uint32_t n = 0; n < WSEMU_ARENA_SLOTS - 1; n++) {
        uint32_t slot = 1 + (hint + n) % (WSEMU_ARENA_SLOTS - 1);    /* (slot 0: the header) */
        wsemu_shared_state *state = slot_at(arena, slot);
        uint32_t free_ = 0;
        if (__atomic_load_n(&state->holders, __ATOMIC_RELAXED) != 0)
            continue;
        /* SEQ_CST: against wsemu_arena_unregister (see wsemu_arena_registered). */
        if (__atomic_compare_exchange_n(&state->holders, &free_, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
            memset((char *)state + 2 * sizeof(uint32_t), 0, WSEMU_SLOT_SIZE - 2 * sizeof(uint32_t));
            __atomic_store_n(&state->holder_pids[0], pid, __ATOMIC_RELEASE);
            __atomic_store_n(&state->magic, WSEMU_STATE_MAGIC, __ATOMIC_RELEASE);
            return (int32_t)slot;
        }
    }
    return -1;
}

/* The first slot in use at or after ``from`` (the broker walking an arena), or -1. */
int32_t wsemu_arena_next(void *arena, uint32_t from)
{
    for (uint32_t slot = from ? from : 1; slot < WSEMU_ARENA_SLOTS; slot++)
        if (wsemu_arena_slot(arena, slot) != NULL)
            return (int32_t)slot;
    return -1;
}

/* Whether a broker reads this arena. A process that has just taken a slot asks, and
 * registers the arena when none does. With wsemu_arena_unregister (the broker letting go of
 * an arena with no slot in use) this is Dekker's pattern, all SEQ_CST: the broker clears
 * the flag, then looks for slots in use; the process takes its slot, then reads the flag.
 * Either the broker sees the new slot and keeps the arena, or the process sees the flag
 * cleared and registers again — never neither. */
int wsemu_arena_registered(void *arena)
{
    return (int)__atomic_load_n(&((wsemu_arena_header *)arena)->registered, __ATOMIC_SEQ_CST);
}

void wsemu_arena_set_registered(void *arena)
{
    __atomic_store_n(&((wsemu_arena_header *)arena)->registered, 1, __ATOMIC_SEQ_CST);
}

/* The broker lets go of an arena, if no slot is in use: 1 (unmap it), else 0 (keep it). */
int wsemu_arena_unregister(void *arena)
{
    __atomic_store_n(&((wsemu_arena_header *)arena)->registered, 0, __ATOMIC_SEQ_CST);
    for (uint32_t slot = 1; slot < WSEMU_ARENA_SLOTS; slot++)
        if (__atomic_load_n(&slot_at(arena, slot)->holders, __ATOMIC_SEQ_CST) != 0) {
            wsemu_arena_set_registered(arena);
            return 0;
        }
    return 1;
}

/* Add ``delta`` (+1 a holder or a delivery in flight, -1 one gone); the new count. At 0 the
 * slot is free for the next socket. Holds made this way are not in the ledger. */
uint32_t wsemu_slot_hold(wsemu_shared_state *state, int32_t delta)
{
    return __atomic_add_fetch(&state->holders, (uint32_t)delta, __ATOMIC_ACQ_REL);
}

/* Clear a ledger word that holds ``expected`` (one winner when several try); 1 if we did. */
static int ledger_clear(void *word, uint32_t expected)
{
    return __atomic_compare_exchange_n((uint32_t *)word, &expected, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Process ``pid`` holds the socket from now on: one hold, listed under its pid. The hold is
 * taken before the entry is written, so an entry (what the broker gives back for a dead
 * process) never stands for a hold that was not taken. */
uint32_t wsemu_slot_join(wsemu_shared_state *state, int32_t pid)
{
    uint32_t count = wsemu_slot_hold(state, 1);
    for (int i = 0; i < WSEMU_LEDGER_HOLDERS; i++) {
        int32_t free_ = 0;
        if (__atomic_compare_exchange_n(&state->holder_pids[i], &free_, pid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            break;
    }
    return count;
}

/* Process ``pid`` lets go (its last descriptor of the socket closed): its entry, then its
 * hold; the new count. */
uint32_t wsemu_slot_leave(wsemu_shared_state *state, int32_t pid)
{
    for (int i = 0; i < WSEMU_LEDGER_HOLDERS; i++)
        if (ledger_clear(&state->holder_pids[i], (uint32_t)pid))
            break;
    return wsemu_slot_hold(state, -1);
}

/* List a delivery in flight (its hold already taken): 1, or 0 when the ledger is full. The
 * entry is reserved (BUSY) before it is filled in, so a reader never takes a half-written
 * one for a delivery to somebody else. */
int wsemu_slot_send(wsemu_shared_state *state, uint32_t token, int32_t target_pid, int32_t source_pid)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (int i = 0; i < WSEMU_LEDGER_DELIVERIES; i++) {
        wsemu_ledger_delivery *entry = &state->deliveries[i];
        uint32_t free_ = 0;
        if (!__atomic_compare_exchange_n(&entry->token, &free_, WSEMU_LEDGER_BUSY, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            continue;
        entry->target_pid = target_pid;
        entry->source_pid = source_pid;
        entry->sent_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        __atomic_store_n(&entry->token, token, __ATOMIC_RELEASE);
        return 1;
    }
    return 0;
}

static int ledger_clear_delivery(wsemu_shared_state *state, uint32_t token, int *found)
{
    for (int i = 0; i < WSEMU_LEDGER_DELIVERIES; i++) {
        if (__atomic_load_n(&state->deliveries[i].token, __ATOMIC_ACQUIRE) != token)
            continue;
        *found = 1;
        if (ledger_clear(&state->deliveries[i].token, token))
            return 1;
    }
    return 0;
}

/* The source takes back a listed delivery that did not leave: 1 if its hold is still the
 * source's, 0 if the broker gave it back meanwhile (the target died). */
int wsemu_slot_unsend(wsemu_shared_state *state, uint32_t token)
{
    int found = 0;
    return ledger_clear_delivery(state, token, &found);
}

/* A delivery's hold is given back (claimed by a process that holds the socket already —
 * the claimer joins first otherwise — or dropped unclaimed): its entry, then its hold; the
 * new count. A delivery the ledger had no room for has no entry, and still its hold. */
uint32_t wsemu_slot_settle(wsemu_shared_state *state, uint32_t token)
{
    int found = 0;
    if (token > WSEMU_LEDGER_BUSY && !ledger_clear_delivery(state, token, &found) && found)
        return __atomic_load_n(&state->holders, __ATOMIC_ACQUIRE);   /* someone else gave it back */
    return wsemu_slot_hold(state, -1);
}

/* Give back what a dead process held here — its holder entries and the deliveries in flight
 * to it (the kernel closed those with its inbox) — one hold per entry; how many. Only for a
 * process known to have exited: a live one's entries are its own to clear. */
int wsemu_slot_forget_pid(wsemu_shared_state *state, int32_t pid)
{
    int released = 0;
    if (pid <= 0)
        return 0;                     /* no process: a free holder entry reads 0 */
    for (int i = 0; i < WSEMU_LEDGER_HOLDERS; i++)
        if (ledger_clear(&state->holder_pids[i], (uint32_t)pid))
            released++;
    for (int i = 0; i < WSEMU_LEDGER_DELIVERIES; i++) {
        wsemu_ledger_delivery *entry = &state->deliveries[i];
        uint32_t token = __atomic_load_n(&entry->token, __ATOMIC_ACQUIRE);
        if (token > WSEMU_LEDGER_BUSY && entry->target_pid == pid && ledger_clear(&entry->token, token))
            released++;
    }
    if (released)
        wsemu_slot_hold(state, -released);
    return released;
}

/* A delivery that will never be claimed gives its slot back (the broker, dropping a deposit):
 * map, check, release, unmap. 0, or -1 when the memfd or the slot is not a wsemu one. */
int wsemu_arena_release(int memfd, uint32_t slot)
{
    uint64_t inode;
    void *arena = wsemu_arena_map(memfd, &inode);
    wsemu_shared_state *state;
    int rc = -1;
    if (arena == NULL)
        return -1;
    state = wsemu_arena_slot(arena, slot);
    if (state != NULL) {
        wsemu_slot_hold(state, -1);
        rc = 0;
    }
    wsemu_arena_unmap(arena);
    return rc;
}

/* wsemu_slot_forget_pid over every slot in use of an arena (the broker, when ``pid`` has
 * exited); the holds given back. */
int wsemu_arena_forget_pid(void *arena, int32_t pid)
{
    int released = 0;
    for (int32_t slot = wsemu_arena_next(arena, 0); slot >= 0; slot = wsemu_arena_next(arena, (uint32_t)slot + 1))
        released += wsemu_slot_forget_pid(slot_at(arena, (uint32_t)slot), pid);
    return released;
}

/* ---- The inbox (wsemu.spi.inbox) ------------------------------------------------------- */
struct delivery_frame {
    uint16_t magic;
    uint8_t  version;
    uint8_t  type;
    uint32_t length;
    uint32_t token;
    uint32_t slot;
    uint64_t arena;
} __attribute__((packed));
_Static_assert(sizeof(struct delivery_frame) == WSEMU_WIRE_DELIVERY_SIZE, "Delivery frame");

static void close_fds(const int *fds, int count)
{
    for (int i = 0; i < count; i++)
        close(fds[i]);
}

static void forget_sender(int epfd, int conn, wsemu_inbox_record *out)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, conn, NULL);
    close(conn);
    out->kind = WSEMU_INBOX_GONE;
    out->conn = conn;
}

/* Read one message from sender ``conn``: 1 and a record (a delivery, or the sender gone), 0
 * when nothing was waiting. Descriptors come only with a well-formed Delivery from this
 * user's process (or root's); anything else is closed unread and the sender dropped. */
static int read_sender(int epfd, int conn, uint32_t uid, wsemu_inbox_record *out)
{
    struct delivery_frame frame;
    union {
        char buf[CMSG_SPACE(2 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } control;
    char received[sizeof frame + 1];  /* +1: a longer frame shows as such */
    struct iovec iov = { received, sizeof received };
    struct msghdr msg;
    struct cmsghdr *cmsg;
    int fds[2], nfds = 0, have_creds = 0;
    struct ucred creds = { 0, (uid_t)-1, (gid_t)-1 };
    ssize_t n;

    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    n = recvmsg(conn, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    for (cmsg = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET)
            continue;
        if (cmsg->cmsg_type == SCM_RIGHTS) {
            int count = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < count; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
                if (nfds < 2)
                    fds[nfds++] = fd;
                else
                    close(fd);
            }
        } else if (cmsg->cmsg_type == SCM_CREDENTIALS && cmsg->cmsg_len >= CMSG_LEN(sizeof creds)) {
            memcpy(&creds, CMSG_DATA(cmsg), sizeof creds);
            have_creds = 1;
        }
    }
    memset(&frame, 0, sizeof frame);
    if (n == (ssize_t)sizeof frame)
        memcpy(&frame, received, sizeof frame);
    if (n == (ssize_t)sizeof frame && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && have_creds
            && (creds.uid == uid || creds.uid == 0) && nfds >= 1
            && frame.magic == WSEMU_WIRE_MAGIC && frame.version == WSEMU_WIRE_VERSION
            && frame.type == WSEMU_WIRE_DELIVERY && frame.length == sizeof frame) {
        out->kind = WSEMU_INBOX_DELIVERY;
        out->conn = conn;
        out->token = frame.token;
        out->slot = frame.slot;
        out->arena = frame.arena;
        out->fd = fds[0];
        out->arena_fd = nfds == 2 ? fds[1] : -1;
        return 1;
    }
    close_fds(fds, nfds);             /* EOF, an error, or a frame that is not a Delivery */
    forget_sender(epfd, conn, out);
    return 1;
}

/* Send a Delivery frame with the socket (and, the first time a connection names the arena,
 * the arena's memfd: arena_fd >= 0) to a target's inbox, without waiting: 0, or -errno
 * (EAGAIN: its queue is full). The hand-off's one system call, in one native call. */
int wsemu_inbox_send(int conn, int sock_fd, int arena_fd, uint32_t token, uint32_t slot, uint64_t arena)
{
    struct delivery_frame frame = { WSEMU_WIRE_MAGIC, WSEMU_WIRE_VERSION, WSEMU_WIRE_DELIVERY,
                                    sizeof frame, token, slot, arena };
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } control;
    int fds[2] = { sock_fd, arena_fd };
    int nfds = arena_fd >= 0 ? 2 : 1;
    struct iovec iov = { &frame, sizeof frame };
    struct msghdr msg;
    struct cmsghdr *cmsg;
    memset(&msg, 0, sizeof msg);
    memset(&control, 0, sizeof control);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
    if (sendmsg(conn, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        return -errno;
    return 0;
}

/* Accept waiting senders (this user's or root's processes; others are closed at once) and
 * watch them: records of kind ACCEPTED (what each sent shows in the next epoll round). */
static int accept_senders(int epfd, int listener, uint32_t uid, wsemu_inbox_record *out, int max)
{
    int count = 0;
    while (count < max) {
        struct ucred creds;
        socklen_t len = sizeof creds;
        struct epoll_event ev;
        int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (conn < 0)
            break;                     /* none waiting (or out of descriptors: senders fall back) */
        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &creds, &len) != 0
                || (creds.uid != uid && creds.uid != 0)) {
            close(conn);
            continue;
        }
        ev.events = EPOLLIN;
        ev.data.fd = conn;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, conn, &ev) != 0) {
            close(conn);
            continue;
        }
        out[count].kind = WSEMU_INBOX_ACCEPTED;
        out[count].conn = conn;
        count++;
    }
    return count;
}

/* Everything waiting in the inbox, as at most ``max`` records (call again while it returns
 * ``max``): new senders accepted, one message read per ready sender per round, until no
 * sender has anything left. ``epfd`` watches the listener and every sender (level-triggered). */
int wsemu_inbox_drain(int epfd, int listener, uint32_t uid, wsemu_inbox_record *out, int max)
{
    struct epoll_event ready[32];
    int count = 0;
    while (count < max) {
        int progress = 0;
        int n = epoll_wait(epfd, ready, 32, 0);
        if (n <= 0)
            break;
        for (int i = 0; i < n && count < max; i++) {
            int fd = ready[i].data.fd;
            if (fd == listener) {
                int accepted = accept_senders(epfd, listener, uid, out + count, max - count);
                count += accepted;
                progress += accepted;
            } else if (read_sender(epfd, fd, uid, out + count)) {
                count++;
                progress++;
            }
        }
        if (!progress)
            break;
    }
    return count;
}
