"""The shipped int8 model read back into a trainable float Keras model (``from_tflite``)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

from kwstrain.model import from_tflite  # noqa: E402
from kwstrain.pipeline import MODELS_DIR  # noqa: E402
from lineguard.audio.resample import to_rate  # noqa: E402
from lineguard.audio.wavio import read_wav  # noqa: E402
from lineguard.kws.features import log_mel  # noqa: E402
from lineguard.kws.tflite_loader import make_interpreter  # noqa: E402

SHIPPED = MODELS_DIR / "lineguard_kws.tflite"


def _speech_windows(tmp_path) -> np.ndarray:
    text = "hello, this is the clinic. shut up, you idiot. I will call you back tomorrow about the order"
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], capture_output=True, check=True)
    samples, rate = read_wav(wav)
    audio = to_rate(samples[:, 0], rate, 8000) * 0.3
    mel = log_mel(audio)
    return np.stack([mel[i:i + 100] for i in range(0, len(mel) - 100, 4)]).astype(np.float32)


def _int8_logits(windows: np.ndarray) -> np.ndarray:
    interp = make_interpreter(model_path=str(SHIPPED))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    (scale, zero), (out_scale, out_zero) = inp["quantization"], out["quantization"]
    rows = []
    for window in windows:
        interp.set_tensor(inp["index"], np.clip(np.round(window / scale + zero), -128, 127).astype(np.int8)[None])
        interp.invoke()
        rows.append((interp.get_tensor(out["index"])[0].astype(np.float32) - out_zero) * out_scale)
    return np.array(rows)


def _gradient(model, layer, windows: np.ndarray) -> np.ndarray:
    """The gradient of the cross-entropy towards "no keyword" on ``windows`` by ``layer``'s kernel."""
    import tensorflow as tf

    labels = np.zeros(len(windows), np.int64)
    with tf.GradientTape() as tape:
        logits = model(windows, training=False)
        loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
    return tape.gradient(loss, layer.kernel).numpy()


def _copies(kernel: np.ndarray, first_new: int) -> list[tuple[int, int]]:
    """(copy, source) for each output unit from ``first_new`` on of a ``(..., in, out)`` kernel that
    repeats an earlier unit's incoming weights exactly."""
    flat = kernel.reshape(-1, kernel.shape[-1])
    return [(j, i) for j in range(first_new, flat.shape[1]) for i in range(first_new)
            if np.array_equal(flat[:, j], flat[:, i])]


def test_float_model_from_the_shipped_int8_model_computes_the_same_logits(tmp_path):
    model, mean, std = from_tflite(SHIPPED)
    assert std > 0 and np.isfinite(mean)
    windows = _speech_windows(tmp_path)
    float_logits = model.predict(windows, verbose=0)
    int8_logits = _int8_logits(windows)
    spread = float(int8_logits.max() - int8_logits.min())
    # only the int8 rounding of activations separates the two (~0.4% of the spread); one
    # time-reversed depthwise kernel alone moved the logits by ~10% of it
    assert np.abs(float_logits - int8_logits).mean() < 0.02 * spread
    assert np.mean(float_logits.argmax(1) == int8_logits.argmax(1)) >= 0.95


def test_from_tflite_rejects_a_model_of_another_shape():
    from kwstrain.model import ModelShape

    with pytest.raises(ValueError, match="lineguard_kws.tflite"):
        from_tflite(SHIPPED, ModelShape(block_channels=(64, 64, 96)))


def test_widening_the_head_keeps_the_function(tmp_path):
    from dataclasses import replace

    from kwstrain.model import merge_copies, shape_of, widen_head
    from kwstrain.train import quantize

    model, mean, std = from_tflite(SHIPPED)
    narrow = shape_of(model)
    wider = replace(narrow, head_channels=narrow.head_channels + 8, dense_units=narrow.dense_units + 16)
    grown = widen_head(model, mean, std, narrow, wider, seed=3)
    assert shape_of(grown) == wider and grown.count_params() > model.count_params()
    windows = _speech_windows(tmp_path)
    before, after = model.predict(windows, verbose=0), grown.predict(windows, verbose=0)
    # the same logits up to float rounding (copies share their outgoing weights)
    assert np.abs(before - after).max() < 1e-4 * float(np.abs(before).max())
    # exported int8 and read back at its own (wider) head. (The size budget is held by the shipped
    # model itself, already widened to the recipe's head: tests/kws/test_spotter.py.)
    path = tmp_path / "wide.tflite"
    path.write_bytes(quantize(grown, windows[:64]))
    again, _, _ = from_tflite(path)
    assert shape_of(again) == wider
    # from v51 with its copies merged: evenly shared dense copies get the same gradient as their sources (so
    # they never part: v51's 32 did not); unevenly shared ones a different one
    merged, distinct = merge_copies(model, mean, std, narrow)
    wider = replace(distinct, dense_units=distinct.dense_units + 16)
    for parting in (False, True):
        net = widen_head(merged, mean, std, distinct, wider, seed=3, uneven=parting)
        assert np.abs(before - net.predict(windows, verbose=0)).max() < 1e-4 * float(np.abs(before).max())
        dense = [layer for layer in net.layers if type(layer).__name__ == "Dense"][0]
        copies = _copies(dense.get_weights()[0], distinct.dense_units)
        gradient = _gradient(net, dense, windows)
        live = [(j, i) for j, i in copies if np.abs(gradient[:, i]).max() > 0]
        assert len(copies) == 16 and len(live) >= 8, len(live)
        assert all(parting != np.allclose(gradient[:, j], gradient[:, i], rtol=1e-3, atol=0) for j, i in live)
    with pytest.raises(ValueError, match="narrow"):
        widen_head(model, mean, std, narrow, replace(narrow, dense_units=narrow.dense_units - 1))
    with pytest.raises(ValueError, match="only widens the head"):
        widen_head(model, mean, std, narrow, replace(wider, kernel_frames=3))


def test_merging_the_identical_dense_units_keeps_the_function(tmp_path):
    from kwstrain.model import merge_copies, shape_of
    from kwstrain.train import quantize

    model, mean, std = from_tflite(SHIPPED)
    found = shape_of(model)
    merged, narrower = merge_copies(model, mean, std, found)
    # the shipped head was widened from 64 dense units to 96 by even copies, which never parted
    assert (found.dense_units, narrower.dense_units) == (96, 64) and shape_of(merged) == narrower
    inputs = 13 * found.head_channels + 1 + 19  # each unit's incoming weights and bias, its outgoing weights
    assert model.count_params() - merged.count_params() == 32 * inputs
    windows = _speech_windows(tmp_path)
    before, after = model.predict(windows, verbose=0), merged.predict(windows, verbose=0)
    assert np.abs(before - after).max() < 1e-4 * float(np.abs(before).max())
    again, _ = merge_copies(merged, mean, std, narrower)  # nothing left to merge
    assert again.count_params() == merged.count_params()
    path = tmp_path / "merged.tflite"
    path.write_bytes(quantize(merged, windows[:64]))
    assert shape_of(from_tflite(path)[0]) == narrower


def test_widening_the_body_keeps_the_function_and_the_copies_learn_apart(tmp_path):
    from dataclasses import replace

    from kwstrain.model import merge_copies, shape_of, widen_body
    from kwstrain.train import quantize

    model, mean, std = from_tflite(SHIPPED)
    model, narrow = merge_copies(model, mean, std, shape_of(model))
    wider = replace(narrow, stem_channels=72, block_channels=(80, 80, 112, 112))
    grown = widen_body(model, mean, std, narrow, wider, seed=1)
    assert shape_of(grown) == wider
    windows = _speech_windows(tmp_path)
    before, after = model.predict(windows, verbose=0), grown.predict(windows, verbose=0)
    assert np.abs(before - after).max() < 1e-4 * float(np.abs(before).max())
    # a copied channel and its source get different gradients (their outgoing shares differ), so they part
    pointwise = [layer for layer in grown.layers if type(layer).__name__ == "Conv1D"][1]  # the first block's
    copies = _copies(pointwise.get_weights()[0], 64)  # out channels 64..79 copy channels < 64
    assert len(copies) == 16
    gradient = _gradient(grown, pointwise, windows)[0]
    live = [(j, i) for j, i in copies if np.abs(gradient[:, i]).max() > 0]  # a channel never on learns nothing
    assert len(live) >= 8, len(live)
    assert all(not np.allclose(gradient[:, j], gradient[:, i], rtol=1e-3, atol=0) for j, i in live)
    # exported int8 and read back at its own widths; merged and grown, it still fits the size budget
    path = tmp_path / "grown.tflite"
    path.write_bytes(quantize(grown, windows[:64]))
    assert path.stat().st_size <= 150 * 1024
    assert shape_of(from_tflite(path)[0]) == wider
    with pytest.raises(ValueError, match="cannot narrow"):
        widen_body(model, mean, std, narrow, replace(narrow, block_channels=(64, 64, 96, 80)))
    with pytest.raises(ValueError, match="only widens the stem and the blocks"):
        widen_body(model, mean, std, narrow, replace(wider, dense_units=96))
