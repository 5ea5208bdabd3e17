"""Spoken prompts: bundled WAVs per language, or a site's own recordings.

Each prompt is resampled to the device rate and scaled so that its
*active speech level* (the RMS of the frames that carry speech, not of the
pauses) is ``audio.prompt_level_dbfs + audio.output_gain_db``.

Calibration (see docs/prompts.md): the line level in dBm (600 ohm) of a
signal is its RMS level in dBFS + 3.01 dB (a full-scale sine is -3.01 dBFS
RMS) + ``prompts.full_scale_dbm``, the measured line level of a
full-scale sine through the interface and coupling transformer. A
configured prompt level above ``prompts.max_line_dbm`` (at most -9 dBm) is
refused at start-up.

A site's own WAV (``prompts.files.<prompt id>``) is checked when the
gateway starts: readable 16-bit PCM, not too long, not silent, not clipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lineguard.audio.levels import SILENCE_DBFS
from lineguard.audio.resample import to_rate
from lineguard.audio.wavio import read_wav
from lineguard.config import PromptSettings, Settings
from lineguard.errors import AudioFormatError, ConfigError

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).parent / "assets" / "prompts"
PROMPT_IDS = ("notice", "warning", "final", "long_call", "long_call_final", "blocked")

SINE_RMS_DB = 3.01                # full-scale sine: peak 1.0, RMS -3.01 dBFS
FRAME_S = 0.02
ACTIVE_RANGE_DB = 30.0            # frames within this of the loudest frame count as speech
PEAK_LIMIT = 0.89                 # -1 dBFS: never clip the line interface
CLIP_LEVEL = 0.999
MAX_CLIPPED_FRACTION = 0.001
MIN_SPEECH_S = 0.3


def line_dbm(level_dbfs: float, full_scale_dbm: float) -> float:
    """Line level (dBm, 600 ohm) of a signal at ``level_dbfs`` RMS."""
    return level_dbfs + SINE_RMS_DB + full_scale_dbm


def active_level_dbfs(samples: np.ndarray, rate_hz: int) -> tuple[float, float]:
    """(active speech level in dBFS RMS, seconds of active speech)."""
    x = np.asarray(samples, np.float64).reshape(-1)
    n = max(1, int(FRAME_S * rate_hz))
    frames = x[: len(x) // n * n].reshape(-1, n)
    if frames.size == 0:
        return SILENCE_DBFS, 0.0
    power = np.mean(frames * frames, axis=1)
    loudest = float(power.max())
    if loudest <= 0:
        return SILENCE_DBFS, 0.0
    active = power >= loudest * 10 ** (-ACTIVE_RANGE_DB / 10)
    level = 10 * np.log10(float(power[active].mean()))
    return max(SILENCE_DBFS, level), int(active.sum()) * n / rate_hz


def check_prompt_audio(samples: np.ndarray, rate_hz: int, settings: PromptSettings) -> list[str]:
    """Problems with a site prompt (empty list: usable)."""
    problems = []
    duration_s = len(samples) / rate_hz
    if duration_s > settings.max_length_s:
        problems.append(f"{duration_s:.1f} s long; at most {settings.max_length_s:g} s (prompts.max_length_s)")
    level, speech_s = active_level_dbfs(samples, rate_hz)
    if level < settings.min_level_dbfs or speech_s < MIN_SPEECH_S:
        problems.append(f"too quiet or silent: speech level {level:.1f} dBFS over {speech_s:.2f} s "
                        f"(needs {settings.min_level_dbfs:g} dBFS over {MIN_SPEECH_S} s)")
    clipped = float(np.mean(np.abs(samples) >= CLIP_LEVEL)) if len(samples) else 0.0
    if clipped > MAX_CLIPPED_FRACTION:
        problems.append(f"clipped: {100 * clipped:.2f} % of samples at full scale; record it again lower")
    return problems


class PromptLibrary:
    def __init__(self, language: str, device_rate_hz: int, level_dbfs: float,
                 overrides: dict[str, Path] | None = None, bundled_dir: Path = BUNDLED_DIR,
                 checks: PromptSettings | None = None, source: str = "settings") -> None:
        self.language = language
        self.device_rate_hz = device_rate_hz
        self.level_dbfs = level_dbfs
        self.overrides = dict(overrides or {})
        self.bundled_dir = bundled_dir
        self.checks = checks or PromptSettings()
        self.source = source                 # the settings file, named in errors
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def from_settings(cls, settings: Settings, device_rate_hz: int, source: str = "settings") -> PromptLibrary:
        """The site's prompts; every configuration problem is listed at once."""
        a, p = settings.audio, settings.prompts
        level = a.prompt_level_dbfs + a.output_gain_db
        problems = [(f"prompts.files.{pid}", f"unknown prompt id; known: {', '.join(PROMPT_IDS)}")
                    for pid in p.files if pid not in PROMPT_IDS]
        if line_dbm(level, p.full_scale_dbm) > p.max_line_dbm + 1e-9:
            problems.append(("audio.prompt_level_dbfs", (
                f"{a.prompt_level_dbfs:g} dBFS + output_gain_db {a.output_gain_db:g} dB puts prompts at "
                f"{line_dbm(level, p.full_scale_dbm):.1f} dBm on the line (prompts.full_scale_dbm "
                f"{p.full_scale_dbm:g}); the limit is {p.max_line_dbm:g} dBm")))
        if problems:
            raise ConfigError(source, problems)
        return cls(settings.device.language, device_rate_hz, level, p.files, checks=p, source=source)

    def path_for(self, prompt_id: str) -> Path:
        if prompt_id in self.overrides:
            return self.overrides[prompt_id]
        return self.bundled_dir / self.language / f"{prompt_id}.wav"

    def get(self, prompt_id: str) -> np.ndarray:
        """Mono float32 samples at the device rate, level-calibrated."""
        if prompt_id not in self._cache:
            path = self.path_for(prompt_id)
            if not path.exists():
                raise AudioFormatError(f"{path}: prompt {prompt_id!r} is missing")
            samples, rate = read_wav(path)
            mono = samples.mean(axis=1)
            if prompt_id in self.overrides:
                problems = check_prompt_audio(mono, rate, self.checks)
                if problems:
                    raise AudioFormatError(f"{path}: site prompt {prompt_id!r}: " + "; ".join(problems))
            self._cache[prompt_id] = self.calibrate(to_rate(mono, rate, self.device_rate_hz))
        return self._cache[prompt_id]

    def calibrate(self, samples: np.ndarray) -> np.ndarray:
        """Scale to the target active level; back off rather than clip."""
        level, _ = active_level_dbfs(samples, self.device_rate_hz)
        if level <= SILENCE_DBFS:
            return np.asarray(samples, np.float32)
        gain = 10.0 ** ((self.level_dbfs - level) / 20.0)
        peak = float(np.max(np.abs(samples))) * gain
        if peak > PEAK_LIMIT:
            log.warning("prompt peaks would clip at %.1f dBFS speech level; lowered by %.1f dB",
                        self.level_dbfs, 20 * np.log10(peak / PEAK_LIMIT))
            gain *= PEAK_LIMIT / peak
        return (np.asarray(samples, np.float64) * gain).astype(np.float32)

    def load_all(self) -> None:
        """Load every prompt now, so a missing or unusable file fails at start-up, all listed."""
        problems = []
        for prompt_id in PROMPT_IDS:
            try:
                self.get(prompt_id)
            except AudioFormatError as exc:
                problems.append((f"prompts.files.{prompt_id}" if prompt_id in self.overrides else prompt_id,
                                 str(exc)))
        if problems:
            raise ConfigError(self.source, problems)
