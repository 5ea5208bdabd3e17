"""`lineguard selftest` on the simulated line: the happy path and every failure path."""

from __future__ import annotations

import datetime as dt
import json
from collections import namedtuple

import numpy as np
import pytest

from lineguard.config import parse_settings
from lineguard.errors import LineGuardError, ModelError
from lineguard.line.base import CAP_RING, Hook, LoopCurrent, Ring
from lineguard_provision.selftest.context import Clip, ClockSync, Context
from lineguard_provision.selftest.report import Status
from lineguard_provision.selftest.rig import AudioDevice, simulated_rig
from lineguard_provision.selftest.runner import STEP_NAMES, Step, run_selftest, run_step
from tests.fakes import MarkerDetector

from .selftest_fakes import FilteredMonitor, ScaledAudio, VoltageMonitor, unwired_relay

LINE_STEPS = ["audio", "line", "ring", "loopback", "relay"]
Usage = namedtuple("Usage", "total used free")


def _settings(**sections):
    return parse_settings({"device": {"id": "clinic-042", "country": "US"}, **sections})


def _ctx(settings=None, caller="0212345678", **kw):
    settings = settings or _settings()
    return Context(settings, simulated_rig(settings, caller=caller), **kw)


def _run(ctx, *steps):
    report = run_selftest(ctx, only=list(steps))
    return [report.result(s).outcome for s in steps] if len(steps) > 1 else report.result(steps[0]).outcome


# -- the line steps on a healthy virtual line ----------------------------------------------

def test_line_steps_pass_on_the_simulated_line():
    ctx = _ctx()
    report = run_selftest(ctx, only=LINE_STEPS)
    assert [s.name for s in report.steps] == LINE_STEPS
    assert all(s.status is Status.PASS for s in report.steps), report.to_json()
    assert report.result("ring").outcome.data == {"rings": 2, "caller_id": "0212345678", "answered": True}
    loop = report.result("loopback").outcome.data
    assert loop["echo_dbfs"] == pytest.approx(-22.0, abs=0.5)          # prompt -16 dBFS, hybrid echo 0.5
    assert loop["output_gain_db"] == pytest.approx(-2.0, abs=0.5)
    assert report.result("relay").outcome.data["drop_ms"] <= 100


def test_relay_step_rerun_alone_waits_for_the_call_and_releases_it():
    ctx = _ctx()
    rig = ctx.rig
    outcome = _run(ctx, "relay")
    assert outcome.status is Status.PASS
    assert rig.relay is None                         # closed after the run


# -- audio ---------------------------------------------------------------------------------

def test_audio_no_devices():
    ctx = _ctx()
    ctx.rig.list_devices = lambda: []
    outcome = _run(ctx, "audio")
    assert outcome.status is Status.FAIL and "arecord -l" in outcome.remedy


def test_audio_picks_by_name_and_lists_the_others():
    ctx = _ctx(_settings(audio={"input_device": "codec"}))
    ctx.rig.list_devices = lambda: [AudioDevice(0, "bcm2835 Headphones", 0, 8),
                                    AudioDevice(1, "USB Audio CODEC: Audio (hw:1,0)", 2, 2)]
    outcome = _run(ctx, "audio")
    assert outcome.status is Status.PASS and outcome.data["picked"].startswith("USB Audio CODEC")
    assert len(outcome.data["devices"]) == 2


def test_audio_no_match_names_the_choices():
    ctx = _ctx(_settings(audio={"input_device": "Scarlett"}))
    ctx.rig.list_devices = lambda: [AudioDevice(0, "bcm2835 Headphones", 0, 8)]
    outcome = _run(ctx, "audio")
    assert outcome.status is Status.FAIL and "'bcm2835 Headphones'" in outcome.remedy


def test_audio_several_matches_warns():
    ctx = _ctx()
    ctx.rig.list_devices = lambda: [AudioDevice(1, "USB Audio A", 2, 2), AudioDevice(2, "USB Audio B", 2, 2)]
    outcome = _run(ctx, "audio")
    assert outcome.status is Status.WARN and 'audio.input_device = "USB Audio A"' in outcome.remedy


# -- line ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("volts", "status"), [(48.0, Status.PASS), (0.0, Status.FAIL)])
def test_line_voltage(volts, status):
    ctx = _ctx()
    ctx.rig.make_monitor = lambda: VoltageMonitor(volts)
    outcome = _run(ctx, "line")
    assert outcome.status is status and outcome.data == {"volts": volts}
    if status is Status.FAIL:
        assert "LINE port" in outcome.remedy


def test_line_board_silent_fails():
    ctx = _ctx(_settings(line={"port": "/dev/ttyACM0"}))
    ctx.settings = ctx.settings.model_copy(update={"line": ctx.settings.line.model_copy(update={"backend": "board"})})
    inner = ctx.rig.make_monitor
    ctx.rig.make_monitor = lambda: FilteredMonitor(inner(), (Ring, Hook, LoopCurrent))
    outcome = _run(ctx, "line")
    assert outcome.status is Status.FAIL and "/dev/ttyACM0" in outcome.remedy


# -- ring and caller ID --------------------------------------------------------------------------

def test_no_ring_fails_with_instructions():
    ctx = _ctx()
    inner = ctx.rig.make_monitor
    ctx.rig.make_monitor = lambda: FilteredMonitor(inner(), (Ring,))
    outcome = _run(ctx, "ring")
    assert outcome.status is Status.FAIL and "--only ring" in outcome.remedy


def test_no_caller_id_warns():
    outcome = _run(_ctx(caller=None), "ring")
    assert outcome.status is Status.WARN and "caller-ID service" in outcome.remedy


def test_ring_not_answered_fails():
    ctx = _ctx()
    inner = ctx.rig.make_monitor
    ctx.rig.make_monitor = lambda: FilteredMonitor(inner(), (Hook, LoopCurrent))
    outcome = _run(ctx, "ring")
    assert outcome.status is Status.FAIL and "Answer the desk phone" in outcome.remedy


# -- loopback --------------------------------------------------------------------------------

def test_loopback_tone_not_heard_fails():
    ctx = _ctx()
    inner = ctx.rig.make_audio
    ctx.rig.make_audio = lambda: ScaledAudio(inner(), play_gain=0.0)
    outcome = _run(ctx, "loopback")
    assert outcome.status is Status.FAIL and "not heard back" in outcome.detail
    assert "transformer" in outcome.remedy


def test_loopback_clipping_fails():
    ctx = _ctx()
    inner = ctx.rig.make_audio
    ctx.rig.make_audio = lambda: ScaledAudio(inner(), capture_gain=16.0)
    outcome = _run(ctx, "loopback")
    assert outcome.status is Status.FAIL and "clips" in outcome.detail


def test_loopback_on_hook_fails():
    ctx = _ctx()
    inner = ctx.rig.make_monitor
    ctx.rig.make_monitor = lambda: FilteredMonitor(inner(), (Hook, LoopCurrent))
    outcome = _run(ctx, "loopback")
    assert outcome.status is Status.FAIL and "--only loopback" in outcome.remedy


# -- relay -------------------------------------------------------------------------------------

def test_relay_not_in_the_loop_fails_and_is_released():
    ctx = _ctx()
    unwired_relay(ctx.rig)
    outcome = _run(ctx, "relay")
    assert outcome.status is Status.FAIL and "normally-closed" in outcome.remedy
    [relay] = ctx.rig.fake_relays
    assert [on for _, on in relay.history] == [True, False] and relay.closed


def test_relay_on_hook_fails():
    ctx = _ctx()
    inner = ctx.rig.make_monitor
    ctx.rig.make_monitor = lambda: FilteredMonitor(inner(), (LoopCurrent,))
    outcome = _run(ctx, "relay")
    assert outcome.status is Status.FAIL and "Lift the handset" in outcome.remedy


def test_relay_without_loop_sense_warns():
    ctx = _ctx()
    inner = ctx.rig.make_monitor
    ctx.rig.make_monitor = lambda: FilteredMonitor(inner(), (), frozenset({CAP_RING}))
    outcome = _run(ctx, "relay")
    assert outcome.status is Status.WARN and "click" in outcome.remedy


# -- mqtt, model, clock, disk ----------------------------------------------------------------------

def test_mqtt_disabled_fails():
    outcome = _run(_ctx(), "mqtt")
    assert outcome.status is Status.FAIL and "[mqtt]" in outcome.remedy


def test_mqtt_client_not_available_fails(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "lineguard.mqtt.connection", None)   # a build without lineguard.mqtt
    outcome = _run(_ctx(_settings(mqtt={"enabled": True})), "mqtt")
    assert outcome.status is Status.FAIL and "not available" in outcome.detail


def _tone_clip(freq_hz=1000.0, seconds=1.0):
    t = np.arange(int(8000 * seconds)) / 8000
    return Clip((0.3 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32), 8000, "tone.wav")


def test_model_detects_on_the_clip():
    ctx = _ctx(make_detector=lambda: MarkerDetector({"ko_test": 1000.0}), load_clip=_tone_clip)
    outcome = _run(ctx, "model")
    assert outcome.status is Status.PASS and outcome.data["detections"] == ["ko_test"]


def test_model_detects_nothing_fails():
    ctx = _ctx(make_detector=lambda: MarkerDetector({"ko_test": 2000.0}), load_clip=_tone_clip)
    outcome = _run(ctx, "model")
    assert outcome.status is Status.FAIL and "detected nothing" in outcome.detail


def test_model_missing_fails_not_available(tmp_path):
    ctx = _ctx(_settings(detector={"model_path": str(tmp_path / "none.tflite")}))
    outcome = _run(ctx, "model")
    assert outcome.status is Status.FAIL and "not available" in outcome.detail


def test_model_error_from_factory_fails():
    def broken():
        raise ModelError("corrupt flatbuffer")

    outcome = _run(_ctx(make_detector=broken), "model")
    assert outcome.status is Status.FAIL and "corrupt flatbuffer" in outcome.detail


@pytest.mark.parametrize(("sync", "status"), [(True, Status.PASS), (False, Status.FAIL), (None, Status.WARN)])
def test_clock_sync(sync, status):
    outcome = _run(_ctx(clock_probe=lambda: ClockSync(sync, "probe")), "clock")
    assert outcome.status is status


def test_clock_in_1970_fails():
    ctx = _ctx(clock_probe=lambda: ClockSync(True, "probe"),
               utc_now=lambda: dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
    outcome = _run(ctx, "clock")
    assert outcome.status is Status.FAIL and "1970-01-01" in outcome.detail


def test_disk_space(tmp_path):
    full = Usage(32 * 2**30, 32 * 2**30 - 100 * 2**20, 100 * 2**20)
    ctx = _ctx(_settings(recording={"dir": str(tmp_path / "rec")}), disk_usage=lambda path: full)
    outcome = _run(ctx, "disk")
    assert outcome.status is Status.FAIL and outcome.data["free_mb"] == 100
    assert outcome.data["path"] == str(tmp_path)
    assert _run(_ctx(_settings(recording={"dir": str(tmp_path)})), "disk").status is Status.PASS


# -- runner, report, CLI ------------------------------------------------------------------------------

def test_a_step_that_raises_is_reported_with_its_remedy():
    def explode(_ctx):
        raise LineGuardError("serial port vanished")

    result = run_step(_ctx(), Step("x", "X", explode, "Replug the board."))
    assert result.status is Status.FAIL
    assert result.outcome.detail == "LineGuardError: serial port vanished"
    assert result.outcome.remedy == "Replug the board."


def test_unknown_step_is_rejected():
    with pytest.raises(LineGuardError, match="unknown self-test step"):
        run_selftest(_ctx(), only=["teleport"])


def test_json_report_from_the_cli(capsys, tmp_path):
    from lineguard.cli import main

    config = tmp_path / "c.toml"
    config.write_text('[device]\nid = "clinic-042"\ncountry = "US"\n')
    rc = main(["selftest", "--config", str(config), "--json", "--only", "audio,relay", "--only", "mqtt"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1 and report["passed"] is False                  # MQTT is disabled
    assert report["device_id"] == "clinic-042"
    assert [(s["name"], s["status"]) for s in report["steps"]] == [("audio", "pass"), ("relay", "pass"),
                                                                 ("mqtt", "fail")]
    assert all(set(s) == {"name", "title", "status", "detail", "remedy", "data", "duration_s"}
               for s in report["steps"])


def test_progress_display_shows_each_result_and_what_to_do(capsys, tmp_path):
    from lineguard.cli import main

    config = tmp_path / "c.toml"
    config.write_text('[device]\nid = "clinic-042"\n')
    assert main(["selftest", "--config", str(config), "--only", "relay,mqtt"]) == 1
    err = capsys.readouterr().err
    assert "pass" in err and "Relay click and loop drop" in err
    assert "fail" in err and "→ Set [mqtt] enabled" in err and "FAILED clinic-042" in err


def test_every_step_is_covered():
    assert STEP_NAMES == ("audio", "line", "ring", "loopback", "relay", "mqtt", "model", "clock", "disk")


class _FakePyAudio:
    """Just enough of the `pyaudio` module to enumerate devices."""

    DEVICES = [{"name": "bcm2835 Headphones: - (hw:0,0)", "maxInputChannels": 0, "maxOutputChannels": 8},
               {"name": "USB Audio CODEC: - (hw:1,0)", "maxInputChannels": 2, "maxOutputChannels": 2}]

    class PyAudio:
        terminated = False

        def get_device_count(self):
            return len(_FakePyAudio.DEVICES)

        def get_device_info_by_index(self, index):
            return _FakePyAudio.DEVICES[index]

        def terminate(self):
            _FakePyAudio.PyAudio.terminated = True


def test_hardware_rig_lists_alsa_devices_through_pyaudio(monkeypatch):
    import sys

    from lineguard_provision.selftest.rig import hardware_rig

    monkeypatch.setitem(sys.modules, "pyaudio", _FakePyAudio)
    settings = _settings(audio={"backend": "pyaudio", "input_device": "CODEC"}, relay={"backend": "gpio"},
                         line={"backend": "board", "port": "/dev/ttyACM0"})
    ctx = Context(settings, hardware_rig(settings))
    outcome = _run(ctx, "audio")
    assert outcome.status is Status.PASS and outcome.data["picked"] == "USB Audio CODEC: - (hw:1,0)"
    assert outcome.data["devices"][0] == "0: bcm2835 Headphones: - (hw:0,0) (in 0, out 8)"
    assert _FakePyAudio.PyAudio.terminated


def test_hardware_rig_without_pyaudio_fails_with_the_install_hint(monkeypatch):
    import sys

    from lineguard_provision.selftest.rig import hardware_rig

    monkeypatch.setitem(sys.modules, "pyaudio", None)
    settings = _settings(audio={"backend": "pyaudio"}, relay={"backend": "gpio"}, line={"backend": "board"})
    outcome = _run(Context(settings, hardware_rig(settings)), "audio")
    assert outcome.status is Status.FAIL and "python3-pyaudio" in outcome.detail


class _CidFromAudio:
    """Stands in for the line-audio decoder: reports a caller ID from the 8 kHz line channel."""

    def __init__(self) -> None:
        self.fed = 0

    def process(self, samples, start_s):
        from lineguard.line.base import CallerId

        assert samples.ndim == 1
        self.fed += len(samples)
        return [CallerId(start_s, "0311112222")] if self.fed == len(samples) else []


def test_caller_id_decoded_from_line_audio_reaches_the_ring_step():
    ctx = _ctx(caller=None)
    decoder = _CidFromAudio()
    ctx.rig.line_audio_observers = [decoder]
    outcome = _run(ctx, "ring")
    assert outcome.status is Status.PASS and outcome.data["caller_id"] == "0311112222"
    assert decoder.fed > 8000                      # fed at 8 kHz while waiting for the call
