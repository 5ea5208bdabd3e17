"""Who is talking right now: a level-based voice-activity view for the terminal.

Display only (``lineguard run`` shows "far end talking"); nothing decides on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lineguard.audio.levels import rms_dbfs

ON_DBFS = -40.0        # louder than this starts talking
LEAK_DB = 10.0         # this much below the other side is that side leaking across, not talking
OFF_DBFS = -48.0       # quieter than this for HANG_S ends it
HANG_S = 0.6


@dataclass(frozen=True)
class Talk:
    time_s: float
    side: str        # "far" | "near"
    active: bool


class SpeechActivity:
    def __init__(self, channels: dict[str, int]) -> None:
        self.channels = dict(channels)          # side -> channel index
        self._active = {side: False for side in channels}
        self._quiet_since = {side: 0.0 for side in channels}

    def reset(self) -> None:
        self._active = {side: False for side in self.channels}

    def update(self, low: np.ndarray, time_s: float) -> list[Talk]:
        out = []
        levels = {side: rms_dbfs(low[:, ch]) for side, ch in self.channels.items()}
        for side, level in levels.items():
            loudest_other = max((v for k, v in levels.items() if k != side), default=-200.0)
            talking = level > ON_DBFS and level > loudest_other - LEAK_DB
            if not self._active[side] and talking:
                self._active[side] = True
                out.append(Talk(time_s, side, True))
            elif self._active[side]:
                if level > OFF_DBFS:
                    self._quiet_since[side] = time_s
                elif time_s - self._quiet_since[side] >= HANG_S:
                    self._active[side] = False
                    out.append(Talk(time_s, side, False))
        return out
