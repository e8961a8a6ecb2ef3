"""The Winsock service provider interface (ws2spi.h) for Python providers (DESIGN.md §3.2).

``WSPStartup`` starts the base provider; ``upcalls`` is the WPU table ws2 hands to providers;
the WSC functions (``wsc``) read and change the saved protocol catalog and install LSPs.
"""
from wsemu.spi.base import WSPStartup
from wsemu.spi.table import PROC_NAMES, WSPDATA, WSPPROC_TABLE
from wsemu.spi.upcalls import WSPUPCALLTABLE, upcalls
from wsemu.spi.wsc import (WSCDeinstallProvider, WSCEnumProtocols, WSCGetProviderPath, WSCInstallProvider,
                           WSCWriteProviderOrder, install_lsp, remove_lsp)

__all__ = ["WSPStartup", "WSPDATA", "WSPPROC_TABLE", "PROC_NAMES", "WSPUPCALLTABLE", "upcalls",
           "WSCEnumProtocols", "WSCInstallProvider", "WSCDeinstallProvider", "WSCWriteProviderOrder",
           "WSCGetProviderPath", "install_lsp", "remove_lsp"]
