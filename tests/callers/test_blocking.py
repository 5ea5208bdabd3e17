"""Blocking, ring suppression and repeat abusers on the simulated line."""

from __future__ import annotations

import pytest

from lineguard.app import build_simulated
from lineguard.callers.lists import ListEntry, ListFile, ListName, MatchKind
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.line.virtual import FarEndScript
from lineguard.replay import run_rig
from lineguard.sinks import MemorySink
from tests.fakes import MarkerDetector, murmur, timeline, tone


def settings_for(tmp_path, **callers):
    ListFile(tmp_path / "callers.csv").save((ListEntry(ListName.BLOCK, MatchKind.PREFIX, "070"),))
    return parse_settings({"callers": {"list_file": str(tmp_path / "callers.csv"),
                                       "flags_db": str(tmp_path / "flags.db"), **callers}})


def call(settings, number, audio=None, rings=3, seizable=False):
    sink = MemorySink()
    script = FarEndScript(audio if audio is not None else murmur(6), 8000, rings=rings, caller_number=number,
                          seizable=seizable)
    rig = build_simulated(settings, script, VirtualClock(), MarkerDetector({"ko_ssibal": 1000.0}), sinks=[sink])
    run_rig(rig)
    return rig, sink


def test_a_blocked_caller_never_reaches_the_phone(tmp_path):
    rig, sink = call(settings_for(tmp_path), "070-1234-5678")
    blocked, = sink.of_type("call_blocked")
    assert blocked.rule == "block:prefix:070" and not blocked.answered
    assert not sink.of_type("call_started") and rig.line.unanswered
    (opened, closed), = rig.relay.energized_spans()
    cid_time = next(e.time_s for e in rig.monitor.history if type(e).__name__ == "CallerId")
    assert opened == pytest.approx(cid_time, abs=0.03)
    last_ring = max(e.time_s for e in rig.monitor.history if type(e).__name__ == "Ring")
    assert last_ring < closed < last_ring + 9.0        # reconnected as soon as ringing stopped
    assert not rig.relay.energized


def test_the_box_answers_a_blocked_call_when_it_can_seize_the_line(tmp_path):
    rig, sink = call(settings_for(tmp_path), "0701112222", seizable=True)
    assert sink.of_type("call_blocked")[0].answered
    assert [p.prompt_id for p in rig.audio.history] == ["blocked"]
    (t_on, on), (t_off, off) = rig.monitor.seizes
    assert on and not off and t_off - t_on == pytest.approx(rig.audio.history[0].duration_s, abs=0.03)
    assert not sink.of_type("call_started")


def test_first_ring_suppressed_until_the_caller_id_allows_it(tmp_path):
    rig, sink = call(settings_for(tmp_path, first_ring="suppress"), "0212345678")
    (opened, closed), = rig.relay.energized_spans()
    assert opened == 0.0
    assert closed == pytest.approx(next(e.time_s for e in rig.monitor.history if type(e).__name__ == "CallerId"),
                                   abs=0.03)
    assert sink.of_type("call_started")[0].caller_id == "0212345678" and not sink.of_type("call_blocked")


def test_an_allowed_number_is_never_blocked(tmp_path):
    s = settings_for(tmp_path, entries=[{"list": "allow", "value": "0705550000"}])
    _, sink = call(s, "070-555-0000")
    assert not sink.of_type("call_blocked") and sink.of_type("call_started")


ABUSIVE = timeline(murmur(2), tone(1000, 0.5), murmur(8, seed=2), tone(1000, 0.5), murmur(8, seed=3))


def test_repeat_abuser_gets_the_strict_policy_then_is_blocked(tmp_path):
    _, first = call(settings_for(tmp_path), "010-5555-6666", ABUSIVE)
    flagged, = first.of_type("caller_flagged")
    assert flagged.caller_id == "01055556666" and flagged.reason == "abuse"
    _, second = call(settings_for(tmp_path), "010-5555-6666", ABUSIVE)
    assert [w.level for w in second.of_type("warning_started")] == ["final"]   # no second chance
    assert second.of_type("caller_flagged")[0].count == 2
    _, third = call(settings_for(tmp_path, repeat_action="block"), "01055556666")
    assert third.of_type("call_blocked")[0].rule == "repeat_abuser"


def test_repeat_abuser_notice(tmp_path):
    call(settings_for(tmp_path), "0109998888", ABUSIVE)
    _, again = call(settings_for(tmp_path, repeat_action="notice"), "0109998888")
    assert [w.level for w in again.of_type("warning_started")][:1] == ["notice"]


def test_central_flags_are_merged_when_shared(tmp_path):
    from datetime import datetime, timedelta, timezone
    soon = (datetime.now(timezone.utc) + timedelta(days=5)).isoformat()
    s = settings_for(tmp_path, share_flags=True, repeat_action="block",
                     central_flags=[{"number": "010-4444-3333", "expires_at": soon}])
    _, sink = call(s, "01044443333")
    assert sink.of_type("call_blocked")[0].rule == "repeat_abuser"
    s = settings_for(tmp_path / "other", share_flags=False, repeat_action="block",
                     central_flags=[{"number": "010-7777-3333", "expires_at": soon}])
    _, sink = call(s, "01077773333")
    assert not sink.of_type("call_blocked")
