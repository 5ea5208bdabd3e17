"""From per-window model scores to detections: smoothing, thresholds, refractory.

Pure logic with no model and no clock, shared by the streaming spotter and the
evaluation script (which sweeps thresholds over recorded score tracks).

Rule: the score of a keyword is the mean of its last ``smooth_windows``
window scores (one span for every keyword, or one per label). A detection
fires on the first window where some enabled keyword's smoothed score reaches
its threshold (the keyword with the highest score over threshold wins), unless
a detection fired less than ``refractory_s`` earlier (any keyword: one
utterance, one detection).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lineguard.kws.base import Detection


@dataclass(frozen=True)
class ScoringRule:
    labels: tuple[str, ...]  # model output order; index 0 is "no keyword"
    thresholds: tuple[float, ...]  # per label; > 1 disables a label
    smooth_windows: int | tuple[int, ...] = 3  # one span for all labels, or one per label
    refractory_s: float = 1.0

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.thresholds):
            raise ValueError("labels and thresholds differ in length")
        if not isinstance(self.smooth_windows, (int, np.integer)) and len(self.smooth_windows) != len(self.labels):
            raise ValueError("labels and smooth_windows differ in length")
        if min(self.spans) < 1:
            raise ValueError("smooth_windows must be >= 1")
        if self.refractory_s < 0:
            raise ValueError("refractory_s must be >= 0")

    @property
    def spans(self) -> tuple[int, ...]:
        """The smoothing span of every label."""
        if isinstance(self.smooth_windows, (int, np.integer)):
            return (int(self.smooth_windows),) * len(self.labels)
        return tuple(int(k) for k in self.smooth_windows)


def smooth(scores: np.ndarray, smooth_windows: int | tuple[int, ...]) -> np.ndarray:
    """Causal moving average over windows (rows), same as :class:`ScoreSmoother`; ``smooth_windows`` one
    span for all columns or one per column."""
    scores = np.asarray(scores, dtype=np.float64)
    csum = np.cumsum(np.vstack([np.zeros((1, scores.shape[1])), scores]), axis=0)
    idx = np.arange(1, scores.shape[0] + 1)
    if isinstance(smooth_windows, (int, np.integer)):
        lo = np.maximum(idx - smooth_windows, 0)
        return (csum[idx] - csum[lo]) / smooth_windows
    spans = np.asarray(smooth_windows, dtype=np.int64)
    if spans.shape != (scores.shape[1],):
        raise ValueError(f"{spans.size} smoothing spans for {scores.shape[1]} columns")
    lo = np.maximum(idx[:, None] - spans[None, :], 0)
    return (csum[idx] - np.take_along_axis(csum, lo, axis=0)) / spans


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
    same order whether rows come one by one or many together. With a span per
    label, a label's older rows are zeroed before the adds (0 + x is x), so each
    label's sum is still its own rows added oldest first.
    """

    def __init__(self, rule: ScoringRule) -> None:
        self.rule = rule
        self._gate = gate(rule)
        spans = np.asarray(rule.spans)
        self._k = int(spans.max())
        # per label, 1 on the rows of its span among the last k (row j = 1 the oldest), None: one span for all
        self._keep = None if np.all(spans == self._k) else \
            (np.arange(1, self._k + 1)[:, None] > self._k - spans[None, :]).astype(np.float64)
        self._divisor = float(self._k) if self._keep is None else spans.astype(np.float64)
        self.reset()

    def reset(self) -> None:
        self._recent = np.zeros((self._k, len(self.rule.labels)))  # last rows, oldest first
        self._last_fire_s = -np.inf

    def update(self, scores: np.ndarray, time_s: float) -> Detection | None:
        hits = self.update_many(np.asarray(scores, dtype=np.float64)[None], [time_s])
        return hits[0] if hits else None

    def update_many(self, scores: np.ndarray, times_s) -> list[Detection]:
        """Add rows ``(n, labels)`` scored at ``times_s`` (n seconds); the detections they fire."""
        k, n = self._k, len(scores)
        if n == 0:
            return []
        rows = np.concatenate((self._recent, scores))
        self._recent = rows[n:]
        if self._keep is not None:  # a span per label: row j of each window counts where the label's span reaches
            total = np.zeros((n, rows.shape[1]))
            for j in range(1, k + 1):
                total += rows[j : j + n] * self._keep[j - 1]
        elif n == 1:  # the live case: one reduction down the k rows, oldest first (the same adds in the same order)
            total = np.add.reduce(rows[1:], axis=0, keepdims=True)
        else:
            total = rows[1 : n + 1] + rows[2 : n + 2] if k > 1 else rows[1 : n + 1].copy()
            for j in range(3, k + 1):
                total += rows[j : j + n]
        total /= self._divisor
        margin = total - self._gate
        if np.maximum.reduce(margin, axis=None) < 0:  # the usual case: nothing reaches its threshold
            return []
        hits, self._last_fire_s = fire(total, margin, times_s, self.rule, self._last_fire_s)
        return hits
