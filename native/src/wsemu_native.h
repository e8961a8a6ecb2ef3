#ifndef WSEMU_NATIVE_H
#define WSEMU_NATIVE_H
/* CDEF-BEGIN */
int wsemu_install_wake_signal(int signo);
int wsemu_disconnect(int fd);
/* CDEF-END */
#endif
