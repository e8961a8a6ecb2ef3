#ifndef WSEMU_NATIVE_H
#define WSEMU_NATIVE_H
#include <stdint.h>

/* CDEF-BEGIN */
/* The Windows state of a socket shared between processes (wsemu.spi.sharedstate): one slot of
 * an *arena* — a memfd of WSEMU_ARENA_SLOTS slots that the process which first shared the
 * socket made, and that every process holding a descriptor of it maps once, whatever number
 * of its sockets live there. Plain fields: readers and writers in different processes race
 * like threads of one process would; ``holders`` and the ledger are atomic.
 *
 * The ledger says who the holds are: each entry stands for exactly one hold (a holder pid, or
 * a delivery in flight to a target pid), so the broker can list shared sockets and deliveries
 * by reading arenas, and give back what a process that died held (wsemu_slot_forget_pid)
 * without any process telling it per hand-off. Holds beyond the ledger's room are counted,
 * not listed. */
#define WSEMU_STATE_MAGIC 0x57535333   /* "WSS3": this layout */
#define WSEMU_SLOT_SIZE 1024           /* room for the event state of a later layout */
#define WSEMU_ARENA_SLOTS 4096
#define WSEMU_LEDGER_HOLDERS 16
#define WSEMU_LEDGER_DELIVERIES 24
#define WSEMU_LEDGER_BUSY 1            /* a delivery entry being filled in (never a token) */
/* Slot 0 of an arena is its header, never a socket's state. */
typedef struct wsemu_arena_header {
    uint32_t registered;         /* 1 while a broker reads the arena (wsemu_arena_unregister) */
} wsemu_arena_header;
typedef struct wsemu_ledger_delivery {
    uint32_t token;              /* 0: free; WSEMU_LEDGER_BUSY: being written */
    int32_t  target_pid;
    int32_t  source_pid;
    uint32_t unused;
    int64_t  sent_ns;            /* CLOCK_MONOTONIC */
} wsemu_ledger_delivery;
/* The socket's one event registration, when the socket is shared (wsemu.events.registry):
 * the pending/reported record of CONFORMANCE.md §2, and which process owns it. */
typedef struct wsemu_event_record {
    int32_t  lock;               /* the pid inside wsemu_event_lock (0: free) */
    int32_t  owner;              /* the registering process (0: no registration) */
    uint32_t generation;         /* bumped by every registration */
    uint32_t mode;               /* wsemu.events.state.Mode */
    uint32_t mask;
    uint32_t pending;
    uint32_t reported;
    int32_t  errors[10];         /* WSA error per FD_*_BIT */
} wsemu_event_record;
typedef struct wsemu_shared_state {
    uint32_t magic;
    uint32_t holders;            /* processes holding the socket + deliveries in flight; 0: free */
    uint64_t inode;              /* the socket's sockfs inode (checked against the claimed fd) */
    uint32_t so_error;
    uint32_t rcvtimeo_ms;
    uint32_t sndtimeo_ms;
    uint32_t sticky_error;
    int32_t  dontroute;          /* -1: never set */
    int64_t  sndbuf;             /* -1: never set (then the kernel's value is reported) */
    int64_t  rcvbuf;
    int32_t  linger_onoff;       /* -1: never set */
    int32_t  linger_secs;
    double   connected_at;       /* CLOCK_MONOTONIC seconds; < 0: never connected */
    uint8_t  exclusive;
    uint8_t  reuseaddr;
    uint8_t  debug;
    uint8_t  shut_rd;
    uint8_t  shut_wr;
    uint8_t  connecting;
    uint8_t  connect_failed;
    uint8_t  ever_connected;
    uint8_t  listening;
    uint8_t  nonblocking;
    uint16_t connect_target_len; /* a Windows SOCKADDR, 0: none */
    uint8_t  connect_target[28];
    int32_t  holder_pids[WSEMU_LEDGER_HOLDERS];                /* 0: free entry */
    wsemu_ledger_delivery deliveries[WSEMU_LEDGER_DELIVERIES];
    wsemu_event_record events;
} wsemu_shared_state;

/* One delivery (or sender change) read from a process's inbox (wsemu.spi.inbox). */
typedef struct wsemu_inbox_record {
    int32_t  kind;               /* WSEMU_INBOX_* */
    int32_t  conn;               /* the sender's connection */
    uint32_t token;
    uint32_t slot;
    uint64_t arena;              /* the arena's identity (its memfd's inode) */
    int32_t  fd;                 /* the socket */
    int32_t  arena_fd;           /* -1: an arena this connection delivered before */
} wsemu_inbox_record;
#define WSEMU_INBOX_DELIVERY 1
#define WSEMU_INBOX_ACCEPTED 2
#define WSEMU_INBOX_GONE 3
/* The Delivery frame (wsemu.broker.protocol: header <HBBI, then token, slot, arena). */
#define WSEMU_WIRE_MAGIC 0x5357
#define WSEMU_WIRE_VERSION 4
#define WSEMU_WIRE_DELIVERY 13
#define WSEMU_WIRE_DELIVERY_SIZE 24

void *wsemu_arena_map(int memfd, uint64_t *inode);
int wsemu_arena_unmap(void *arena);
wsemu_shared_state *wsemu_arena_slot(void *arena, uint32_t slot);
int32_t wsemu_slot_alloc(void *arena, uint32_t hint, int32_t pid);
int32_t wsemu_arena_next(void *arena, uint32_t from);
int wsemu_arena_registered(void *arena);
void wsemu_arena_set_registered(void *arena);
int wsemu_arena_unregister(void *arena);
uint32_t wsemu_slot_hold(wsemu_shared_state *state, int32_t delta);
uint32_t wsemu_slot_join(wsemu_shared_state *state, int32_t pid);
uint32_t wsemu_slot_leave(wsemu_shared_state *state, int32_t pid);
int wsemu_slot_send(wsemu_shared_state *state, uint32_t token, int32_t target_pid, int32_t source_pid);
int wsemu_slot_unsend(wsemu_shared_state *state, uint32_t token);
uint32_t wsemu_slot_settle(wsemu_shared_state *state, uint32_t token);
int wsemu_slot_forget_pid(wsemu_shared_state *state, int32_t pid);
int wsemu_arena_forget_pid(void *arena, int32_t pid);
int wsemu_arena_release(int memfd, uint32_t slot);
int wsemu_inbox_send(int conn, int sock_fd, int arena_fd, uint32_t token, uint32_t slot, uint64_t arena);
int wsemu_inbox_drain(int epfd, int listener, uint32_t uid, wsemu_inbox_record *out, int max);
int wsemu_install_wake_signal(int signo);
int wsemu_disconnect(int fd);
int wsemu_sock_observe(int fd, int revents, int *out);
void wsemu_event_lock(wsemu_shared_state *state, int32_t pid);
void wsemu_event_unlock(wsemu_shared_state *state);
/* The event layer's hot path (wsemu_events.c). */
#define WSEMU_LANE_STREAM 1
#define WSEMU_LANE_DATAGRAM 2
#define WSEMU_WAIT_TIMEOUT -1000
#define WSEMU_WAIT_REPORTS -1001
int wsemu_lane_arm(int fd, int kind, int event, uint32_t mask, uint32_t pending,
                   uint32_t reported, int32_t seen);
int wsemu_lane_take(int fd, int64_t *out);
int wsemu_lane_report(int fd, uint32_t revents);
int wsemu_lane_reenable(int fd, uint32_t bits);
void wsemu_lanes_forget_event(int event);
void wsemu_events_after_fork(void);
void wsemu_drain_lock(void);
int wsemu_drain_trylock(void);
void wsemu_drain_unlock(void);
int wsemu_events_drain(int epfd, int *slow, int cap);
int wsemu_events_wait(const int *events, int n, int wait_all, int epfd, int timeout_ms,
                      int *slow, int cap, int *nslow);
/* The C face's data path (wsemu_fast.c): per-socket state bits (slots) and per-fd gates that
 * wsemu.spi.cgate keeps in step with the Python state. */
#define WSEMU_SLOT_NONBLOCK 0x001
#define WSEMU_SLOT_SHUT_RD 0x002
#define WSEMU_SLOT_SHUT_WR 0x004
#define WSEMU_SLOT_STICKY 0x008      /* a reset seen: calls report it (Python) */
#define WSEMU_SLOT_EVENTS 0x010      /* an event registration: calls may re-enable */
#define WSEMU_SLOT_SHARED 0x020      /* held by several processes: Python */
#define WSEMU_SLOT_TAIL 0x040        /* the send queue holds a tail */
#define WSEMU_SLOT_SPECIAL 0x080     /* connecting, a failed connect, deferred accepts: select in Python */
#define WSEMU_SLOT_CONNECTED 0x100   /* a stream that connected / a connected datagram socket */
#define WSEMU_SLOT_LISTENING 0x200
#define WSEMU_GATE_STREAM 1
#define WSEMU_GATE_DATAGRAM 2
int32_t wsemu_slot_new(uint32_t bits);
void wsemu_slot_set(int32_t slot, uint32_t bits);
void wsemu_slot_free(int32_t slot);
int wsemu_gate_set(int fd, int32_t slot, int kind, int family, int bound);
int wsemu_gate_close(int fd, uint64_t *tids, int cap);
int wsemu_gate_blocked(int fd);
void wsemu_fast_after_fork(void);
uintptr_t wsemu_fast_ops(void);
int wsemu_drivers(void);
int64_t wsemu_last_drive_ms(void);
void wsemu_set_monitor_epoll(int epfd);
void wsemu_event_mark(int fd, int on);
/* What is left for Python after a C data call (wsemu_io.after; wsemu/cface/data.py). */
#define WSEMU_AFTER_ERRNO 0x01       /* error is an errno for Python to map (with its effects) */
#define WSEMU_AFTER_RECV 0x02        /* re-enable FD_READ (a registration without a C lane) */
#define WSEMU_AFTER_SEND_FAILED 0x04 /* re-enable FD_WRITE */
#define WSEMU_AFTER_TAIL 0x08        /* queue the unsent rest (non-blocking stream) */
#define WSEMU_AFTER_EOF 0x10         /* a stream recv returned 0: close or unreported reset */
#define WSEMU_AFTER_RELEASE 0x20     /* the last C thread left a closed socket: release it */
#define WSEMU_AFTER_BOUND 0x40       /* a sendto bound the datagram socket */
/* CDEF-END */

/* What a C data call did (libwsemu reads it; wsemu/cface/data.py finishes the ``after`` work). */
#define WSEMU_FAST_SLOW (-1000)      /* not attempted: Python's path */
#define WSEMU_FAST_VERSION 1
#define WSEMU_WOULDBLOCK 10035
#define WSEMU_EINTR 10004
#define WSEMU_MSGSIZE 10040
typedef struct wsemu_io {
    int64_t result;
    int32_t error;
    int32_t after;
} wsemu_io;
struct iovec;
typedef struct wsemu_fast_table {
    int32_t version;
    int (*send)(int64_t fd, const struct iovec *iov, int niov, int64_t total, const void *name,
                uint32_t namelen, int family, wsemu_io *io);
    int (*recv)(int64_t fd, struct iovec *iov, int niov, int64_t total, void *name,
                uint32_t *namelen, wsemu_io *io);
    int (*select)(const int64_t *sockets, const uint8_t *wants, uint8_t *got, int n,
                  int64_t timeout_ms, wsemu_io *io);
    int (*wait)(const int *events, int n, int wait_all, int timeout_ms, int *slow, int cap,
                int *nslow);
    void (*drain_unlock)(void);
    int (*event_valid)(int64_t handle);
} wsemu_fast_table;
#endif
