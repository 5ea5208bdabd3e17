"""Power at a few chosen frequencies (a bank of single-bin DFTs, i.e. Goertzel filters).

Powers are scaled so a sine of amplitude ``A`` at one of the frequencies
reads ``A**2 / 2``, the same scale as ``mean(block**2)``; ratios of the two
say how much of a block's energy is the tone.
"""

from __future__ import annotations

import numpy as np


class ToneBank:
    def __init__(self, freqs_hz: tuple[float, ...] | list[float], block: int, sample_rate_hz: int,
                 window: str = "rect") -> None:
        self.freqs_hz = tuple(float(f) for f in freqs_hz)
        self.block = block
        n = np.arange(block)
        w = np.hanning(block + 2)[1:-1] if window == "hann" else np.ones(block)
        phase = -2j * np.pi * np.outer(self.freqs_hz, n) / sample_rate_hz
        self._kernel = (w * np.exp(phase)).astype(np.complex128)
        self._scale = 2.0 / float(np.sum(w)) ** 2

    def powers(self, block: np.ndarray) -> np.ndarray:
        """Power at each frequency for one block of ``self.block`` samples."""
        spectrum = self._kernel @ np.asarray(block, np.float64)
        return self._scale * (spectrum.real ** 2 + spectrum.imag ** 2)


def energy(block: np.ndarray) -> float:
    """Mean square of a block (a sine of amplitude A gives A**2 / 2)."""
    b = np.asarray(block, np.float64)
    return float(np.dot(b, b) / max(1, len(b)))


class BlockBuffer:
    """Cuts a stream into blocks of ``block`` samples every ``hop``; same blocks at any chunk size."""

    def __init__(self, block: int, hop: int) -> None:
        self.block = block
        self.hop = hop
        self._buf = np.zeros(0, np.float64)
        self.consumed = 0          # stream index of self._buf[0]

    def push(self, samples: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Blocks now complete, each with the stream index of its first sample."""
        self._buf = np.concatenate([self._buf, np.asarray(samples, np.float64).ravel()])
        out = []
        while len(self._buf) >= self.block:
            out.append((self.consumed, self._buf[:self.block].copy()))
            self._buf = self._buf[self.hop:]
            self.consumed += self.hop
        return out
