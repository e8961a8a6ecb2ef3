"""libwsemu's text-address calls: WSAAddressToString/WSAStringToAddress (A and W, over ws2),
and Windows' inet_pton, inet_ntop and inet_addr (over wsemu.addrstr, the Rtl formats).
inet_ntoa is C (its per-thread buffer)."""
from __future__ import annotations

from wsemu import abi as W
from wsemu import addrstr, sockaddr, ws2
from wsemu.cface import _call, _in, ffi, protocol_info
from wsemu.errors import WSAError

_ffi = ffi()
_WINDOWS_SOCKADDR_MAX = max(sockaddr.SIZES.values())


def _text_in(pointer, wide: bool) -> str | None:
    """A NUL-terminated C string (WCHAR when ``wide``); NULL: None."""
    if pointer == _ffi.NULL:
        return None
    if wide:
        return _ffi.string(_ffi.cast("char16_t *", pointer))
    return _ffi.string(pointer).decode("latin-1")


def _text_out(out, text: str, wide: bool) -> None:
    raw = text.encode("utf-16-le") + b"\0\0" if wide else text.encode("latin-1") + b"\0"
    _ffi.memmove(out, raw, len(raw))


def _sockaddr_in(addr, length: int) -> bytes | None:
    """The caller's SOCKADDR, read no further than its family's size (a larger
    dwAddressLength must not read past the caller's structure)."""
    if addr == _ffi.NULL:
        return None
    if length < 2:
        raise WSAError(W.WSAEFAULT)
    family = int.from_bytes(_in(addr, 2), "little")
    return _in(addr, min(length, sockaddr.SIZES.get(family, _WINDOWS_SOCKADDR_MAX)))


# ---------------------------------------------------------------------------------------
# WSAAddressToString / WSAStringToAddress
# ---------------------------------------------------------------------------------------
def _address_to_string(addr, length: int, info: bytes | None, out, out_len, wide: bool) -> int:
    if out_len == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    room = out_len[0] if out != _ffi.NULL else 0        # a NULL buffer holds nothing (item 183)
    try:
        text = ws2.WSAAddressToStringW(_sockaddr_in(addr, length), info, room)
    except WSAError as err:
        if getattr(err, "needed", None) is not None:
            out_len[0] = err.needed
        raise
    _text_out(out, text, wide)
    out_len[0] = len(text) + 1
    return 0


@_call()
def WSAAddressToStringW(addr, length: int, info, out, out_len) -> int:
    return _address_to_string(addr, length, protocol_info.w_in(info), out, out_len, wide=True)


@_call()
def WSAAddressToStringA(addr, length: int, info, out, out_len) -> int:
    return _address_to_string(addr, length, protocol_info.a_in(info), out, out_len, wide=False)


def _string_to_address(text, family: int, info: bytes | None, out, out_len, wide: bool) -> int:
    if out_len == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    room = out_len[0] if out != _ffi.NULL else 0
    if room >= sockaddr.SIZES.get(family, room + 1):
        # Windows clears the structure first: a failed parse leaves the family 0 (item 188).
        _ffi.memmove(out, bytes(sockaddr.SIZES[family]), sockaddr.SIZES[family])
    try:
        address = ws2.WSAStringToAddressW(_text_in(text, wide), family, info, room)
    except WSAError as err:
        if getattr(err, "needed", None) is not None:
            out_len[0] = err.needed
        raise
    raw = sockaddr.encode(family, address)
    _ffi.memmove(out, raw, len(raw))
    out_len[0] = len(raw)
    return 0


@_call()
def WSAStringToAddressW(text, family: int, info, out, out_len) -> int:
    return _string_to_address(text, family, protocol_info.w_in(info), out, out_len, wide=True)


@_call()
def WSAStringToAddressA(text, family: int, info, out, out_len) -> int:
    return _string_to_address(text, family, protocol_info.a_in(info), out, out_len, wide=False)


# ---------------------------------------------------------------------------------------
# inet_pton / inet_ntop / inet_addr
# ---------------------------------------------------------------------------------------
def _strict_ipv4(text: str) -> bytes | None:
    """RtlIpv4StringToAddress(Strict=TRUE): four decimal parts, no leading zeros."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0")
                                  and int(p) <= 255 for p in parts):
        return None
    return bytes(int(p) for p in parts)


def _plain_ipv6(text: str) -> bytes | None:
    """RtlIpv6StringToAddress up to the end of the text: no brackets, scope or port."""
    if "[" in text or "%" in text:
        return None
    try:
        return addrstr.parse_ipv6(text)[0]
    except WSAError:
        return None


@_call(failure=-1)
def inet_pton(family: int, text, out) -> int:
    """1: parsed into ``out``; 0: not an address of ``family``; -1: the error (WSAEAFNOSUPPORT,
    WSAEFAULT for a NULL pointer)."""
    if family not in (W.AF_INET, W.AF_INET6):
        raise WSAError(W.WSAEAFNOSUPPORT)
    if text == _ffi.NULL or out == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    parse = _strict_ipv4 if family == W.AF_INET else _plain_ipv6
    raw = parse(_ffi.string(text).decode("latin-1"))
    if raw is None:
        return 0
    _ffi.memmove(out, raw, len(raw))
    return 1


@_call(failure=_ffi.NULL)
def inet_ntop(family: int, addr, out, size: int):
    """The text in ``out``; NULL with WSAEAFNOSUPPORT, or ERROR_INVALID_PARAMETER for a NULL,
    empty or short buffer (MS docs)."""
    if family not in (W.AF_INET, W.AF_INET6):
        raise WSAError(W.WSAEAFNOSUPPORT)
    if addr == _ffi.NULL:
        raise WSAError(W.WSAEFAULT)
    if out == _ffi.NULL or size == 0:
        raise WSAError(W.WSA_INVALID_PARAMETER)
    if family == W.AF_INET:
        text = ".".join(str(b) for b in _in(addr, 4))
    else:
        text = addrstr.ipv6_to_text(_in(addr, 16))
    if size < len(text) + 1:
        raise WSAError(W.WSA_INVALID_PARAMETER)
    _text_out(out, text, wide=False)
    return out


@_call(failure=W.INADDR_NONE)
def inet_addr(text) -> int:
    """The address in network order, or INADDR_NONE. Windows reads the Rtl non-strict form
    (octal, hex, 1 to 4 parts) up to the first blank, so "1.2.3.4 junk" is 1.2.3.4."""
    if text == _ffi.NULL:
        return W.INADDR_NONE
    whole = _ffi.string(text).decode("latin-1")
    if not whole or whole[0].isspace():
        return W.INADDR_NONE
    head = whole.split(None, 1)[0]
    if ":" in head:                                   # (a port is no part of an address here)
        return W.INADDR_NONE
    try:
        return int.from_bytes(addrstr.parse_ipv4(head)[0], "little")
    except WSAError:
        return W.INADDR_NONE
