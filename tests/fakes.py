"""Fakes the tests pass in through the real seams."""

from __future__ import annotations

import numpy as np

from lineguard.kws.base import Detection

FRAME = 160          # 20 ms at 8 kHz
MIN_FRAMES = 10      # a marker must last 200 ms


class MarkerDetector:
    """A simple honest detector: each keyword is a pure tone ("marker").

    It really listens: it fires when a keyword's marker frequency holds most
    of the energy of 10 consecutive 20 ms frames. Same output at any chunk size.
    """

    sample_rate_hz = 8000

    def __init__(self, markers: dict[str, float]) -> None:
        self.markers = dict(markers)
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(0, np.float32)
        self._frames_seen = 0
        self._runs = {k: 0 for k in self.markers}
        self.fed_samples = 0

    def process(self, samples: np.ndarray) -> list[Detection]:
        self.fed_samples += len(samples)
        self._buf = np.concatenate([self._buf, np.asarray(samples, np.float32)])
        out: list[Detection] = []
        while len(self._buf) >= FRAME:
            frame, self._buf = self._buf[:FRAME], self._buf[FRAME:]
            self._frames_seen += 1
            out += self._frame(frame.astype(np.float64))
        return out

    def _frame(self, x: np.ndarray) -> list[Detection]:
        energy = float(np.sum(x * x))
        out = []
        n = np.arange(FRAME)
        for keyword, freq in self.markers.items():
            ref = np.exp(-2j * np.pi * freq * n / self.sample_rate_hz)
            tone = abs(np.dot(x, ref)) ** 2 * 2 / FRAME
            if energy > FRAME * 1e-5 and tone > 0.6 * energy:
                self._runs[keyword] += 1
                if self._runs[keyword] == MIN_FRAMES:
                    out.append(Detection(keyword, 0.9, self._frames_seen * FRAME / self.sample_rate_hz))
            else:
                self._runs[keyword] = 0
        return out


def tone(freq_hz: float, seconds: float, rate_hz: int = 8000, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return (level * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def silence(seconds: float, rate_hz: int = 8000) -> np.ndarray:
    return np.zeros(int(seconds * rate_hz), np.float32)


def murmur(seconds: float, rate_hz: int = 8000, level: float = 0.05, seed: int = 1) -> np.ndarray:
    """Speech-like noise: no marker tone holds most of its energy."""
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal(int(seconds * rate_hz))).astype(np.float32)


def timeline(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts).astype(np.float32)
