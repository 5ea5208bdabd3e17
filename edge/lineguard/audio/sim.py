"""Simulated AudioPort over a VirtualLine; keeps a history of what it played."""

from __future__ import annotations

import numpy as np

from lineguard.audio.port import Playback
from lineguard.clock import Clock
from lineguard.line.virtual import VirtualLine


class SimulatedAudioPort:
    def __init__(self, line: VirtualLine, clock: Clock, channels: int) -> None:
        self.line = line
        self.clock = clock
        self.sample_rate_hz = line.rate_hz
        self.channels = channels
        self.history: list[Playback] = []
        self._current: Playback | None = None
        self._pos_s = 0.0
        self.opened = False

    def open(self) -> None:
        self._pos_s = self.clock.now()
        self.opened = True

    def close(self) -> None:
        self.stop_playback()
        self.opened = False

    def read(self, frames: int) -> np.ndarray:
        block = self.line.capture(self._pos_s, frames, self.channels)
        step_s = frames / self.sample_rate_hz
        self._pos_s += step_s
        self.clock.sleep(self._pos_s - self.clock.now())
        return block

    def play(self, prompt_id: str, samples: np.ndarray) -> Playback:
        self.stop_playback()
        now = self.clock.now()
        playback = Playback(prompt_id, now, len(samples) / self.sample_rate_hz)
        self.line.inject(now, samples)
        self.history.append(playback)
        self._current = playback
        return playback

    def stop_playback(self) -> None:
        current = self._current
        if current is not None and self.clock.now() < current.end_s:
            now = self.clock.now()
            self.line.truncate_injected(now)
            self.history[-1] = Playback(current.prompt_id, current.start_s, now - current.start_s)
        self._current = None

    def is_playing(self) -> bool:
        return self._current is not None and self.clock.now() < self._current.end_s
