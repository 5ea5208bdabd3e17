"""Signal levels in dBFS."""

from __future__ import annotations

import numpy as np

SILENCE_DBFS = -120.0


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level of float samples relative to full scale (1.0)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(x * x)))
    return max(SILENCE_DBFS, 20.0 * np.log10(rms)) if rms > 0 else SILENCE_DBFS


def scale_to_dbfs(samples: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale so the RMS level is ``target_dbfs``; peaks are clipped to ±1."""
    current = rms_dbfs(samples)
    if current <= SILENCE_DBFS:
        return np.asarray(samples, dtype=np.float32)
    gain = 10.0 ** ((target_dbfs - current) / 20.0)
    return np.clip(np.asarray(samples, dtype=np.float32) * gain, -1.0, 1.0)
