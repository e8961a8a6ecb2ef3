/* Small Linux-side helpers for the Python face (a separate translation unit from winabi.h,
 * so Linux and Windows names never meet). */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

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
