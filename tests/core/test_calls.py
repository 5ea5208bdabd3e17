from __future__ import annotations

from lineguard.events import Direction, EndedBy
from lineguard.line.base import Answered, CallerId, Dtmf, Hook, LoopCurrent, Ring, Tone
from lineguard.line.calls import CallEnd, CallStart, CallTracker, DigitInCall, RingingStopped, TrackState


def feed(tracker, *events):
    out = []
    for e in events:
        out += tracker.feed(e)
    return out


def test_ring_then_off_hook_is_incoming_with_caller_id():
    t = CallTracker()
    out = feed(t, Ring(0, True), Ring(2, False), CallerId(2.5, "0212345678", "KIM"), Hook(7, True))
    assert out[-1] == CallStart(7, Direction.INCOMING, caller_id="0212345678", caller_name="KIM")
    assert feed(t, Hook(30, False)) == [CallEnd(30, EndedBy.NEAR_END)]
    assert t.state is TrackState.IDLE


def test_withheld_caller_id_is_reported_as_such():
    t = CallTracker()
    out = feed(t, Ring(0, True), CallerId(1, None, status="private"), Hook(3, True))
    assert out[-1].caller_id == "private"


def test_off_hook_without_ring_is_outgoing_with_dialed_number():
    t = CallTracker()
    assert feed(t, Hook(0, True), Dtmf(1, "0"), Dtmf(1.5, "2"), Dtmf(2, "1")) == []
    assert t.tick(5.9) == []
    assert t.tick(6.0) == [CallStart(6.0, Direction.OUTGOING, dialed_number="021")]


def test_answer_supervision_starts_an_outgoing_call_at_once():
    t = CallTracker()
    assert feed(t, Hook(0, True), Dtmf(1, "5"), Answered(2.5))[-1].time_s == 2.5


def test_far_end_hangup_by_loop_drop_or_tone():
    for ending in (LoopCurrent(9, False), Tone(9, "busy"), Tone(9, "reorder")):
        t = CallTracker()
        out = feed(t, Ring(0, True), Hook(1, True), ending)
        assert out[-1] == CallEnd(9, EndedBy.FAR_END)
        assert t.state is TrackState.WAIT_ON_HOOK
        assert feed(t, Hook(12, False)) == [] and t.state is TrackState.IDLE


def test_call_waiting_caller_id_starts_nothing():
    t = CallTracker()
    feed(t, Ring(0, True), CallerId(0.5, "111"), Hook(1, True))
    assert feed(t, CallerId(20, "999", "OTHER"), Ring(21, True)) == []
    assert t.state is TrackState.IN_CALL


def test_the_gateways_own_loop_drop_is_not_the_far_end():
    t = CallTracker()
    feed(t, Ring(0, True), Hook(1, True))
    t.gateway_opening()
    assert feed(t, LoopCurrent(10, False)) == []
    assert t.gateway_released(12) == [CallEnd(12, EndedBy.GATEWAY)]


def test_digits_in_a_call_and_unanswered_ringing():
    t = CallTracker()
    feed(t, Ring(0, True), Hook(1, True))
    assert feed(t, Dtmf(5, "*")) == [DigitInCall(5, "*")]
    t = CallTracker()
    feed(t, Ring(0, True), Ring(2, False))
    assert t.tick(8.0) == [] and t.tick(8.1) == [RingingStopped(8.1)]
