/* Small Linux-side helpers for the Python face (a separate translation unit from winabi.h,
 * so Linux and Windows names never meet). */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

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

/* Map a socket's shared-state page (wsemu.spi.sharedstate) read-write and shared. NULL if
 * the memfd is smaller than ``size`` (touching the mapping beyond its end would raise
 * SIGBUS), cannot be mapped so (sealed, read-only), or — when ``magic`` is non-zero — does
 * not start with it. One fstat and one mmap: the claim of a duplicated socket pays this. */
wsemu_shared_state *wsemu_state_map(int memfd, uint32_t size, uint32_t magic)
{
    struct stat st;
    void *page;
    if (fstat(memfd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)size)
        return NULL;
    page = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (page == MAP_FAILED)
        return NULL;
    if (magic != 0 && ((wsemu_shared_state *)page)->magic != magic) {
        munmap(page, size);
        return NULL;
    }
    return (wsemu_shared_state *)page;
}

int wsemu_state_unmap(wsemu_shared_state *state, uint32_t size)
{
    return munmap(state, size);
}
