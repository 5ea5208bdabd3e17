"""Choosing operating points on val score tracks (per keyword and shared)."""

from __future__ import annotations

import numpy as np

from kwstrain.evaluate import (THRESHOLD_GRID, Track, choose_keyword_thresholds, choose_threshold, keyword_rule,
                               score_rule, sweep_tracks)
from kwstrain.streams import KeywordSpan, Stream

LABELS = ("_none", "ko_a", "en_b")
HOP_S = 0.04


def _track(name: str, rows: list[list[float]], spans: tuple[KeywordSpan, ...] = ()) -> Track:
    scores = np.asarray(rows, dtype=np.float64)
    audio = np.zeros(int(len(rows) * HOP_S * 8000), np.float32)
    return Track(Stream(name, "ko", audio, spans), np.arange(1, len(rows) + 1) * HOP_S, scores)


def _tracks(neg_a: float, neg_b: float, pos_a: float, pos_b: float) -> dict[str, dict[str, Track]]:
    quiet = [[1.0, 0.0, 0.0]] * 60
    negative = quiet[:10] + [[1 - neg_a, neg_a, 0.0]] + quiet[:20] + [[1 - neg_b, 0.0, neg_b]] + quiet[:29]
    positive = quiet[:10] + [[1 - pos_a, pos_a, 0.0]] + quiet[:39] + [[1 - pos_b, 0.0, pos_b]] + quiet[:10]
    spans = (KeywordSpan("ko_a", 0.2, 0.4), KeywordSpan("en_b", 1.8, 2.0))
    return {"ko": {"positive": _track("positive", positive, spans), "negative": _track("negative", negative),
                   "near_miss": _track("near_miss", quiet)}}


def test_each_keyword_gets_the_lowest_threshold_with_no_val_false_accept():
    val = _tracks(neg_a=0.9, neg_b=0.3, pos_a=0.95, pos_b=0.6)
    chosen = choose_keyword_thresholds(LABELS, val)
    assert chosen["ko_a"] == min(t for t in THRESHOLD_GRID if t > 0.9)
    assert chosen["en_b"] == min(t for t in THRESHOLD_GRID if t > 0.3)
    row = score_rule(val["ko"], keyword_rule(LABELS, chosen))
    assert row["false_accepts"] == 0 and row["hits"] == 2
    # one shared threshold must clear the worst keyword, so it misses en_b's 0.6
    shared = choose_threshold(sweep_tracks(LABELS, val))
    assert shared == chosen["ko_a"]
    assert score_rule(val["ko"], keyword_rule(LABELS, {"ko_a": shared, "en_b": shared}))["hits"] == 1


def test_per_keyword_thresholds_are_scored_honestly_on_other_data():
    chosen = choose_keyword_thresholds(LABELS, _tracks(neg_a=0.9, neg_b=0.3, pos_a=0.95, pos_b=0.6))
    test = _tracks(neg_a=0.2, neg_b=0.5, pos_a=0.8, pos_b=0.7)  # en_b now fires on conversation
    row = score_rule(test["ko"], keyword_rule(LABELS, chosen))
    assert row["false_accepts"] == 1 and row["fa_keywords"] == ["en_b"]
    assert row["hits"] == 1 and row["frr_per_keyword"] == {"en_b": 0.0, "ko_a": 1.0}
