"""The Winsock service provider interface (ws2spi.h) for Python providers (DESIGN.md §3.2).

``WSPStartup`` starts the base provider; ``upcalls`` is the WPU table ws2 hands to providers.
"""
from wsemu.spi.base import WSPStartup
from wsemu.spi.table import PROC_NAMES, WSPDATA, WSPPROC_TABLE
from wsemu.spi.upcalls import WSPUPCALLTABLE, upcalls

__all__ = ["WSPStartup", "WSPDATA", "WSPPROC_TABLE", "PROC_NAMES", "WSPUPCALLTABLE", "upcalls"]
