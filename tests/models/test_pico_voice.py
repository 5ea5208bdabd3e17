"""SVOX Pico (py-nanotts) as a training engine: phonemes in each voice's own sounds, one tag per word."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kwstrain import pico_voice, synthdata, tts

pytestmark = pytest.mark.skipif(not pico_voice.available(), reason="py-nanotts not installed")


def _samples(ph: str, voice: str) -> int:
    return len(pico_voice.nanotts().NanoTTS().speak(f'<phoneme alphabet="xsampa" ph="{ph}"/>', voice=voice))


@pytest.mark.parametrize("voice", pico_voice.VOICES)
def test_every_symbol_written_for_a_voice_is_one_it_says(voice: str):
    """Pico silently skips a symbol its voice does not know: each symbol :func:`xsampa` can write for the
    voice must change the clip against leaving it out (the English voices skip a, e, i, o, u, r and @)."""
    nearest = pico_voice._NEAREST[voice[:2]]
    written = {nearest.get(s, s) for value in pico_voice._XSAMPA.values() for s in value.split()} - {""}
    without = _samples("m m a", voice)
    skipped = [s for s in sorted(written) if _samples(f"m {s} m a", voice) == without]
    assert not skipped, f"{voice} does not say {skipped}"


def test_the_symbol_check_can_fail():
    """The English voices skip a plain a: the check above would catch writing it."""
    assert _samples("m a m a", "en-US") == _samples("m m a", "en-US")


def test_pico_speaks_in_a_process_that_loaded_tensorflow_first():
    """Pico's library exports FFT routines named as TensorFlow's; bound to TensorFlow's (loaded first) it crashed."""
    code = ("import tensorflow, sys\n"
            "from kwstrain import pico_voice\n"
            "sys.stdout.write(str(len(pico_voice.synthesize_wav('hello there', 'en-US|text|1.000', 100))))\n")
    models = Path(pico_voice.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(models), str(models.parent / "edge")])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 16000  # more than half a second of 16-bit audio at 16 kHz


def test_korean_and_english_phonemes_in_each_language():
    ko = "tɕˈuqjʌbˌʌɾindˌɐ"  # espeak-ng's 죽여버린다
    assert pico_voice.xsampa(ko, "en-US", korean=True) == ["tS u: k j O: b O: l i: n d A:"]
    assert pico_voice.xsampa(ko, "de-DE", korean=True) == ["tS u k j o b o R i n d a"]
    assert pico_voice.xsampa(ko, "it-IT", korean=True) == ["tS u k i o b o r i n d a"]
    assert pico_voice.xsampa("ʃˈʌt ˌʌp", "es-ES") == ["tS a t", "a p"]  # Spanish has no sh: ch


def test_a_long_sentence_is_said_whole(tmp_path: Path):
    """Pico says almost nothing for a phoneme tag of more than ~50 phones, so each word gets its own tag."""
    text = "all bridge hands are equally likely, but some are more equally likely than others"
    voice = tts.Voice("pico", "de-DE|en-us|1.000", "en", speed_wpm=100)
    short = tts.synthesize("all bridge hands", voice, tmp_path)
    whole = tts.synthesize(text, voice, tmp_path)
    assert whole.size > 3.5 * short.size
    assert pico_voice.markup(text, "de-DE", "en-us").count("<phoneme") == 14


def test_names_round_trip_and_reject_malformed():
    rng = random.Random(5)
    names = [pico_voice.random_name(rng, lang) for lang in ("ko", "en") * 60]
    for (name, speed), lang in zip(names, ("ko", "en") * 60):
        voice, how, pitch = pico_voice.parse_name(name)
        assert voice in pico_voice.VOICES and 0.6 <= pitch <= 1.5 and 75 <= speed <= 130
        if lang == "ko":
            assert how == "ko"
        else:
            assert (how == "text") == (voice in pico_voice.ENGLISH_VOICES)  # English voices read English as text
    assert {pico_voice.parse_name(n)[0] for n, _ in names} == set(pico_voice.VOICES)
    with pytest.raises(ValueError, match="pico voice"):
        pico_voice.parse_name("en-AU|text|1.0")
    with pytest.raises(ValueError, match="pico voice"):
        pico_voice.parse_name("en-US|text")


def test_pico_text_keeps_english_to_the_english_voices_reading_text():
    rng = random.Random(6)
    english = [synthdata.split_voice(rng, "en", "train22", "pico-text") for _ in range(60)]
    assert {pico_voice.parse_name(v.name)[:2] for v in english} == {("en-US", "text"), ("en-GB", "text")}
    korean = {pico_voice.parse_name(synthdata.split_voice(rng, "ko", "train22", "pico-text").name)[0]
              for _ in range(60)}
    assert korean == set(pico_voice.VOICES)  # Korean is still read as phonemes by all six


def test_pico_trains_only():
    assert synthdata.split_voice(random.Random(0), "ko", "train21", "pico").engine == "pico"
    with pytest.raises(ValueError, match="trains only"):
        synthdata.split_voice(random.Random(0), "ko", "val21", "pico")


def test_pico_speaks_a_keyword_at_8k_and_speed_and_pitch_work(tmp_path: Path):
    audio = tts.synthesize("개새끼", tts.Voice("pico", "en-GB|ko|1.000", "ko", speed_wpm=100), tmp_path)
    assert audio.dtype == np.float32 and 0.25 * tts.RATE_HZ < audio.size < 2.0 * tts.RATE_HZ
    assert 0.05 < float(np.max(np.abs(audio))) <= 1.0
    slow = tts.synthesize("shut up", tts.Voice("pico", "en-US|text|1.000", "en", speed_wpm=75), tmp_path)
    fast = tts.synthesize("shut up", tts.Voice("pico", "en-US|text|1.000", "en", speed_wpm=130), tmp_path)
    assert slow.size > 1.4 * fast.size
    low = tts.synthesize("shut up", tts.Voice("pico", "en-US|text|0.600", "en", speed_wpm=100), tmp_path)
    high = tts.synthesize("shut up", tts.Voice("pico", "en-US|text|1.500", "en", speed_wpm=100), tmp_path)
    assert _f0(high) > 1.8 * _f0(low)


def _f0(x: np.ndarray) -> float:
    """The strongest autocorrelation period between 60 and 500 Hz over the loudest 100 ms, in Hz."""
    start = int(np.argmax(np.convolve(x**2, np.ones(800), "valid")))
    seg = x[start : start + 800] - np.mean(x[start : start + 800])
    ac = np.correlate(seg, seg, "full")[seg.size - 1 :]
    lo, hi = tts.RATE_HZ // 500, tts.RATE_HZ // 60
    return tts.RATE_HZ / (lo + int(np.argmax(ac[lo:hi])))
