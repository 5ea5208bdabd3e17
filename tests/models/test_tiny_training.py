"""A small real training run through the whole pipeline to an int8 .tflite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("pyroomacoustics")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

from kwstrain import pipeline  # noqa: E402
from kwstrain.model import from_tflite  # noqa: E402
from kwstrain.streams import build_streams  # noqa: E402
from kwstrain.synthdata import load_clips  # noqa: E402
from lineguard.kws.factory import build_detector  # noqa: E402

ENABLED = ["ko_ssibal", "en_shutup"]


def kernels_of(model: Path) -> list[np.ndarray]:
    """The kernel of each layer with weights of the int8 model ``model``, as floats."""
    return [layer.get_weights()[0] for layer in from_tflite(model)[0].layers if layer.get_weights()]


def assert_on_int8_grid_of(averaged: list[np.ndarray], means: list[np.ndarray]) -> None:
    """Each averaged kernel is its mean rounded to the int8 grid: off by at most half a step
    (symmetric int8, step = largest |weight| of the channel / 127; the layer's largest bounds it)."""
    for got, mean in zip(averaged, means, strict=True):
        assert np.abs(got - mean).max() <= 0.5 * np.abs(mean).max() / 127 * 1.01 + 1e-9


@pytest.mark.slow
def test_tiny_pipeline_end_to_end(tmp_path: Path):
    build, out = tmp_path / "build", tmp_path / "tiny_kws"
    keywords = pipeline.MODELS_DIR / "keywords.toml"
    preset = pipeline.PRESETS["tiny"]
    splits = ["train", "val", "train3", "train7"]  # train3: Kokoro, train7: Piper
    pipeline.run_data(build, preset, keywords, ENABLED, workers=1, splits=splits)
    clips = load_clips(build / "clips_train.npz")
    assert set(clips.labels) == {"_none", *ENABLED}
    neural = load_clips(build / "clips_train3.npz")
    assert {str(v).split(":")[0] for v in neural.voices} == {"kokoro"} and len(neural) >= 3
    piper = load_clips(build / "clips_train7.npz")
    assert {str(v).split(":")[0] for v in piper.voices} == {"piper"} and len(piper) >= 3
    positive = [i for i in range(len(clips)) if clips.labels[i] != "_none"]
    assert all(0 <= clips.kw_start[i] < clips.kw_end[i] <= clips.clip(i).size for i in positive)

    result = pipeline.run_train(build, preset, keywords, ENABLED, out)
    model = out.with_suffix(".tflite")
    assert model.is_file() and result["bytes"] == model.stat().st_size <= 150 * 1024
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["trained_on"] == list(preset.train_splits) and meta["train_epochs"] == preset.train.epochs
    assert meta["widths"]["blocks"] == list(preset.shape.block_channels)
    detector = build_detector(ENABLED, {}, model, 1.0)
    assert detector.rule.labels == ("_none", *ENABLED)
    assert detector._interp.get_input_details()[0]["dtype"] == np.int8
    streams = build_streams(load_clips(build / "clips_val.npz"), "en", set(), seed=0)
    scores = detector.process_scores(streams["positive"].audio)
    assert scores and all(abs(float(np.sum(s)) - 1.0) < 0.1 for _, s in scores)

    # continue training the exported int8 model (new speakers without a full retrain)
    again = tmp_path / "tiny_kws_continued"
    result = pipeline.run_continue(build, preset, keywords, ENABLED, model, again)
    continued = again.with_suffix(".tflite")
    assert continued.is_file() and result["bytes"] == continued.stat().st_size <= 150 * 1024
    meta = json.loads(again.with_suffix(".json").read_text())
    assert meta["labels"] == ["_none", *ENABLED] and meta["continued_from"] == model.name
    assert meta["continued_on"] == list(preset.continue_splits)
    detector = build_detector(ENABLED, {}, continued, 1.0)
    scores = detector.process_scores(streams["positive"].audio)
    assert scores and all(abs(float(np.sum(s)) - 1.0) < 0.1 for _, s in scores)
    with pytest.raises(ValueError, match="labels"):  # a different keyword set needs a full training
        pipeline.run_continue(build, preset, keywords, ["ko_ssibal"], model, tmp_path / "other")
    # the keyword windows the model is unsure of trained on again with each mining round
    unsure = tmp_path / "tiny_kws_unsure"
    positives = sum(1 for label in load_clips(build / "clips_train.npz").labels if label != "_none")
    pipeline.run_continue(build, pipeline.varied(preset, unsure_positives=4), keywords, ENABLED, model, unsure)
    meta = json.loads(unsure.with_suffix(".json").read_text())
    assert meta["unsure_positives"] == 4 and meta["unsure_ceiling"] == 0.98
    # one round (the tiny plan's); a model one epoch old is sure of few keyword windows: four of them are drawn
    assert meta["repeated_positives"] == [4] and positives >= 4
    assert "repeated_positives" not in json.loads(again.with_suffix(".json").read_text())  # off by default
    # a network of another shape from the same start: its identical dense units merged, its blocks widened
    # (both keep the function), then continued
    grown = tmp_path / "tiny_kws_grown"
    pipeline.run_continue(build, pipeline.varied(preset, block_channels=(64, 80, 96, 112)), keywords, ENABLED, model,
                          grown, merge=True)
    meta = json.loads(grown.with_suffix(".json").read_text())
    assert meta["widths"] == {"stem": 64, "blocks": [64, 80, 96, 112], "head": 32, "dense": 64}
    assert meta["merged_dense_units"] == [64, 64]  # trained from nothing: no copies to merge
    assert json.loads(again.with_suffix(".json").read_text())["widths"]["blocks"] == [64, 64, 96, 96]
    assert build_detector(ENABLED, {}, grown.with_suffix(".tflite"), 1.0).process_scores(streams["positive"].audio)
    with pytest.raises(ValueError, match="differ in their widths"):
        pipeline.run_soup(build, preset, keywords, ENABLED, [model, grown.with_suffix(".tflite")], tmp_path / "other")
    # continued towards two teachers' averaged answers (an ensemble distilled into one network)
    taught = tmp_path / "tiny_kws_taught"
    result = pipeline.run_continue(build, preset, keywords, ENABLED, model, taught, teachers=[model, continued],
                                   teacher_weight=0.5)
    meta = json.loads(taught.with_suffix(".json").read_text())
    assert result["bytes"] <= 150 * 1024 and meta["taught_by"] == [str(model), str(continued)]
    assert meta["teacher_weight"] == 0.5 and build_detector(ENABLED, {}, taught.with_suffix(".tflite"), 1.0)
    assert meta["taught_on"] == "all"
    one_keyword = tmp_path / "one_keyword"
    shutil.copy(model, one_keyword.with_suffix(".tflite"))
    one_meta = json.loads(model.with_suffix(".json").read_text())
    one_keyword.with_suffix(".json").write_text(json.dumps({**one_meta, "labels": ["_none", "ko_ssibal"]}))
    with pytest.raises(ValueError, match="one_keyword.tflite: its labels"):  # a teacher of another keyword set
        pipeline.run_continue(build, preset, keywords, ENABLED, model, tmp_path / "other",
                              teachers=[one_keyword.with_suffix(".tflite")])

    # the weights of the start and its continued copy averaged ("soup"), quantized again
    soup = tmp_path / "tiny_kws_soup"
    result = pipeline.run_soup(build, preset, keywords, ENABLED, [model, continued], soup)
    assert soup.with_suffix(".tflite").is_file() and result["bytes"] <= 150 * 1024
    assert json.loads(soup.with_suffix(".json").read_text())["soup_of"] == [str(model), str(continued)]
    start, copy, averaged = (kernels_of(p) for p in (model, continued, soup.with_suffix(".tflite")))
    # each soup weight is the mean of the two, rounded to the int8 grid
    assert_on_int8_grid_of(averaged, [(a + b) / 2 for a, b in zip(start, copy)])
    # and so much nearer to the mean than either model is (either alone would sit at a ratio of 1;
    # measured 0.24 over all layers: layers that barely moved in the continuation sit near the step)
    half_apart = sum(np.abs(a - b).mean() / 2 for a, b in zip(start, copy))
    off_mean = sum(np.abs(w - (a + b) / 2).mean() for a, b, w in zip(start, copy, averaged))
    print(f"soup off the mean / half the distance apart: {off_mean / half_apart:.3f}")
    assert off_mean < 0.5 * half_apart
    # a model named twice weighs twice: the start and its copy averaged 2:1
    weighted = tmp_path / "tiny_kws_soup21"
    pipeline.run_soup(build, preset, keywords, ENABLED, [model, model, continued], weighted)
    two_to_one = kernels_of(weighted.with_suffix(".tflite"))
    assert_on_int8_grid_of(two_to_one, [(2 * a + b) / 3 for a, b in zip(start, copy)])
    off_two_to_one = sum(np.abs(w - (2 * a + b) / 3).mean() for a, b, w in zip(start, copy, two_to_one))
    off_even = sum(np.abs(w - (a + b) / 2).mean() for a, b, w in zip(start, copy, two_to_one))
    assert off_two_to_one < off_even
    detector = build_detector(ENABLED, {}, soup.with_suffix(".tflite"), 1.0)
    assert detector.process_scores(streams["positive"].audio)
    with pytest.raises(ValueError, match="labels"):
        pipeline.run_soup(build, preset, keywords, ["ko_ssibal"], [model, continued], tmp_path / "other")
