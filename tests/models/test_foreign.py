"""kwstrain.foreign: how much of an engine's keyword speech a model already catches."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kwstrain import foreign, tts
from lineguard.kws.factory import build_detector
from lineguard.kws.keywords import load_keywords


def test_foreign_counts_what_the_shipped_model_catches(tmp_path: Path):
    """The classic training engines' keywords are the model's home ground (most caught), grouped by language
    and voice."""
    keywords = load_keywords(foreign.MODELS_DIR / "keywords.toml")
    detector = build_detector(None, {}, foreign.MODELS_DIR / "lineguard_kws.tflite", 1.0)
    tally = foreign.caught(detector, keywords, "", "train", 2, tts.prepare_espeak_home(tmp_path))
    total, hit = sum(tally.total.values()), sum(tally.hit.values())
    assert total == 2 * len(keywords) and hit >= 0.6 * total
    assert {language for language, _ in tally.total} == {"ko", "en"} and set(tally.hit) <= set(tally.total)
    peaks = [p for group in tally.total for p in tally.peaks[group]]
    assert len(peaks) == total and all(0.0 <= p <= 1.0 for p in peaks)
    # a caught clip's right keyword scored at least its threshold (every default threshold is above 0.5), and
    # the right keyword leads in at least every caught clip
    assert sum(p >= 0.5 for p in peaks) >= hit and sum(tally.leads.values()) >= hit


def test_foreign_peaks_are_low_where_no_keyword_is_said(tmp_path: Path):
    """The tally measures the keyword said: the same voices saying a harmless word score low for every keyword."""
    keywords = load_keywords(foreign.MODELS_DIR / "keywords.toml")
    detector = build_detector(None, {}, foreign.MODELS_DIR / "lineguard_kws.tflite", 1.0)
    harmless = [replace(kw, spoken=("hello there",) if kw.language == "en" else ("안녕하세요",)) for kw in keywords]
    tally = foreign.caught(detector, harmless, "", "train", 1, tts.prepare_espeak_home(tmp_path))
    assert sum(tally.hit.values()) == 0
    assert max(p for group in tally.total for p in tally.peaks[group]) < 0.5


def test_foreign_by_form_groups_by_keyword_and_spoken_form(tmp_path: Path):
    """--by form: one group per keyword and spoken form said, and each caught clip's raw response lasted at
    least one window (a smoothed score over the threshold needs raw window scores over it)."""
    keywords = [kw for kw in load_keywords(foreign.MODELS_DIR / "keywords.toml") if kw.id in ("en_idiot", "ko_jiral")]
    detector = build_detector(None, {}, foreign.MODELS_DIR / "lineguard_kws.tflite", 1.0)
    tally = foreign.caught(detector, keywords, "", "train", 3, tts.prepare_espeak_home(tmp_path), by="form")
    spoken = {(kw.language, f"{kw.id}: {form}") for kw in keywords for form in kw.spoken}
    assert set(tally.total) <= spoken and sum(tally.total.values()) == 6
    for group, n in tally.total.items():
        widths = tally.responses[group]
        assert len(widths) == n and all(w >= 0.0 for w in widths)
        assert sum(w > 0.0 for w in widths) >= tally.hit[group]
    assert sum(tally.hit.values()) >= 3  # 지랄 and *idiot* are among the words the model knows best


def test_foreign_rejects_an_unknown_grouping(tmp_path: Path):
    detector = build_detector(None, {}, foreign.MODELS_DIR / "lineguard_kws.tflite", 1.0)
    with pytest.raises(ValueError, match="group by 'speaker'"):
        foreign.caught(detector, [], "", "train", 1, tmp_path, by="speaker")
