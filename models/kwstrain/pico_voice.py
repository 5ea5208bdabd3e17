"""Another engine family: SVOX Pico (``py-nanotts``, the Pico engine with its six
voices bundled in the wheel), for training only.

Pico is a hidden-Markov-model parametric synthesizer with a vocoder of its own,
built from recordings of six speakers: American (``en-US``) and British
(``en-GB``) English, German, Spanish, French and Italian. No other engine here
works that way or sounds like these voices. English text is read as written
by the two English voices (two English clips in three); everything else is
handed over as phonemes (Pico's ``<phoneme alphabet="xsampa">`` markup, one tag
per word: a tag of more than ~50 phones comes out nearly silent): espeak-ng
writes the text as IPA (Korean, or English in en-us / en-gb),
:func:`kwstrain.accent.phones` reduces
it to neutral phones and :func:`xsampa` spells them in X-SAMPA with the sounds
the voice's language has. So the English voices also speak accented Korean, and
the four others accented Korean and accented English, like a foreign caller.

Variety beyond the six speakers: Pico's own pitch (0.6–1.5×) and speed
(0.75–1.3×) controls and the resampling speed/pitch factor every clip gets. A
voice ``name`` is ``"<pico voice>|<espeak language or 'text'>|<pitch>"``; the
:class:`~kwstrain.tts.Voice`'s ``speed_wpm`` holds Pico's speed in percent.
Pico voices are all women's voices; a low pitch together with a low resampling
factor gives lower, longer vocal tracts.
"""

from __future__ import annotations

import importlib.util
import io
import os
import random
import sys
import wave

from kwstrain.accent import phones
from kwstrain.neural import espeak_ipa

VOICES = ("en-US", "en-GB", "de-DE", "es-ES", "fr-FR", "it-IT")
ENGLISH_VOICES = ("en-US", "en-GB")
RATE_HZ = 16000

# neutral phones (kwstrain.accent) -> X-SAMPA
_XSAMPA = {"a": "a", "e": "e", "i": "i", "o": "o", "u": "u", "æ": "{", "ə": "@", "ɯ": "U", "tʃ": "tS",
           "dʒ": "dZ", "ts": "t s", "dz": "d z", "ʃ": "S", "ʒ": "Z", "r": "r", "l": "l", "w": "w", "j": "j",
           "ŋ": "N", "x": "x", "h": "h", "g": "g", "k": "k", "p": "p", "b": "b", "t": "t", "d": "d", "f": "f",
           "v": "v", "s": "s", "z": "z", "m": "m", "n": "n"}
# The symbols each voice's language lacks, and its nearest ones. Pico skips a symbol its voice does not know
# (and an English voice then shortens the rest), so these were found by asking every voice for each symbol
# between two m's and keeping those that changed the clip's length (tests/models/test_pico_voice.py checks it).
# The English voices have no r in phoneme markup: l stands in, as Korean ㄹ lies between the two.
_NEAREST = {"en": {"a": "A:", "e": "E", "i": "i:", "o": "O:", "u": "u:", "@": "V", "r": "l", "x": "h"},
            "de": {"{": "E", "r": "R", "w": "v"},
            "es": {"{": "e", "@": "e", "U": "u", "S": "tS", "Z": "j", "h": "x", "v": "b", "z": "s", "w": "u"},
            "fr": {"{": "E", "U": "u", "h": "", "x": "R", "r": "R"},
            "it": {"{": "E", "@": "e", "U": "u", "Z": "dZ", "h": "", "x": "k", "j": "i", "w": "u"}}


def available() -> bool:
    return importlib.util.find_spec("py_nanotts") is not None


def nanotts():
    """The ``py_nanotts`` module, its native library bound to its own symbols first (``RTLD_DEEPBIND``): it
    exports Ooura's FFT routines (``cftb1st``, ``bitrv2conj`` …) under the same names as TensorFlow's copy,
    and loaded after TensorFlow it would call TensorFlow's and crash."""
    if "py_nanotts" not in sys.modules:
        flags = sys.getdlopenflags()
        sys.setdlopenflags(flags | os.RTLD_DEEPBIND)
        try:
            import py_nanotts  # noqa: F401 (kept in sys.modules)
        finally:
            sys.setdlopenflags(flags)
    return sys.modules["py_nanotts"]


def xsampa(ipa: str, voice: str, korean: bool = False) -> list[str]:
    """espeak-ng IPA as X-SAMPA in the sounds of ``voice``'s language: one string per word, one phone per
    space-separated symbol."""
    nearest = _NEAREST[voice[:2]]
    words = []
    for word in phones(ipa, korean):
        symbols = (nearest.get(s, s) for p in word for s in _XSAMPA.get(p.rstrip(":-"), "").split())
        if spelled := " ".join(s for s in symbols if s):
            words.append(spelled)
    return words


def random_name(rng: random.Random, language: str, accented_english: bool = True) -> tuple[str, int]:
    """A random Pico speaker: (``name``, speed in percent). English: the two English voices read the text
    two times in three, the four others its phonemes (accented English; with ``accented_english`` off, the
    English voices read every English text); Korean: all six read phonemes."""
    if language == "ko":
        voice, how = rng.choice(VOICES), "ko"
    elif not accented_english or rng.random() < 2 / 3:
        voice, how = rng.choice(ENGLISH_VOICES), "text"
    else:
        voice, how = rng.choice(VOICES[2:]), rng.choice(("en-us", "en-gb"))
    return f"{voice}|{how}|{rng.uniform(0.6, 1.5):.3f}", rng.randint(75, 130)


def parse_name(name: str) -> tuple[str, str, float]:
    parts = name.split("|")
    if len(parts) != 3 or parts[0] not in VOICES:
        raise ValueError(f"pico voice name {name!r} is not '<pico voice>|<espeak language or text>|<pitch>' "
                         f"with one of {list(VOICES)}")
    return parts[0], parts[1], float(parts[2])


def markup(text: str, voice: str, how: str) -> str:
    """What Pico is handed for ``text``: the text itself, or its phonemes in X-SAMPA markup."""
    if how == "text":
        return text.replace("<", " ").replace(">", " ")
    words = xsampa(espeak_ipa(text, how), voice, korean=how == "ko")
    if not words:
        raise ValueError(f"no phonemes for {text!r}")
    # one tag per word: Pico says almost nothing for a tag of more than ~50 phones
    return " ".join(f'<phoneme alphabet="xsampa" ph="{w}"/>' for w in words)


def synthesize_wav(text: str, name: str, speed_percent: int) -> bytes:
    """``text`` (Korean or English) spoken by the Pico voice of ``name``; 16-bit mono WAV bytes at 16 kHz."""
    voice, how, pitch = parse_name(name)
    pcm = nanotts().NanoTTS().speak(markup(text, voice, how), voice=voice, speed=speed_percent / 100.0, pitch=pitch)
    if not pcm:
        raise ValueError(f"pico {voice} said nothing for {text!r}")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(pcm)
    return buf.getvalue()
