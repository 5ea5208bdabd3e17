"""The protected call end to end on the virtual line, with a marker-tone detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fakes import MarkerDetector, murmur, silence, timeline, tone
from lineguard.app import build_simulated
from lineguard.audio.wavio import write_wav
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.events import Direction
from lineguard.line.base import Dtmf
from lineguard.line.virtual import FarEndScript
from lineguard.prompts import PromptLibrary
from lineguard.replay import build_replay, run_rig
from lineguard.sinks import MemorySink

MARKERS = {"ko_ssibal": 1000.0, "en_killyou": 1500.0}
ABUSE = tone(1000, 0.5)


def abusive_call() -> np.ndarray:
    return timeline(murmur(2), ABUSE, murmur(8, seed=2), ABUSE, murmur(10, seed=3))


def replay(tmp_path: Path, samples: np.ndarray, rate: int = 8000, direction=Direction.INCOMING, **sections):
    path = tmp_path / "call.wav"
    write_wav(path, samples, rate)
    sink = MemorySink()
    rig = build_replay(path, parse_settings(sections), direction, detector=MarkerDetector(MARKERS), sinks=[sink])
    run_rig(rig)
    return rig, sink


def types(sink: MemorySink) -> list[str]:
    return [e.TYPE for e in sink.events if e.TYPE != "status"]


def test_abuse_is_warned_then_the_call_is_ended(tmp_path):
    rig, sink = replay(tmp_path, abusive_call())
    assert types(sink) == ["call_started", "keyword_detected", "warning_started", "warning_finished",
                           "keyword_detected", "warning_started", "warning_finished", "call_terminated",
                           "call_ended"]
    started, det1, w1, w1_end, det2, final, final_end, term, ended = [e for e in sink.events if e.TYPE != "status"]
    assert started.time == 0.0 and started.direction is Direction.INCOMING
    assert det1.keyword == "ko_ssibal" and 2.0 < det1.time < 2.6
    assert w1.level == "warning" and w1.time >= det1.time and w1.time - det1.time < 0.05
    assert w1_end.time - w1.time == pytest.approx(w1_end.duration_s) and w1_end.duration_s > 1.0
    assert final.level == "final" and final.prompt_id == "final"
    assert term.reason.value == "abuse" and ended.ended_by.value == "gateway"
    # the relay opened when the final message ended, for the release time, and closed again
    (opened, closed), = rig.relay.energized_spans()
    assert opened == pytest.approx(final_end.time, abs=0.03) and closed - opened == pytest.approx(2.0, abs=0.03)
    assert rig.line.released_s is not None
    # the far end heard both prompts, and nothing after the exchange released the call
    assert [p.prompt_id for p in rig.audio.history] == ["warning", "final"]
    assert len({e.call_id for e in sink.events if e.call_id}) == 1


def test_replay_is_deterministic(tmp_path):
    def strip(sink):
        return [{k: v for k, v in e.to_wire().items() if k not in ("event_id", "ts", "call_id")}
                for e in sink.events]
    _, a = replay(tmp_path, abusive_call())
    _, b = replay(tmp_path, abusive_call())
    assert strip(a) == strip(b)


@pytest.mark.parametrize("block_ms", [10, 50, 125])
def test_same_detections_whatever_the_block_size(tmp_path, block_ms):
    _, base = replay(tmp_path, abusive_call())
    _, other = replay(tmp_path, abusive_call(), audio={"block_ms": block_ms})
    assert types(other) == types(base)
    det = lambda s: [round(e.time, 3) for e in s.of_type("keyword_detected")]  # noqa: E731
    assert det(other) == det(base)
    for a, b in zip(base.of_type("warning_started"), other.of_type("warning_started")):
        assert abs(a.time - b.time) <= block_ms / 1000 + 0.021


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_any_input_rate(tmp_path, rate):
    from lineguard.audio.resample import to_rate
    _, sink = replay(tmp_path, to_rate(abusive_call(), 8000, rate), rate)
    assert [e.TYPE for e in sink.of_type("call_terminated")] == ["call_terminated"]


def test_words_of_the_worker_never_trigger(tmp_path):
    # channel 0: line side (far end); channel 1: phone side (worker). The worker swears;
    # the line side carries only a weak echo of it.
    worker = timeline(silence(2), tone(1000, 0.6), silence(3), tone(1000, 0.6), silence(4))
    line = 0.3 * worker
    _, sink = replay(tmp_path, np.stack([line, worker], axis=1))
    dets = sink.of_type("keyword_detected")
    assert len(dets) == 2 and all(d.side.value == "near" and not d.acted_on for d in dets)
    assert not sink.of_type("warning_started") and sink.of_type("call_ended")[0].ended_by.value == "far_end"


def test_far_end_words_act_with_two_channels(tmp_path):
    far = abusive_call()
    _, sink = replay(tmp_path, np.stack([far, 0.05 * far], axis=1))
    assert {d.side.value for d in sink.of_type("keyword_detected")} == {"far"}
    assert len(sink.of_type("call_terminated")) == 1


def test_outgoing_calls_are_protected(tmp_path):
    _, sink = replay(tmp_path, abusive_call(), direction=Direction.OUTGOING)
    started = sink.of_type("call_started")[0]
    assert started.direction is Direction.OUTGOING and started.time == 0.0
    assert sink.of_type("call_terminated")[0].reason.value == "abuse"


def test_outgoing_call_with_dialing_reports_the_number():
    script = FarEndScript(abusive_call(), 8000, direction=Direction.OUTGOING, dialed="0212345678")
    sink = MemorySink()
    rig = build_simulated(parse_settings({}), script, VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])
    run_rig(rig)
    started = sink.of_type("call_started")[0]
    assert started.dialed_number == "0212345678" and started.direction is Direction.OUTGOING
    # protection starts when dialing is done (4 s after the last digit), before the far end answers
    assert started.time == pytest.approx(1.0 + 9 * 0.4 + 4.0, abs=0.03) and started.time < rig.line.answer_s
    assert sink.of_type("call_terminated")


def test_threat_goes_straight_to_the_final_message(tmp_path):
    audio = timeline(murmur(2), tone(1500, 0.5), murmur(10))
    _, sink = replay(tmp_path, audio)
    assert [w.level for w in sink.of_type("warning_started")] == ["final"]
    assert sink.of_type("call_terminated")[0].reason.value == "threat"


def test_long_call_is_warned_then_ended(tmp_path):
    _, sink = replay(tmp_path, murmur(30), policy={"long_call_warning_s": 5, "long_call_grace_s": 4})
    warnings = sink.of_type("warning_started")
    assert [w.prompt_id for w in warnings] == ["long_call", "long_call_final"]
    assert warnings[0].time == pytest.approx(5.0, abs=0.03)
    finished = sink.of_type("warning_finished")[0]
    assert warnings[1].time == pytest.approx(finished.time + 4, abs=0.03)
    assert sink.of_type("call_terminated")[0].reason.value == "duration"


def test_worker_extends_a_long_call_by_dtmf():
    settings = parse_settings({"policy": {"long_call_warning_s": 5, "long_call_grace_s": 4, "extend_s": 60}})
    script = FarEndScript(murmur(25), 8000, extra_events=(Dtmf(12.0, "*"), Dtmf(12.2, "8")))
    sink = MemorySink()
    rig = build_simulated(settings, script, VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])
    run_rig(rig)
    assert [w.prompt_id for w in sink.of_type("warning_started")] == ["long_call"]
    assert not sink.of_type("call_terminated") and sink.of_type("call_ended")[0].ended_by.value == "far_end"


def test_manual_trigger_by_dtmf_code():
    script = FarEndScript(murmur(30), 8000, extra_events=(Dtmf(3.0, "*"), Dtmf(3.2, "9"), Dtmf(14.0, "*"),
                                                         Dtmf(14.2, "9")))
    sink = MemorySink()
    rig = build_simulated(parse_settings({}), script, VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])
    run_rig(rig)
    assert [w.level for w in sink.of_type("warning_started")] == ["warning", "final"]
    assert sink.of_type("call_terminated")[0].reason.value == "manual"


def test_manual_trigger_button():
    sink = MemorySink()
    rig = build_simulated(parse_settings({"policy": {"warnings_before_final": 0}}),
                          FarEndScript(murmur(20), 8000), VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])

    def until(gw):
        if 4.0 <= rig.clock.now() < 4.03:
            gw.manual_trigger()
        return rig.finished() or rig.clock.now() > 60
    rig.gateway.run(until)
    assert sink.of_type("warning_started")[0].time == pytest.approx(4.02, abs=0.03)
    assert sink.of_type("call_terminated")[0].reason.value == "manual"


def test_our_own_prompt_never_triggers_the_spotter():
    # a prompt made of the marker tone itself, echoed back onto the line channel at full level
    sink = MemorySink()
    rig = build_simulated(parse_settings({"audio": {"channels": 1}}),
                          FarEndScript(timeline(murmur(1), ABUSE, murmur(15)), 8000, prompt_echo=1.0),
                          VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])
    rig.gateway.prompts._cache["warning"] = tone(1000, 3.0, rig.line.rate_hz)
    run_rig(rig)
    assert len(sink.of_type("keyword_detected")) == 1
    assert [w.level for w in sink.of_type("warning_started")] == ["warning"]


def test_ring_answer_and_caller_id():
    sink = MemorySink()
    rig = build_simulated(parse_settings({}), FarEndScript(murmur(5), 8000, rings=2, caller_number="0312345678"),
                          VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])
    run_rig(rig)
    states = [e.state for e in sink.of_type("status")]
    assert states[:2] == ["online", "ringing"]
    started = sink.of_type("call_started")[0]
    assert started.caller_id == "0312345678" and started.time == pytest.approx(rig.line.answer_s, abs=0.03)
    assert sink.of_type("call_ended")[0].ended_by.value == "far_end"


def test_worker_hangs_up_first():
    from lineguard.line.base import Hook
    sink = MemorySink()
    script = FarEndScript(murmur(20), 8000, far_hangs_up=False, extra_events=(Hook(6.0, False),))
    rig = build_simulated(parse_settings({}), script, VirtualClock(), MarkerDetector(MARKERS), sinks=[sink])
    rig.gateway.run(lambda gw: rig.clock.now() > 8)
    ended = sink.of_type("call_ended")[0]
    assert ended.ended_by.value == "near_end" and ended.duration_s == pytest.approx(6.0, abs=0.03)


def test_relay_is_released_when_the_loop_crashes():
    class Boom(Exception):
        pass
    rig = build_simulated(parse_settings({}), FarEndScript(murmur(20), 8000), VirtualClock(),
                          MarkerDetector(MARKERS))
    def until(gw):
        if rig.clock.now() > 3:
            rig.gateway.relay.energize(rig.clock.now())
            raise Boom()
        return False
    with pytest.raises(Boom):
        rig.gateway.run(until)
    assert rig.relay.history[-1][1] is False and rig.relay.closed


def test_speech_activity_reaches_the_terminal_view():
    class Talks(MemorySink):
        def __init__(self):
            super().__init__()
            self.talks = []

        def speech(self, time_s, side, active):
            self.talks.append((round(time_s, 2), side, active))
    sink = Talks()
    audio = timeline(silence(1), murmur(2, level=0.1), silence(3))
    rig = build_simulated(parse_settings({}), FarEndScript(audio, 8000), VirtualClock(), MarkerDetector(MARKERS),
                          sinks=[sink])
    run_rig(rig)
    far = [t for t in sink.talks if t[1] == "far"]
    assert far[0][2] and far[0][0] == pytest.approx(1.0, abs=0.03)
    assert not far[1][2] and 3.0 < far[1][0] < 3.8
    assert not [t for t in sink.talks if t[1] == "near"]   # the far end leaking into the phone side is not the worker
