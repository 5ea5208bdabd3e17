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


def gate(rule: ScoringRule) -> np.ndarray:
    """The rule's thresholds per label, with label 0 ("no keyword") never firing."""
    thresholds = np.asarray(rule.thresholds, dtype=np.float64).copy()
    thresholds[0] = np.inf
    return thresholds


def fire(smoothed: np.ndarray, margin: np.ndarray, times_s, rule: ScoringRule,
         last_fire_s: float) -> tuple[list[Detection], float]:
    """Detections in rows of smoothed scores, given ``margin = smoothed - gate(rule)``: on each
    row the label furthest over its threshold fires, unless a detection fired less than
    ``refractory_s`` earlier. Returns them and the time of the last one."""
    best = margin.argmax(axis=1)
    out: list[Detection] = []
    for row in np.flatnonzero(margin[np.arange(len(margin)), best] >= 0).tolist():
        t = float(times_s[row])
        if t - last_fire_s < rule.refractory_s:
            continue
        last_fire_s = t
        label = int(best[row])
        out.append(Detection(rule.labels[label], float(smoothed[row, label]), t))
    return out, last_fire_s


def detect_track(smoothed: np.ndarray, times_s: np.ndarray, rule: ScoringRule) -> list[Detection]:
    """Detections over a whole recorded track of smoothed scores."""
    return fire(smoothed, smoothed - gate(rule), times_s, rule, -np.inf)[0]


class ScoreSmoother:
    """Streaming form of :func:`smooth` + :func:`detect_track`; bounded state.

    Takes any number of score rows at a time. Each row's smoothed score is the
    sum of its last ``smooth_windows`` rows added oldest first (zeros before
    the first rows), divided by ``smooth_windows``: the same operations in the
    same order whether rows come one by one or many together.
    """

    def __init__(self, rule: ScoringRule) -> None:
        self.rule = rule
        self._gate = gate(rule)
        self.reset()

    def reset(self) -> None:
        self._recent = np.zeros((self.rule.smooth_windows, len(self.rule.labels)))  # last rows, oldest first
        self._last_fire_s = -np.inf

    def update(self, scores: np.ndarray, time_s: float) -> Detection | None:
        hits = self.update_many(np.asarray(scores, dtype=np.float64)[None], [time_s])
        return hits[0] if hits else None

    def update_many(self, scores: np.ndarray, times_s) -> list[Detection]:
        """Add rows ``(n, labels)`` scored at ``times_s`` (n seconds); the detections they fire."""
        k, n = self.rule.smooth_windows, len(scores)
        if n == 0:
            return []
        rows = np.concatenate((self._recent, scores))
        self._recent = rows[n:]
        if n == 1:  # the live case: one reduction down the k rows, oldest first (the same adds in the same order)
            total = np.add.reduce(rows[1:], axis=0, keepdims=True)
        else:
            total = rows[1 : n + 1] + rows[2 : n + 2] if k > 1 else rows[1 : n + 1].copy()
            for j in range(3, k + 1):
                total += rows[j : j + n]
        total /= k
        margin = total - self._gate
        if np.maximum.reduce(margin, axis=None) < 0:  # the usual case: nothing reaches its threshold
            return []
        hits, self._last_fire_s = fire(total, margin, times_s, self.rule, self._last_fire_s)
        return hits
