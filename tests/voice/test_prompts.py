"""Prompts: bundled and site WAVs, validated, calibrated to a safe line level, played on the line."""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import MarkerDetector, murmur, timeline, tone
from lineguard.app import build_simulated
from lineguard.audio.wavio import write_wav
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.errors import AudioFormatError, ConfigError
from lineguard.line.virtual import FarEndScript
from lineguard.prompts import (
    BUNDLED_DIR, PEAK_LIMIT, PROMPT_IDS, PromptLibrary, active_level_dbfs, check_prompt_audio, line_dbm,
)
from lineguard.replay import run_rig
from lineguard.sinks import MemorySink

ROOT = Path(__file__).resolve().parents[2]


def speech_like(seconds: float, rate: int = 16000, level: float = 0.2) -> np.ndarray:
    """Syllables of a 300 Hz tone with pauses, like a spoken sentence."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 2.5 * t) > 0).astype(np.float32)
    return (level * envelope * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_bundled_prompt_is_usable_and_calibrated(language):
    settings = parse_settings({"device": {"language": language}})
    library = PromptLibrary.from_settings(settings, 48000)
    library.load_all()
    for prompt_id in PROMPT_IDS:
        samples = library.get(prompt_id)
        level, speech_s = active_level_dbfs(samples, 48000)
        assert level == pytest.approx(-16.0, abs=0.05), prompt_id
        assert np.max(np.abs(samples)) <= PEAK_LIMIT + 1e-6
        assert 1.0 < speech_s and len(samples) / 48000 < 10.0
        assert not check_prompt_audio(samples, 48000, settings.prompts)


def test_default_level_is_below_minus_9_dbm_on_the_line():
    s = parse_settings({})
    assert line_dbm(s.audio.prompt_level_dbfs + s.audio.output_gain_db, s.prompts.full_scale_dbm) <= -9.0


def test_too_loud_a_prompt_level_is_refused_with_the_numbers():
    settings = parse_settings({"audio": {"prompt_level_dbfs": -10, "output_gain_db": 2},
                               "prompts": {"full_scale_dbm": 0}})
    with pytest.raises(ConfigError) as err:
        PromptLibrary.from_settings(settings, 48000)
    assert err.value.problems[0][0] == "audio.prompt_level_dbfs" and "-4.99 dBm" not in str(err.value)
    assert "-5.0 dBm" in str(err.value) and "-9 dBm" in str(err.value)
    # a quieter interface (measured full_scale_dbm) makes the same setting safe
    quiet = parse_settings({"audio": {"prompt_level_dbfs": -10, "output_gain_db": 2},
                            "prompts": {"full_scale_dbm": -6}})
    PromptLibrary.from_settings(quiet, 48000)


def test_gain_is_configurable():
    settings = parse_settings({"audio": {"prompt_level_dbfs": -20, "output_gain_db": -6}})
    samples = PromptLibrary.from_settings(settings, 8000).get("warning")
    assert active_level_dbfs(samples, 8000)[0] == pytest.approx(-26.0, abs=0.05)


def site(tmp_path: Path, samples: np.ndarray, rate: int = 16000, name: str = "warning.wav") -> Path:
    path = tmp_path / name
    write_wav(path, samples, rate)
    return path


def test_site_prompt_replaces_the_bundled_one(tmp_path):
    path = site(tmp_path, speech_like(3.0, 44100, level=0.05), 44100)
    settings = parse_settings({"prompts": {"files": {"warning": str(path)}}})
    library = PromptLibrary.from_settings(settings, 48000)
    samples = library.get("warning")
    assert len(samples) == pytest.approx(3.0 * 48000, abs=2)
    assert active_level_dbfs(samples, 48000)[0] == pytest.approx(-16.0, abs=0.1)


@pytest.mark.parametrize("audio, rate, message", [
    (speech_like(30.0), 16000, "30.0 s long; at most 20 s"),
    (np.zeros(16000 * 2, np.float32), 16000, "too quiet or silent"),
    (0.001 * speech_like(3.0), 16000, "too quiet or silent"),
    (np.clip(3 * speech_like(3.0, level=0.9), -1, 1), 16000, "clipped"),
])
def test_unusable_site_prompts_are_refused_clearly(tmp_path, audio, rate, message):
    path = site(tmp_path, audio, rate)
    library = PromptLibrary.from_settings(parse_settings({"prompts": {"files": {"warning": str(path)}}}), 8000)
    with pytest.raises(AudioFormatError, match=message) as err:
        library.get("warning")
    assert str(path) in str(err.value) and "'warning'" in str(err.value)


def test_site_prompt_in_the_wrong_format_is_refused(tmp_path):
    path = tmp_path / "final.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(3)
        w.setframerate(16000)
        w.writeframes(b"\0" * 3 * 16000)
    library = PromptLibrary.from_settings(parse_settings({"prompts": {"files": {"final": str(path)}}}), 8000)
    with pytest.raises(ConfigError) as err:
        library.load_all()
    assert err.value.problems == [("prompts.files.final", f"{path}: sample format is 24-bit; 16-bit PCM is required")]


def test_unknown_prompt_id_and_missing_file_are_listed(tmp_path):
    with pytest.raises(ConfigError, match="prompts.files.warnign: unknown prompt id"):
        PromptLibrary.from_settings(parse_settings({"prompts": {"files": {"warnign": "x.wav"}}}), 8000)
    library = PromptLibrary.from_settings(
        parse_settings({"prompts": {"files": {"notice": str(tmp_path / "a.wav"), "final": str(tmp_path / "b.wav")}}}),
        8000)
    with pytest.raises(ConfigError) as err:
        library.load_all()
    assert [key for key, _ in err.value.problems] == ["prompts.files.notice", "prompts.files.final"]


def test_prompt_is_played_onto_the_line_at_the_calibrated_level():
    sink = MemorySink()
    settings = parse_settings({"audio": {"prompt_level_dbfs": -18}})
    audio = timeline(murmur(2), tone(1000, 0.5), murmur(10))
    rig = build_simulated(settings, FarEndScript(audio, 8000), VirtualClock(),
                          MarkerDetector({"ko_ssibal": 1000.0}), sinks=[sink])
    run_rig(rig)
    started, = sink.of_type("warning_started")
    finished, = sink.of_type("warning_finished")
    played, = rig.audio.history
    assert started.time == played.start_s and finished.time == pytest.approx(played.end_s, abs=1e-9)
    heard = rig.line.far_heard[0].samples
    assert len(heard) == len(rig.gateway.prompts.get("warning"))
    assert active_level_dbfs(heard, rig.line.rate_hz)[0] == pytest.approx(-18.0, abs=0.05)
    assert line_dbm(-18.0, settings.prompts.full_scale_dbm) <= -9.0


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                    reason="espeak-ng and sox are needed to rebuild the prompts")
def test_bundled_prompts_are_reproducible_from_make_prompts():
    out = subprocess.run([sys.executable, str(ROOT / "edge/scripts/make_prompts.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert sorted(p.stem for p in (BUNDLED_DIR / "en").glob("*.wav")) == sorted(PROMPT_IDS)


def test_check_config_validates_site_prompts_and_level(tmp_path, capsys):
    from lineguard.cli import main as cli_main
    good = site(tmp_path, speech_like(2.0))
    config = tmp_path / "site.toml"
    config.write_text(f'[prompts.files]\nwarning = "{good}"\n')
    assert cli_main(["check-config", str(config)]) == 0
    config.write_text(f'[audio]\nprompt_level_dbfs = -6\n[prompts.files]\nwarning = "{tmp_path / "gone.wav"}"\n')
    assert cli_main(["check-config", str(config)]) == 2
    assert f"{config}: audio.prompt_level_dbfs" in capsys.readouterr().err
    config.write_text(f'[prompts.files]\nwarning = "{tmp_path / "gone.wav"}"\n')
    assert cli_main(["check-config", str(config)]) == 2
    assert f"{config}: prompts.files.warning" in capsys.readouterr().err
