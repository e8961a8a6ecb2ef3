"""Expected 64-bit Windows layouts (reference/spi.md §2), as data shared by the ABI tests."""
from __future__ import annotations

_PROTOCOL_INFO_HEAD = {
    "dwServiceFlags1": 0, "dwServiceFlags2": 4, "dwServiceFlags3": 8, "dwServiceFlags4": 12,
    "dwProviderFlags": 16, "ProviderId": 20, "dwCatalogEntryId": 36, "ProtocolChain": 40,
    "iVersion": 72, "iAddressFamily": 76, "iMaxSockAddr": 80, "iMinSockAddr": 84,
    "iSocketType": 88, "iProtocol": 92, "iProtocolMaxOffset": 96, "iNetworkByteOrder": 100,
    "iSecurityScheme": 104, "dwMessageSize": 108, "dwProviderReserved": 112, "szProtocol": 116,
}

_WSP_PROCS = (
    "Accept AddressToString AsyncSelect Bind CancelBlockingCall Cleanup CloseSocket Connect "
    "DuplicateSocket EnumNetworkEvents EventSelect GetOverlappedResult GetPeerName GetSockName "
    "GetSockOpt GetQOSByName Ioctl JoinLeaf Listen Recv RecvDisconnect RecvFrom Select Send "
    "SendDisconnect SendTo SetSockOpt Shutdown Socket StringToAddress"
).split()
_WPU_PROCS = (
    "CloseEvent CloseSocketHandle CreateEvent CreateSocketHandle FDIsSet GetProviderPath "
    "ModifyIFSHandle PostMessage QueryBlockingCallback QuerySocketHandleContext QueueApc "
    "ResetEvent SetEvent OpenCurrentThread CloseThread"
).split()

# ctype -> (sizeof, {field: offset})
LAYOUTS: dict[str, tuple[int, dict[str, int]]] = {
    "WSAPROTOCOL_INFOW": (628, _PROTOCOL_INFO_HEAD),
    "WSAPROTOCOL_INFOA": (372, _PROTOCOL_INFO_HEAD),
    "WSAPROTOCOLCHAIN": (32, {"ChainLen": 0, "ChainEntries": 4}),
    "GUID": (16, {"Data1": 0, "Data2": 4, "Data3": 6, "Data4": 8}),
    "WSABUF": (16, {"len": 0, "buf": 8}),
    "WSANETWORKEVENTS": (44, {"lNetworkEvents": 0, "iErrorCode": 4}),
    "WS_fd_set": (520, {"fd_count": 0, "fd_array": 8}),
    "struct WS_timeval": (8, {"tv_sec": 0, "tv_usec": 4}),
    "struct WS_linger": (4, {"l_onoff": 0, "l_linger": 2}),
    "struct WS_sockaddr": (16, {"sa_family": 0, "sa_data": 2}),
    "struct WS_sockaddr_in": (16, {"sin_family": 0, "sin_port": 2, "sin_addr": 4, "sin_zero": 8}),
    "struct WS_sockaddr_in6": (28, {"sin6_family": 0, "sin6_port": 2, "sin6_flowinfo": 4,
                                    "sin6_addr": 8, "sin6_scope_id": 24}),
    "struct WS_sockaddr_storage": (128, {"ss_family": 0}),
    "SOCKET_ADDRESS": (16, {"lpSockaddr": 0, "iSockaddrLength": 8}),
    "struct sockaddr_in6_old": (24, {"sin6_family": 0, "sin6_port": 2, "sin6_flowinfo": 4, "sin6_addr": 8}),
    "sockaddr_gen": (24, {"Address": 0, "AddressIn": 0, "AddressIn6": 0}),
    "INTERFACE_INFO": (76, {"iiFlags": 0, "iiAddress": 4, "iiBroadcastAddress": 28, "iiNetmask": 52}),
    "SOCKET_ADDRESS_LIST": (24, {"iAddressCount": 0, "Address": 8}),
    "CSADDR_INFO": (40, {"LocalAddr": 0, "RemoteAddr": 16, "iSocketType": 32, "iProtocol": 36}),
    "struct tcp_keepalive": (12, {"onoff": 0, "keepalivetime": 4, "keepaliveinterval": 8}),
    "WSADATA": (408, {"wVersion": 0, "wHighVersion": 2, "iMaxSockets": 4, "iMaxUdpDg": 6,
                      "lpVendorInfo": 8, "szDescription": 16, "szSystemStatus": 273}),
    "WSAOVERLAPPED": (32, {"Internal": 0, "InternalHigh": 8, "Offset": 16, "OffsetHigh": 20,
                           "Pointer": 16, "hEvent": 24}),
    "QOS": (80, {"SendingFlowspec": 0, "ReceivingFlowspec": 32, "ProviderSpecific": 64}),
    "WSAMSG": (56, {"name": 0, "namelen": 8, "lpBuffers": 16, "dwBufferCount": 24,
                    "Control": 32, "dwFlags": 48}),
    "WSPDATA": (516, {"wVersion": 0, "wHighVersion": 2, "szDescription": 4}),
    "WSATHREADID": (16, {"ThreadHandle": 0, "Reserved": 8}),
    "WSPPROC_TABLE": (240, {f"lpWSP{name}": 8 * i for i, name in enumerate(_WSP_PROCS)}),
    "WSPUPCALLTABLE": (120, {f"lpWPU{name}": 8 * i for i, name in enumerate(_WPU_PROCS)}),
}


def windows_type_name(ctype: str) -> str:
    """The name Windows headers use for one of our (WS_-prefixed where POSIX clashes) types."""
    return ctype.replace("WS_", "")
