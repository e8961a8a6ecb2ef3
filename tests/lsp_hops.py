"""Layered providers for the LSP framework tests (loaded by path: python:tests.lsp_hops:Name).

``HOPS`` records, in order, every call as it passes a layer: (layer, call, info) where info is
the WSAPROTOCOL_INFOW the layer received (WSPStartup, WSPSocket) and, for WSPSocket, the one
it passed down; ``STARTUPS`` the info each WSPStartup received.
"""
from __future__ import annotations

from wsemu.spi.layered import LayeredProvider
from wsemu.spi.table import WSPDATA

HOPS: list[tuple] = []
STARTUPS: list[tuple] = []


class Recording(LayeredProvider):
    name = "?"

    def WSPStartup(self, wVersionRequested, lpProtocolInfo=None, UpcallTable=None):
        STARTUPS.append((self.name, lpProtocolInfo.copy()))
        return super().WSPStartup(wVersionRequested, lpProtocolInfo, UpcallTable)

    def intercept(self, call, sock, args, proceed):
        if call == "WSPSocket":
            info = args[3]
            down = self.call_layer(sock).info_down(info)
            HOPS.append((self.name, call, info.copy(), down.copy()))
        else:
            HOPS.append((self.name, call))
        return proceed(*args)


class Upper(Recording):
    name = "upper"


class Lower(Recording):
    name = "lower"


class IfsLayer(Recording):
    name = "ifs"
    ifs = True


class OldVersion(LayeredProvider):
    def WSPStartup(self, wVersionRequested, lpProtocolInfo=None, UpcallTable=None):
        data, table = super().WSPStartup(wVersionRequested, lpProtocolInfo, UpcallTable)
        return WSPDATA(0x0101, 0x0101, "too old"), table


class Incomplete(LayeredProvider):
    def WSPStartup(self, wVersionRequested, lpProtocolInfo=None, UpcallTable=None):
        data, table = super().WSPStartup(wVersionRequested, lpProtocolInfo, UpcallTable)
        table.WSPIoctl = None
        return data, table
