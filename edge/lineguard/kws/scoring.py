"""From per-window model scores to detections: smoothing, thresholds, refractory.

Pure logic with no model and no clock, shared by the streaming spotter and the
evaluation script (which sweeps thresholds over recorded score tracks).

Rule: the score of a keyword is the mean of its last ``smooth_windows``
window scores. A detection fires on the first window where some enabled
keyword's smoothed score reaches its threshold (the keyword with the highest
score over threshold wins), unless a detection fired less than
``refractory_s`` earlier (any keyword: one utterance, one detection).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from lineguard.kws.base import Detection


@dataclass(frozen=True)
class ScoringRule:
    labels: tuple[str, ...]  # model output order; index 0 is "no keyword"
    thresholds: tuple[float, ...]  # per label; > 1 disables a label
    smooth_windows: int = 3
    refractory_s: float = 1.0

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.thresholds):
            raise ValueError("labels and thresholds differ in length")
        if self.smooth_windows < 1:
            raise ValueError("smooth_windows must be >= 1")
        if self.refractory_s < 0:
            raise ValueError("refractory_s must be >= 0")


def smooth(scores: np.ndarray, smooth_windows: int) -> np.ndarray:
    """Causal moving average over windows (rows), same as :class:`ScoreSmoother`."""
    scores = np.asarray(scores, dtype=np.float64)
    csum = np.cumsum(np.vstack([np.zeros((1, scores.shape[1])), scores]), axis=0)
    idx = np.arange(1, scores.shape[0] + 1)
    lo = np.maximum(idx - smooth_windows, 0)
    return (csum[idx] - csum[lo]) / smooth_windows


def pick(smoothed_row: np.ndarray, thresholds: np.ndarray) -> int:
    """Index of the label that fires on this window, or -1."""
    margin = smoothed_row - thresholds
    margin[0] = -np.inf
    best = int(np.argmax(margin))
    return best if margin[best] >= 0 else -1


def detect_track(smoothed: np.ndarray, times_s: np.ndarray, rule: ScoringRule) -> list[Detection]:
    """Detections over a whole recorded track of smoothed scores."""
    thresholds = np.asarray(rule.thresholds, dtype=np.float64)
    margin = smoothed - thresholds[None, :]
    margin[:, 0] = -np.inf
    candidates = np.flatnonzero(np.max(margin, axis=1) >= 0)
    out: list[Detection] = []
    last_s = -np.inf
    for row in candidates:
        t = float(times_s[row])
        if t - last_s < rule.refractory_s:
            continue
        best = pick(smoothed[row].copy(), thresholds)
        out.append(Detection(rule.labels[best], float(smoothed[row, best]), t))
        last_s = t
    return out


class ScoreSmoother:
    """Streaming form of :func:`smooth` + :func:`detect_track`; bounded state."""

    def __init__(self, rule: ScoringRule) -> None:
        self.rule = rule
        self._thresholds = np.asarray(rule.thresholds, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        self._recent: deque[np.ndarray] = deque(maxlen=self.rule.smooth_windows)
        self._last_fire_s = -np.inf

    def update(self, scores: np.ndarray, time_s: float) -> Detection | None:
        self._recent.append(np.asarray(scores, dtype=np.float64))
        total = np.zeros_like(self._recent[0])
        for row in self._recent:  # same summation order as the cumsum form up to rounding
            total = total + row
        smoothed = total / self.rule.smooth_windows
        best = pick(smoothed, self._thresholds)
        if best < 0 or time_s - self._last_fire_s < self.rule.refractory_s:
            return None
        self._last_fire_s = time_s
        return Detection(self.rule.labels[best], float(smoothed[best]), float(time_s))
