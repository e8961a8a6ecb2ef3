/* libwsemu's data path, private: the Python halves of the C calls of cface_data.c. The data
 * calls run in C (the fast table of wsemu._native, native/src/wsemu_fast.c); what C leaves
 * to Python — a socket it does not take, or the work after a call (an errno to map with its
 * effects, a re-enabling, a send tail, a stream's end) — comes here (wsemu/cface/data.py). */
#ifndef WSEMU_DATAPLANE_H
#define WSEMU_DATAPLANE_H

/* CDEF-BEGIN */
void wsemu_cface_attach(uintptr_t fast_table);
int64_t wsemu_cface_slow_calls(void);    /* data calls left to Python whole, so far */
/* What wsemu_py_after finishes (the op of the call). */
#define WSEMU_OP_SEND 1
#define WSEMU_OP_RECV 2
#define WSEMU_OP_SELECT 3
/* CDEF-END */

/* EMBEDDED-BEGIN: the Python halves (wsemu/cface/data.py). */
int32_t wsemu_py_init(void);
int32_t wsemu_py_after(SOCKET s, int32_t op, int64_t result, int32_t error, int32_t after,
                       const char *tail, int64_t tail_len);
int32_t wsemu_py_send(SOCKET s, const char *buf, int32_t len, int32_t flags);
int32_t wsemu_py_recv(SOCKET s, char *buf, int32_t len, int32_t flags);
int32_t wsemu_py_sendto(SOCKET s, const char *buf, int32_t len, int32_t flags,
                        const struct WS_sockaddr *to, int32_t tolen);
int32_t wsemu_py_recvfrom(SOCKET s, char *buf, int32_t len, int32_t flags,
                          struct WS_sockaddr *from, int32_t *fromlen);
int32_t wsemu_py_wsasend(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *sent,
                         uint32_t flags, WSAOVERLAPPED *overlapped, void *routine,
                         const struct WS_sockaddr *to, int32_t tolen);
int32_t wsemu_py_wsarecv(SOCKET s, WSABUF *buffers, uint32_t count, uint32_t *received,
                         uint32_t *flags, WSAOVERLAPPED *overlapped, void *routine,
                         struct WS_sockaddr *from, int32_t *fromlen, int32_t with_from);
int32_t wsemu_py_select(int32_t nfds, WS_fd_set *readfds, WS_fd_set *writefds,
                        WS_fd_set *exceptfds, const struct WS_timeval *timeout);
int32_t wsemu_py_reports(int32_t *slow, int32_t count);
/* EMBEDDED-END */

#endif
