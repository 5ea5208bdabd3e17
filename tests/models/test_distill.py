"""Distilling an ensemble: the targets a student learns, and the batches that carry them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from kwstrain.train import distill_targets, window_batches  # noqa: E402


class Fixed:
    """A stand-in teacher network: the same logits for every window (called like a Keras model)."""

    def __init__(self, logits):
        self.logits = np.asarray(logits, np.float32)
        self.calls = []

    def __call__(self, rows, training=False):
        self.calls.append(training)
        return np.tile(self.logits, (len(rows), 1))


def softmax(v):
    e = np.exp(np.asarray(v, np.float64) - np.max(v))
    return e / e.sum()


def test_targets_mix_the_labels_with_the_teachers_mean_answer():
    x = np.zeros((5, 100, 40), np.float16)
    y = np.array([0, 1, 2, 1, 0], np.int32)
    a, b = Fixed([2.0, 0.0, -1.0]), Fixed([0.0, 3.0, 0.0])
    teachers = softmax(a.logits) / 2 + softmax(b.logits) / 2
    got = distill_targets([a, b, b], x, y, 3, weight=0.7, batch=2)      # a teacher named twice weighs twice
    want = 0.3 * np.eye(3)[y] + 0.7 * (softmax(a.logits) + 2 * softmax(b.logits)) / 3
    np.testing.assert_allclose(got.astype(np.float64), want, atol=2e-3)
    assert got.dtype == np.float16 and not any(a.calls + b.calls)          # run as at inference
    assert len(a.calls) == len(b.calls) == 3                                # batches of 2: b run once each
    np.testing.assert_array_equal(distill_targets([a, b], x, y, 3, weight=0.0), np.eye(3, dtype=np.float16)[y])
    np.testing.assert_allclose(distill_targets([a, b], x, y, 3, weight=1.0)[0].astype(np.float64), teachers,
                               atol=2e-3)


def test_teaching_on_some_windows_keeps_the_others_labels():
    x = np.zeros((5, 100, 40), np.float16)
    y = np.array([0, 1, 2, 1, 0], np.int32)
    a, b = Fixed([2.0, 0.0, -1.0]), Fixed([0.0, 3.0, 0.0])
    mean = (softmax(a.logits) + softmax(b.logits)) / 2
    mixed = 0.3 * np.eye(3)[y] + 0.7 * mean
    negatives, keywords = [0, 4], [1, 2, 3]
    got = distill_targets([a, b], x, y, 3, weight=0.7, batch=2, teach_on="negatives").astype(np.float64)
    np.testing.assert_array_equal(got[keywords], np.eye(3)[y[keywords]])         # keyword windows: their labels
    np.testing.assert_allclose(got[negatives], mixed[negatives], atol=2e-3)      # _none windows: the mix
    assert not np.allclose(got[0], np.eye(3)[0], atol=0.05)                      # the teachers' doubt is in it
    got = distill_targets([a, b], x, y, 3, weight=0.7, batch=2, teach_on="keywords").astype(np.float64)
    np.testing.assert_array_equal(got[negatives], np.eye(3)[y[negatives]])       # the reverse
    np.testing.assert_allclose(got[keywords], mixed[keywords], atol=2e-3)
    every = distill_targets([a, b], x, y, 3, weight=0.7, batch=2, teach_on="all").astype(np.float64)
    np.testing.assert_allclose(every, mixed, atol=2e-3)
    with pytest.raises(ValueError, match="teach_on must be one of all, negatives, keywords, got 'both'"):
        distill_targets([a, b], x, y, 3, weight=0.7, teach_on="both")


def test_batches_carry_each_windows_own_target():
    x = np.arange(10, dtype=np.float16)[:, None, None] * np.ones((10, 2, 2), np.float16)
    y = np.arange(10, dtype=np.int32) % 3
    soft = np.random.default_rng(0).random((10, 3)).astype(np.float16)
    seen = 0
    for batch_x, batch_t in (window_batches(x, y, 3, 4, seed=1, soft=soft)[i] for i in range(3)):
        rows = batch_x[:, 0, 0].astype(int)                  # each window holds its own index
        np.testing.assert_array_equal(batch_t, soft[rows].astype(np.float32))
        seen += len(rows)
    assert seen == 10
    plain = window_batches(x, y, 3, 10, seed=1)[0]
    np.testing.assert_array_equal(plain[1], np.eye(3, dtype=np.float32)[y[plain[0][:, 0, 0].astype(int)]])
