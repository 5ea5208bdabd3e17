"""Spoken prompts: bundled WAVs per language, or a site's own recordings.

Prompts are resampled to the device rate and played at a calibrated RMS
level (``audio.prompt_level_dbfs`` + ``audio.output_gain_db``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lineguard.audio.levels import scale_to_dbfs
from lineguard.audio.resample import to_rate
from lineguard.audio.wavio import read_wav
from lineguard.errors import AudioFormatError

BUNDLED_DIR = Path(__file__).parent / "assets" / "prompts"
PROMPT_IDS = ("notice", "warning", "final", "long_call", "long_call_final", "blocked")


class PromptLibrary:
    def __init__(self, language: str, device_rate_hz: int, level_dbfs: float,
                 overrides: dict[str, Path] | None = None, bundled_dir: Path = BUNDLED_DIR) -> None:
        self.language = language
        self.device_rate_hz = device_rate_hz
        self.level_dbfs = level_dbfs
        self.overrides = dict(overrides or {})
        self.bundled_dir = bundled_dir
        self._cache: dict[str, np.ndarray] = {}

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
            self._cache[prompt_id] = scale_to_dbfs(to_rate(mono, rate, self.device_rate_hz), self.level_dbfs)
        return self._cache[prompt_id]

    def load_all(self) -> None:
        """Load every prompt now, so a missing file fails at start-up."""
        for prompt_id in PROMPT_IDS:
            self.get(prompt_id)
