"""The pure pending/reported machine (wsemu.events.state), without sockets: a test per row
of CONFORMANCE.md §2.3, the posting and select rules of §2.2/§2.4, and hypothesis-made call
sequences checked against the tables."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsemu import abi as W
from wsemu.events import state as S

EVENT, MESSAGE = S.Mode.EVENT, S.Mode.MESSAGE
ALL = S.GENERATED


def posted(rec: S.Record, level: int, arrived: int = 0, errors=()) -> tuple[S.Record, S.Effects]:
    return S.post(rec, S.Observation(level, arrived, tuple(errors)))


def registered(mode: S.Mode, mask: int = ALL) -> S.Record:
    if mode == EVENT:
        return S.event_select(S.Record(), mask)[0]
    return S.async_select(S.Record(), mask)


# ======================================================================================
# §2.3: one test per row of the re-enabling table
# ======================================================================================
@pytest.mark.parametrize("mode", [EVENT, MESSAGE])
@pytest.mark.parametrize("call,event", [
    (S.Call.RECV, S.READ), (S.Call.RECV_OOB, S.OOB), (S.Call.SEND_FAILED, S.WRITE), (S.Call.ACCEPT, S.ACCEPT)])
def test_row_the_call_re_enables_its_event_and_only_it(mode, call, event):
    rec, _ = posted(registered(mode), ALL)
    assert rec.reported == ALL
    after = S.reenable(rec, call)
    assert after.reported == ALL & ~event
    assert after.pending == rec.pending & ~event
    again, effects = posted(after, ALL)               # the condition still holds: posted again
    assert again.reported == ALL
    assert effects.signal or effects.messages == ((event, 0),)


@pytest.mark.parametrize("mode", [EVENT, MESSAGE])
@pytest.mark.parametrize("event", [S.CONNECT, S.CLOSE])
def test_row_nothing_re_enables_fd_connect_or_fd_close(mode, event):
    rec, _ = posted(registered(mode), event)
    for call in S.Call:
        rec = S.reenable(rec, call)
    assert rec.reported & event
    assert posted(rec, event) == (rec, S.NOTHING)


def test_row_a_successful_send_re_enables_nothing():
    # (No Call exists for it: the table has no row, so the shell never calls reenable.)
    assert S.WRITE not in {bits for row in S.REENABLES.values() for bits in row.values()
                           if row is not S.REENABLES[S.Call.SEND_FAILED]}


def test_row_a_recv_refused_for_its_buffer_re_enables_fd_read_in_message_mode_only():
    for mode, expected in ((EVENT, ALL), (MESSAGE, ALL & ~S.READ)):
        rec, _ = posted(registered(mode), ALL)
        assert S.reenable(rec, S.Call.RECV_REJECTED).reported == expected


def test_row_async_select_with_a_window_resets_both_sets():
    rec, _ = posted(registered(MESSAGE), ALL)
    rec = S.async_select(rec, S.READ)
    assert (rec.pending, rec.reported, rec.mask) == (0, 0, S.READ)


def test_enumeration_clears_only_selected_pending_and_never_reported():
    rec, _ = posted(registered(EVENT, S.READ | S.WRITE), S.READ | S.WRITE | S.CLOSE)
    rec, returned, errors = S.enumerate_events(rec)
    assert returned == S.READ | S.WRITE
    assert rec.pending == S.CLOSE and rec.reported == S.READ | S.WRITE | S.CLOSE
    assert errors == S.NO_ERRORS


def test_event_select_never_touches_either_set_and_signals_unconsumed_selected_events():
    rec, _ = posted(registered(EVENT, 0), S.READ | S.WRITE)
    again, effects = S.event_select(rec, S.READ)
    assert (again.pending, again.reported) == (rec.pending, rec.reported) and effects.signal
    consumed, _, _ = S.enumerate_events(again)
    assert S.event_select(consumed, S.READ)[1].signal is False   # consumed: no signal, still holding


# ======================================================================================
# §2.2: posting
# ======================================================================================
def test_messages_come_in_windows_order_and_pending_is_forgotten():
    rec = registered(MESSAGE)
    rec, effects = posted(rec, ALL, errors=[(S.CLOSE, W.WSAECONNABORTED)])
    assert [event for event, _ in effects.messages] == [S.CONNECT, S.ACCEPT, S.OOB, S.READ, S.WRITE, S.CLOSE,
                                                       S.ROUTING_CHANGE, S.ADDRESS_LIST_CHANGE]
    assert dict(effects.messages)[S.CLOSE] == W.WSAECONNABORTED
    assert rec.pending == 0 and rec.reported == ALL


def test_message_mode_loses_pending_bits_outside_the_mask():
    rec, effects = posted(registered(MESSAGE, S.READ), S.READ | S.WRITE)
    assert effects.messages == ((S.READ, 0),)
    rec = rec._replace(mask=ALL)
    assert rec.pending == 0


def test_event_mode_signals_only_for_selected_events_and_keeps_the_others_pending():
    rec, effects = posted(registered(EVENT, S.READ), S.WRITE)
    assert not effects.signal and rec.pending == S.WRITE
    rec, effects = posted(rec, S.READ)
    assert effects.signal


def test_a_new_arrival_is_posted_again_in_event_mode_only():
    for mode, reposted in ((EVENT, True), (MESSAGE, False)):
        rec, _ = posted(registered(mode), S.READ | S.ACCEPT | S.OOB | S.WRITE)
        if mode == EVENT:
            rec, _, _ = S.enumerate_events(rec)
        rec, effects = posted(rec, S.READ | S.WRITE, arrived=S.READ | S.WRITE)
        assert bool(effects.signal or effects.messages) is reposted
        assert not rec.pending & S.WRITE                  # FD_WRITE is no arrival (item 143)


def test_an_unregistered_socket_records_but_tells_nobody():
    rec, effects = posted(S.Record(), S.READ)
    assert effects == S.NOTHING and rec.pending == S.READ


@pytest.mark.parametrize("phase,ready,level,errors", [
    (S.Phase.IDLE, 63, 0, ()),
    (S.Phase.CONNECTING, S.Ready.WRITABLE, S.CONNECT | S.WRITE, ()),
    (S.Phase.CONNECTING, S.Ready.FAILED, S.CONNECT, ((S.CONNECT, W.WSAECONNREFUSED),)),
    (S.Phase.LISTENING, S.Ready.DATA | S.Ready.WRITABLE, S.ACCEPT, ()),
    (S.Phase.CONNECTED, S.Ready.DATA | S.Ready.URGENT | S.Ready.WRITABLE, S.READ | S.OOB | S.WRITE, ()),
    (S.Phase.CONNECTED, S.Ready.PEER_CLOSED | S.Ready.DATA, S.CLOSE | S.READ, ()),
    (S.Phase.CONNECTED, S.Ready.RESET, S.CLOSE, ((S.CLOSE, W.WSAECONNABORTED),)),
    (S.Phase.DATAGRAM, S.Ready.DATA | S.Ready.WRITABLE, S.READ | S.WRITE, ()),
    (S.Phase.DATAGRAM_UNBOUND, S.Ready.WRITABLE, 0, ()),
])
def test_detection_table(phase, ready, level, errors):
    seen = S.detect(EVENT, phase, ready)
    assert (seen.level, seen.errors) == (level, errors)


def test_an_unbound_datagram_socket_is_writable_in_message_mode_only():
    assert S.detect(MESSAGE, S.Phase.DATAGRAM_UNBOUND, S.Ready.WRITABLE).level == S.WRITE


def test_accept_inherits_mask_and_mode_with_fresh_sets():
    listener, _ = posted(registered(MESSAGE, S.ACCEPT | S.WRITE), S.ACCEPT)
    assert S.inherit(listener) == S.Record(MESSAGE, S.ACCEPT | S.WRITE)


def test_a_datagram_connect_posts_connect_and_write_in_event_mode_and_re_enables_write_in_message_mode():
    rec, effects = S.connected(registered(EVENT), datagram=True)
    assert rec.pending == S.CONNECT | S.WRITE and effects.signal
    rec, _ = posted(registered(MESSAGE), S.WRITE)
    rec, effects = S.connected(rec, datagram=True)
    assert not rec.reported & S.WRITE and effects == S.NOTHING


# ======================================================================================
# Hypothesis: random call sequences against the tables
# ======================================================================================
MASKS = st.integers(0, W.FD_ALL_EVENTS)
EVENTS = st.integers(0, ALL).map(lambda bits: bits & ALL)     # (FD_QOS bits lie between)
STEPS = st.lists(st.one_of(
    st.tuples(st.just("post"), EVENTS, EVENTS),
    st.tuples(st.just("reenable"), st.sampled_from(list(S.Call)), st.none()),
    st.tuples(st.just("event_select"), MASKS, st.none()),
    st.tuples(st.just("async_select"), MASKS, st.none()),
    st.tuples(st.just("enumerate"), st.none(), st.none()),
), max_size=40)


@settings(max_examples=400, deadline=None)
@given(STEPS)
def test_random_sequences_keep_the_models_invariants(steps):
    rec = S.Record()
    for op, a, b in steps:
        before = rec
        if op == "post":
            rec, effects = posted(rec, a, arrived=b)
            fresh = a & ~before.reported | (b & S.POSTED_ON_ARRIVAL if rec.mode == EVENT else 0)
            assert rec.reported == before.reported | fresh           # posting only adds
            if rec.mode == MESSAGE:
                events = [event for event, _ in effects.messages]
                assert events == [e for e in S.MESSAGE_ORDER if e & fresh & rec.mask]
                assert rec.pending == 0
            elif rec.mode == EVENT:
                assert effects.signal == bool(fresh & rec.mask)        # only what was just posted
            else:
                assert effects == S.NOTHING
        elif op == "reenable":
            rec = S.reenable(rec, a)
            cleared = S.REENABLES[a].get(before.mode, 0)
            assert rec.reported == before.reported & ~cleared and rec.pending == before.pending & ~cleared
        elif op == "event_select":
            rec, effects = S.event_select(rec, a)
            assert (rec.pending, rec.reported) == (before.pending, before.reported)
            assert effects.signal == bool(rec.pending & a)
        elif op == "async_select":
            rec = S.async_select(rec, a)
            assert (rec.pending, rec.reported, rec.mask) == (0, 0, a)
        else:
            rec, returned, errors = S.enumerate_events(rec)
            assert returned == before.pending & before.mask
            assert rec.pending == before.pending & ~before.mask and rec.reported == before.reported
            assert all(code == 0 for i, code in enumerate(errors) if not returned & (1 << i))
        assert rec.pending & ~rec.reported == 0                       # pending ⊆ reported
        assert rec.reported & ~ALL == 0                              # only generated events
