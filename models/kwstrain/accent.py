"""Accented speakers: festival's Czech, Finnish and Italian diphone voices reading
Korean and English.

Each of these voices was recorded from a person (Czech: an adult woman, a boy and
two men; Finnish: a woman and a man; Italian: a woman and a man), so they add
eight real vocal tracts to training that no other engine has, and the accent a
foreign caller brings. The voices read their own language's spelling, so the text
is first phonemized by espeak-ng (Korean, or English in one of its accents) and
the phonemes are respelled in the voice's orthography (:func:`respell`): Czech and
Finnish spell almost one letter per sound; Italian needs the c/ch, g/gh, ci/sci
rules and has no h. Sounds a language lacks become its nearest ones (θ → t,
English w → Czech u / Finnish v, Korean ㅡ → y / u), Korean tense consonants are
doubled where the language has long consonants (Finnish, Italian).

Training only: the held-out sets keep their own voices. A voice ``name`` is
``"<festival voice>|<espeak language>"``; the :class:`~kwstrain.tts.Voice`'s
``speed_wpm`` holds festival's duration stretch in percent.
"""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

from kwstrain.neural import espeak_ipa
from kwstrain.tts import festival_voices_found

# festival voice -> orthography it reads
VOICES = {"czech_dita": "cs", "czech_krb": "cs", "czech_machac": "cs", "czech_ph": "cs",
          "suo_fi_lj_diphone": "fi", "hy_fi_mv_diphone": "fi", "lp_diphone": "it", "pc_diphone": "it"}
ENCODING = {"cs": "iso-8859-2", "fi": "latin-1", "it": "ascii"}
ENGLISH_ACCENTS = ("en-us", "en-us", "en-gb")
VOWELS = set("aeiouäöy")

# espeak-ng IPA -> neutral phones; longest symbols first. Vowels: a e i o u æ ə ɯ; "ː" marks length
_IPA = sorted({
    "aɪ": "a i", "eɪ": "e i", "oʊ": "o u", "əʊ": "o u", "aʊ": "a u", "ɔɪ": "o i", "ɪə": "i ə", "eə": "e ə",
    "ʊə": "u ə", "ɜː": "ə: r", "ɚ": "ə r", "ə": "ə", "ʌ": "a", "ɐ": "a", "æ": "æ", "ɑ": "a", "ɒ": "o", "ɔ": "o",
    "ɛ": "e", "ɪ": "i", "ᵻ": "i", "ʊ": "u", "ɯ": "ɯ", "ɜ": "ə", "ɘ": "ə", "ɵ": "o", "ʉ": "u", "a": "a", "e": "e",
    "i": "i", "o": "o", "u": "u", "y": "i", "ø": "e",
    "tʃ": "tʃ", "tɕ": "tʃ", "dʒ": "dʒ", "dʑ": "dʒ", "ts": "ts", "dz": "dz", "ʃ": "ʃ", "ɕ": "ʃ", "ʒ": "ʒ", "ʑ": "ʒ",
    "θ": "t", "ð": "d", "ɹ": "r", "ɾ": "r", "r": "r", "ɫ": "l", "l": "l", "w": "w", "ʍ": "w", "j": "j", "ŋ": "ŋ",
    "x": "x", "ç": "x", "h": "h", "ɦ": "h", "ɡ": "g", "g": "g", "q": "k", "k": "k", "p": "p", "b": "b", "t": "t",
    "d": "d", "f": "f", "v": "v", "β": "v", "ɸ": "f", "s": "s", "z": "z", "m": "m", "n": "n", "ɲ": "n", "ɣ": "g",
}.items(), key=lambda kv: -len(kv[0]))
_DROP = "ˈˌ.‿ʔ̩̃"


def phones(ipa: str, korean: bool = False) -> list[list[str]]:
    """espeak-ng IPA → words of neutral phones; ``"k-"`` is a tense (long) consonant, ``"a:"`` a long vowel.
    Korean ㅓ (espeak-ng ʌ) is nearer o than a; a j after tʃ, dʒ, ʃ, ʒ is already in them."""
    words = []
    for raw in re.split(r"[\s,]+", ipa):
        word, i = [], 0
        raw = "".join(c for c in raw if c not in _DROP)
        while i < len(raw):
            if raw[i] == "ː" and word:
                word[-1] += ":"
                i += 1
                continue
            if raw[i] == "-" and word:
                word[-1] += "-"
                i += 1
                continue
            for symbol, phone in _IPA:
                if raw.startswith(symbol, i):
                    if korean and symbol == "ʌ":
                        phone = "o"
                    if phone == "j" and word and word[-1].rstrip(":-") in ("tʃ", "dʒ", "ʃ", "ʒ"):
                        phone = ""
                    word.extend(phone.split())
                    i += len(symbol)
                    break
            else:
                i += 1  # a symbol no orthography here can write
        if word:
            words.append(word)
    return words


def _czech(word: list[str]) -> str:
    out = []
    for phone in word:
        base, long = phone.rstrip(":-"), phone.endswith(":")
        if base in ("i", "ɯ"):  # Czech di/ti/ni are soft: after d, t, n write the hard y
            hard = base == "ɯ" or (out and out[-1] in ("d", "t", "n"))
            letter = ("ý" if long else "y") if hard else ("í" if long else "i")
        elif base in ("a", "e", "o", "u", "æ", "ə"):
            plain = {"æ": "e", "ə": "e"}.get(base, base)
            letter = {"a": "á", "e": "é", "o": "ó", "u": "ú"}[plain] if long else plain
        else:
            letter = {"tʃ": "č", "dʒ": "dž", "ʃ": "š", "ʒ": "ž", "ts": "c", "dz": "dz", "x": "ch", "w": "u",
                      "ŋ": "n"}.get(base, base)
            if base == "h" and out and out[-1] == "c":  # "ch" would read as x
                out[-1] = "ts"
        out.append(letter)
    return "".join(out)


def _finnish(word: list[str]) -> str:
    out = []
    for phone in word:
        base = phone.rstrip(":-")
        letter = {"æ": "ä", "ə": "ö", "ɯ": "u", "tʃ": "ts", "dʒ": "dj", "ʃ": "s", "ʒ": "s", "dz": "ds", "x": "h",
                  "w": "v", "z": "s", "ŋ": "ng"}.get(base, base)
        if phone.endswith(":") or phone.endswith("-"):
            letter = letter + letter[-1] if len(letter) == 1 else letter[0] + letter
        out.append(letter)
    return "".join(out)


def _italian(word: list[str]) -> str:
    out = []
    for index, phone in enumerate(word):
        base = phone.rstrip(":-")
        following = word[index + 1].rstrip(":-") if index + 1 < len(word) else ""
        soft = following in ("e", "i", "æ", "ə", "j")
        if base in ("k", "x"):
            letter = "ch" if soft else "c"
        elif base == "g":
            letter = "gh" if soft else "g"
        elif base == "tʃ":
            letter = "c" if soft else "ci"
        elif base in ("dʒ", "ʒ"):
            letter = "g" if soft else "gi"
        elif base == "ʃ":
            letter = "sc" if soft else "sci"
        else:
            letter = {"æ": "e", "ə": "e", "ɯ": "u", "h": "", "j": "i", "w": "u", "z": "s", "ts": "z", "dz": "z",
                      "ŋ": "n"}.get(base, base)
        if phone.endswith("-") and letter and letter[0] not in VOWELS:
            letter = letter[0] + letter
        out.append(letter)
    return "".join(out)


SPELLERS = {"cs": _czech, "fi": _finnish, "it": _italian}


def respell(ipa: str, orthography: str, korean: bool = False) -> str:
    """espeak-ng IPA written in ``orthography``'s spelling ("cs", "fi" or "it")."""
    speller = SPELLERS[orthography]
    return " ".join(w for w in (speller(word) for word in phones(ipa, korean)) if w)


def random_name(rng: random.Random, language: str) -> tuple[str, int]:
    """A random accented speaker: (``name``, duration stretch in percent)."""
    espeak_language = "ko" if language == "ko" else rng.choice(ENGLISH_ACCENTS)
    return f"{rng.choice(sorted(VOICES))}|{espeak_language}", rng.randint(85, 125)


def parse_name(name: str) -> tuple[str, str]:
    parts = name.split("|")
    if len(parts) != 2 or parts[0] not in VOICES:
        raise ValueError(f"accent voice name {name!r} is not '<festival voice>|<espeak language>' "
                         f"with one of {sorted(VOICES)}")
    return parts[0], parts[1]


def installed() -> tuple[str, ...]:
    found = festival_voices_found()
    return tuple(v for v in sorted(VOICES) if v in found)


def synthesize_wav(text: str, name: str, stretch_percent: int, workdir: Path) -> bytes:
    """``text`` (Korean or English) spoken by the festival voice of ``name``; WAV bytes."""
    voice, espeak_language = parse_name(name)
    spelled = respell(espeak_ipa(text, espeak_language), VOICES[voice], korean=espeak_language == "ko")
    if not spelled.strip():
        raise ValueError(f"nothing to say for {text!r}")
    out = workdir / "accent.wav"
    cmd = ["text2wave", "-eval", f"(voice_{voice})",
           "-eval", f"(Parameter.set 'Duration_Stretch {stretch_percent / 100:.2f})", "-o", str(out)]
    subprocess.run(cmd, input=spelled.encode(ENCODING[VOICES[voice]], errors="replace"), capture_output=True,
                   check=True, timeout=120)
    return out.read_bytes()
