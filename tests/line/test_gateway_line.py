"""Line observations through the gateway: faults, call waiting, DTMF codes."""

from __future__ import annotations

import numpy as np

from lineguard.app import build_simulated
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.events import Direction
from lineguard.line.base import CallerId, Dtmf, LineFault
from lineguard.line.calls import CallTracker, TrackState
from lineguard.line.base import Hook, Ring
from lineguard.line.virtual import FarEndScript
from lineguard.sinks import MemorySink
from tests.fakes import MarkerDetector


def run_script(script: FarEndScript):
    sink = MemorySink()
    rig = build_simulated(parse_settings({}), script, VirtualClock(), detector=MarkerDetector({}), sinks=[sink])
    limit = rig.line.answer_s + len(script.far_audio) / script.sample_rate_hz + 30
    rig.gateway.run(lambda gw: rig.finished() or rig.clock.now() > limit)
    return rig, sink


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 8000), np.float32)


def test_line_faults_become_fault_events_and_the_call_goes_on():
    script = FarEndScript(quiet(6), 8000, rings=1, caller_number="0212345678",
                          extra_events=(LineFault(6.0, "board lost"), LineFault(7.0, "board back", recovered=True)))
    rig, sink = run_script(script)
    faults = [e for e in sink.events if e.TYPE == "fault"]
    assert [(f.component, f.message, f.recovered) for f in faults] == [
        ("line", "board lost", False), ("line", "board back", True)]
    started = next(e for e in sink.events if e.TYPE == "call_started")
    assert all(f.call_id == started.call_id for f in faults)
    assert [e.TYPE for e in sink.events].count("call_started") == 1
    assert [e.TYPE for e in sink.events].count("call_ended") == 1


def test_call_waiting_caller_id_during_a_call_starts_nothing_and_plays_nothing():
    script = FarEndScript(quiet(6), 8000, rings=1, caller_number="0212345678",
                          extra_events=(CallerId(8.0, "0109999999", "WAITING"),))
    rig, sink = run_script(script)
    kinds = [e.TYPE for e in sink.events]
    assert kinds.count("call_started") == 1 and "warning_started" not in kinds
    started = next(e for e in sink.events if e.TYPE == "call_started")
    assert started.caller_id == "0212345678"
    assert rig.audio.history == []


def test_tracker_ignores_call_waiting_and_reports_in_call_digits():
    t = CallTracker()
    t.feed(Ring(0, True))
    t.feed(CallerId(1, "111"))
    (start,) = t.feed(Hook(5, True))
    assert t.feed(CallerId(9, "222", "OTHER")) == [] and t.state is TrackState.IN_CALL
    (digit,) = t.feed(Dtmf(10, "*"))
    assert digit.digit == "*" and start.caller_id == "111"


def test_dtmf_code_during_the_call_is_a_manual_trigger():
    script = FarEndScript(quiet(12), 8000, rings=0,
                          extra_events=(Dtmf(2.0, "*"), Dtmf(2.3, "9")))
    rig, sink = run_script(script)
    warning = next(e for e in sink.events if e.TYPE == "warning_started")
    assert abs(warning.time - 2.3) < 0.05           # the policy acted on the worker's code at once


def test_outgoing_dialed_number_reaches_call_started():
    script = FarEndScript(quiet(4), 8000, direction=Direction.OUTGOING, dialed="0212345678")
    rig, sink = run_script(script)
    started = next(e for e in sink.events if e.TYPE == "call_started")
    assert started.direction is Direction.OUTGOING and started.dialed_number == "0212345678"


def test_line_audio_observer_turns_keyed_code_and_busy_tone_into_call_events():
    from lineguard.dsp.decoder import LineAudioDecoder
    from lineguard.line.profiles import PROFILES
    from tests.line.signals import cadence, dtmf, silence

    far = np.concatenate([silence(1.0), dtmf("*9", amplitude=0.3), silence(9.0),
                          cadence((480, 620), 0.5, 0.5, 4.0), silence(3.0)])
    script = FarEndScript(far, 8000, rings=0, far_hangs_up=False, prompt_echo=0.0)
    sink = MemorySink()
    rig = build_simulated(parse_settings({"device": {"country": "US"}}), script, VirtualClock(),
                          detector=MarkerDetector({}), sinks=[sink])
    rig.gateway.line_audio_observers.append(LineAudioDecoder(PROFILES["US"]))
    rig.gateway.run(lambda gw: rig.clock.now() > 17.5)
    warning = next(e for e in sink.events if e.TYPE == "warning_started")
    assert 1.0 < warning.time < 1.4                     # the worker's *9 reached the policy
    ended = next(e for e in sink.events if e.TYPE == "call_ended")
    assert ended.ended_by.value == "far_end" and abs(ended.time - 10.4) < 0.3   # busy tone = far end gone


def test_dialed_digits_decoded_from_line_audio_give_the_outgoing_number():
    from lineguard.dsp.decoder import LineAudioDecoder
    from lineguard.line.profiles import PROFILES
    from tests.line.signals import dtmf, silence, tone

    audio = np.concatenate([tone((350, 440), 1.5), dtmf("0212345678", 0.07, 0.09), silence(5.0)])
    decoder = LineAudioDecoder(PROFILES["KR"])
    tracker = CallTracker()
    out = tracker.feed(Hook(0.0, True))
    for i in range(0, len(audio), 160):                      # 20 ms blocks, as the gateway feeds them
        for event in decoder.process(audio[i:i + 160], i / 8000):
            out += tracker.feed(event)
        out += tracker.tick((i + 160) / 8000)
    (start,) = out
    assert start.direction is Direction.OUTGOING and start.dialed_number == "0212345678"
    assert 1.5 + 1.6 + 4.0 - 0.2 < start.time_s < 1.5 + 1.6 + 4.0 + 0.2   # 4 s after the last digit


def test_hardware_build_decodes_line_audio_unless_switched_off():
    from lineguard.app import build_line_audio_observers
    from lineguard.dsp.decoder import LineAudioDecoder

    (decoder,) = build_line_audio_observers(parse_settings({"device": {"country": "DE"},
                                                            "line": {"profile": {"caller_id": "dtmf"}}}))
    assert isinstance(decoder, LineAudioDecoder) and decoder.fsk is None and decoder.dtmf_cid is not None
    assert build_line_audio_observers(parse_settings({"line": {"decode_audio": False}})) == []
