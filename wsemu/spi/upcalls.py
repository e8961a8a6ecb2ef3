"""The WPU upcall table that ws2 hands to providers, and the handle table behind it.

On Windows, ws2_32 learns which provider owns a SOCKET from the provider itself: an IFS
provider calls WPUModifyIFSHandle(catalog id, kernel handle); a non-IFS provider gets a
handle from WPUCreateSocketHandle(catalog id, context). ``HANDLES`` is that table; ``ws2``
dispatches every call on a SOCKET through it.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from wsemu import abi
from wsemu.errors import WSAError


@dataclass(slots=True)
class HandleEntry:
    catalog_id: int
    context: int = 0          # WPUCreateSocketHandle's dwContext (non-IFS providers)
    ifs: bool = True


class HandleTable:
    # Non-IFS handles are numbered above any fd the kernel can hand out (SOCKET is 64-bit).
    FIRST_NON_IFS = 1 << 40

    def __init__(self) -> None:
        self.entries: dict[int, HandleEntry] = {}
        self._next = itertools.count(self.FIRST_NON_IFS, 4)
        self._lock = threading.Lock()

    def modify_ifs(self, catalog_id: int, handle: int) -> int:
        self.entries[handle] = HandleEntry(catalog_id)
        return handle

    def create(self, catalog_id: int, context: int) -> int:
        with self._lock:
            handle = next(self._next)
        self.entries[handle] = HandleEntry(catalog_id, context, ifs=False)
        return handle

    def context(self, handle: int) -> int:
        entry = self.entries.get(handle)
        if entry is None or entry.ifs:
            raise WSAError(abi.WSAENOTSOCK)
        return entry.context

    def close(self, handle: int) -> None:
        if self.entries.pop(handle, None) is None:
            raise WSAError(abi.WSAENOTSOCK)

    def get(self, handle: int) -> HandleEntry | None:
        return self.entries.get(handle)

    def discard(self, handle: int) -> None:
        self.entries.pop(handle, None)


HANDLES = HandleTable()


class WSPUPCALLTABLE:
    """The upcalls available to providers (ws2spi.h order). Python form: raise WSAError."""

    @staticmethod
    def WPUModifyIFSHandle(dwCatalogEntryId: int, ProposedHandle: int) -> int:
        return HANDLES.modify_ifs(dwCatalogEntryId, ProposedHandle)

    @staticmethod
    def WPUCreateSocketHandle(dwCatalogEntryId: int, dwContext: int) -> int:
        return HANDLES.create(dwCatalogEntryId, dwContext)

    @staticmethod
    def WPUQuerySocketHandleContext(s: int) -> int:
        return HANDLES.context(s)

    @staticmethod
    def WPUCloseSocketHandle(s: int) -> None:
        HANDLES.close(s)

    @staticmethod
    def WPUFDIsSet(s: int, fdset) -> int:
        return int(s in fdset)

    @staticmethod
    def WPUQueryBlockingCallback(dwCatalogEntryId: int):
        return (None, 0)   # Winsock 2 has no blocking hooks

    @staticmethod
    def WPUOpenCurrentThread():
        return (threading.get_ident(), 0)

    @staticmethod
    def WPUCloseThread(lpThreadId) -> None:
        return None

    @staticmethod
    def WPUGetProviderPath(lpProviderId) -> str:
        """The provider path of a transport catalog entry, by provider GUID (not the namespace
        catalog, where ReactOS wrongly looks: reference/spi.md §4.4)."""
        from wsemu import catalog
        return catalog.current().provider_path(lpProviderId)

    # Event objects and window messages: what WSACreateEvent... and WSAAsyncSelect use.
    @staticmethod
    def WPUCreateEvent() -> int:
        from wsemu.events.objects import events
        return events.create()

    @staticmethod
    def WPUSetEvent(hEvent: int) -> bool:
        from wsemu.events.objects import events
        events.set(hEvent)
        return True

    @staticmethod
    def WPUResetEvent(hEvent: int) -> bool:
        from wsemu.events.objects import events
        events.reset(hEvent)
        return True

    @staticmethod
    def WPUCloseEvent(hEvent: int) -> bool:
        from wsemu.events.objects import events
        events.close(hEvent)
        return True

    @staticmethod
    def WPUPostMessage(hWnd: int, Msg: int, wParam: int, lParam: int) -> bool:
        from wsemu import msgqueue
        return msgqueue.PostMessage(hWnd, Msg, wParam, lParam)

    # APCs and overlapped completion arrive with the overlapped-I/O issue; until then they
    # say so clearly.
    @staticmethod
    def _later(*args: object) -> None:
        raise WSAError(abi.WSAEOPNOTSUPP)

    WPUQueueApc = WPUCompleteOverlappedRequest = _later


upcalls = WSPUPCALLTABLE()
