"""The broker wire protocol: frames, message types and their descriptor counts. No I/O.

Transport: an AF_UNIX SOCK_SEQPACKET connection. Every message is one packet, delivered
whole with its descriptors (SCM_RIGHTS) and the sender's kernel-verified credentials
(SCM_CREDENTIALS); a client cannot half-send a frame, and the broker never trusts a pid or
uid written in a payload.

A frame is an 8-byte header and a payload, little-endian::

    magic u16 = 0x5357 ("WS")   version u8 = 4   type u8   length u32 (header + payload)

``length`` must equal the packet's size and stay within MAX_FRAME. Each message type has a
fixed payload layout (``_LAYOUTS``) — or, for the status report, bounded UTF-8 JSON text —
and the exact numbers of descriptors it may carry (``_FDS``).

The same frames travel between processes: a Delivery goes from the duplicating process
straight into the target's inbox (wsemu.spi.inbox), never through the broker. ``decode``
checks all of it and reports which received descriptors the caller must close; ``encode``
builds frames.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import ClassVar

MAGIC = 0x5357
VERSION = 4
LEASE_BATCH = 32                # tokens a Leased reply carries (unused slots are 0)
HEADER = struct.Struct("<HBBI")
MAX_FRAME = 64 * 1024
MAX_REQUEST = 2048              # requests are a few dozen bytes; anything this long is hostile
MAX_FDS = 2                     # the most any message carries (socket + its state's arena)


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
class Lease(Message):
    """client → broker: reserve tokens for deposits this connection is about to make."""
    TYPE: ClassVar[int] = 11


@dataclass(slots=True)
class Leased(Message):
    """broker → client: up to LEASE_BATCH fresh tokens (32-bit, non-zero; 0 fills the rest)."""
    TYPE: ClassVar[int] = 12
    tokens: tuple[int, ...] = ()


@dataclass(slots=True)
class Deposit(Message):
    """client → broker, no reply: hold this socket (fds[0]) for a process, with its shared
    state (slot ``slot`` of the arena fds[1]; wsemu.spi.sharedstate) and the slot hold the
    deposit carries, under a token this connection leased. One-way, so a hand-off costs the source
    no round trip; every error it could meet is checked when the token is leased (the cap)
    or by the source itself (the target process), and a deposit the broker still refuses
    only makes the claim fail, as a forged token would."""
    TYPE: ClassVar[int] = 1
    token: int = 0
    target_pid: int = 0
    slot: int = 0


@dataclass(slots=True)
class Delivery(Message):
    """source → target's inbox (wsemu.spi.inbox): this socket (fds[0]), for the claim that will
    present this token; its shared state is slot ``slot`` of arena ``arena`` (the arena's
    memfd inode), whose memfd is fds[1] the first time a connection names it and absent after."""
    TYPE: ClassVar[int] = 13
    token: int = 0
    slot: int = 0
    arena: int = 0


@dataclass(slots=True)
class Register(Message):
    """client → broker, no reply: this process made the arena fds[0] (wsemu.spi.sharedstate).
    Its slots' ledgers say which processes hold which shared sockets and which deliveries
    are in flight to whom: the broker reads them for its status, and gives back what a
    process that died held. Sent once per arena and broker: nothing per hand-off."""
    TYPE: ClassVar[int] = 15


@dataclass(slots=True)
class Claim(Message):
    """client → broker: the socket deposited for me under this token."""
    TYPE: ClassVar[int] = 3
    token: int = 0


@dataclass(slots=True)
class Claimed(Message):
    """broker → client: the socket (fds[0]) and its shared state (slot of the arena fds[1])."""
    TYPE: ClassVar[int] = 4
    slot: int = 0


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


# The payload layout of each message type (None: variable — the status report's JSON
# text), and the descriptors it carries.
_TYPES: dict[int, type[Message]] = {cls.TYPE: cls for cls in
                                    (Deposit, Claim, Claimed, Status, StatusReport,
                                     Ping, Pong, Error, Lease, Leased, Delivery, Register)}
_LAYOUTS: dict[type[Message], tuple[str, tuple[str, ...]] | None] = {
    Deposit: ("III", ("token", "target_pid", "slot")),
    Lease: ("", ()),
    Delivery: ("IIQ", ("token", "slot", "arena")),
    Leased: (f"{LEASE_BATCH}I", ("tokens",)),
    Claim: ("I", ("token",)),
    Claimed: ("I", ("slot",)),
    Status: ("", ()),
    StatusReport: None,
    Register: ("", ()),
    Ping: ("", ()),
    Pong: ("I", ("broker_pid",)),
    Error: ("I", ("code",)),
}
# The descriptor counts each type may carry (a Delivery names an arena passed before: no fd).
_FDS: dict[type[Message], tuple[int, ...]] = {Deposit: (2,), Claimed: (2,), Delivery: (1, 2), Register: (1,)}
# Whole frames (header + payload) as one precompiled struct per fixed-layout type.
_FRAMES: dict[type[Message], tuple[struct.Struct, tuple[str, ...]]] = {
    cls: (struct.Struct("<HBBI" + layout[0]), layout[1])
    for cls, layout in _LAYOUTS.items() if layout is not None
}

REQUESTS = frozenset((Deposit, Claim, Status, Ping, Lease, Register))
INBOX = frozenset((Delivery,))   # what an inbox accepts
REPLIES = frozenset((Claimed, StatusReport, Pong, Error, Leased))


def fds_expected(cls: type[Message]) -> int:
    """The descriptors a message of this type carries in full."""
    return max(_FDS.get(cls, (0,)))


def fds_allowed(cls: type[Message]) -> tuple[int, ...]:
    return _FDS.get(cls, (0,))


# ---------------------------------------------------------------------------------------
# Encoding and decoding
# ---------------------------------------------------------------------------------------
def encode(message: Message) -> bytes:
    """One frame for ``message`` (its descriptors travel beside it, as SCM_RIGHTS)."""
    cls = type(message)
    if len(message.fds) not in fds_allowed(cls):
        raise ValueError(f"{cls.__name__} carries {fds_expected(cls)} descriptors, not {len(message.fds)}")
    frame = _FRAMES.get(cls)
    if frame is not None:
        shape, names = frame
        if cls is Leased:
            tokens = tuple(message.tokens)[:LEASE_BATCH]
            return shape.pack(MAGIC, VERSION, cls.TYPE, shape.size, *(tokens + (0,) * (LEASE_BATCH - len(tokens))))
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
    if len(fds) not in fds_allowed(cls):
        raise ProtocolError(f"{cls.__name__} must carry {fds_expected(cls)} descriptors, got {len(fds)}",
                            tuple(fds))
    frame = _FRAMES.get(cls)
    if frame is not None:
        if length != frame[0].size:
            raise ProtocolError(f"{cls.__name__} frame must be {frame[0].size} bytes", tuple(fds))
        values = frame[0].unpack(packet)[4:]
        if cls is Leased:
            return cls(tuple(fds), tuple(token for token in values if token))
        return cls(tuple(fds), *values)
    try:
        report = json.loads(packet[HEADER.size:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # (RecursionError: a deeply nested document — "[[[[..." — within MAX_FRAME)
        raise ProtocolError("malformed report", tuple(fds)) from None
    if not isinstance(report, dict):
        raise ProtocolError("malformed report", tuple(fds))
    return cls(tuple(fds), report)


# The hand-off's frame is built and read in C (wsemu_inbox_send, wsemu_inbox_drain in
# native/src/wsemu_native.c), which must agree with this module: wsemu.spi.inbox checks the
# constants, the tests the frames.
DELIVERY_SIZE = _FRAMES[Delivery][0].size


def _ancillary_space() -> int:
    import socket
    return socket.CMSG_SPACE(MAX_FDS * 4) + socket.CMSG_SPACE(struct.calcsize("iII"))


# recvmsg's ancillary buffer: room for MAX_FDS descriptors and one credentials record, so the
# kernel itself drops (and closes) any descriptor beyond that.
ANCILLARY_SPACE = _ancillary_space()
