"""Windows layouts and constants as compiled into wsemu._native (reference/spi.md §2,
CONFORMANCE.md §7), and the WSAPROTOCOL_INFOW byte form of wsemu.abi.

The expected layouts are the shared data of tests/abi_layouts.py (64-bit Windows, LLP64);
test_abi_mingw.py checks the same data against mingw-w64's headers when that compiler is
installed — this file checks it against what wsemu itself compiled, and needs nothing else.
"""
from __future__ import annotations

import struct
import uuid

import pytest

from wsemu import abi, ws2
from wsemu._native import ffi
from wsemu.abi import WSAPROTOCOL_INFOW, WSAPROTOCOLCHAIN
from tests.abi_layouts import LAYOUTS

_FIELD_CASES = [(ctype, field, offset) for ctype, (_, fields) in LAYOUTS.items() for field, offset in fields.items()]


@pytest.mark.parametrize("ctype,size", [(ctype, size) for ctype, (size, _) in LAYOUTS.items()], ids=list(LAYOUTS))
def test_sizeof_matches_windows_x64(ctype, size):
    assert ffi.sizeof(ctype) == size


@pytest.mark.parametrize("ctype,field,offset", _FIELD_CASES, ids=[f"{c}.{f}" for c, f, _ in _FIELD_CASES])
def test_offsetof_matches_windows_x64(ctype, field, offset):
    assert ffi.offsetof(ctype, field) == offset


@pytest.mark.parametrize("ctype,size", [("SOCKET", 8), ("WSAEVENT", 8), ("GROUP", 4), ("WS_u_long", 4),
                                        ("WCHAR", 2), ("LONG", 4), ("DWORD_PTR", 8), ("HANDLE", 8)])
def test_scalar_types_are_llp64(ctype, size):
    """spi.md §2 last row: SOCKET/WSAEVENT 8 bytes, GROUP/u_long 4 (long is 32-bit on Win64)."""
    assert ffi.sizeof(ctype) == size


def test_storage_and_overlapped_details():
    """SOCKADDR_STORAGE: 8-byte alignment field at 8, padding from 16; WSAOVERLAPPED's
    Pointer shares offset 16 with Offset (a union); fd_set has a 4-byte pad on x64."""
    assert ffi.offsetof("struct WS_sockaddr_storage", "__ss_align") == 8
    assert ffi.offsetof("struct WS_sockaddr_storage", "__ss_pad2") == 16
    assert ffi.alignof("struct WS_sockaddr_storage") == 8
    assert ffi.offsetof("WSAOVERLAPPED", "Pointer") == ffi.offsetof("WSAOVERLAPPED", "Offset") == 16
    assert ffi.offsetof("WS_fd_set", "fd_array") - ffi.sizeof("uint32_t") == 4
    assert ffi.sizeof("WS_fd_set") == 8 + 64 * 8
    assert ffi.alignof("WSAPROTOCOL_INFOW") == 4                 # no pointers: same on x86/x64


def test_protocol_info_a_shares_the_w_layout_up_to_szprotocol():
    for field, offset in LAYOUTS["WSAPROTOCOL_INFOW"][1].items():
        assert ffi.offsetof("WSAPROTOCOL_INFOA", field) == offset
    assert abi.WSAPROTOCOL_INFOW_SIZE == 628 and abi.WSAPROTOCOL_INFOA_SIZE == 372


# ======================================================================================
# WSAPROTOCOL_INFOW bytes
# ======================================================================================
def _sample() -> WSAPROTOCOL_INFOW:
    return WSAPROTOCOL_INFOW(
        dwServiceFlags1=0x20066, dwServiceFlags2=0x80000001, dwServiceFlags3=0xDEADBEEF,
        dwServiceFlags4=0xFF00FF00, dwProviderFlags=abi.PFL_MATCHES_PROTOCOL_ZERO | abi.PFL_HIDDEN,
        ProviderId=uuid.UUID("e70f1aa0-ab8b-11cf-8ca3-00805f48a192"), dwCatalogEntryId=1007,
        ProtocolChain=WSAPROTOCOLCHAIN(3, [1007, 1008, 1001]), iVersion=2, iAddressFamily=abi.AF_INET6,
        iMaxSockAddr=28, iMinSockAddr=28, iSocketType=abi.SOCK_DGRAM, iProtocol=abi.IPPROTO_UDP,
        iProtocolMaxOffset=-1, iNetworkByteOrder=abi.BIGENDIAN, iSecurityScheme=0, dwMessageSize=0xFFFFFFFF,
        dwProviderReserved=0x12345678, szProtocol="wsemu LSP über [UDP/IPv6] \U0001F600",
    )


def test_protocol_info_bytes_round_trip():
    info = _sample()
    raw = bytes(info)
    assert len(raw) == 628
    back = WSAPROTOCOL_INFOW.from_bytes(raw)
    assert back == info
    assert bytes(back) == raw
    for name in ("dwServiceFlags2", "dwServiceFlags3", "dwServiceFlags4", "iProtocolMaxOffset",
                 "dwMessageSize", "dwProviderReserved", "szProtocol", "ProviderId"):
        assert getattr(back, name) == getattr(info, name), name
    assert back.ProtocolChain.ChainLen == 3
    assert back.ProtocolChain.ChainEntries == [1007, 1008, 1001, 0, 0, 0, 0]


def test_protocol_info_fields_sit_at_the_windows_offsets():
    info = _sample()
    raw = bytes(info)
    fields = LAYOUTS["WSAPROTOCOL_INFOW"][1]
    assert struct.unpack_from("<I", raw, 112)[0] == 0x12345678              # dwProviderReserved at 112
    assert struct.unpack_from("<I", raw, fields["dwServiceFlags4"])[0] == 0xFF00FF00
    assert struct.unpack_from("<I", raw, fields["dwCatalogEntryId"])[0] == 1007
    assert struct.unpack_from("<i", raw, fields["iProtocolMaxOffset"])[0] == -1
    assert struct.unpack_from("<i", raw, fields["iAddressFamily"])[0] == 23
    assert raw[20:36] == info.ProviderId.bytes_le                            # GUID in Windows order
    assert struct.unpack_from("<i7I", raw, 40) == (3, 1007, 1008, 1001, 0, 0, 0, 0)


def test_protocol_info_text_is_16_bit_wchar():
    info = _sample()
    raw = bytes(info)
    units = info.szProtocol.encode("utf-16-le")
    assert raw[116:116 + len(units)] == units                                # WCHAR = UTF-16 code units
    assert raw[116 + len(units):116 + len(units) + 2] == b"\0\0"             # NUL-terminated
    assert len(units) == 2 * (len(info.szProtocol) + 1)                      # the emoji is a surrogate pair


def test_protocol_info_name_is_truncated_to_wsaprotocol_len():
    info = WSAPROTOCOL_INFOW(szProtocol="x" * 300)
    raw = bytes(info)
    assert WSAPROTOCOL_INFOW.from_bytes(raw).szProtocol == "x" * abi.WSAPROTOCOL_LEN
    assert raw[116 + 2 * 255:] == b"\0\0"


def test_protocol_info_from_bytes_needs_exactly_628_bytes():
    for size in (627, 629, 372, 0):
        with pytest.raises(ValueError):
            WSAPROTOCOL_INFOW.from_bytes(bytes(size))


def test_protocol_info_ansi_form_matches_the_wide_form():
    info = _sample().copy(szProtocol="MSAFD Tcpip [UDP/IPv6]")
    ansi = info.to_ansi_bytes()
    assert len(ansi) == 372
    assert ansi[:116] == bytes(info)[:116]
    assert ansi[116:].split(b"\0", 1)[0] == b"MSAFD Tcpip [UDP/IPv6]"


def test_protocol_info_copy_is_independent_and_equal():
    info = _sample()
    clone = info.copy()
    assert clone == info and hash(clone) == hash(info)
    clone.ProtocolChain.ChainEntries[0] = 1
    assert info.ProtocolChain.ChainEntries[0] == 1007
    assert info.copy(iProtocol=6).iProtocol == 6


# ======================================================================================
# Constant values (spot checks against CONFORMANCE.md §7 and spi.md §2)
# ======================================================================================
WINDOWS_VALUES = {
    "AF_UNSPEC": 0, "AF_INET": 2, "AF_IPX": 6, "AF_INET6": 23, "AF_IRDA": 26, "AF_BTH": 32,
    "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_RDM": 4, "SOCK_SEQPACKET": 5,
    "IPPROTO_IP": 0, "IPPROTO_ICMP": 1, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_IPV6": 41, "IPPROTO_RAW": 255,
    "SOL_SOCKET": 0xFFFF, "SO_DEBUG": 1, "SO_ACCEPTCONN": 2, "SO_REUSEADDR": 4, "SO_KEEPALIVE": 8,
    "SO_DONTROUTE": 0x10, "SO_BROADCAST": 0x20, "SO_USELOOPBACK": 0x40, "SO_LINGER": 0x80, "SO_OOBINLINE": 0x100,
    "SO_DONTLINGER": -129, "SO_EXCLUSIVEADDRUSE": -5, "SO_SNDBUF": 0x1001, "SO_RCVBUF": 0x1002,
    "SO_SNDLOWAT": 0x1003, "SO_RCVLOWAT": 0x1004, "SO_SNDTIMEO": 0x1005, "SO_RCVTIMEO": 0x1006,
    "SO_ERROR": 0x1007, "SO_TYPE": 0x1008, "SO_BSP_STATE": 0x1009, "SO_GROUP_ID": 0x2001,
    "SO_GROUP_PRIORITY": 0x2002, "SO_MAX_MSG_SIZE": 0x2003, "SO_PROTOCOL_INFOA": 0x2004,
    "SO_PROTOCOL_INFOW": 0x2005, "PVD_CONFIG": 0x3001, "SO_CONDITIONAL_ACCEPT": 0x3002,
    "SO_PAUSE_ACCEPT": 0x3003, "SO_COMPARTMENT_ID": 0x3004, "SO_RANDOMIZE_PORT": 0x3005,
    "SO_PORT_SCALABILITY": 0x3006, "SO_REUSE_UNICASTPORT": 0x3007, "SO_REUSE_MULTICASTPORT": 0x3008,
    "SO_OPENTYPE": 0x7008, "SO_MAXDG": 0x7009, "SO_MAXPATHDG": 0x700A, "SO_UPDATE_ACCEPT_CONTEXT": 0x700B,
    "SO_CONNECT_TIME": 0x700C, "SO_UPDATE_CONNECT_CONTEXT": 0x7010,
    "TCP_NODELAY": 1, "TCP_EXPEDITED_1122": 2, "TCP_KEEPALIVE": 3, "TCP_KEEPCNT": 16, "TCP_KEEPINTVL": 17,
    "FIONBIO": 0x8004667E, "FIONREAD": 0x4004667F, "SIOCATMARK": 0x40047307,
    "SIO_GET_EXTENSION_FUNCTION_POINTER": 0xC8000006, "SIO_BSP_HANDLE": 0x4800001B,
    "SIO_BSP_HANDLE_SELECT": 0x4800001C, "SIO_BSP_HANDLE_POLL": 0x4800001D, "SIO_EXT_SELECT": 0xC800001E,
    "SIO_EXT_POLL": 0xC800001F, "SIO_EXT_SENDMSG": 0xC8000020, "SIO_BASE_HANDLE": 0x48000022,
    "SIO_QUERY_TARGET_PNP_HANDLE": 0x48000018,
    "FD_READ": 0x1, "FD_WRITE": 0x2, "FD_OOB": 0x4, "FD_ACCEPT": 0x8, "FD_CONNECT": 0x10, "FD_CLOSE": 0x20,
    "FD_QOS": 0x40, "FD_GROUP_QOS": 0x80, "FD_ROUTING_INTERFACE_CHANGE": 0x100, "FD_ADDRESS_LIST_CHANGE": 0x200,
    "FD_READ_BIT": 0, "FD_CLOSE_BIT": 5, "FD_ADDRESS_LIST_CHANGE_BIT": 9, "FD_MAX_EVENTS": 10, "FD_ALL_EVENTS": 0x3FF,
    "FROM_PROTOCOL_INFO": -1, "WSA_FLAG_OVERLAPPED": 0x01, "WSA_FLAG_MULTIPOINT_C_ROOT": 0x02,
    "WSA_FLAG_MULTIPOINT_C_LEAF": 0x04, "WSA_FLAG_MULTIPOINT_D_ROOT": 0x08, "WSA_FLAG_MULTIPOINT_D_LEAF": 0x10,
    "WSA_FLAG_ACCESS_SYSTEM_SECURITY": 0x40, "WSA_FLAG_NO_HANDLE_INHERIT": 0x80, "WSA_FLAG_REGISTERED_IO": 0x100,
    "SD_RECEIVE": 0, "SD_SEND": 1, "SD_BOTH": 2,
    "MSG_OOB": 0x1, "MSG_PEEK": 0x2, "MSG_DONTROUTE": 0x4, "MSG_WAITALL": 0x8, "MSG_TRUNC": 0x100,
    "MSG_CTRUNC": 0x200, "MSG_PARTIAL": 0x8000, "SOMAXCONN": 0x7FFFFFFF,
    "CF_ACCEPT": 0, "CF_REJECT": 1, "CF_DEFER": 2, "PFL_HIDDEN": 0x4, "PFL_MATCHES_PROTOCOL_ZERO": 0x8,
    "WSAPROTOCOL_LEN": 255, "MAX_PROTOCOL_CHAIN": 7, "LAYERED_PROTOCOL": 0, "BASE_PROTOCOL": 1,
    "XP1_CONNECTIONLESS": 0x1, "XP1_IFS_HANDLES": 0x20000,
    # CONFORMANCE.md §7.1
    "WSAEINTR": 10004, "WSAEBADF": 10009, "WSAEACCES": 10013, "WSAEFAULT": 10014, "WSAEINVAL": 10022,
    "WSAEMFILE": 10024, "WSAEWOULDBLOCK": 10035, "WSAEINPROGRESS": 10036, "WSAEALREADY": 10037,
    "WSAENOTSOCK": 10038, "WSAEDESTADDRREQ": 10039, "WSAEMSGSIZE": 10040, "WSAEPROTOTYPE": 10041,
    "WSAENOPROTOOPT": 10042, "WSAEPROTONOSUPPORT": 10043, "WSAESOCKTNOSUPPORT": 10044, "WSAEOPNOTSUPP": 10045,
    "WSAEPFNOSUPPORT": 10046, "WSAEAFNOSUPPORT": 10047, "WSAEADDRINUSE": 10048, "WSAEADDRNOTAVAIL": 10049,
    "WSAENETDOWN": 10050, "WSAENETUNREACH": 10051, "WSAENETRESET": 10052, "WSAECONNABORTED": 10053,
    "WSAECONNRESET": 10054, "WSAENOBUFS": 10055, "WSAEISCONN": 10056, "WSAENOTCONN": 10057,
    "WSAESHUTDOWN": 10058, "WSAETOOMANYREFS": 10059, "WSAETIMEDOUT": 10060, "WSAECONNREFUSED": 10061,
    "WSAELOOP": 10062, "WSAENAMETOOLONG": 10063, "WSAEHOSTDOWN": 10064, "WSAEHOSTUNREACH": 10065,
    "WSAENOTEMPTY": 10066, "WSAEPROCLIM": 10067, "WSAEUSERS": 10068, "WSAEDQUOT": 10069, "WSAESTALE": 10070,
    "WSAEREMOTE": 10071, "WSAEDISCON": 10101, "WSASYSNOTREADY": 10091, "WSAVERNOTSUPPORTED": 10092,
    "WSANOTINITIALISED": 10093, "WSAEPROVIDERFAILEDINIT": 10106, "WSAHOST_NOT_FOUND": 11001,
    "WSATRY_AGAIN": 11002, "WSANO_RECOVERY": 11003, "WSANO_DATA": 11004, "WSA_IO_PENDING": 997,
    "WSA_IO_INCOMPLETE": 996, "WSA_OPERATION_ABORTED": 995, "WSA_INVALID_PARAMETER": 87,
    "WSA_INVALID_HANDLE": 6, "WSA_NOT_ENOUGH_MEMORY": 8, "ERROR_NETNAME_DELETED": 64,
    "ERROR_CONNECTION_REFUSED": 1225, "ERROR_CONNECTION_ABORTED": 1236,
}


@pytest.mark.parametrize("name,value", sorted(WINDOWS_VALUES.items()), ids=sorted(WINDOWS_VALUES))
def test_windows_constant_values(name, value):
    """The value wsemu.abi and ws2 export is the Windows one (signed where Windows' int is)."""
    assert getattr(abi, name) == value
    assert getattr(ws2, name) == value


def test_invalid_socket_and_socket_error():
    assert abi.INVALID_SOCKET == 2**64 - 1 == ws2.INVALID_SOCKET
    assert abi.SOCKET_ERROR == -1 == ws2.SOCKET_ERROR
