"""Which side spoke: the far end (line) or the worker (desk phone).

With two channels (line side, phone side), a detection is attributed to
the worker when, over the second before it fired, the phone-side level
exceeds the line-side level by ``margin_db``. With one channel, every
detection is on the line.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from lineguard.audio.levels import SILENCE_DBFS
from lineguard.config import DETECTOR_RATE_HZ
from lineguard.events import Side

WINDOW_S = 1.0
HISTORY_S = 4.0


class SideAttributor:
    def __init__(self, margin_db: float, two_channels: bool, far_channel: int = 0, near_channel: int = 1) -> None:
        self.margin_db = margin_db
        self.two_channels = two_channels
        self.far_channel = far_channel
        self.near_channel = near_channel
        self._blocks: deque[tuple[float, float, float, int]] = deque()   # (start_s, far_energy, near_energy, n)

    def reset(self) -> None:
        self._blocks.clear()

    def add(self, low: np.ndarray, start_s: float) -> None:
        if not self.two_channels or len(low) == 0:
            return
        x = low.astype(np.float64)
        far = float(np.sum(x[:, self.far_channel] ** 2))
        near = float(np.sum(x[:, self.near_channel] ** 2))
        self._blocks.append((start_s, far, near, len(low)))
        while self._blocks and self._blocks[0][0] < start_s - HISTORY_S:
            self._blocks.popleft()

    def attribute(self, time_s: float) -> Side:
        if not self.two_channels:
            return Side.LINE
        far = near = 0.0
        n = 0
        for start_s, f, e, count in self._blocks:
            end_s = start_s + count / DETECTOR_RATE_HZ
            if end_s > time_s - WINDOW_S and start_s <= time_s:
                far += f
                near += e
                n += count
        if n == 0:
            return Side.FAR
        far_db = _db(far / n)
        near_db = _db(near / n)
        return Side.NEAR if near_db > far_db + self.margin_db else Side.FAR


def _db(power: float) -> float:
    return 10.0 * np.log10(power) if power > 0 else SILENCE_DBFS
