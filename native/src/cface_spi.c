/* libwsemu's SPI face (<ws2spi.h>): the parts that are C because of how C passes them.
 * WSPStartup receives its upcall table by value (a 120-byte struct: on Windows x64 a pointer
 * to the caller's copy, here the SysV stack copy); the embedded Python takes its address and
 * keeps its own copy. Everything else of the SPI is in wsemu/cface/spi.py, wpu.py, wsc.py. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>

#include "ws2spi.h"

int32_t wsemu_WSPStartup(WORD wVersionRequested, WSPDATA *lpWSPData, WSAPROTOCOL_INFOW *lpProtocolInfo,
                         WSPUPCALLTABLE UpcallTable, WSPPROC_TABLE *lpProcTable)
{
    return wsemu_spi_startup(wVersionRequested, lpWSPData, lpProtocolInfo, &UpcallTable, lpProcTable);
}

int32_t WSPAPI wsemu_WSPStartupProvider(const GUID *lpProviderId, WORD wVersionRequested, LPWSPDATA lpWSPData,
                                        LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
                                        LPWSPPROC_TABLE lpProcTable, LPINT lpErrno)
{
    return wsemu_spi_start_provider(lpProviderId, wVersionRequested, lpWSPData, lpProtocolInfo, &UpcallTable,
                                    lpProcTable, lpErrno);
}

/* A provider shared object's WSPStartup. RTLD_LOCAL: every provider exports that same name,
 * and each is found through its own handle. The handle is never closed: the provider's
 * entries stay in use as long as the process runs (as ws2_32 keeps a started provider). */
LPWSPSTARTUP wsemu_spi_open_provider(const char *path, char *why, uint32_t why_len)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(why, why_len, "%s", dlerror());
        return NULL;
    }
    LPWSPSTARTUP startup = (LPWSPSTARTUP)dlsym(handle, "WSPStartup");
    if (startup == NULL) {
        snprintf(why, why_len, "%s exports no WSPStartup", path);
        dlclose(handle);
    }
    return startup;
}

int32_t wsemu_spi_call_startup(LPWSPSTARTUP startup, uint16_t wVersionRequested, WSPDATA *lpWSPData,
                               WSAPROTOCOL_INFOW *lpProtocolInfo, const WSPUPCALLTABLE *lpUpcallTable,
                               WSPPROC_TABLE *lpProcTable)
{
    return startup(wVersionRequested, lpWSPData, lpProtocolInfo, *lpUpcallTable, lpProcTable);
}

/* The upcalls ws2_32 would give a provider: libwsemu's own WPU functions. */
WSPUPCALLTABLE wsemu_upcall_table(void)
{
    return (WSPUPCALLTABLE){
        .lpWPUCloseEvent = wsemu_WPUCloseEvent,
        .lpWPUCloseSocketHandle = wsemu_WPUCloseSocketHandle,
        .lpWPUCreateEvent = wsemu_WPUCreateEvent,
        .lpWPUCreateSocketHandle = wsemu_WPUCreateSocketHandle,
        .lpWPUFDIsSet = wsemu_WPUFDIsSet,
        .lpWPUGetProviderPath = wsemu_WPUGetProviderPath,
        .lpWPUModifyIFSHandle = wsemu_WPUModifyIFSHandle,
        .lpWPUPostMessage = wsemu_WPUPostMessage,
        .lpWPUQueryBlockingCallback = wsemu_WPUQueryBlockingCallback,
        .lpWPUQuerySocketHandleContext = wsemu_WPUQuerySocketHandleContext,
        .lpWPUQueueApc = wsemu_WPUQueueApc,
        .lpWPUResetEvent = wsemu_WPUResetEvent,
        .lpWPUSetEvent = wsemu_WPUSetEvent,
        .lpWPUOpenCurrentThread = wsemu_WPUOpenCurrentThread,
        .lpWPUCloseThread = wsemu_WPUCloseThread,
    };
}

/* FD_ISSET for providers (no lpErrno: a NULL set holds nothing). */
int32_t wsemu_WPUFDIsSet(SOCKET s, WS_fd_set *fdset)
{
    return fdset != NULL && wsemu___WSAFDIsSet(s, fdset);
}
