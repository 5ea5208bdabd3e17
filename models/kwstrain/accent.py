"""Accented speakers: festival's Czech, Finnish, Italian, Russian and Hindi voices reading
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

A second group (engine ``accent2``) adds two more men, each a recording of a person: the
Russian unit-selection voice ``msu_ru_nsh_clunits`` (Cyrillic: ы for Korean ㅡ, я/ю/е/ё for
j + vowel, э for a hard e) and the Hindi diphone voice ``hindi_NSK_diphone`` (Devanagari:
vowel signs after consonants, virama between consonants; Korean aspirated stops take Hindi's
aspirated letters, English t/d its retroflex ones, as Indian English speakers say them; no
nukta letters: the voice crashes on them, so f is ph and z is j).

Training only: the held-out sets keep their own voices. A voice ``name`` is
``"<festival voice>|<espeak language>"``; the :class:`~kwstrain.tts.Voice`'s
``speed_wpm`` holds festival's duration stretch in percent.
"""

from __future__ import annotations

import io
import random
import re
import subprocess
from pathlib import Path

import numpy as np
from scipy import signal

from kwstrain.neural import espeak_ipa
from kwstrain.tts import festival_voices_found, parse_wav_bytes, run_text2wave
from lineguard.audio.wavio import write_wav

# festival voice -> orthography it reads: the first group (engine "accent", train11) ...
VOICES = {"czech_dita": "cs", "czech_krb": "cs", "czech_machac": "cs", "czech_ph": "cs",
          "suo_fi_lj_diphone": "fi", "hy_fi_mv_diphone": "fi", "lp_diphone": "it", "pc_diphone": "it"}
# ... and the second (engine "accent2"): a Russian and an Indian man
MORE_VOICES = {"msu_ru_nsh_clunits": "ru", "hindi_NSK_diphone": "hi"}
GROUPS = {"accent": tuple(sorted(VOICES)), "accent2": tuple(sorted(MORE_VOICES))}
UNIT_SELECTION = {"msu_ru_nsh_clunits"}  # ignores festival's Duration_Stretch
ORTHOGRAPHY = VOICES | MORE_VOICES
ENCODING = {"cs": "iso-8859-2", "fi": "latin-1", "it": "ascii", "ru": "utf-8", "hi": "utf-8"}
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


def _czech(word: list[str], korean: bool = False) -> str:
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


def _finnish(word: list[str], korean: bool = False) -> str:
    out = []
    for phone in word:
        base = phone.rstrip(":-")
        letter = {"æ": "ä", "ə": "ö", "ɯ": "u", "tʃ": "ts", "dʒ": "dj", "ʃ": "s", "ʒ": "s", "dz": "ds", "x": "h",
                  "w": "v", "z": "s", "ŋ": "ng"}.get(base, base)
        if phone.endswith(":") or phone.endswith("-"):
            letter = letter + letter[-1] if len(letter) == 1 else letter[0] + letter
        out.append(letter)
    return "".join(out)


def _italian(word: list[str], korean: bool = False) -> str:
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


_RU_VOWELS = {"a": "а", "ə": "а", "e": "э", "æ": "э", "i": "и", "o": "о", "u": "у", "ɯ": "ы"}
_RU_IOTATED = {"a": "я", "ə": "я", "e": "е", "æ": "е", "o": "ё", "u": "ю", "i": "и"}


def _russian(word: list[str], korean: bool = False) -> str:
    out = []
    bases = [phone.rstrip(":-") for phone in word]
    for index, (phone, base) in enumerate(zip(word, bases)):
        following = bases[index + 1] if index + 1 < len(word) else ""
        if base == "j" and following in _RU_IOTATED:
            continue  # written by the vowel after it
        if base in _RU_VOWELS:
            after_j = index and bases[index - 1] == "j"
            letter = _RU_IOTATED[base] if after_j else _RU_VOWELS[base]
            if after_j and base == "i":
                letter = "йи"
            elif base == "i" and index and bases[index - 1] in _RU_VOWELS and following not in _RU_VOWELS:
                letter = "й"  # the second half of a diphthong: ай, ой, эй
        else:
            letter = {"k": "к", "g": "г", "tʃ": "ч", "dʒ": "дж", "t": "т", "d": "д", "n": "н", "p": "п", "b": "б",
                      "m": "м", "r": "р", "l": "л", "w": "у", "v": "в", "s": "с", "ʃ": "ш", "ʒ": "ж", "h": "х",
                      "f": "ф", "z": "з", "x": "х", "ŋ": "нг", "ts": "ц", "dz": "дз", "j": "й"}.get(base, "")
            if phone.endswith("-"):
                letter = letter[0] + letter if letter else letter
        out.append(letter)
    return "".join(out)


_HI_VOWELS = {"ə": ("अ", ""), "a": ("आ", "ा"), "a:": ("आ", "ा"), "i": ("इ", "ि"), "i:": ("ई", "ी"), "u": ("उ", "ु"),
              "u:": ("ऊ", "ू"), "e": ("ए", "े"), "o": ("ओ", "ो"), "æ": ("ऐ", "ै"), "ɯ": ("उ", "ु")}
_HI_CONSONANTS = {"k": "क", "g": "ग", "tʃ": "च", "dʒ": "ज", "t": "ट", "d": "ड", "n": "न", "p": "प", "b": "ब",
                  "m": "म", "r": "र", "l": "ल", "w": "व", "v": "व", "s": "स", "ʃ": "श", "ʒ": "ज", "h": "ह",
                  "f": "फ", "z": "ज", "x": "ख", "ŋ": "ङ", "j": "य", "ts": "त्स", "dz": "द्ज"}
_HI_KOREAN = {"t": "त", "d": "द"}  # Korean t/d are dental, English ones retroflex in Indian speech
_HI_ASPIRATED = {"k": "ख", "g": "घ", "tʃ": "छ", "dʒ": "झ", "t": "ठ", "d": "ढ", "p": "फ", "b": "भ"}
_HI_KOREAN_ASPIRATED = {"t": "थ", "d": "ध"}
_VIRAMA = "्"


def _hindi(word: list[str], korean: bool = False) -> str:
    """Devanagari: a consonant carries an inherent short a (ə); another vowel is a sign after it, no vowel
    (before a consonant, at the word's end) a virama. English short a (ʌ) is that inherent vowel, as Indian
    English says it; Korean a is the long one."""
    out = ""
    bases = [phone.rstrip(":-") for phone in word]
    index = 0
    while index < len(word):
        phone, base = word[index], bases[index]
        key = phone if phone in _HI_VOWELS else base
        if key in _HI_VOWELS:
            if key == "a" and not korean and bases[index + 1: index + 2] not in (["i"], ["u"]):
                key = "ə"  # not the a of a diphthong (aɪ, aʊ)
            independent, sign = _HI_VOWELS[key]
            out = out[: -len(_VIRAMA)] + sign if out.endswith(_VIRAMA) else out + independent
            index += 1
            continue
        if base in _HI_ASPIRATED and index + 1 < len(word) and bases[index + 1] == "h":
            letter = (_HI_KOREAN_ASPIRATED if korean else {}).get(base, _HI_ASPIRATED[base])
            index += 1  # the h is in the letter
        else:
            letter = (_HI_KOREAN if korean else {}).get(base, _HI_CONSONANTS.get(base, ""))
        if letter:
            if phone.endswith("-"):  # Korean tense consonant: doubled
                letter = letter + _VIRAMA + letter
            out += letter + _VIRAMA
        index += 1
    return out


SPELLERS = {"cs": _czech, "fi": _finnish, "it": _italian, "ru": _russian, "hi": _hindi}


def respell(ipa: str, orthography: str, korean: bool = False) -> str:
    """espeak-ng IPA written in ``orthography``'s spelling ("cs", "fi", "it", "ru" or "hi")."""
    speller = SPELLERS[orthography]
    return " ".join(w for w in (speller(word, korean) for word in phones(ipa, korean)) if w)


def random_name(rng: random.Random, language: str, group: str = "accent") -> tuple[str, int]:
    """A random accented speaker of ``group`` (engine "accent" or "accent2"): (``name``, duration stretch
    in percent)."""
    espeak_language = "ko" if language == "ko" else rng.choice(ENGLISH_ACCENTS)
    return f"{rng.choice(GROUPS[group])}|{espeak_language}", rng.randint(85, 125)


def parse_name(name: str) -> tuple[str, str]:
    parts = name.split("|")
    if len(parts) != 2 or parts[0] not in ORTHOGRAPHY:
        raise ValueError(f"accent voice name {name!r} is not '<festival voice>|<espeak language>' "
                         f"with one of {sorted(ORTHOGRAPHY)}")
    return parts[0], parts[1]


def installed(group: str = "accent") -> tuple[str, ...]:
    found = festival_voices_found()
    return tuple(v for v in GROUPS[group] if v in found)


def synthesize_wav(text: str, name: str, stretch_percent: int, workdir: Path) -> bytes:
    """``text`` (Korean or English) spoken by the festival voice of ``name``; WAV bytes."""
    voice, espeak_language = parse_name(name)
    spelled = respell(espeak_ipa(text, espeak_language), ORTHOGRAPHY[voice], korean=espeak_language == "ko")
    if not spelled.strip():
        raise ValueError(f"nothing to say for {text!r}")
    out = workdir / "accent.wav"
    run_text2wave(voice, text, spelled.encode(ENCODING[ORTHOGRAPHY[voice]], errors="replace"), out,
                  (f"(Parameter.set 'Duration_Stretch {stretch_percent / 100:.2f})",))
    if voice in UNIT_SELECTION:  # festival leaves recorded units at their own length: stretch with sox (WSOLA)
        stretched = workdir / "accent_tempo.wav"
        subprocess.run(["sox", str(out), str(stretched), "tempo", "-s", f"{100 / stretch_percent:.3f}"],
                       capture_output=True, check=True, timeout=60)
        out = stretched
    return _cleaned(out.read_bytes()) if voice in MORE_VOICES else out.read_bytes()


def _cleaned(wav_bytes: bytes) -> bytes:
    """A second-group recording with its quiet ends cut. The Hindi voice's recordings carry hum, noise and a DC
    offset 30-40 dB under its vowels, which the plain trim of :func:`kwstrain.tts.trim_silence` keeps as quiet
    tails of up to a second (a keyword's end would be placed that long after the word): high-pass at 100 Hz, then
    cut the ends where no 10 ms frame is, within the telephone band, 35 dB of the loudest and 8 dB over the noise
    floor (the quietest tenth of the frames). The Russian voice's clean recordings lose only their silence."""
    pcm, rate = parse_wav_bytes(wav_bytes)
    pcm = signal.sosfiltfilt(signal.butter(4, 100, "highpass", fs=rate, output="sos"), pcm)
    band = signal.sosfiltfilt(signal.butter(4, [300, 3400], "bandpass", fs=rate, output="sos"), pcm)
    frame = rate // 100
    rms = np.sqrt(np.mean(band[: band.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    if rms.size:
        level = 20 * np.log10(rms + 1e-9)
        loud = np.flatnonzero(level >= max(level.max() - 35, np.percentile(level, 10) + 8))
        pcm = pcm[max(0, (loud[0] - 3) * frame): (loud[-1] + 4) * frame]
    buf = io.BytesIO()
    write_wav(buf, pcm, rate)
    return buf.getvalue()
