"""The detector contract the gateway relies on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Detection:
    keyword: str      # keyword id, e.g. "ko_ssibal"
    score: float      # 0..1 smoothed score that crossed the threshold
    time_s: float     # seconds since the start of the stream when it fired


class KeywordDetector(Protocol):
    sample_rate_hz: int

    def process(self, samples: np.ndarray) -> list[Detection]:
        """Feed float32 mono samples in [-1, 1] at ``sample_rate_hz``, any chunk size."""

    def reset(self) -> None:
        """Start a new stream: clear state; time restarts at 0."""
