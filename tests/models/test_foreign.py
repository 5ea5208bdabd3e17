"""kwstrain.foreign: how much of an engine's keyword speech a model already catches."""

from __future__ import annotations

from pathlib import Path

from kwstrain import foreign, tts
from lineguard.kws.factory import build_detector
from lineguard.kws.keywords import load_keywords


def test_foreign_counts_what_the_shipped_model_catches(tmp_path: Path):
    """The classic training engines' keywords are the model's home ground (most caught), grouped by language
    and voice."""
    keywords = load_keywords(foreign.MODELS_DIR / "keywords.toml")
    detector = build_detector(None, {}, foreign.MODELS_DIR / "lineguard_kws.tflite", 1.0)
    hit, total = foreign.caught(detector, keywords, "", "train", 2, tts.prepare_espeak_home(tmp_path))
    assert sum(total.values()) == 2 * len(keywords) and sum(hit.values()) >= 0.6 * sum(total.values())
    assert {language for language, _ in total} == {"ko", "en"} and set(hit) <= set(total)
