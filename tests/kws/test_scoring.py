"""Smoothing, thresholds and the refractory rule (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from lineguard.kws.scoring import ScoreSmoother, ScoringRule, detect_track, smooth

LABELS = ("_none", "a", "b")


def _rule(threshold=0.5, refractory_s=1.0, smooth_windows=2):
    return ScoringRule(LABELS, (2.0, threshold, threshold), smooth_windows, refractory_s)


def _track():
    rows = np.zeros((16, 3))
    rows[:, 0] = 1.0
    rows[2:4] = [0.0, 0.9, 0.1]  # a
    rows[5:7] = [0.0, 0.1, 0.95]  # b, 0.3 s after a: inside refractory
    rows[14:16] = [0.0, 0.0, 1.0]  # b again, later
    return rows, np.arange(16) * 0.1


def test_streaming_and_track_forms_agree():
    rows, times = _track()
    rule = _rule()
    smoother = ScoreSmoother(rule)
    streamed = [d for r, t in zip(rows, times) if (d := smoother.update(r, t)) is not None]
    offline = detect_track(smooth(rows, rule.smooth_windows), times, rule)
    assert streamed == offline
    assert [d.keyword for d in offline] == ["a", "b"]
    assert offline[0].time_s == pytest.approx(0.3)  # smoothing needs two windows
    assert offline[1].time_s == pytest.approx(1.4)  # (0 + 1) / 2 reaches 0.5


def test_refractory_zero_allows_back_to_back():
    rows, times = _track()
    rule = _rule(refractory_s=0.0, smooth_windows=1)
    assert len(detect_track(smooth(rows, 1), times, rule)) == 6


def test_disabled_label_never_fires_and_none_is_ignored():
    rows, times = _track()
    rule = ScoringRule(LABELS, (0.1, 2.0, 0.5), 1, 0.0)
    fired = detect_track(smooth(rows, 1), times, rule)
    assert {d.keyword for d in fired} == {"b"}


def test_rule_validation():
    with pytest.raises(ValueError):
        ScoringRule(LABELS, (1.0, 1.0), 1, 1.0)
    with pytest.raises(ValueError):
        ScoringRule(LABELS, (1.0, 1.0, 1.0), 0, 1.0)
    with pytest.raises(ValueError):
        ScoringRule(LABELS, (1.0, 1.0, 1.0), 1, -1.0)


@pytest.mark.parametrize("smooth_windows", [1, 3, 7])
def test_rows_one_by_one_or_in_groups_fire_the_same(smooth_windows):
    rng = np.random.default_rng(smooth_windows)
    rows = rng.dirichlet([0.3, 0.3, 0.3], size=400)
    times = np.arange(400) * 0.04
    rule = _rule(threshold={1: 0.7, 3: 0.55, 7: 0.45}[smooth_windows], refractory_s=0.5, smooth_windows=smooth_windows)
    single = ScoreSmoother(rule)
    one_by_one = [d for r, t in zip(rows, times) if (d := single.update(r, t)) is not None]
    assert len(one_by_one) > 5
    grouped = ScoreSmoother(rule)
    fired, start = [], 0
    for size in [1, 2, 5, 50, 0, 7, 400]:
        fired += grouped.update_many(rows[start : start + size], times[start : start + size])
        start += size
    assert fired == one_by_one  # same keyword, same score bit for bit, same time
    offline = detect_track(smooth(rows, smooth_windows), times, rule)
    assert [(d.keyword, d.time_s) for d in offline] == [(d.keyword, d.time_s) for d in one_by_one]


def test_a_span_per_label_fires_the_same_in_any_grouping_and_offline():
    rng = np.random.default_rng(21)
    rows = rng.dirichlet([0.3, 0.3, 0.3], size=400)
    times = np.arange(400) * 0.02
    rule = ScoringRule(LABELS, (2.0, 0.6, 0.6), (1, 2, 7), 0.3)
    assert rule.spans == (1, 2, 7)
    single = ScoreSmoother(rule)
    one_by_one = [d for r, t in zip(rows, times) if (d := single.update(r, t)) is not None]
    assert {d.keyword for d in one_by_one} == {"a", "b"}
    grouped = ScoreSmoother(rule)
    fired, start = [], 0
    for size in [3, 1, 64, 0, 9, 400]:
        fired += grouped.update_many(rows[start : start + size], times[start : start + size])
        start += size
    assert fired == one_by_one  # bit for bit
    offline = detect_track(smooth(rows, rule.spans), times, rule)
    assert [(d.keyword, d.time_s) for d in offline] == [(d.keyword, d.time_s) for d in one_by_one]
    # each column is its own moving mean: the same as smoothing that column alone with its span
    smoothed = smooth(rows, (1, 2, 7))
    for col, k in enumerate((1, 2, 7)):
        assert np.allclose(smoothed[:, col], smooth(rows[:, [col]], k)[:, 0])


def test_a_span_per_label_must_match_the_labels():
    with pytest.raises(ValueError, match="differ in length"):
        ScoringRule(LABELS, (2.0, 0.5, 0.5), (3, 3), 1.0)
    with pytest.raises(ValueError, match=">= 1"):
        ScoringRule(LABELS, (2.0, 0.5, 0.5), (3, 0, 3), 1.0)
    with pytest.raises(ValueError, match="2 smoothing spans for 3 columns"):
        smooth(np.zeros((5, 3)), (1, 2))
