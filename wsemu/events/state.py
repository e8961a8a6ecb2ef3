"""The pending/reported machine of one underlying socket's event registration — no I/O.

CONFORMANCE.md §2 in literal tables. A ``Record`` is immutable; every transition takes a
record and returns the new one with what the shell must do (``Effects``: set the event
object, post these messages). The shell (``wsemu.events.monitor``) observes the kernel
socket, turns what it sees into an ``Observation`` with ``observe()``, and applies effects.

The model (Wine's server/sock.c, corrected to Windows where §4 says Wine is wrong):

* posting an event adds it to ``pending`` and ``reported`` unless it is already reported;
  a reported event is not posted again until something re-enables it (the §2.3 table);
* in **event mode**, a *new arrival* (data, a connection, urgent data) is posted even while
  reported (Windows signals it; Wine does not: items 128, 150, 158, §4.3);
* message mode posts one message per pending bit in the mask, in ``MESSAGE_ORDER``, then
  forgets every pending bit; event mode signals the object when a posted bit is in the mask;
* FD_CLOSE comes at the peer's close even with unread data, and never again (§4.5);
* FD_ADDRESS_LIST_CHANGE and FD_ROUTING_INTERFACE_CHANGE are posted by ``wsemu.netstate``
  when a change happens that a SIO_ADDRESS_LIST_CHANGE / SIO_ROUTING_INTERFACE_CHANGE on the
  socket asked about; that ioctl is also what re-enables them (Microsoft's WSAEventSelect
  table). Wine accepts them in the mask and never posts them (§4 item 13).
"""
from __future__ import annotations

import enum
import typing

from wsemu import abi as W

READ, WRITE, OOB, ACCEPT, CONNECT, CLOSE = (W.FD_READ, W.FD_WRITE, W.FD_OOB, W.FD_ACCEPT,
                                            W.FD_CONNECT, W.FD_CLOSE)
ROUTING_CHANGE, ADDRESS_LIST_CHANGE = W.FD_ROUTING_INTERFACE_CHANGE, W.FD_ADDRESS_LIST_CHANGE
# Accepted in a mask, never generated: FD_QOS, FD_GROUP_QOS.
ALL_EVENTS = W.FD_ALL_EVENTS
GENERATED = READ | WRITE | OOB | ACCEPT | CONNECT | CLOSE | ROUTING_CHANGE | ADDRESS_LIST_CHANGE

# The order Windows posts one wake-up's messages in (§2.2; RESET and HUP are both FD_CLOSE).
# (The change events never come from the same wake-up as the others.)
MESSAGE_ORDER = (CONNECT, ACCEPT, OOB, READ, WRITE, CLOSE, ROUTING_CHANGE, ADDRESS_LIST_CHANGE)

# Event mode: a new occurrence of these is signalled even while it is reported (§4.3).
POSTED_ON_ARRIVAL = READ | OOB | ACCEPT


class Mode(enum.IntEnum):
    NONE = 0          # never registered
    EVENT = 1         # WSAEventSelect
    MESSAGE = 2       # WSAAsyncSelect


class Phase(enum.IntEnum):
    """What the socket is, as far as event posting cares (§2.2: the state *before* a poll)."""
    IDLE = 0              # a stream socket neither connecting, connected nor listening
    CONNECTING = 1
    LISTENING = 2
    CONNECTED = 3         # a connected stream socket
    DATAGRAM = 4          # a bound (or connected) datagram socket
    DATAGRAM_UNBOUND = 5


# Which calls re-enable which events (§2.3), per mode. FD_CONNECT and FD_CLOSE: nothing does.
class Call(enum.Enum):
    RECV = "recv"                       # any recv-family request that reaches the socket
    RECV_REJECTED = "recv with a bad buffer"   # refused before reaching it (item 152, §4.8)
    RECV_OOB = "recv MSG_OOB"
    SEND_FAILED = "a failing send"
    ACCEPT = "accept"
    ROUTING_QUERY = "SIO_ROUTING_INTERFACE_CHANGE"
    ADDRESS_LIST_QUERY = "SIO_ADDRESS_LIST_CHANGE"


REENABLES: dict[Call, dict[Mode, int]] = {
    Call.RECV:          {Mode.EVENT: READ, Mode.MESSAGE: READ},
    Call.RECV_REJECTED: {Mode.EVENT: 0,    Mode.MESSAGE: READ},
    Call.RECV_OOB:      {Mode.EVENT: OOB,  Mode.MESSAGE: OOB},
    Call.SEND_FAILED:   {Mode.EVENT: WRITE, Mode.MESSAGE: WRITE},
    Call.ACCEPT:        {Mode.EVENT: ACCEPT, Mode.MESSAGE: ACCEPT},
    Call.ROUTING_QUERY: {Mode.EVENT: ROUTING_CHANGE, Mode.MESSAGE: ROUTING_CHANGE},
    Call.ADDRESS_LIST_QUERY: {Mode.EVENT: ADDRESS_LIST_CHANGE, Mode.MESSAGE: ADDRESS_LIST_CHANGE},
}

NO_ERRORS = (0,) * W.FD_MAX_EVENTS


def bit_index(event: int) -> int:
    return event.bit_length() - 1


_INDEX = {event: bit_index(event) for event in MESSAGE_ORDER}


class Record(typing.NamedTuple):
    """(Tuples: a record is made on every event and every re-enabling call.)"""
    mode: Mode = Mode.NONE
    mask: int = 0
    pending: int = 0
    reported: int = 0
    errors: tuple[int, ...] = NO_ERRORS     # WSA error per FD_*_BIT, for iErrorCode / lParam


class Effects(typing.NamedTuple):
    signal: bool = False                     # set the registered event object
    messages: tuple[tuple[int, int], ...] = ()   # (FD_* event, WSA error), in posting order


NOTHING = Effects()


class Observation(typing.NamedTuple):
    """What the shell saw on the kernel socket, in Windows terms: events whose condition
    holds now (``level``), those of them that newly happened (``arrived``), and the error
    each carries."""
    level: int = 0
    arrived: int = 0
    errors: tuple[tuple[int, int], ...] = ()     # (FD_* event, WSA error)


# ---------------------------------------------------------------------------------------
# Detection: (phase, kernel readiness) -> Windows events (§2.2), a literal table
# ---------------------------------------------------------------------------------------
class Ready:
    """Kernel readiness, as the shell found it (its own names, not Linux numbers; plain ints
    because this runs on every wake-up)."""
    DATA = 1          # bytes (or a datagram, or a connection) waiting
    URGENT = 2        # an urgent byte not yet read (out of line)
    WRITABLE = 4
    PEER_CLOSED = 8   # the peer's FIN has arrived
    RESET = 16        # the connection was reset
    FAILED = 32       # a connect failed (the error is in the observation)


# phase -> [(readiness that matters, event it posts)]
DETECTION: dict[Phase, tuple[tuple[int, int], ...]] = {
    Phase.IDLE: (),                                           # never polled (§2.2)
    Phase.CONNECTING: ((Ready.WRITABLE, CONNECT | WRITE), (Ready.FAILED, CONNECT)),
    Phase.LISTENING: ((Ready.DATA, ACCEPT),),
    Phase.CONNECTED: ((Ready.DATA, READ), (Ready.URGENT, OOB), (Ready.WRITABLE, WRITE),
                      (Ready.PEER_CLOSED, CLOSE), (Ready.RESET, CLOSE)),
    Phase.DATAGRAM: ((Ready.DATA, READ), (Ready.WRITABLE, WRITE)),
    Phase.DATAGRAM_UNBOUND: (),                               # event mode (item 141)
}
# Message mode reports an unbound datagram socket writable (item 141).
MESSAGE_DETECTION = {**DETECTION, Phase.DATAGRAM_UNBOUND: ((Ready.WRITABLE, WRITE),)}


def _events_for(table: tuple[tuple[int, int], ...], ready: int) -> int:
    events = 0
    for condition, posts in table:
        if ready & condition:
            events |= posts
    return events


# (mode is MESSAGE, phase) -> the events of every readiness value: the tables above, unrolled
# once (detection runs on every wake-up).
_UNROLLED = {
    (is_message, phase): tuple(_events_for(rows[phase], ready) for ready in range(64))
    for is_message, rows in ((False, DETECTION), (True, MESSAGE_DETECTION)) for phase in Phase
}


def detect(mode: Mode, phase: Phase, ready: int, arrived: int = 0, connect_error: int = 0) -> Observation:
    """The Windows events ``ready`` means for a socket in ``phase``."""
    events = _UNROLLED[mode == Mode.MESSAGE, phase]
    level = events[ready]
    new = events[ready & arrived] if arrived else 0
    if not ready & (Ready.FAILED | Ready.RESET):
        return Observation(level, new, ())
    errors = []
    if phase == Phase.CONNECTING and ready & Ready.FAILED:
        level &= ~WRITE                                        # a failed connect is no FD_WRITE
        errors.append((CONNECT, connect_error or W.WSAECONNREFUSED))
    if phase == Phase.CONNECTED and ready & Ready.RESET:
        errors.append((CLOSE, W.WSAECONNABORTED))             # §2.2: RESET posts FD_CLOSE 10053
    return Observation(level, new, tuple(errors))


# ---------------------------------------------------------------------------------------
# Transitions
# ---------------------------------------------------------------------------------------
def post(rec: Record, seen: Observation) -> tuple[Record, Effects]:
    """Post what was observed (§2.2)."""
    fresh = seen.level & ~rec.reported
    if rec.mode == Mode.EVENT:
        fresh |= seen.arrived & POSTED_ON_ARRIVAL
    if not fresh:
        return rec, NOTHING
    errors = rec.errors
    if seen.errors or errors is not NO_ERRORS:
        errors = list(errors)
        for event in MESSAGE_ORDER:
            if fresh & event:
                errors[_INDEX[event]] = 0
        for event, error in seen.errors:
            if fresh & event:
                errors[_INDEX[event]] = error
        errors = tuple(errors)
    rec = Record(rec.mode, rec.mask, rec.pending | fresh, rec.reported | fresh, errors)
    if rec.mode == Mode.MESSAGE:
        messages = tuple((event, rec.errors[_INDEX[event]]) for event in MESSAGE_ORDER
                         if rec.pending & rec.mask & event)
        return Record(rec.mode, rec.mask, 0, rec.reported, rec.errors), Effects(False, messages)
    if rec.mode == Mode.EVENT:
        return rec, Effects(signal=bool(fresh & rec.mask))
    return rec, NOTHING


def reenable(rec: Record, call: Call) -> Record:
    """A call of §2.3's table: its events leave both sets (the shell then looks again)."""
    bits = REENABLES[call].get(rec.mode, 0)
    if not (rec.pending | rec.reported) & bits:
        return rec
    return Record(rec.mode, rec.mask, rec.pending & ~bits, rec.reported & ~bits, rec.errors)


def event_select(rec: Record, mask: int) -> tuple[Record, Effects]:
    """WSAEventSelect: replace the registration; signal if unconsumed events are selected
    (§2.4). Never touches the pending or reported sets."""
    rec = Record(Mode.EVENT, mask, rec.pending, rec.reported, rec.errors)
    return rec, Effects(signal=bool(rec.pending & mask))


def async_select(rec: Record, mask: int) -> Record:
    """WSAAsyncSelect: replace the registration and forget both sets, so that what holds
    now is detected and posted again (the shell looks at once)."""
    return Record(mode=Mode.MESSAGE, mask=mask)


def enumerate_events(rec: Record) -> tuple[Record, int, tuple[int, ...]]:
    """WSAEnumNetworkEvents: the pending selected events and their errors (only for the bits
    returned); those bits leave ``pending``; ``reported`` stays (§2.3)."""
    returned = rec.pending & rec.mask
    errors = tuple(rec.errors[i] if returned & (1 << i) else 0 for i in range(W.FD_MAX_EVENTS))
    return Record(rec.mode, rec.mask, rec.pending & ~returned, rec.reported, rec.errors), returned, errors


def network_changed(rec: Record, event: int) -> tuple[Record, Effects]:
    """The change a SIO_ADDRESS_LIST_CHANGE / SIO_ROUTING_INTERFACE_CHANGE on the socket
    asked about has happened: posted like any event, so not again until that ioctl
    re-enables it."""
    return post(rec, Observation(level=event))


def inherit(listener: Record) -> Record:
    """What accept gives the new socket: the listener's registration, fresh sets (§2.4)."""
    return Record(mode=listener.mode, mask=listener.mask)


def connected(rec: Record, datagram: bool) -> tuple[Record, Effects]:
    """A connect completed inside the call (no poll saw it connecting). A stream posts
    FD_CONNECT and FD_WRITE. A datagram socket (item 141, §4.7) posts both in event mode;
    in message mode its FD_WRITE is re-enabled, for the shell's next look to post again."""
    if datagram and rec.mode == Mode.MESSAGE:
        return Record(rec.mode, rec.mask, rec.pending & ~WRITE, rec.reported & ~WRITE, rec.errors), NOTHING
    return post(rec, Observation(level=CONNECT | WRITE))
