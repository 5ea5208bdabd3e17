"""The AudioPort seam: hear the line, speak onto it.

A port delivers blocks of float32 frames shaped ``(n, channels)`` at its
device rate, and plays prompts without blocking. Reading a block is what
paces the gateway: a real port blocks until the block is captured, the
simulated one advances its clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Playback:
    """One prompt played onto the line."""

    prompt_id: str
    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


class AudioPort(Protocol):
    sample_rate_hz: int
    channels: int

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self, frames: int) -> np.ndarray:
        """Block until ``frames`` frames are captured; float32 ``(frames, channels)``."""

    def play(self, prompt_id: str, samples: np.ndarray) -> Playback:
        """Start playing mono float32 ``samples`` at the device rate; return at once."""

    def stop_playback(self) -> None: ...

    def is_playing(self) -> bool: ...
