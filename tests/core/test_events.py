from __future__ import annotations

import json

import pytest

from lineguard.errors import ProtocolError
from lineguard.events import (
    EVENT_TYPES, CallEnded, CallStarted, CallTerminated, Direction, EndedBy, KeywordDetected, Side,
    TerminationReason, from_wire,
)

CONTRACT = {"call_started", "keyword_detected", "warning_started", "warning_finished", "call_terminated",
            "call_ended", "recording_saved", "status", "fault"}


def test_contract_types_exist():
    assert CONTRACT <= set(EVENT_TYPES)


def test_round_trip_through_json():
    events = [
        CallStarted(time=1.0, call_id="c1", direction=Direction.OUTGOING, dialed_number="0212345678"),
        KeywordDetected(time=2.345678, call_id="c1", keyword="ko_ssibal", score=0.93, side=Side.FAR),
        CallTerminated(time=9.0, call_id="c1", reason=TerminationReason.ABUSE, verified=True),
        CallEnded(time=9.5, call_id="c1", duration_s=8.5, ended_by=EndedBy.GATEWAY),
    ]
    for event in events:
        wire = json.loads(json.dumps(event.to_wire()))
        assert {"type", "time", "call_id", "event_id"} <= set(wire)
        back = from_wire(wire)
        assert back.to_wire() == event.to_wire()
    assert events[1].to_wire()["time"] == 2.346


def test_event_ids_are_unique_and_events_frozen():
    a = CallStarted(time=0, direction=Direction.INCOMING)
    b = CallStarted(time=0, direction=Direction.INCOMING)
    assert a.event_id != b.event_id and len(a.event_id) == 26
    with pytest.raises(Exception):
        a.time = 3


@pytest.mark.parametrize("wire, match", [
    ({"type": "nope", "time": 0}, "unknown event type"),
    ({"type": "call_started", "time": 0, "direction": "sideways"}, "direction"),
    ({"type": "call_started", "time": 0, "direction": "incoming", "extra": 1}, "unknown fields"),
    ({"type": "call_ended", "time": 0}, "call_ended"),
    ([1, 2], "must be an object"),
])
def test_bad_wire_is_rejected(wire, match):
    with pytest.raises(ProtocolError, match=match):
        from_wire(wire)


def test_the_live_view_describes_every_event_type():
    from lineguard.events import CallBlocked, CallerFlagged
    from lineguard.sinks import describe
    assert "blocked by block:prefix:070" in describe(CallBlocked(time=0, caller_id="0701", rule="block:prefix:070"))
    assert "0101 flagged" in describe(CallerFlagged(time=0, caller_id="0101", reason="abuse",
                                                    expires_at="2026-12-25T00:00:00+00:00"))
