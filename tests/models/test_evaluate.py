"""Choosing operating points on val score tracks (per keyword and shared)."""

from __future__ import annotations

import numpy as np

from kwstrain.evaluate import (THRESHOLD_GRID, Track, choose_keyword_thresholds, choose_threshold, keyword_rule,
                               score_rule, sweep_tracks)
from kwstrain.streams import KeywordSpan, Stream

LABELS = ("_none", "ko_a", "en_b")
HOP_S = 0.04
QUIET = [1.0, 0.0, 0.0]


def _track(name: str, rows: list[list[float]], spans: tuple[KeywordSpan, ...] = ()) -> Track:
    scores = np.asarray(rows, dtype=np.float64)
    audio = np.zeros(int(len(rows) * HOP_S * 8000), np.float32)
    return Track(Stream(name, "ko", audio, spans), np.arange(1, len(rows) + 1) * HOP_S, scores)


def _spike(label_index: int, score: float) -> list[float]:
    row = [1.0 - score, 0.0, 0.0]
    row[label_index] = score
    return row


def _tracks(neg: tuple[tuple[float, float], tuple[float, float]], pos_a: float, pos_b: float) -> dict:
    """Conversation with one ko_a and one en_b peak in each half; positives with one of each."""
    (a1, b1), (a2, b2) = neg
    negative = ([QUIET] * 10 + [_spike(1, a1)] + [QUIET] * 30 + [_spike(2, b1)] + [QUIET] * 8
                + [QUIET] * 10 + [_spike(1, a2)] + [QUIET] * 30 + [_spike(2, b2)] + [QUIET] * 8)
    positive = [QUIET] * 10 + [_spike(1, pos_a)] + [QUIET] * 39 + [_spike(2, pos_b)] + [QUIET] * 10
    spans = (KeywordSpan("ko_a", 0.2, 0.4), KeywordSpan("en_b", 1.8, 2.0))
    return {"ko": {"positive": _track("positive", positive, spans), "negative": _track("negative", negative),
                   "near_miss": _track("near_miss", [QUIET] * 60)}}


def _above(score: float, steps: int = 0) -> float:
    return THRESHOLD_GRID[THRESHOLD_GRID.index(min(t for t in THRESHOLD_GRID if t > score)) + steps]


def test_consistent_halves_need_no_margin():
    val = _tracks(((0.9, 0.3), (0.9, 0.3)), pos_a=0.95, pos_b=0.6)
    chosen, margin = choose_keyword_thresholds(LABELS, val)
    assert margin == 0 and chosen == {"ko_a": _above(0.9), "en_b": _above(0.3)}
    row = score_rule(val["ko"], keyword_rule(LABELS, chosen))
    assert row["false_accepts"] == 0 and row["hits"] == 2
    # one shared threshold must clear the worst keyword, so it misses en_b's 0.6
    shared = choose_threshold(sweep_tracks(LABELS, val))
    assert shared == chosen["ko_a"]
    assert score_rule(val["ko"], keyword_rule(LABELS, {"ko_a": shared, "en_b": shared}))["hits"] == 1


def test_margin_is_what_one_half_needs_to_hold_on_the_other():
    # en_b peaks at 0.3 in one half, 0.6 in the other: fitted on the first half it
    # needs 6 grid steps (0.35 -> 0.65) to stay quiet on the second
    val = _tracks(((0.9, 0.3), (0.9, 0.6)), pos_a=0.95, pos_b=0.99)
    chosen, margin = choose_keyword_thresholds(LABELS, val)
    assert margin == 6
    assert chosen == {"ko_a": _above(0.9, 6), "en_b": _above(0.6, 6)}
    assert all(t <= THRESHOLD_GRID[-1] for t in chosen.values())


def test_per_keyword_thresholds_are_scored_honestly_on_other_data():
    chosen, _ = choose_keyword_thresholds(LABELS, _tracks(((0.9, 0.3), (0.9, 0.3)), pos_a=0.95, pos_b=0.6))
    test = _tracks(((0.2, 0.5), (0.2, 0.1)), pos_a=0.8, pos_b=0.7)  # en_b now fires on conversation
    row = score_rule(test["ko"], keyword_rule(LABELS, chosen))
    assert row["false_accepts"] == 1 and row["fa_keywords"] == ["en_b"]
    assert row["hits"] == 1 and row["frr_per_keyword"] == {"en_b": 0.0, "ko_a": 1.0}
