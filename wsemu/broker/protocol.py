"""The broker wire protocol: frames, message types and their descriptor counts. No I/O.

Transport: an AF_UNIX SOCK_SEQPACKET connection. Every message is one packet, delivered
whole with its descriptors (SCM_RIGHTS) and the sender's kernel-verified credentials
(SCM_CREDENTIALS); a client cannot half-send a frame, and the broker never trusts a pid or
uid written in a payload.

A frame is an 8-byte header and a payload, little-endian::

    magic u16 = 0x5357 ("WS")   version u8 = 1   type u8   length u32 (header + payload)

``length`` must equal the packet's size and stay within MAX_FRAME. Each message type has a
fixed payload layout (``_LAYOUTS``) — or, for the status report, a bounded UTF-8 JSON text —
and an exact number of descriptors (``_FDS``). ``decode`` checks all of it and reports which
received descriptors the caller must close; ``encode`` builds frames.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import ClassVar

MAGIC = 0x5357
VERSION = 1
HEADER = struct.Struct("<HBBI")
MAX_FRAME = 64 * 1024
MAX_REQUEST = 256               # every request is a few bytes; anything longer is hostile
MAX_FDS = 2                     # the most any message carries (socket + its shared state)


class ProtocolError(Exception):
    """A frame that breaks the protocol. ``fds`` are the received descriptors the caller must
    close (none of them is kept)."""

    def __init__(self, reason: str, fds: tuple[int, ...] = ()) -> None:
        super().__init__(reason)
        self.fds = fds


# ---------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class Message:
    TYPE: ClassVar[int] = 0
    fds: tuple[int, ...] = field(default=(), compare=False)


@dataclass(slots=True)
class Deposit(Message):
    """client → broker: hold this socket (fds[0]) and its shared state (fds[1]) for a process."""
    TYPE: ClassVar[int] = 1
    target_pid: int = 0


@dataclass(slots=True)
class Deposited(Message):
    """broker → client: the deposit's single-use token (32-bit, non-zero)."""
    TYPE: ClassVar[int] = 2
    token: int = 0


@dataclass(slots=True)
class Claim(Message):
    """client → broker: the socket deposited for me under this token."""
    TYPE: ClassVar[int] = 3
    token: int = 0


@dataclass(slots=True)
class Claimed(Message):
    """broker → client: the socket (fds[0]) and its shared state (fds[1])."""
    TYPE: ClassVar[int] = 4


@dataclass(slots=True)
class Release(Message):
    """client → broker (no reply): this process closed its last descriptor of a socket."""
    TYPE: ClassVar[int] = 5
    inode: int = 0


@dataclass(slots=True)
class Status(Message):
    """client → broker: what is outstanding."""
    TYPE: ClassVar[int] = 6


@dataclass(slots=True)
class StatusReport(Message):
    """broker → client: deposits and shared sockets, as a JSON object."""
    TYPE: ClassVar[int] = 7
    report: dict = field(default_factory=dict, compare=False)


@dataclass(slots=True)
class Ping(Message):
    TYPE: ClassVar[int] = 8


@dataclass(slots=True)
class Pong(Message):
    TYPE: ClassVar[int] = 9
    broker_pid: int = 0


@dataclass(slots=True)
class Error(Message):
    """broker → client: the request failed with this WSA error code."""
    TYPE: ClassVar[int] = 10
    code: int = 0


# The payload layout of each message type (None: the status report's JSON text), and the
# descriptors it carries.
_TYPES: dict[int, type[Message]] = {cls.TYPE: cls for cls in
                                    (Deposit, Deposited, Claim, Claimed, Release, Status,
                                     StatusReport, Ping, Pong, Error)}
_LAYOUTS: dict[type[Message], tuple[str, tuple[str, ...]] | None] = {
    Deposit: ("I", ("target_pid",)),
    Deposited: ("I", ("token",)),
    Claim: ("I", ("token",)),
    Claimed: ("", ()),
    Release: ("Q", ("inode",)),
    Status: ("", ()),
    StatusReport: None,
    Ping: ("", ()),
    Pong: ("I", ("broker_pid",)),
    Error: ("I", ("code",)),
}
_FDS: dict[type[Message], int] = {Deposit: 2, Claimed: 2}
# Whole frames (header + payload) as one precompiled struct per fixed-layout type.
_FRAMES: dict[type[Message], tuple[struct.Struct, tuple[str, ...]]] = {
    cls: (struct.Struct("<HBBI" + layout[0]), layout[1])
    for cls, layout in _LAYOUTS.items() if layout is not None
}

REQUESTS = frozenset((Deposit, Claim, Release, Status, Ping))
REPLIES = frozenset((Deposited, Claimed, StatusReport, Pong, Error))


def fds_expected(cls: type[Message]) -> int:
    return _FDS.get(cls, 0)


# ---------------------------------------------------------------------------------------
# Encoding and decoding
# ---------------------------------------------------------------------------------------
def encode(message: Message) -> bytes:
    """One frame for ``message`` (its descriptors travel beside it, as SCM_RIGHTS)."""
    cls = type(message)
    if len(message.fds) != _FDS.get(cls, 0):
        raise ValueError(f"{cls.__name__} carries {fds_expected(cls)} descriptors, not {len(message.fds)}")
    frame = _FRAMES.get(cls)
    if frame is not None:
        shape, names = frame
        return shape.pack(MAGIC, VERSION, cls.TYPE, shape.size, *[getattr(message, name) for name in names])
    payload = json.dumps(message.report, separators=(",", ":")).encode("utf-8")
    if HEADER.size + len(payload) > MAX_FRAME:
        raise ValueError(f"{cls.__name__} frame exceeds {MAX_FRAME} bytes")
    return HEADER.pack(MAGIC, VERSION, cls.TYPE, HEADER.size + len(payload)) + payload


def decode(packet: bytes, fds: tuple[int, ...] = (), *, expect: frozenset | None = None) -> Message:
    """The message in one received packet, with the descriptors that came with it.

    ``expect`` limits the acceptable message classes (requests on the broker side, replies on
    the client side). Any violation raises ProtocolError carrying every received descriptor,
    so that none is ever kept by accident.
    """
    if len(packet) < HEADER.size:
        raise ProtocolError("short frame", tuple(fds))
    magic, version, type_, length = HEADER.unpack_from(packet)
    if magic != MAGIC:
        raise ProtocolError("bad magic", tuple(fds))
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version}", tuple(fds))
    if length != len(packet) or length > MAX_FRAME:
        raise ProtocolError("length does not match the frame", tuple(fds))
    cls = _TYPES.get(type_)
    if cls is None or (expect is not None and cls not in expect):
        raise ProtocolError(f"unexpected message type {type_}", tuple(fds))
    if len(fds) != _FDS.get(cls, 0):
        raise ProtocolError(f"{cls.__name__} must carry {fds_expected(cls)} descriptors, got {len(fds)}",
                            tuple(fds))
    frame = _FRAMES.get(cls)
    if frame is not None:
        if length != frame[0].size:
            raise ProtocolError(f"{cls.__name__} frame must be {frame[0].size} bytes", tuple(fds))
        return cls(tuple(fds), *frame[0].unpack(packet)[4:])
    try:
        report = json.loads(packet[HEADER.size:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # (RecursionError: a deeply nested document — "[[[[..." — within MAX_FRAME)
        raise ProtocolError("malformed report", tuple(fds)) from None
    if not isinstance(report, dict):
        raise ProtocolError("malformed report", tuple(fds))
    return cls(tuple(fds), report)


def _ancillary_space() -> int:
    import socket
    return socket.CMSG_SPACE(MAX_FDS * 4) + socket.CMSG_SPACE(struct.calcsize("iII"))


# recvmsg's ancillary buffer: room for MAX_FDS descriptors and one credentials record, so the
# kernel itself drops (and closes) any descriptor beyond that.
ANCILLARY_SPACE = _ancillary_space()
