"""wsemu.addrstr: WSAAddressToString / WSAStringToAddress (CONFORMANCE.md §6K, items 183-188).

Vectors are the Windows expectations of Wine's ws2_32 and ntdll tests (test_WSAAddressToString,
test_WSAStringToAddress, test_RtlIpv4StringToAddressEx, test_RtlIpv6StringToAddressEx,
test_RtlIpv6AddressToString[Ex]), rewritten as compact tables; where old Windows versions
differ ("broken"), the current behaviour is taken.
"""
from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given, settings, strategies as st

from wsemu.abi import AF_INET, AF_INET6, WSAEFAULT, WSAEINVAL
from wsemu.addrstr import address_to_string, needed_chars, sockaddr_size, string_to_address
from wsemu.errors import WSAError


def sin(addr: str, port: int = 0) -> bytes:
    return (struct.pack("<H", AF_INET) + struct.pack(">H", port) + ipaddress.IPv4Address(addr).packed
            + bytes(8))


def sin6(addr: str, port: int = 0, scope: int = 0, flowinfo: int = 0) -> bytes:
    return (struct.pack("<H", AF_INET6) + struct.pack(">H", port) + struct.pack("<I", flowinfo)
            + ipaddress.IPv6Address(addr).packed + struct.pack("<I", scope))


def wsa_code(fn, *args) -> int:
    with pytest.raises(WSAError) as info:
        fn(*args)
    return info.value.winerror


# ---- catalog items -------------------------------------------------------------------------
def test_item_183_needed_length_counts_the_nul():
    text = address_to_string(sin("0.0.0.0"))
    assert text == "0.0.0.0"
    assert needed_chars(text) == 8   # what WSAAddressToString reports with len=0 / NULL buffer


ITEM_185 = [  # (address, scope, port, text)
    ("::1", 0, 0, "::1"),
    ("20ab::1", 0, 0, "20ab::1"),
    ("20ab::2001", 0, 33274, "[20ab::2001]:33274"),
    ("20ab::2001", 4660, 33274, "[20ab::2001%4660]:33274"),
    ("20ab::2001", 4660, 0, "20ab::2001%4660"),
]


@pytest.mark.parametrize("addr, scope, port, text", ITEM_185)
def test_item_185_ipv6_formats(addr, scope, port, text):
    assert address_to_string(sin6(addr, port, scope)) == text


def test_item_185_port_is_read_in_network_order():
    # Wine's vector stores sin6_port = 0xfa81 on a little-endian machine: bytes 81 fa.
    raw = bytearray(sin6("20ab::2001"))
    raw[2:4] = (0xFA81).to_bytes(2, "little")
    assert address_to_string(raw) == "[20ab::2001]:33274"


def test_item_186_sockaddr_sizes_for_the_callers_length_check():
    assert sockaddr_size(AF_INET) == 16
    assert sockaddr_size(AF_INET6) == 28
    assert len(string_to_address("1.2.3.4", AF_INET)) == sockaddr_size(AF_INET)
    assert len(string_to_address("::1", AF_INET6)) == sockaddr_size(AF_INET6)
    assert wsa_code(sockaddr_size, 1) == WSAEINVAL


ITEM_188 = [
    "", " ", "127.127.127.127:", "127.127.127.127:0", "127.127.127.127:65537", "::1",
    "0x", "1.1.1.0x", "127.127.127.127:0x", "08", "1.1.1.08", "127.127.127.127:08",
    "1.1.1.-2", "255.255.255.256", "1000.2000", "1.2.", "1..2", " 3.4.5.6", "\t3.4.5.6",
    "3.4.5.6 ", "[0.1.2.3]", "2001::1", "a",
]


@pytest.mark.parametrize("text", ITEM_188)
def test_item_188_ipv4_failures(text):
    assert wsa_code(string_to_address, text, AF_INET) == WSAEINVAL


# ---- WSAStringToAddress, IPv4 (Strict=FALSE) -----------------------------------------------
IPV4_OK = {  # text -> (address, port)
    "1.1.1.1": ("1.1.1.1", 0), "0.0.0.0": ("0.0.0.0", 0),
    "127.127.127.127:123": ("127.127.127.127", 123), "127.127.127.127:65535": ("127.127.127.127", 65535),
    "127.127.127.127:0xAbCd": ("127.127.127.127", 43981),
    "127.127.127.127:0XaBcD": ("127.127.127.127", 43981),
    "127.127.127.127:010": ("127.127.127.127", 8), "127.127.127.127:007": ("127.127.127.127", 7),
    "255.255.255.255:65535": ("255.255.255.255", 65535), "1.1.1.0xaA": ("1.1.1.170", 0),
    "1.1.1.0xff": ("1.1.1.255", 0), "1.1.1.010": ("1.1.1.8", 0), "1.1.1.00": ("1.1.1.0", 0),
    "1.1.1.007": ("1.1.1.7", 0), "1": ("0.0.0.1", 0), "1:1": ("0.0.0.1", 1), "1.2": ("1.0.0.2", 0),
    "1.2:1": ("1.0.0.2", 1), "1.2.3": ("1.2.0.3", 0), "1.2.3:1": ("1.2.0.3", 1),
    "203569230": ("12.34.56.78", 0), "203569230:123": ("12.34.56.78", 123), "1.223756": ("1.3.106.12", 0),
    "3.4.756": ("3.4.2.244", 0), "0x00010203": ("0.1.2.3", 0), "0X00010203:10": ("0.1.2.3", 10),
    "0x1234": ("0.0.18.52", 0),
    "0x123456789": ("35.69.103.137", 0),  # Windows misses this 32-bit wrap
    "017700000001": ("127.0.0.1", 0), "0777:10": ("0.0.1.255", 10), "0.0.0.0:1": ("0.0.0.0", 1),
    "1.2.3.4:0xffff": ("1.2.3.4", 65535), "1.2.3.4:011064": ("1.2.3.4", 4660),
}
IPV4_BAD = [
    "127.127.127.127::1", "127.127.127.127:0x10000", "127.127.127.127:008", "127.127.127.127:0a",
    "127.127.127.127:0o10", "127.127.127.127:0b10", "1.1.1.0x100", "1.1.1.008", "1.1.1.0a",
    "1.1.1.0o10", "1.1.1.0b10", "-1", "1...2", "1.2.3.", "756.3.4", "3.756.4", "3.4.756.1",
    "3.4.65536", "3.4.5.6.7", "3.4.5.+6", "3.4.5.6:7 ", "3.4.5.6: 7", "3. 4.5.6", ".", "..",
    ".1", "0x00010Q03", "x00010203", "1234BEEF", ":1", "1.1.1.1+", "256.1.1.1:1", "1.2.3.4:65536",
    "1.2.3.4:1234a", "1.2.3.4:\t1234", "1.1.1.0xffffffff", "1.1.1.0x100000000",
    "255.255.255.4294967296", "4294967296", "0x100000000", "\u0661.2.3.4",  # Arabic-Indic one
]


@pytest.mark.parametrize("text", sorted(IPV4_OK))
def test_string_to_address_ipv4_accepts(text):
    addr, port = IPV4_OK[text]
    assert string_to_address(text, AF_INET) == sin(addr, port)


@pytest.mark.parametrize("text", IPV4_BAD)
def test_string_to_address_ipv4_rejects(text):
    assert wsa_code(string_to_address, text, AF_INET) == WSAEINVAL


# ---- WSAStringToAddress, IPv6 (RtlIpv6StringToAddressEx) -----------------------------------
IPV6_OK = [  # (text, address as ipaddress reads it, scope, port)
    ("::1", "::1", 0, 0), ("[::1]", "::1", 0, 0), ("[::1]:65535", "::1", 0, 65535),
    ("2001::1", "2001::1", 0, 0), ("001::1", "1::1", 0, 0),
    ("::1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7", 0, 0), ("::0:a:b:c:d:e:f", "0:0:a:b:c:d:e:f", 0, 0),
    ("::0:0:0:0:0:0:0", "::", 0, 0), ("0:0:0:0:0:0:0::", "::", 0, 0),
    ("0:a:b:c:d:e:f::", "0:a:b:c:d:e:f:0", 0, 0),
    ("0000:0000:0000:0000:0000:0000:0000:0001", "::1", 0, 0), ("0:0:0:0:0:0:13.1.68.3", "::d01:4403", 0, 0),
    ("0:0:0:0:0:FFFF:129.144.52.38", "::ffff:8190:3426", 0, 0), ("0::", "::", 0, 0),
    ("1111:2222:3333:4444:5555:6666:123.123.123.123", "1111:2222:3333:4444:5555:6666:7b7b:7b7b", 0, 0),
    ("1111:2222:3333:4444:5555:6666:7777::", "1111:2222:3333:4444:5555:6666:7777:0", 0, 0),
    ("1111:2222:3333:4444:5555::123.123.123.123", "1111:2222:3333:4444:5555:0:7b7b:7b7b", 0, 0),
    ("1111::6666:123.123.123.123", "1111::6666:7b7b:7b7b", 0, 0), ("1:2:3:4:5:6::8", "1:2:3:4:5:6:0:8", 0, 0),
    ("2001:0000:1234:0000:0000:C1C0:ABCD:0876", "2001:0:1234::c1c0:abcd:876", 0, 0),
    ("3ffe:0b00:0000:0000:0001:0000:0000:000a", "3ffe:b00::1:0:0:a", 0, 0),
    ("::123.123.123.123", "::7b7b:7b7b", 0, 0), ("1::001.2.3.4", "1::102:304", 0, 0),
    ("1::1.002.3.4", "1::102:304", 0, 0), ("::%16", "::", 16, 0), ("[::]", "::", 0, 0),
    ("[::1]:8080", "::1", 0, 8080), ("[::1]:0x80", "::1", 0, 128), ("[::1]:0X80", "::1", 0, 128),
    ("[FEDC:BA98:7654:3210:FEDC:BA98:7654:3210]:80", "fedc:ba98:7654:3210:fedc:ba98:7654:3210", 0, 80),
    ("[3ffe:2a00:100:7031::1]:8080", "3ffe:2a00:100:7031::1", 0, 8080),
    ("[::FFFF:129.144.52.38]:80", "::ffff:8190:3426", 0, 80),
    ("[ff01::8:800:200C:417A%16]:8080", "ff01::8:800:200c:417a", 16, 8080),
    ("[ff01::8:800:200C:417A%4294967295]:8080", "ff01::8:800:200c:417a", 0xFFFFFFFF, 8080),
    ("[ff01::8:800:200C:417A%0]:8080", "ff01::8:800:200c:417a", 0, 8080),
    ("::13.1.68.3%4294949819", "::d01:4403", 4294949819, 0),
]
IPV6_BAD = [
    "::1]:65535", "1.2.3.4", "1:2:3:", "", "0:0:0:0:0:0:0", "1111:2222:3333:4444:0x5555:6666:7777:8888",
    "1111:2222:3333:4444:x555:6666:7777:8888", "1111:2222:3333:4444:5555:6666::7777:8888",
    "1111:2222:3333:4444:5555::0x88", "1111:2222:3333:4444:5555::0X", "1111:2222:3333:4444:5555::08888",
    "1111:2222:3333:4444:5555:6666:7777:fffff:", "1111:2222:3333::fffff", "::/16", "::01234",
    "':10.0.0.1", "-1", "02001:0000:1234:0000:0000:C1C0:ABCD:0876", "2001:0::b.0", "1.2.3.4::5555",
    "11112222:3333:4444:5555:6666:7777:8888", "1111", "0x1111", "1111:2222:", "1111:2222:1.2.3.4",
    "1111:2222:3333", "1111:2222:3333:4444:5555:6666::1.2.3.4", "1111:2222:3333:4444:5555:6666:7777:8888:",
    "1111:2222:::", "1111::5555:", "1111::3333::5555:6666:1.2.3.4", "12345::6:7:8", "1::0001.2.3.4",
    "1::1.2.256.4", "1::1.2.3.256", "1::1.2::1", "1::1.2.3.4::1", "1::1.", "1::1.2", "1::1.2.3",
    "1::1.2.3.", "1::1a.2.3.4", "1::2::3", "2001:0000:1234: 0000:0000:C1C0:ABCD:0876",
    "2001:0000:1234:0000:0000:C1C0:ABCD:0876  0", "2001:1:1:1:1:1:255Z255X255Y255", ":", ":1111::",
    "::-1", "::12345678", "::0x80000000", "::.", "XXXX:XXXX:XXXX:XXXX:XXXX:XXXX:1.2.3.4",
    "[::1]:080", "[::1]:800000000080", "[ 3ffe:2a00:100:7031::1]:8080", "[3ffe:2a00:100:7031::1 ]:8080",
    "[3ffe:2a00:100:7031::1].8080", "[1080::8:800:200C:417A]!8080", "[::FFFF:129.144.52.38]:-80",
    "[::FFFF:129.144.52.38%-8]:80", "[ff01::8:800:200C:417A%4294967296]:8080", "[ff01::8:800:200C:417A%1",
    "[ff01::8:800:200C:417A%0x1000]:8080", "[ff01::8:800:200C:417A/16]:8080", "[::1]%1", "[::1]:0",
    "[::1]:", "::1%", "::1%01", "1.2.3.4::",
]


@pytest.mark.parametrize("text, addr, scope, port", IPV6_OK)
def test_string_to_address_ipv6_accepts(text, addr, scope, port):
    assert string_to_address(text, AF_INET6) == sin6(addr, port, scope)


@pytest.mark.parametrize("text", IPV6_BAD)
def test_string_to_address_ipv6_rejects(text):
    assert wsa_code(string_to_address, text, AF_INET6) == WSAEINVAL


def test_string_to_address_arguments():
    assert wsa_code(string_to_address, "1.2.3.4", 0) == WSAEINVAL        # AF_UNSPEC
    assert wsa_code(string_to_address, "1.2.3.4", 2 + 0x100) == WSAEINVAL
    assert wsa_code(string_to_address, None, AF_INET) == WSAEINVAL       # NULL string
    assert wsa_code(string_to_address, 1234, AF_INET) == WSAEFAULT
    assert string_to_address(b"1.2.3.4:80", AF_INET) == sin("1.2.3.4", 80)   # the A variant
    assert string_to_address("1.2.3.4\0junk", AF_INET) == sin("1.2.3.4")     # a C string ends at NUL


# ---- WSAAddressToString ---------------------------------------------------------------------
IPV4_TEXT = [("0.0.0.0", 0, "0.0.0.0"), ("255.255.255.255", 0, "255.255.255.255"),
             ("0.0.0.0", 65535, "0.0.0.0:65535"), ("255.255.255.255", 65535, "255.255.255.255:65535")]


@pytest.mark.parametrize("addr, port, text", IPV4_TEXT)
def test_address_to_string_ipv4(addr, port, text):
    assert address_to_string(sin(addr, port)) == text


# RtlIpv6AddressToString: each string is both the expected output and (read by ipaddress) the input.
RTL_IPV6_TEXT = [
    "::", "::13.1.68.3", "::123.123.123.123", "::ffff", "::0.1.0.0", "::ffff:13.1.68.3", "::feff:d01:4403",
    "::fffe:d01:4403", "::100:d01:4403", "::1:d01:4403", "::1:0:d01:4403", "::fffe:0:d01:4403",
    "::ffff:0:4403", "::ffff:0.1.0.0", "::ffff:13.1.0.0", "::ffff:0:0", "::ffff:0:ffff", "::ffff:0:0.1.0.0",
    "::ffff:0:13.1.68.3", "::ffff:ffff:d01:4403", "::ffff:0:0:d01:4403", "::ffff:255.255.255.255",
    "::5efe:0.0.0.0", "::5efe:129.144.52.38", "1111:2222:3333:4444:0:5efe:129.144.52.38",
    "1111:2222:3333::5efe:129.144.52.38", "1111::5efe:129.144.52.38", "::300:5efe:8190:3426",
    "::200:5efe:129.144.52.38", "::100:5efe:8190:3426", "::1", "::2", "0:1:2:3:4:5:6:7",
    "1080::8:800:200c:417a", "1111:2222:3333:4444:5555:6666::", "1111:2222:3333:4444:5555:6666:0:8888",
    "1111:2222:3333:4444:5555::", "1111:2222:3333:4444:5555:0:7b7b:7b7b", "1111:2222:3333:4444:5555::8888",
    "1111::", "1111::7b7b:7b7b", "1111:0:3333:4444:5555:6666:7b7b:7b7b", "1111::4444:5555:6666:7777:8888",
    "1:2:3:4:5:6:102:304", "1:2:3:4:5:6::", "2001:0:1234::c1c0:abcd:876", "2001:db8::1428:57ab",
    "2001:db8:85a3::8a2e:370:7334", "3ffe:b00::1:0:0:a", "::a:b:c:d:e", "2001::ffd3",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "1111:2222:3333:4444:5555:6666:7777:1",
]


@pytest.mark.parametrize("text", RTL_IPV6_TEXT)
def test_address_to_string_ipv6_rtl_table(text):
    assert address_to_string(sin6(text)) == text


RTL_IPV6_EX_TEXT = [  # (address, scope, port, text)  -- RtlIpv6AddressToStringEx
    ("::13.1.68.3", 1, 0, "::13.1.68.3%1"),
    ("::13.1.68.3", 4294949819, 65518, "[::13.1.68.3%4294949819]:65518"),
    ("::13.1.68.3", 0, 256, "[::13.1.68.3]:256"),
    ("::1:d01:4403", 4294949819, 256, "[::1:d01:4403%4294949819]:256"),
    ("1111:2222:3333:4444:0:5efe:129.144.52.38", 1, 0, "1111:2222:3333:4444:0:5efe:129.144.52.38%1"),
    ("::1", 4294949819, 0, "::1%4294949819"), ("1111::", 0, 256, "[1111::]:256"),
    ("2001::ffd3", 4294949819, 65518, "[2001::ffd3%4294949819]:65518"),
]


@pytest.mark.parametrize("addr, scope, port, text", RTL_IPV6_EX_TEXT)
def test_address_to_string_ipv6_scope_and_port(addr, scope, port, text):
    assert address_to_string(sin6(addr, port, scope)) == text


def test_address_to_string_ignores_flowinfo_and_trailing_bytes():
    assert address_to_string(sin6("::1", flowinfo=0x12345)) == "::1"
    assert address_to_string(sin("1.2.3.4", 80) + bytes(112)) == "1.2.3.4:80"   # a SOCKADDR_STORAGE


def test_address_to_string_errors():
    assert wsa_code(address_to_string, None) == WSAEINVAL            # NULL lpsaAddress
    assert wsa_code(address_to_string, b"") == WSAEINVAL
    assert wsa_code(address_to_string, sin("1.2.3.4")[:15]) == WSAEINVAL
    assert wsa_code(address_to_string, sin6("::1")[:27]) == WSAEINVAL
    assert wsa_code(address_to_string, b"\x01\x00" + bytes(14)) == WSAEINVAL   # AF_UNIX
    assert wsa_code(address_to_string, "1.2.3.4") == WSAEFAULT
    assert wsa_code(address_to_string, 16) == WSAEFAULT


# ---- properties -----------------------------------------------------------------------------
FAMILIES = st.sampled_from([AF_INET, AF_INET6, 0, 1, 17, -1, 2**40])
ADDR_CHARS = st.text(alphabet="0123456789abcdefABCDEFxX.:[]% \t-+\0", max_size=48)


def _only_wsa_errors(fn, *args):
    try:
        fn(*args)
    except WSAError as e:
        assert e.winerror in (WSAEINVAL, WSAEFAULT)


@given(st.one_of(st.text(max_size=64), ADDR_CHARS), FAMILIES)
@settings(max_examples=600)
def test_property_string_to_address_fails_only_with_wsa_errors(text, family):
    _only_wsa_errors(string_to_address, text, family)


@given(st.one_of(st.binary(max_size=40),
                 st.tuples(st.sampled_from([AF_INET, AF_INET6, 0, 1]), st.binary(max_size=40))
                 .map(lambda t: struct.pack("<H", t[0]) + t[1])))
@settings(max_examples=600)
def test_property_address_to_string_fails_only_with_wsa_errors(raw):
    _only_wsa_errors(address_to_string, raw)


PORTS = st.one_of(st.just(0), st.integers(1, 65535))
WORDS = st.lists(st.one_of(st.just(0), st.just(0xFFFF), st.just(0x5EFE), st.just(0x200),
                           st.integers(0, 0xFFFF)), min_size=8, max_size=8)


@given(st.binary(min_size=4, max_size=4), PORTS)
def test_property_ipv4_round_trip(addr, port):
    raw = sin(str(ipaddress.IPv4Address(addr)), port)
    text = address_to_string(raw)
    assert string_to_address(text, AF_INET) == raw
    assert address_to_string(string_to_address(text, AF_INET)) == text


@given(WORDS, PORTS, st.one_of(st.just(0), st.integers(0, 0xFFFFFFFF)), st.integers(0, 0xFFFFF))
def test_property_ipv6_round_trip(words, port, scope, flowinfo):
    addr = str(ipaddress.IPv6Address(b"".join(w.to_bytes(2, "big") for w in words)))
    raw = sin6(addr, port, scope, flowinfo)
    text = address_to_string(raw)
    assert string_to_address(text, AF_INET6) == sin6(addr, port, scope)   # flowinfo is not printed
    assert address_to_string(string_to_address(text, AF_INET6)) == text
    # an independent reader agrees on the address part
    bare = text[1:text.index("]")] if text.startswith("[") else text
    assert ipaddress.IPv6Address(bare.split("%")[0]) == ipaddress.IPv6Address(addr)


@given(WORDS)
def test_property_ipv6_reads_python_forms(words):
    ip = ipaddress.IPv6Address(b"".join(w.to_bytes(2, "big") for w in words))
    for form in (ip.compressed, ip.exploded):
        assert string_to_address(form, AF_INET6) == sin6(str(ip))


@st.composite
def ipv4_numeric_forms(draw):
    """A random inet_aton-style spelling of an address, with the value it must parse to."""
    n = draw(st.integers(1, 4))
    limits = {1: [0xFFFFFFFF], 2: [0xFF, 0xFFFFFF], 3: [0xFF, 0xFF, 0xFFFF], 4: [0xFF] * 4}[n]
    values = [draw(st.integers(0, lim)) for lim in limits]
    spell = [draw(st.sampled_from(["{:d}", "0{:o}", "0x{:x}", "0X{:X}"])).format(v) for v in values]
    value = 0
    for v, lim in zip(values, limits):
        value = value * (lim + 1) + v
    return ".".join(spell), value


@given(ipv4_numeric_forms(), PORTS)
def test_property_ipv4_numeric_forms(form, port):
    text, value = form
    if port:
        text += f":{port}"
    assert string_to_address(text, AF_INET) == sin(str(ipaddress.IPv4Address(value)), port)
