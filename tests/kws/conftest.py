"""Speech fixtures for runtime tests: synthesized with espeak-ng at test time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lineguard.audio.resample import to_rate
from lineguard.audio.wavio import read_wav, write_wav

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def speak(tmp_path: Path, text: str, voice: str, speed_wpm: int = 150) -> np.ndarray:
    """espeak-ng speech at 8 kHz, float32, with 0.5 s of quiet before and 1 s after."""
    raw = tmp_path / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-w", str(raw), text], check=True)
    samples, rate = read_wav(raw)
    speech = to_rate(samples[:, 0], rate, 8000) * 0.5
    rng = np.random.default_rng(0)
    pad = lambda s: (rng.standard_normal(int(s * 8000)) * 1e-3).astype(np.float32)  # noqa: E731
    return np.concatenate([pad(0.5), speech, pad(1.0)]).astype(np.float32)


@pytest.fixture
def speech_wav(tmp_path: Path):
    def make(text: str, voice: str, rate_hz: int = 8000, stereo: bool = False, speed_wpm: int = 150) -> Path:
        audio = speak(tmp_path, text, voice, speed_wpm)
        audio = to_rate(audio, 8000, rate_hz) if rate_hz != 8000 else audio
        if stereo:
            audio = np.stack([audio, np.zeros_like(audio)], axis=1)
        path = tmp_path / f"speech_{rate_hz}_{int(stereo)}.wav"
        write_wav(path, audio, rate_hz)
        return path
    return make
