"""Resampling: whole buffers (rational ratios) and a streaming decimator.

The streaming decimator gives bit-identical output whatever the block
size, which the detector's chunk-size independence relies on.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy import signal

from lineguard.errors import AudioFormatError


def to_rate(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Resample a whole buffer (axis 0) with a polyphase filter."""
    if from_hz == to_hz:
        return np.asarray(samples, dtype=np.float32)
    if from_hz <= 0 or to_hz <= 0:
        raise AudioFormatError(f"cannot resample {from_hz} Hz -> {to_hz} Hz")
    g = gcd(from_hz, to_hz)
    out = signal.resample_poly(samples, to_hz // g, from_hz // g, axis=0)
    return out.astype(np.float32)


class StreamingDecimator:
    """Integer-factor decimation with an anti-alias FIR that keeps its state.

    Works on ``(n, channels)`` blocks; any split of the input into blocks
    gives the same output.
    """

    def __init__(self, from_hz: int, to_hz: int, channels: int, taps: int = 96) -> None:
        if from_hz % to_hz:
            raise AudioFormatError(f"{from_hz} Hz is not a multiple of {to_hz} Hz")
        self.factor = from_hz // to_hz
        self.channels = channels
        if self.factor == 1:
            self._fir = None
        else:
            cutoff = 0.9 / self.factor   # a little below the new Nyquist
            self._fir = signal.firwin(taps, cutoff).astype(np.float64)
            self._zi = np.zeros((taps - 1, channels))
        self._phase = 0   # input samples to skip before the next kept one

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float64).reshape(-1, self.channels)
        if self._fir is None:
            return block.astype(np.float32)
        filtered, self._zi = signal.lfilter(self._fir, [1.0], block, axis=0, zi=self._zi)
        kept = filtered[self._phase::self.factor]
        self._phase = (self._phase - len(block)) % self.factor
        return kept.astype(np.float32)
