"""WSAAddressToString / WSAStringToAddress on Windows SOCKADDR bytes (pure; no sockets).

The Windows rules this module follows (CONFORMANCE.md §6K):

* Output: IPv4 is ``a.b.c.d`` plus ``:port`` only when the port is non-zero. IPv6 is
  RtlIpv6AddressToString's form: lower-case hex, the *leftmost longest* run of two or more
  zero words becomes ``::`` (a lone zero word stays ``0``), a dotted-quad tail for
  IPv4-compatible (``::a.b.c.d``), -mapped (``::ffff:a.b.c.d``), -translated
  (``::ffff:0:a.b.c.d``) and ISATAP (``…:0:5efe:a.b.c.d``) addresses, then ``%scope`` when
  the scope id is non-zero, and ``[…]:port`` around it all when the port is non-zero.
* Input (WSAStringToAddress = RtlIpv4StringToAddressEx with Strict=FALSE, or
  RtlIpv6StringToAddressEx): the whole string must be consumed. IPv4 takes 1 to 4 parts,
  each decimal, octal (``0`` prefix) or hex (``0x``), the last part filling the remaining
  bytes; the port after ``:`` uses the same number syntax and must be 1..65535. IPv6 takes
  ``addr``, ``addr%scope``, ``[addr]``, ``[addr%scope]`` and ``[…]:port``; the scope is
  plain decimal.
* Errors: anything unparsable or an unknown family is WSAEINVAL; an output buffer that is
  too small is WSAEFAULT, which the caller decides with ``needed_chars``/``sockaddr_size``.
"""
from __future__ import annotations

from wsemu.abi import AF_INET, AF_INET6, WSAEFAULT, WSAEINVAL
from wsemu.errors import WSAError
from wsemu.sockaddr import SOCKADDR_IN6_SIZE, SOCKADDR_IN_SIZE

_SIZES = {AF_INET: SOCKADDR_IN_SIZE, AF_INET6: SOCKADDR_IN6_SIZE}
# Only ASCII digits count: Rtl* parse UTF-16 code units against an ASCII table, so str.isdigit
# (which accepts e.g. Arabic-Indic digits) would be too lenient.
_HEX = {c: int(c, 16) for c in "0123456789abcdefABCDEF"}
_DEC = frozenset("0123456789")
# IPv4 value limits per part count: the last part fills the remaining bytes.
_LIMITS = {1: (0xFFFFFFFF,), 2: (0xFF, 0xFFFFFF), 3: (0xFF, 0xFF, 0xFFFF), 4: (0xFF,) * 4}
_SHIFTS = {1: (0,), 2: (24, 0), 3: (24, 16, 0), 4: (24, 16, 8, 0)}
# words 4-5 of ::a.b.c.d (compatible), ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated)
_IPV4_PREFIXES = ((0, 0), (0, 0xFFFF), (0xFFFF, 0))


def sockaddr_size(family: int) -> int:
    """Bytes of the SOCKADDR WSAStringToAddress writes for ``family`` (for its length check)."""
    try:
        return _SIZES[family]
    except (KeyError, TypeError):
        raise WSAError(WSAEINVAL) from None


def needed_chars(text: str) -> int:
    """Characters (A) or WCHARs (W) WSAAddressToString needs for ``text``, NUL included."""
    return len(text) + 1


# ---- SOCKADDR bytes -> text ----------------------------------------------------------------
def _ipv6_has_ipv4_tail(w: list[int]) -> bool:
    if w[5] == 0x5EFE and w[4] in (0, 0x0200):  # ISATAP: any prefix, even 0.0.0.0
        return True
    # compatible / mapped / translated, but never when the upper half of the IPv4 part is
    # zero: that keeps "::1" and "::ffff:0:4403" in hex.
    return w[:4] == [0, 0, 0, 0] and w[6] != 0 and (w[4], w[5]) in _IPV4_PREFIXES


def ipv6_to_text(addr: bytes) -> str:
    """RtlIpv6AddressToString for 16 address bytes."""
    w = [int.from_bytes(addr[i:i + 2], "big") for i in range(0, 16, 2)]
    tail = _ipv6_has_ipv4_tail(w)
    hexw = w[:6] if tail else w
    best_at, best_len, i = -1, 1, 0  # a run must beat length 1 to be compressed
    while i < len(hexw):
        j = i
        while j < len(hexw) and hexw[j] == 0:
            j += 1
        if j - i > best_len:
            best_at, best_len = i, j - i
        i = j + 1
    if best_at < 0:
        text = ":".join(f"{x:x}" for x in hexw)
    else:
        text = (":".join(f"{x:x}" for x in hexw[:best_at]) + "::"
                + ":".join(f"{x:x}" for x in hexw[best_at + best_len:]))
    if tail:
        text += ("" if text.endswith(":") else ":") + ".".join(str(b) for b in addr[12:])
    return text


def address_to_string(raw: bytes | bytearray | memoryview) -> str:
    """WSAAddressToString: the text Windows prints for a Windows SOCKADDR."""
    if raw is None:
        raise WSAError(WSAEINVAL)  # NULL lpsaAddress is an invalid parameter (MSDN)
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise WSAError(WSAEFAULT)  # not memory we can read as a SOCKADDR
    raw = bytes(raw)
    if len(raw) < 2:
        raise WSAError(WSAEINVAL)
    family = int.from_bytes(raw[:2], "little")
    size = _SIZES.get(family)
    if size is None or len(raw) < size:
        raise WSAError(WSAEINVAL)  # "not a valid socket address" / unsupported family
    port = int.from_bytes(raw[2:4], "big")
    if family == AF_INET:
        text = ".".join(str(b) for b in raw[4:8])
        return f"{text}:{port}" if port else text
    text = ipv6_to_text(raw[8:24])
    scope = int.from_bytes(raw[24:28], "little")
    if scope:
        text += f"%{scope}"
    return f"[{text}]:{port}" if port else text


# ---- text -> SOCKADDR bytes ----------------------------------------------------------------
def _number(s: str, i: int, strict: bool) -> tuple[int, int]:
    """One Rtl numeric component at s[i:]: (value, index after it). Raises WSAEINVAL.

    Non-strict: ``0x`` hex, ``0``+digit octal, else decimal. Strict (scope ids): decimal
    only. Overflow is detected the way Windows does it, by the 32-bit value dropping below
    the previous one, so "0x123456789" wraps to 0x23456789 and is accepted.
    """
    base = 10
    if s.startswith("0", i) and i + 1 < len(s):
        if s[i + 1] in "xX":
            base, i = 16, i + 2
        elif s[i + 1] in _DEC:
            base, i = 8, i + 1
        if base != 10 and strict:
            raise WSAError(WSAEINVAL)
    value, start = 0, i
    while i < len(s):
        d = _HEX.get(s[i])
        if d is None or d >= base:
            break
        nxt = (value * base + d) & 0xFFFFFFFF
        if nxt < value:
            raise WSAError(WSAEINVAL)
        value, i = nxt, i + 1
    if i == start:
        raise WSAError(WSAEINVAL)
    return value, i


def _port(s: str) -> int:
    value, end = _number(s, 0, strict=False)
    if end != len(s) or not 0 < value <= 0xFFFF:
        raise WSAError(WSAEINVAL)
    return value


def parse_ipv4(text: str) -> tuple[bytes, int]:
    """RtlIpv4StringToAddressEx(Strict=FALSE): (4 address bytes, port or 0)."""
    parts, i = [], 0
    while True:
        value, i = _number(text, i, strict=False)
        parts.append(value)
        if not text.startswith(".", i):
            break
        if len(parts) == 4:
            raise WSAError(WSAEINVAL)
        i += 1
    if any(v > limit for v, limit in zip(parts, _LIMITS[len(parts)])):
        raise WSAError(WSAEINVAL)
    address = sum(v << shift for v, shift in zip(parts, _SHIFTS[len(parts)]))
    port = 0
    if text.startswith(":", i):
        port, i = _port(text[i + 1:]), len(text)
    if i != len(text):
        raise WSAError(WSAEINVAL)
    return address.to_bytes(4, "big"), port


def _ipv4_tail(group: str) -> bytes:
    # Inside IPv6 the dotted quad is strict: four decimal parts of at most three digits.
    octets = group.split(".")
    if len(octets) != 4 or not all(0 < len(o) <= 3 and set(o) <= _DEC and int(o) <= 255
                                   for o in octets):
        raise WSAError(WSAEINVAL)
    return bytes(int(o) for o in octets)


def _ipv6_body(text: str) -> bytes:
    head, gap, tail = text.partition("::")
    if "::" in tail:
        raise WSAError(WSAEINVAL)
    groups = [g.split(":") if g else [] for g in (head, tail)]
    if any(g == "" for part in groups for g in part):
        raise WSAError(WSAEINVAL)  # a stray ':' (":1::", "1:::", "1:2:")
    last = groups[1] if gap else groups[0]  # only the final group may be a dotted quad
    v4 = _ipv4_tail(last.pop()) if last and "." in last[-1] else b""
    words = []
    for part in groups:
        for g in part:
            if not 0 < len(g) <= 4 or any(c not in _HEX for c in g):
                raise WSAError(WSAEINVAL)
            words.append(int(g, 16).to_bytes(2, "big"))
    head_bytes = b"".join(words[:len(groups[0])])
    tail_bytes = b"".join(words[len(groups[0]):]) + v4
    missing = 16 - len(head_bytes) - len(tail_bytes)
    if (gap and missing < 2) or (not gap and missing):  # "::" stands for one zero word or more
        raise WSAError(WSAEINVAL)
    return head_bytes + bytes(missing) + tail_bytes


def parse_ipv6(text: str) -> tuple[bytes, int, int]:
    """RtlIpv6StringToAddressEx: (16 address bytes, scope id, port or 0)."""
    port = 0
    if text.startswith("["):
        inner, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise WSAError(WSAEINVAL)
        if rest:
            if not rest.startswith(":"):
                raise WSAError(WSAEINVAL)
            port = _port(rest[1:])
    else:
        inner = text
    body, pct, scope_text = inner.partition("%")
    scope = 0
    if pct:
        scope, end = _number(scope_text, 0, strict=True)
        if end != len(scope_text):
            raise WSAError(WSAEINVAL)
    return _ipv6_body(body), scope, port


def string_to_address(text: str, family: int) -> bytes:
    """WSAStringToAddress: the Windows SOCKADDR bytes (16 for AF_INET, 28 for AF_INET6)."""
    if text is None:
        raise WSAError(WSAEINVAL)  # NULL AddressString
    if isinstance(text, (bytes, bytearray)):  # the A variant; non-ASCII never parses anyway
        text = bytes(text).decode("latin-1")
    if not isinstance(text, str):
        raise WSAError(WSAEFAULT)
    text = text.split("\0", 1)[0]  # the API sees a C string
    if family == AF_INET:
        address, port = parse_ipv4(text)
        return (AF_INET.to_bytes(2, "little") + port.to_bytes(2, "big") + address + bytes(8))
    if family == AF_INET6:
        address, scope, port = parse_ipv6(text)
        return (AF_INET6.to_bytes(2, "little") + port.to_bytes(2, "big") + bytes(4) + address
                + scope.to_bytes(4, "little"))
    raise WSAError(WSAEINVAL)
