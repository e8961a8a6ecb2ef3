"""wsemu.sockaddr, pure: Windows SOCKADDR_IN / SOCKADDR_IN6 bytes and Python address tuples.

Layouts (ws2def.h / ws2ipdef.h): SOCKADDR_IN is 16 bytes — family 2 (a little-endian USHORT),
port in network order, the address, 8 zero bytes; SOCKADDR_IN6 is 28 bytes — family 23, port
in network order, sin6_flowinfo in network order (the Python tuple holds it in host order, as
CPython's socket module does: htonl/ntohl), the address, sin6_scope_id in host order.
"""
from __future__ import annotations

import ipaddress
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsemu import WSAError, sockaddr
from wsemu.abi import AF_INET, AF_INET6, WSAEAFNOSUPPORT, WSAEFAULT, WSAEINVAL
from wsemu.errors import ERROR_NAMES


def code(call, *args) -> int:
    with pytest.raises(WSAError) as info:
        call(*args)
    return info.value.winerror


def sin(host: str, port: int) -> bytes:
    return struct.pack("<H", 2) + struct.pack(">H", port) + socket.inet_aton(host) + bytes(8)


def sin6(host: str, port: int, flowinfo: int = 0, scope_id: int = 0) -> bytes:
    return (struct.pack("<H", 23) + struct.pack(">H", port) + struct.pack(">I", flowinfo)
            + socket.inet_pton(socket.AF_INET6, host) + struct.pack("<I", scope_id))


# ======================================================================================
# Layouts
# ======================================================================================
def test_windows_family_numbers_and_structure_sizes():
    assert (AF_INET, AF_INET6) == (2, 23)
    assert sockaddr.SIZES == {2: 16, 23: 28}
    assert (sockaddr.SOCKADDR_IN_SIZE, sockaddr.SOCKADDR_IN6_SIZE) == (16, 28)


def test_sockaddr_in_is_family_2_port_in_network_order_address_and_eight_zero_bytes():
    raw = sockaddr.encode(AF_INET, ("192.0.2.33", 0x1234))
    assert raw == b"\x02\x00" + b"\x12\x34" + bytes([192, 0, 2, 33]) + bytes(8)
    assert len(raw) == 16


def test_sockaddr_in6_is_family_23_port_and_flowinfo_in_network_order_scope_in_host_order():
    raw = sockaddr.encode(AF_INET6, ("2001:db8::1", 0xABCD, 0x000A1B2C, 0x01020304))
    assert raw[0:2] == b"\x17\x00"                    # 23, little-endian
    assert raw[2:4] == b"\xab\xcd"                    # network order
    assert raw[4:8] == b"\x00\x0a\x1b\x2c"            # network order, as CPython's htonl
    assert raw[8:24] == socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    assert raw[24:28] == b"\x04\x03\x02\x01"          # host (little-endian) order
    assert len(raw) == 28


def test_decode_reads_the_same_layouts():
    assert sockaddr.decode(sin("127.0.0.1", 80)) == (AF_INET, ("127.0.0.1", 80))
    assert sockaddr.decode(sin6("::1", 443, 0x12345, 7)) == (AF_INET6, ("::1", 443, 0x12345, 7))


def test_decode_takes_any_contiguous_byte_buffer_and_ignores_trailing_bytes():
    raw = sin6("fe80::1", 1, 0, 3) + b"trailing"
    expected = (AF_INET6, ("fe80::1", 1, 0, 3))
    assert sockaddr.decode(bytearray(raw)) == expected
    assert sockaddr.decode(memoryview(raw)) == expected


def test_empty_host_and_broadcast_name_the_unspecified_and_broadcast_addresses():
    assert sockaddr.encode(AF_INET, ("", 1)) == sin("0.0.0.0", 1)
    assert sockaddr.encode(AF_INET, ("<broadcast>", 1)) == sin("255.255.255.255", 1)
    assert sockaddr.encode(AF_INET6, ("", 1)) == sin6("::", 1)


def test_ipv6_host_text_may_carry_a_zone_that_the_scope_id_field_replaces():
    assert sockaddr.encode(AF_INET6, ("fe80::1%lo", 1, 0, 1)) == sin6("fe80::1", 1, 0, 1)


def test_ipv6_tuples_may_omit_flowinfo_and_scope_id():
    assert sockaddr.encode(AF_INET6, ("::1", 5)) == sin6("::1", 5)
    assert sockaddr.encode(AF_INET6, ("::1", 5, 9)) == sin6("::1", 5, 9)


# ======================================================================================
# Round trips
# ======================================================================================
IPV4 = st.integers(0, 0xFFFFFFFF).map(lambda n: str(ipaddress.IPv4Address(n)))
# Host text as inet_ntop writes it (the form decode returns: glibc prints ::1:0 as ::0.1.0.0).
IPV6 = st.integers(0, (1 << 128) - 1).map(lambda n: socket.inet_ntop(socket.AF_INET6, n.to_bytes(16, "big")))
PORTS = st.integers(0, 0xFFFF)
ULONGS = st.integers(0, 0xFFFFFFFF)


@given(host=IPV4, port=PORTS)
@settings(max_examples=200, deadline=None)
def test_ipv4_tuple_bytes_tuple_round_trip(host, port):
    raw = sockaddr.encode(AF_INET, (host, port))
    assert raw == sin(host, port)
    assert sockaddr.decode(raw) == (AF_INET, (host, port))


@given(host=IPV6, port=PORTS, flowinfo=ULONGS, scope_id=ULONGS)
@settings(max_examples=200, deadline=None)
def test_ipv6_tuple_bytes_tuple_round_trip(host, port, flowinfo, scope_id):
    raw = sockaddr.encode(AF_INET6, (host, port, flowinfo, scope_id))
    assert raw == sin6(host, port, flowinfo, scope_id)
    assert sockaddr.decode(raw) == (AF_INET6, (host, port, flowinfo, scope_id))


@given(raw=st.one_of(
    st.tuples(st.binary(min_size=14, max_size=14), st.binary(max_size=8)).map(lambda t: b"\x02\x00" + t[0] + t[1]),
    st.tuples(st.binary(min_size=26, max_size=26), st.binary(max_size=8)).map(lambda t: b"\x17\x00" + t[0] + t[1]),
))
@settings(max_examples=200, deadline=None)
def test_bytes_tuple_bytes_round_trip_keeps_every_field(raw):
    family, address = sockaddr.decode(raw)
    again = sockaddr.encode(family, address)
    if family == AF_INET:
        assert again == raw[:8] + bytes(8)            # sin_zero is not carried
    else:
        assert again == raw[:28]


@given(host=IPV6, port=PORTS, flowinfo=ULONGS, scope_id=ULONGS)
@settings(max_examples=100, deadline=None)
def test_parse_name_accepts_tuples_and_bytes_alike(host, port, flowinfo, scope_id):
    address = (host, port, flowinfo, scope_id)
    assert sockaddr.parse_name(address) == sockaddr.parse_name(sockaddr.encode(AF_INET6, address)) \
        == (AF_INET6, address)


# ======================================================================================
# parse_name: the (name, namelen) rules of bind/connect/sendto
# ======================================================================================
def test_parse_name_null_name_is_wsaefault():
    assert code(sockaddr.parse_name, None) == WSAEFAULT
    assert code(sockaddr.parse_name, None, 16) == WSAEFAULT


@pytest.mark.parametrize("namelen", [-1, 0, 1, 2, 15])
def test_parse_name_length_shorter_than_sockaddr_in_is_wsaefault(namelen):
    assert code(sockaddr.parse_name, sin("127.0.0.1", 1), namelen) == WSAEFAULT


def test_parse_name_length_beyond_the_buffer_is_wsaefault():
    assert code(sockaddr.parse_name, sin("127.0.0.1", 1), 17) == WSAEFAULT


def test_parse_name_short_buffer_is_wsaefault():
    assert code(sockaddr.parse_name, sin("127.0.0.1", 1)[:15]) == WSAEFAULT
    assert code(sockaddr.parse_name, b"\x02") == WSAEFAULT
    assert code(sockaddr.parse_name, b"") == WSAEFAULT


def test_parse_name_old_24_byte_sockaddr_in6_is_wsaefault():
    """The RFC 2133 sockaddr_in6 had no sin6_scope_id: 24 bytes, rejected as too short."""
    raw = sin6("::1", 1)
    assert code(sockaddr.parse_name, raw[:24]) == WSAEFAULT
    assert code(sockaddr.parse_name, raw, 24) == WSAEFAULT


@pytest.mark.parametrize("family", [0, 1, 3, 17, 22, 24, 0xFFFF])
def test_parse_name_unknown_family_is_wsaeafnosupport(family):
    raw = struct.pack("<H", family) + bytes(26)
    assert code(sockaddr.parse_name, raw) == WSAEAFNOSUPPORT


def test_parse_name_takes_namelen_bytes_and_ignores_the_rest():
    raw = sin("10.1.2.3", 7) + b"\xff" * 12
    assert sockaddr.parse_name(raw, 16) == (AF_INET, ("10.1.2.3", 7))
    assert sockaddr.parse_name(raw) == (AF_INET, ("10.1.2.3", 7))


@pytest.mark.parametrize("namelen", ["16", 16.0, True, [16], b"\x10"])
def test_parse_name_namelen_that_is_no_integer_is_wsaefault(namelen):
    """Bug found by the sweep: a list namelen raised TypeError ('<' between list and int)."""
    assert code(sockaddr.parse_name, sin("127.0.0.1", 1), namelen) == WSAEFAULT


def test_parse_name_counts_bytes_of_a_memoryview_of_any_item_format():
    """Bug found by the sweep: a memoryview of 4-byte items had its length counted in items,
    so a complete 16-byte SOCKADDR_IN cast to 'i' (4 items) was refused as too short."""
    view = memoryview(bytearray(sin("127.0.0.1", 9))).cast("i")
    assert sockaddr.parse_name(view) == (AF_INET, ("127.0.0.1", 9))


@pytest.mark.parametrize("name", [
    pytest.param("127.0.0.1", id="str"), pytest.param(16, id="int"), pytest.param([2, 0], id="list"),
    pytest.param(object(), id="object"),
])
def test_parse_name_of_no_address_kind_is_wsaefault(name):
    assert code(sockaddr.parse_name, name) == WSAEFAULT


def test_parse_name_released_or_strided_buffer_is_wsaefault():
    released = memoryview(sin("127.0.0.1", 1))
    released.release()
    assert code(sockaddr.parse_name, released) == WSAEFAULT
    strided = memoryview(sin("127.0.0.1", 1) * 2)[::2]
    assert code(sockaddr.parse_name, strided) == WSAEFAULT


def test_parse_name_infers_the_family_of_a_tuple_from_its_host_form():
    assert sockaddr.parse_name(("127.0.0.1", 1)) == (AF_INET, ("127.0.0.1", 1))
    assert sockaddr.parse_name(("::1", 1)) == (AF_INET6, ("::1", 1, 0, 0))
    assert sockaddr.parse_name(("::1", 1, 0, 5)) == (AF_INET6, ("::1", 1, 0, 5))


@pytest.mark.parametrize("address, expected", [
    pytest.param(("127.0.0.1", 65536), WSAEINVAL, id="port-too-large"),
    pytest.param(("127.0.0.1", -1), WSAEINVAL, id="negative-port"),
    pytest.param(("127.0.0.1", 80.0), WSAEINVAL, id="float-port"),
    pytest.param(("127.0.0.1", True), WSAEINVAL, id="bool-port"),
    pytest.param(("::1", 1, True, 0), WSAEINVAL, id="bool-flowinfo"),
    pytest.param(("::1", 1, 1 << 32, 0), WSAEINVAL, id="flowinfo-beyond-ulong"),
    pytest.param(("::1", 1, 0, -1), WSAEINVAL, id="negative-scope"),
    pytest.param(("999.0.0.1", 1), WSAEINVAL, id="bad-ipv4-text"),
    pytest.param(("localhost", 1), WSAEINVAL, id="names-are-not-resolved"),
    pytest.param(("127.0.0.1\0", 1), WSAEINVAL, id="nul-in-host"),
    pytest.param((b"127.0.0.1", 1), WSAEFAULT, id="bytes-host"),
    pytest.param(("127.0.0.1",), WSAEFAULT, id="one-element"),
    pytest.param(("127.0.0.1", 1, 2), WSAEFAULT, id="three-elements-ipv4"),
    pytest.param(("::1", 1, 0, 0, 0), WSAEFAULT, id="five-elements"),
    pytest.param((), WSAEFAULT, id="empty"),
])
def test_parse_name_malformed_tuple_errors(address, expected):
    assert code(sockaddr.parse_name, address) == expected


def test_bool_port_is_refused_not_taken_as_port_1():
    """Bug found by the sweep: ('127.0.0.1', True) encoded as port 1."""
    assert code(sockaddr.encode, AF_INET, ("127.0.0.1", True)) == WSAEINVAL


# ======================================================================================
# The other entry points
# ======================================================================================
def test_family_of_needs_two_bytes():
    """Bug found by the sweep: family_of(b'\\x02') raised struct.error."""
    assert sockaddr.family_of(b"\x17\x00") == AF_INET6
    assert code(sockaddr.family_of, b"\x02") == WSAEFAULT
    assert code(sockaddr.family_of, "ab") == WSAEFAULT


@pytest.mark.parametrize("raw", [None, "0123456789abcdef", 5, [2, 0]])
def test_decode_of_no_buffer_is_wsaefault(raw):
    """Bug found by the sweep: decode('...') raised a struct error, not WSAEFAULT."""
    assert code(sockaddr.decode, raw) == WSAEFAULT


def test_decode_short_or_unknown():
    assert code(sockaddr.decode, sin6("::1", 1)[:27]) == WSAEFAULT
    assert code(sockaddr.decode, b"\x05\x00" + bytes(30)) == WSAEAFNOSUPPORT


def test_encode_unknown_family_is_wsaeafnosupport():
    assert code(sockaddr.encode, 17, ("127.0.0.1", 1)) == WSAEAFNOSUPPORT


def test_to_linux_gives_the_kernel_a_flow_label_it_can_hold():
    """Bug found by the sweep: a SOCKADDR_IN6 flowinfo above 20 bits reached Python's socket
    module, which raised OverflowError ('flowinfo must be 0-1048575') out of bind/sendto."""
    assert sockaddr.to_linux(AF_INET6, ("::1", 1, 0xFFFFFFFF, 2)) == ("::1", 1, 0xFFFFF, 2)
    assert sockaddr.to_linux(AF_INET6, ("::1", 1)) == ("::1", 1, 0, 0)
    assert sockaddr.to_linux(AF_INET, ("127.0.0.1", 1)) == ("127.0.0.1", 1)


def test_from_linux_drops_the_zone_text_and_keeps_the_fields():
    assert sockaddr.from_linux(("fe80::1%lo", 1, 2, 1)) == ("fe80::1", 1, 2, 1)
    assert sockaddr.from_linux(("127.0.0.1", 1)) == ("127.0.0.1", 1)


@given(st.one_of(st.binary(max_size=40), st.text(max_size=10), st.integers(), st.none(),
                 st.tuples(st.text(max_size=8), st.integers()),
                 st.lists(st.integers(-1, 300), max_size=6).map(tuple)),
       st.one_of(st.none(), st.integers(-5, 40), st.text(max_size=2), st.floats()))
@settings(max_examples=300, deadline=None)
def test_parse_name_of_anything_is_an_address_or_a_known_wsa_error(name, namelen):
    try:
        family, address = sockaddr.parse_name(name, namelen)
    except WSAError as err:
        assert err.winerror in ERROR_NAMES
    else:
        assert family in (AF_INET, AF_INET6)
        assert sockaddr.decode(sockaddr.encode(family, address)) == (family, address)
