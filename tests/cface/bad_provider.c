/* Providers that a loader must refuse, one per build (tests/test_c_lsp.py):
 *   -DNO_STARTUP      exports no WSPStartup                      → WSAEPROVIDERFAILEDINIT
 *   -DOLD_VERSION     WSPStartup answers version 1.1             → WSAEINVALIDPROVIDER
 *   -DNULL_ENTRY      its table leaves lpWSPSendTo NULL          → WSAEINVALIDPROCTABLE
 *   -DSTARTUP_FAILS   WSPStartup returns WSASYSNOTREADY          → that error
 * Every entry of the table fails (SOCKET_ERROR with no code): none is meant to be called. */
#define WSEMU_PROVIDER
#include <string.h>

#include <winsock2.h>
#include <ws2spi.h>

static int WSPAPI unsupported(void)
{
    return SOCKET_ERROR;
}

#ifndef NO_STARTUP
int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                      WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable)
{
#ifdef STARTUP_FAILS
    return WSASYSNOTREADY;
#endif
    void **entries = (void **)lpProcTable;
    for (size_t i = 0; i < sizeof *lpProcTable / sizeof(void *); i++)
        entries[i] = (void *)unsupported;
#ifdef NULL_ENTRY
    lpProcTable->lpWSPSendTo = NULL;
#endif
#ifdef OLD_VERSION
    lpWSPData->wVersion = lpWSPData->wHighVersion = MAKEWORD(1, 1);
#else
    lpWSPData->wVersion = lpWSPData->wHighVersion = MAKEWORD(2, 2);
#endif
    memset(lpWSPData->szDescription, 0, sizeof lpWSPData->szDescription);
    return 0;
}
#else
int WSPAPI NotWSPStartup(void)
{
    return unsupported();
}
#endif
