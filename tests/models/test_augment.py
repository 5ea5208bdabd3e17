"""Training-time speaker and handset augmentation of log-mel windows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kwstrain.model import WARP_STEPS, ModelShape, warp_bank, warp_positions
from lineguard.kws.features import FeatureConfig, log_mel


def test_warp_positions_identity_in_the_middle_and_monotonic():
    pos = warp_positions(0.12)
    assert pos.shape == (WARP_STEPS, 40)
    np.testing.assert_allclose(pos[WARP_STEPS // 2], np.arange(40), atol=1e-4)
    assert np.all(np.diff(pos, axis=1) >= 0) and pos.min() >= 0 and pos.max() <= 39
    # a shorter vocal tract (alpha > 1) reads lower source bins: formants move up
    assert np.all(pos[-1] <= pos[WARP_STEPS // 2] + 1e-6) and pos[-1][20] < 19


def test_warp_moves_a_tone_like_a_vocal_tract_change():
    """Warping the features of a 1 kHz tone by alpha lands near the features of a
    1 kHz * alpha tone: the warp is a frequency scaling, as VTLP intends."""
    config = FeatureConfig()
    t = np.arange(8000) / 8000
    feats = {f: log_mel(np.sin(2 * np.pi * f * t).astype(np.float32), config).mean(axis=0) for f in (1000, 1100)}
    alpha_index = int(np.argmin(np.abs(np.linspace(0.88, 1.12, WARP_STEPS) - 1.1)))
    pos = warp_positions(0.12)[alpha_index]
    warped = np.interp(pos, np.arange(40), feats[1000])
    assert abs(int(np.argmax(warped)) - int(np.argmax(feats[1100]))) <= 1
    assert int(np.argmax(warped)) != int(np.argmax(feats[1000]))


def test_formant_jitter_moves_the_formant_regions_by_different_amounts():
    assert np.array_equal(warp_bank(0.12), warp_positions(0.12))  # off: the plain vocal-tract warps
    bank = warp_bank(0.12, 3.0)
    assert bank.shape == (512, 40) and bank.min() >= 0 and bank.max() <= 39
    assert np.all(np.diff(bank, axis=1) >= -1e-6)  # every table still a monotonic map of the mel axis
    assert np.array_equal(bank, warp_bank(0.12, 3.0))  # a fixed bank (seeded)
    # relative to the nearest uniform warp, the low (F1) and mid (F2) regions move apart: a uniform warp
    # cannot explain a table
    linear = warp_positions(0.12)
    residual = [np.abs(linear - table).max(axis=1).min() for table in bank]
    assert np.median(residual) > 1.0
    # without the vocal-tract warp, each table is the identity at both ends and moves the inner knots
    # by at most the jitter
    only = warp_bank(0.0, 3.0)
    assert np.allclose(only[:, 0], 0) and np.allclose(only[:, -1], 39)
    assert np.abs(only - np.arange(40)).max() <= 3.0 + 1e-5 and np.abs(only - np.arange(40)).max() > 2.0


def test_formant_jitter_reaches_the_training_layer():
    tf = pytest.importorskip("tensorflow")
    from kwstrain.model import speaker_augment_layer

    x = tf.constant(np.random.default_rng(1).normal(-5, 2, (16, 100, 40)).astype(np.float32))
    plain = replace(ModelShape(), warp=0.0, tilt_db=0.0, bump_db=0.0, augment_prob=1.0)
    assert np.allclose(speaker_augment_layer(plain)(x, training=True).numpy(), x.numpy())
    jittered = speaker_augment_layer(replace(plain, formant_jitter=3.0))
    np.testing.assert_array_equal(jittered(x, training=False).numpy(), x.numpy())
    assert not np.allclose(jittered(x, training=True).numpy(), x.numpy())


def test_augment_layer_is_identity_at_inference_and_varies_in_training():
    tf = pytest.importorskip("tensorflow")
    from kwstrain.model import speaker_augment_layer

    layer = speaker_augment_layer(replace(ModelShape(), augment_prob=1.0))
    x = tf.constant(np.random.default_rng(0).normal(-5, 2, (8, 100, 40)).astype(np.float32))
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    a, b = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    assert a.shape == x.shape and np.isfinite(a).all()
    assert not np.allclose(a, x.numpy()) and not np.allclose(a, b)
    # the tilt and bump stay within their dB bounds (natural-log power units)
    no_warp = speaker_augment_layer(replace(ModelShape(), warp=0.0, augment_prob=1.0))
    delta = no_warp(x, training=True).numpy() - x.numpy()
    assert np.abs(delta).max() <= (6.0 + 6.0) * np.log(10) / 10 + 1e-5


def test_window_batches_visit_every_window_once_per_epoch_in_a_fresh_order_as_float32():
    from kwstrain.train import window_batches

    x = (np.arange(23, dtype=np.float16)[:, None, None] * np.ones((1, 3, 2), np.float16))
    y = np.arange(23, dtype=np.int32) % 4
    batches = window_batches(x, y, num_classes=4, batch_size=5, seed=1, class_weight={2: 3.0})
    assert len(batches) == 5
    orders = []
    for _ in range(2):
        seen = []
        for index in range(len(batches)):
            xb, yb, wb = batches[index]
            assert xb.dtype == np.float32 and yb.dtype == np.float32
            rows = xb[:, 0, 0].astype(int)
            assert np.array_equal(np.argmax(yb, axis=1), rows % 4) and np.array_equal(yb.sum(axis=1), np.ones(len(rows)))
            assert np.array_equal(wb, np.where(rows % 4 == 2, 3.0, 1.0))
            seen.extend(rows)
        assert sorted(seen) == list(range(23))
        orders.append(seen)
        batches.on_epoch_end()
    assert orders[0] != orders[1]
    assert len(window_batches(x, y, 4, 5, seed=1)[0]) == 2  # no class weights: (x, y) only
