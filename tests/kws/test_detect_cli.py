"""``lineguard detect AUDIO.wav --json`` logic and its errors."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from lineguard.kws.detect_cli import detect_main

from .conftest import needs_espeak


@needs_espeak
@pytest.mark.parametrize("rate_hz,stereo", [(8000, False), (16000, True), (44100, False)])
def test_json_lines_any_rate_mono_or_stereo(speech_wav, capsys, rate_hz, stereo):
    path = speech_wav("you bastard", "en-us", rate_hz=rate_hz, stereo=stereo)
    assert detect_main(path, True, None) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["keyword"] for d in lines] == ["en_bastard"]
    assert set(lines[0]) == {"time", "keyword", "score"}
    assert 0.5 < lines[0]["time"] < 3.0


@needs_espeak
def test_plain_output(speech_wav, capsys):
    assert detect_main(speech_wav("개새끼", "ko"), False, None) == 0
    assert "ko_gaesaekki" in capsys.readouterr().out


def _write(path: Path, width: int = 2, frames: bytes = b"\x00\x00" * 800, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


@pytest.mark.parametrize("case,expect", [
    ("empty", "no audio"),
    ("truncated", "truncated"),
    ("garbage", "not a valid WAV"),
    ("eight_bit", "16-bit"),
    ("missing", "no such file"),
])
def test_bad_files_give_a_clear_error_naming_the_file(tmp_path, capsys, case, expect):
    path = tmp_path / f"{case}.wav"
    if case == "empty":
        _write(path, frames=b"")
    elif case == "truncated":
        data = _write(path, frames=b"\x01\x00" * 8000).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "garbage":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    elif case == "eight_bit":
        _write(path, width=1, frames=b"\x80" * 800)
    assert detect_main(path, True, None) == 2
    err = capsys.readouterr().err
    assert str(path) in err and expect in err
