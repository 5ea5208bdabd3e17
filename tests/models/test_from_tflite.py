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

    from kwstrain.model import head_of, widen_head
    from kwstrain.train import quantize

    model, mean, std = from_tflite(SHIPPED)
    narrow = head_of(model)
    wider = replace(narrow, head_channels=narrow.head_channels + 8, dense_units=narrow.dense_units + 16)
    grown = widen_head(model, mean, std, narrow, wider, seed=3)
    assert head_of(grown) == wider and grown.count_params() > model.count_params()
    windows = _speech_windows(tmp_path)
    before, after = model.predict(windows, verbose=0), grown.predict(windows, verbose=0)
    # the same logits up to float rounding (copies share their outgoing weights)
    assert np.abs(before - after).max() < 1e-4 * float(np.abs(before).max())
    # exported int8 and read back at its own (wider) head. (The size budget is held by the shipped
    # model itself, already widened to the recipe's head: tests/kws/test_spotter.py.)
    path = tmp_path / "wide.tflite"
    path.write_bytes(quantize(grown, windows[:64]))
    again, _, _ = from_tflite(path)
    assert head_of(again) == wider
    with pytest.raises(ValueError, match="narrow"):
        widen_head(model, mean, std, narrow, replace(narrow, dense_units=narrow.dense_units - 1))
    with pytest.raises(ValueError, match="only widens the head"):
        widen_head(model, mean, std, narrow, replace(wider, kernel_frames=3))
