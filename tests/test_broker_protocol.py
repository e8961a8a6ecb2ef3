"""The broker wire protocol as a pure codec (wsemu.broker.protocol): no sockets, no broker.

Every message type round trips; every malformation is a ProtocolError that hands back *all*
the descriptors that came with the packet (the receiver closes them, so none is ever kept by
accident); and, over random input, decode either returns a message or raises ProtocolError
with exactly the descriptors given — never another exception. Descriptors here are plain
numbers: decode must never touch them.
"""
from __future__ import annotations

import json
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsemu.broker import protocol as P

FDS = (101, 102, 103)          # "received descriptors": decode only counts and returns them

SAMPLES: list[P.Message] = [
    P.Lease(),
    P.Leased(tokens=(1,)),
    P.Leased(tokens=tuple(range(1, P.LEASE_BATCH + 1))),
    P.Deposit(fds=(7, 8), token=1, target_pid=4242, slot=3),
    P.Deposit(fds=(7, 8), token=0x7FFFFFFF, target_pid=0xFFFFFFFF, slot=0xFFFFFFFF),
    P.Delivery(fds=(7, 8), token=0x80000001, slot=4095, arena=0xFFFFFFFFFFFFFFFF),
    P.Delivery(fds=(7,), token=0x80000002, slot=1, arena=12345),
    P.Claim(token=0x12345678),
    P.Claim(token=0xFFFFFFFF),
    P.Claimed(fds=(9, 10)),
    P.Claimed(fds=(9, 10), slot=77),
    P.Register(fds=(11,)),
    P.Status(),
    P.StatusReport(report={}),
    P.StatusReport(report={"broker_pid": 1, "deposits": [{"token": 5, "age_s": 0.5}],
                           "shared": [{"inode": 9, "holders": [1, 2]}], "text": "é ✓"}),
    P.Ping(),
    P.Pong(broker_pid=31337),
    P.Error(code=10022),
]
ALL_TYPES = {cls for cls in P._TYPES.values()}


def frame(type_: int, payload: bytes = b"", *, magic: int = P.MAGIC, version: int = P.VERSION,
          length: int | None = None) -> bytes:
    """A frame with any header fields (length defaults to the true size)."""
    size = P.HEADER.size + len(payload)
    return P.HEADER.pack(magic, version, type_, size if length is None else length) + payload


def minimal(cls: type[P.Message]) -> P.Message:
    """A valid message of ``cls`` with its default fields."""
    return cls(fds=(1, 2)[:P.fds_expected(cls)])


def refused(packet: bytes, fds: tuple[int, ...] = FDS, expect=None) -> P.ProtocolError:
    """decode must raise ProtocolError handing back exactly ``fds``."""
    with pytest.raises(P.ProtocolError) as info:
        P.decode(packet, fds, expect=expect)
    assert info.value.fds == tuple(fds), f"descriptors not all handed back: {info.value.fds} != {fds}"
    return info.value


# ---------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------
def test_samples_cover_every_message_type():
    assert {type(m) for m in SAMPLES} == ALL_TYPES
    sides = (P.REQUESTS, P.REPLIES, P.INBOX)
    assert P.REQUESTS | P.REPLIES | P.INBOX == ALL_TYPES
    assert sum(len(side) for side in sides) == len(ALL_TYPES)      # each type on one side only


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message):
    packet = P.encode(message)
    assert struct.unpack_from("<HBBI", packet) == (P.MAGIC, P.VERSION, message.TYPE, len(packet))
    side = next(side for side in (P.REQUESTS, P.REPLIES, P.INBOX) if type(message) in side)
    for expect in (None, side):
        decoded = P.decode(packet, message.fds, expect=expect)
        assert type(decoded) is type(message)
        assert decoded == message
        assert decoded.fds == message.fds
        if isinstance(message, P.StatusReport):
            assert decoded.report == message.report


def test_fixed_frames_have_their_documented_sizes():
    sizes = {P.Lease: 8, P.Leased: 8 + 4 * P.LEASE_BATCH, P.Deposit: 20, P.Delivery: 24, P.Claim: 12,
             P.Claimed: 12, P.Status: 8, P.Ping: 8, P.Pong: 12, P.Error: 12}
    for cls, size in sizes.items():
        assert len(P.encode(minimal(cls))) == size, cls.__name__


def test_descriptor_counts_per_type():
    assert {cls: P.fds_expected(cls) for cls in ALL_TYPES if P.fds_expected(cls)} == {
        P.Deposit: 2, P.Claimed: 2, P.Delivery: 2, P.Register: 1}
    assert P.MAX_FDS == max(P.fds_expected(cls) for cls in ALL_TYPES)
    # A Delivery naming an arena its connection passed before carries the socket alone.
    assert P.fds_allowed(P.Delivery) == (1, 2) and P.fds_allowed(P.Deposit) == (2,)


def test_encode_refuses_the_wrong_number_of_descriptors():
    for message in (P.Deposit(fds=(1,), target_pid=5), P.Deposit(fds=(1, 2, 3)), P.Claimed(fds=()),
                    P.Delivery(fds=()), P.Delivery(fds=(1, 2, 3)), P.Register(fds=()), P.Register(fds=(1, 2)),
                    P.Ping(fds=(4,)), P.Error(fds=(4, 5), code=1)):
        with pytest.raises(ValueError):
            P.encode(message)


def test_encode_refuses_a_report_beyond_max_frame():
    with pytest.raises(ValueError):
        P.encode(P.StatusReport(report={"x": "y" * P.MAX_FRAME}))
    big = P.StatusReport(report={"x": "y" * (P.MAX_FRAME - 100)})
    assert len(P.encode(big)) <= P.MAX_FRAME
    assert P.decode(P.encode(big), ()).report == big.report


def test_register_is_a_one_way_request_with_exactly_one_descriptor():
    """The arena a process made travels as the Register's only descriptor; a Register with
    none, two, or a payload is refused with whatever descriptors came."""
    assert P.Register in P.REQUESTS and P.fds_allowed(P.Register) == (1,)
    assert P.decode(P.encode(P.Register(fds=(5,))), (5,), expect=P.REQUESTS) == P.Register(fds=(5,))
    for fds in ((), (5, 6)):
        refused(frame(P.Register.TYPE), fds, expect=P.REQUESTS)
    refused(frame(P.Register.TYPE, b"\0" * 4), (5,), expect=P.REQUESTS)
    refused(frame(P.Register.TYPE), (5,), expect=P.REPLIES)


def test_leased_zero_slots_are_not_tokens():
    packet = P.encode(P.Leased(tokens=(0, 7, 0, 9)))
    assert P.decode(packet).tokens == (7, 9)


def test_requests_fit_the_brokers_receive_buffer():
    for message in SAMPLES:
        if type(message) in P.REQUESTS:
            assert len(P.encode(message)) <= P.MAX_REQUEST


# ---------------------------------------------------------------------------------------
# Malformations: ProtocolError, every descriptor handed back
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("fds", [(), (5,), FDS, tuple(range(200, 453))])
def test_short_frames(fds):
    good = P.encode(P.Ping())
    for n in range(P.HEADER.size):
        assert "short" in str(refused(good[:n], fds))


@pytest.mark.parametrize("magic", [0, 0x5753, 0x5356, 0xFFFF])
def test_bad_magic(magic):
    assert "magic" in str(refused(frame(P.Ping.TYPE, magic=magic)))


@pytest.mark.parametrize("version", [0, 1, 2, 3, 5, 255])
def test_wrong_version(version):
    assert "version" in str(refused(frame(P.Ping.TYPE, version=version)))


@pytest.mark.parametrize("delta", [-8, -1, 1, 4, 1 << 20])
def test_length_field_must_match_the_packet(delta):
    packet = frame(P.Claim.TYPE, struct.pack("<I", 5), length=12 + delta if 12 + delta >= 0 else 0)
    refused(packet)
    # a truncated or padded packet under an unchanged header
    good = P.encode(P.Claim(token=5))
    refused(good[:-1])
    refused(good + b"\0")


def test_over_max_frame():
    body = json.dumps({"x": "y" * P.MAX_FRAME}).encode()
    packet = frame(P.StatusReport.TYPE, body)
    assert len(packet) > P.MAX_FRAME
    assert "length" in str(refused(packet, FDS))
    refused(frame(P.StatusReport.TYPE, b"{}", length=P.MAX_FRAME + 1))
    refused(frame(P.StatusReport.TYPE, b"{}", length=0xFFFFFFFF))


@pytest.mark.parametrize("type_", [0, 2, 5, 14, 16, 99, 255])
def test_unknown_type(type_):
    for expect in (None, P.REQUESTS, P.REPLIES):
        assert "type" in str(refused(frame(type_), expect=expect))


@pytest.mark.parametrize("message", [m for m in SAMPLES if type(m) in P.REQUESTS], ids=lambda m: type(m).__name__)
def test_request_type_on_the_reply_side(message):
    refused(P.encode(message), message.fds, expect=P.REPLIES)


@pytest.mark.parametrize("message", [m for m in SAMPLES if type(m) in P.REPLIES], ids=lambda m: type(m).__name__)
def test_reply_type_on_the_request_side(message):
    refused(P.encode(message), message.fds, expect=P.REQUESTS)


@pytest.mark.parametrize("cls", sorted(ALL_TYPES, key=lambda c: c.TYPE), ids=lambda c: c.__name__)
def test_wrong_descriptor_count_both_ways(cls):
    """Too few and too many descriptors, for every type (0 → 1..253; 2 → 0, 1, 3, 253)."""
    packet = P.encode(minimal(cls))
    for count in sorted({0, 1, 2, 3, 253} - set(P.fds_allowed(cls))):
        fds = tuple(range(1000, 1000 + count))
        error = refused(packet, fds)
        assert "descriptors" in str(error)


@pytest.mark.parametrize("cls", [c for c in ALL_TYPES if P._LAYOUTS[c] is not None], ids=lambda c: c.__name__)
def test_wrong_payload_size(cls):
    """A consistent header (length == packet size) over a payload of the wrong size."""
    good = P.encode(minimal(cls))
    fds = (1, 2)[:P.fds_expected(cls)]
    payload = good[P.HEADER.size:]
    for wrong in {b"", payload[:-1], payload + b"\0", payload * 2, b"\0" * 200} - {payload}:
        error = refused(frame(cls.TYPE, wrong), fds)
        assert "bytes" in str(error)


@pytest.mark.parametrize("body", [
    b"", b"{", b"not json", b"\xff\xfe{}", b'{"a": "\xc3"}', b"[]", b"[1, 2]", b"42", b'"text"', b"null",
    b"true", b"1" * 5000, b"{}" + b" x", b"[" * 60000, b'{"a":' * 10000, b"[{" * 20000,
], ids=lambda b: repr(b[:12]))
def test_malformed_status_report(body):
    refused(frame(P.StatusReport.TYPE, body), (), expect=P.REPLIES)
    refused(frame(P.StatusReport.TYPE, body), (77,), expect=P.REPLIES)


@pytest.mark.parametrize("message", [m for m in SAMPLES if type(m) not in P.INBOX], ids=lambda m: type(m).__name__)
def test_an_inbox_accepts_deliveries_only(message):
    refused(P.encode(message), message.fds, expect=P.INBOX)


# ---------------------------------------------------------------------------------------
# Random input: a message or a ProtocolError with the exact descriptors — nothing else
# ---------------------------------------------------------------------------------------
fd_tuples = st.lists(st.integers(min_value=0, max_value=2**31 - 1), max_size=260).map(tuple)
expects = st.sampled_from([None, P.REQUESTS, P.REPLIES])


def check_decode(packet: bytes, fds: tuple[int, ...], expect) -> None:
    try:
        message = P.decode(packet, fds, expect=expect)
    except P.ProtocolError as exc:
        assert exc.fds == fds
        assert isinstance(exc.fds, tuple)
        return
    # Accepted: well-formed, the right side, the right number of descriptors, all returned.
    assert isinstance(message, P.Message)
    assert message.fds == fds
    assert len(fds) in P.fds_allowed(type(message))
    assert expect is None or type(message) in expect
    assert P.decode(P.encode(message), fds) == message       # canonical: re-encodes alike


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), fd_tuples, expects)
def test_random_bytes_decode_or_protocol_error(packet, fds, expect):
    check_decode(packet, fds, expect)


@st.composite
def near_frames(draw):
    """Frames with a plausible header (right magic, mostly right version and length) over
    random payloads and types: they reach the deeper checks that random bytes rarely do."""
    type_ = draw(st.one_of(st.sampled_from(sorted(P._TYPES)), st.integers(0, 255)))
    if type_ == P.StatusReport.TYPE and draw(st.booleans()):
        payload = json.dumps(draw(st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
            max_leaves=20))).encode()
    else:
        payload = draw(st.binary(max_size=40))
    version = draw(st.sampled_from([P.VERSION, P.VERSION, P.VERSION, 0, 1]))
    true_length = P.HEADER.size + len(payload)
    length = draw(st.sampled_from([true_length, true_length, true_length, true_length - 1, true_length + 1, 0]))
    return P.HEADER.pack(P.MAGIC, version, type_, max(0, length)) + payload


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_frames(), fd_tuples | st.sampled_from([(), (3,), (3, 4)]), expects)
def test_near_valid_frames_decode_or_protocol_error(packet, fds, expect):
    check_decode(packet, fds, expect)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(SAMPLES), st.integers(0, 20), st.binary(max_size=8), fd_tuples)
def test_mutated_valid_frames_decode_or_protocol_error(message, position, junk, fds):
    """A valid frame with a few bytes overwritten, inserted or cut."""
    packet = bytearray(P.encode(message))
    position = min(position, len(packet))
    mutated = [bytes(packet[:position] + junk + packet[position + len(junk):]),
               bytes(packet[:position] + junk + packet[position:]),
               bytes(packet[:position])]
    for candidate in mutated:
        check_decode(candidate, fds, None)
        check_decode(candidate, message.fds, P.REQUESTS)
        check_decode(candidate, message.fds, P.REPLIES)
