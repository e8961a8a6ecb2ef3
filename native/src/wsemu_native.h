#ifndef WSEMU_NATIVE_H
#define WSEMU_NATIVE_H
#include <stdint.h>

/* CDEF-BEGIN */
/* The Windows state of a socket shared between processes: one memfd page per socket, mapped
 * by every process that holds a descriptor of it (wsemu.spi.sharedstate). Plain fields:
 * readers and writers in different processes race like threads of one process would. */
typedef struct wsemu_shared_state {
    uint32_t magic;
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
} wsemu_shared_state;

wsemu_shared_state *wsemu_state_map(int memfd, uint32_t size, uint32_t magic);
int wsemu_state_unmap(wsemu_shared_state *state, uint32_t size);
int wsemu_install_wake_signal(int signo);
int wsemu_disconnect(int fd);
/* CDEF-END */
#endif
