/* libwsemu: the Winsock API for C programs (DESIGN.md §3.3). The exported names are the
 * wsemu_-prefixed ones that <winsock2.h> maps the Windows names to, so nothing here shadows
 * libc for the rest of the process. Calls that need the providers go to the embedded Python
 * (wsemu.cface, through the wsemu_py_* functions cffi generates); the last error is C's own,
 * per thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsemu/winabi.h"

static __thread int32_t last_error;

void wsemu_set_last_error(int32_t code) { last_error = code; }
int32_t wsemu_WSAGetLastError(void) { return last_error; }
void wsemu_WSASetLastError(int32_t code) { last_error = code; }

int32_t wsemu___WSAFDIsSet(SOCKET fd, WS_fd_set *set)
{
    for (uint32_t i = 0; i < set->fd_count && i < 64; i++)
        if (set->fd_array[i] == fd)
            return 1;
    return 0;
}

/* Where this library is (the embedded Python finds the wsemu package beside it). */
const char *wsemu_library_path(void)
{
    Dl_info info;
    return dladdr((void *)wsemu_library_path, &info) && info.dli_fname ? info.dli_fname : "";
}

/* Before the embedded interpreter starts: the import roots `wsemu config` recorded next to
 * the library (the virtual environment's site-packages, where cffi and pyroute2 are) go in
 * front of PYTHONPATH, so a program built against libwsemu runs without any setup. */
__attribute__((constructor)) static void wsemu_python_path(void)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s.paths", wsemu_library_path());
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return;
    char roots[8192] = "";
    size_t used = fread(roots, 1, sizeof roots - 1, file);
    fclose(file);
    roots[used] = 0;
    while (used && (roots[used - 1] == '\n' || roots[used - 1] == ' '))
        roots[--used] = 0;
    if (!used)
        return;
    const char *old = getenv("PYTHONPATH");
    if (old && *old) {
        size_t need = used + 1 + strlen(old) + 1;
        char *joined = malloc(need);
        if (joined == NULL)
            return;
        snprintf(joined, need, "%s:%s", roots, old);
        setenv("PYTHONPATH", joined, 1);
        free(joined);
    } else {
        setenv("PYTHONPATH", roots, 1);
    }
}
