"""New speakers from the recorded training voices (kwstrain.morph): Praat moves formants and pitch apart."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from kwstrain import morph, synthdata, tts

pytestmark = pytest.mark.skipif(not morph.available() or shutil.which("flite") is None,
                                reason="praat-parselmouth, piper-tts or flite not installed")


def _pitch_hz(x: np.ndarray, rate_hz: int) -> float:
    import parselmouth

    f0 = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate_hz).to_pitch().selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


def _centroid_hz(x: np.ndarray, rate_hz: int) -> float:
    """Spectral centroid over 300-3400 Hz: where a longer or shorter vocal tract moves the formants."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / rate_hz)
    band = (f >= 300) & (f <= 3400)
    return float((f[band] * spectrum[band]).sum() / spectrum[band].sum())


def _flite_kal(text: str, tmp_path: Path) -> tuple[np.ndarray, int]:
    return tts.parse_wav_bytes(tts.ENGINES["flite"](text, tts.Voice("flite", "kal", "en"), tmp_path, tmp_path))


def test_a_man_becomes_a_woman_pitch_and_formants_apart(tmp_path: Path):
    pcm, rate = _flite_kal("you are an idiot, shut up and listen to me", tmp_path)
    assert 80 < _pitch_hz(pcm, rate) < 120  # kal is a man
    higher = morph.change_voice(pcm, rate, "1.180,220,1.00")
    assert 200 < _pitch_hz(higher, rate) < 240
    assert _centroid_hz(higher, rate) > 1.05 * _centroid_hz(pcm, rate)
    # pitch alone: the formants stay where they were, which resampling (both together) cannot do
    pitch_only = morph.change_voice(pcm, rate, "1.000,220,1.00")
    assert 200 < _pitch_hz(pitch_only, rate) < 240
    assert abs(_centroid_hz(pitch_only, rate) / _centroid_hz(pcm, rate) - 1) < 0.04
    assert higher.size == pcm.size


def test_a_voice_with_a_morph_is_another_clip_and_key(tmp_path: Path):
    home = tts.prepare_espeak_home(tmp_path)
    plain = tts.Voice("flite", "kal", "en")
    morphed = tts.Voice("flite", "kal", "en", morph="0.900,95,0.80")
    assert plain.key != morphed.key and morphed.key.endswith("morph=0.900,95,0.80")
    a, b = tts.synthesize("kill you", plain, home), tts.synthesize("kill you", morphed, home)
    assert a.size > 2000 and b.size > 2000
    n = min(a.size, b.size)
    assert np.corrcoef(a[:n], b[:n])[0, 1] < 0.9


def test_morph_speakers_are_training_voices_with_both_directions_of_sex():
    rng = random.Random(3)
    voices = [synthdata.split_voice(rng, lang, "train24", "morph") for lang in ("en", "ko") * 150]
    assert all(v.morph for v in voices)
    en = [v for v in voices if v.language == "en"]
    assert {v.engine for v in en} >= {"flite", "piper"} and not {v.name for v in en} & {"rms", "ked_diphone"}
    assert {v.engine for v in voices if v.language == "ko"} == {"piper", "espeak"}
    pitches = [morph.parse(v.morph)[1] for v in voices]
    assert min(pitches) < 110 and max(pitches) > 230
    # a woman's recording made a man's voice gets a longer tract (formant ratio < 1), a man's made a woman's a shorter
    slt_low = [morph.parse(v.morph)[0] for v in en if v.name == "slt" and morph.parse(v.morph)[1] < 150]
    kal_high = [morph.parse(v.morph)[0] for v in en if v.name == "kal" and morph.parse(v.morph)[1] > 165]
    assert slt_low and max(slt_low) < 0.95 and kal_high and min(kal_high) > 1.05
    with pytest.raises(ValueError, match="trains only"):
        synthdata.split_voice(rng, "en", "val", "morph")


@pytest.mark.parametrize("bad", ["1.1,200", "x,200,1", "3.0,200,1.0", "1.0,20,1.0", "1.0,200,-1"])
def test_a_malformed_morph_names_itself(bad: str):
    with pytest.raises(ValueError, match="morph"):
        morph.parse(bad)


def test_a_clip_without_voice_keeps_its_pitch_and_still_changes(tmp_path: Path):
    """Unvoiced sound (a hiss): no pitch to move; the formant shift alone still applies."""
    rate = 8000
    hiss = np.random.default_rng(0).normal(0, 0.1, rate).astype(np.float32)
    out = morph.change_voice(hiss, rate, "1.200,200,1.00")
    assert out.size == hiss.size and np.isfinite(out).all() and np.abs(out).max() > 0.05
