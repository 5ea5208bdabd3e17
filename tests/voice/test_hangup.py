"""The hang-up sequence: verified on the simulated line, retried once, never left open."""

from __future__ import annotations

import dataclasses

import pytest

from tests.fakes import MarkerDetector, murmur, timeline, tone
from lineguard.app import build_simulated
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.errors import SafetyError
from lineguard.line.base import Hook, LoopCurrent, Tone
from lineguard.line.virtual import FarEndScript
from lineguard.relay.hangup import Energize, Finished, HangupPlan, HangupSequence, Release
from lineguard.replay import run_rig
from lineguard.sinks import MemorySink

MARKERS = {"ko_ssibal": 1000.0}
ABUSE = tone(1000, 0.5)


def call_audio(tail_s: float = 40.0):
    return timeline(murmur(2), ABUSE, murmur(8, seed=2), ABUSE, murmur(tail_s, seed=3))


def run(exchange_release_ms: int = 1500, relay: dict | None = None, plan_changes: dict | None = None):
    settings = parse_settings({"device": {"country": "US"}, "relay": relay or {}})
    script = FarEndScript(call_audio(), 8000, exchange_release_ms=exchange_release_ms)
    sink = MemorySink()
    rig = build_simulated(settings, script, VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])
    if plan_changes:
        rig.gateway.hangup_plan = dataclasses.replace(rig.gateway.hangup_plan, **plan_changes)
    run_rig(rig)
    return rig, sink


def spans_s(rig):
    return [round(b - a, 2) for a, b in rig.relay.energized_spans()]


def test_hangup_is_verified_by_loop_drop_and_dial_tone():
    rig, sink = run()
    term, = sink.of_type("call_terminated")
    assert term.verified is True and term.attempts == 1
    assert spans_s(rig) == [2.0]
    opened, closed = rig.relay.energized_spans()[0]
    assert closed < term.time <= closed + 0.3        # dial tone 0.2 s after re-closing
    assert sink.of_type("call_ended")[0].ended_by.value == "gateway"
    assert not rig.relay.energized


def test_exchange_holding_longer_gets_one_longer_retry():
    rig, sink = run(exchange_release_ms=3000)
    term, = sink.of_type("call_terminated")
    assert term.verified is True and term.attempts == 2
    assert spans_s(rig) == [2.0, 4.0]
    first_close = rig.relay.energized_spans()[0][1]
    second_open = rig.relay.energized_spans()[1][0]
    assert second_open - first_close == pytest.approx(1.5, abs=0.03)   # the verify window
    assert sink.of_type("call_ended")[0].ended_by.value == "gateway"


def test_exchange_that_never_releases_is_reported_unverified():
    rig, sink = run(exchange_release_ms=9000)
    term, = sink.of_type("call_terminated")
    assert term.verified is False and term.attempts == 2
    assert spans_s(rig) == [2.0, 4.0]
    # the call went on; it ends when the line says so, and the relay stays closed
    ended, = sink.of_type("call_ended")
    assert ended.ended_by.value == "far_end" and ended.time > term.time
    assert not rig.relay.energized and rig.relay.history[-1][1] is False


def test_without_loop_sense_the_hangup_is_unverified():
    rig, sink = run(plan_changes={"line_sense": False})
    term, = sink.of_type("call_terminated")
    assert term.verified is None and term.attempts == 1
    assert spans_s(rig) == [2.0]


def test_release_time_comes_from_config():
    rig, sink = run(exchange_release_ms=1000, relay={"release_ms": 1200})
    assert spans_s(rig) == [1.2]
    assert sink.of_type("call_terminated")[0].verified is True


def test_hook_flash_is_one_short_break():
    rig, sink = run(relay={"hangup_action": "flash", "flash_ms": 600})
    assert spans_s(rig) == [0.6]
    term, = sink.of_type("call_terminated")
    assert term.verified is None
    assert rig.line.released_s is None       # the exchange kept the call (transfer, not hang-up)


def test_break_longer_than_the_hard_bound_is_refused():
    with pytest.raises(SafetyError, match="max_energized_ms"):
        HangupPlan(release_ms=2000, retry_release_ms=4000).check(max_energized_ms=4000)
    with pytest.raises(SafetyError):
        run(relay={"release_ms": 3000, "max_energized_ms": 3000})


# ---- the state machine alone -------------------------------------------------

def plan(**changes):
    return HangupPlan(**{"release_ms": 2000, "retry_release_ms": 4000, **changes})


def test_stuck_relay_contacts_are_not_verified():
    seq = HangupSequence(plan())
    assert seq.start(0.0) == [Energize(0.0)]
    assert seq.tick(2.0) == [Release(2.0)]
    seq.observe(Tone(2.2, "dial"))              # dial tone, but the loop never dropped
    assert seq.tick(3.5) == [Energize(3.5)]
    assert seq.tick(7.5) == [Release(7.5)]
    assert seq.tick(9.0) == [Finished(9.0, False, 2)]
    assert seq.done and seq.tick(10.0) == []


def test_handset_put_down_proves_the_call_is_over():
    seq = HangupSequence(plan())
    seq.start(0.0)
    seq.observe(LoopCurrent(0.0, False))
    assert seq.tick(1.0) == []
    assert seq.tick(2.0) == [Release(2.0)]
    seq.observe(Hook(2.5, False))
    assert seq.tick(2.52) == [Finished(2.52, True, 1)]


def test_abort_closes_the_loop():
    seq = HangupSequence(plan())
    seq.start(0.0)
    assert seq.abort(0.5) == [Release(0.5), Finished(0.5, True, 1)]
    assert seq.abort(0.6) == []


def test_verify_window_follows_the_country_unless_set():
    from lineguard.config import RelaySettings
    from lineguard.relay.hangup import plan_from_settings
    assert plan_from_settings(RelaySettings(), "DE", 2000, True).verify_window_ms == 2200
    assert plan_from_settings(RelaySettings(), "US", 2000, True).verify_window_ms == 1500
    assert plan_from_settings(RelaySettings(verify_window_ms=3000), "DE", 2000, True).verify_window_ms == 3000
