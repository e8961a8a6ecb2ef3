"""WSPPROC_TABLE and WSPDATA for Python providers (DESIGN.md §3.2)."""
from __future__ import annotations

from typing import Callable

# The 30 entries of ws2spi.h's WSPPROC_TABLE, in table order, without the "lp" prefix.
PROC_NAMES: tuple[str, ...] = (
    "WSPAccept", "WSPAddressToString", "WSPAsyncSelect", "WSPBind", "WSPCancelBlockingCall",
    "WSPCleanup", "WSPCloseSocket", "WSPConnect", "WSPDuplicateSocket", "WSPEnumNetworkEvents",
    "WSPEventSelect", "WSPGetOverlappedResult", "WSPGetPeerName", "WSPGetSockName",
    "WSPGetSockOpt", "WSPGetQOSByName", "WSPIoctl", "WSPJoinLeaf", "WSPListen", "WSPRecv",
    "WSPRecvDisconnect", "WSPRecvFrom", "WSPSelect", "WSPSend", "WSPSendDisconnect",
    "WSPSendTo", "WSPSetSockOpt", "WSPShutdown", "WSPSocket", "WSPStringToAddress",
)


class WSPPROC_TABLE:
    """The provider's 30 entry points as attributes (``table.WSPSocket(...)``)."""

    __slots__ = PROC_NAMES

    @classmethod
    def from_provider(cls, provider: object) -> "WSPPROC_TABLE":
        table = cls()
        for name in PROC_NAMES:
            setattr(table, name, getattr(provider, name, None))
        return table

    def missing(self) -> list[str]:
        """Entries that are not callables (a table with any → WSAEINVALIDPROCTABLE)."""
        return [name for name in PROC_NAMES if not callable(getattr(self, name, None))]

    def __iter__(self):
        return ((name, getattr(self, name, None)) for name in PROC_NAMES)


class WSPDATA:
    __slots__ = ("wVersion", "wHighVersion", "szDescription")

    def __init__(self, wVersion: int, wHighVersion: int, szDescription: str) -> None:
        self.wVersion = wVersion
        self.wHighVersion = wHighVersion
        self.szDescription = szDescription[:255]

    def __repr__(self) -> str:
        return f"WSPDATA(wVersion={self.wVersion:#06x}, wHighVersion={self.wHighVersion:#06x}, szDescription={self.szDescription!r})"


Proc = Callable[..., object]
