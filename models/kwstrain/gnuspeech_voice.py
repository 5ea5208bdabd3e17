"""GnuSpeech: an articulatory synthesizer (a tube model of the vocal tract driven by
posture targets), for training only.

No other engine here makes sound this way: espeak-ng is a formant/Klatt synthesizer,
flite and festival join recorded diphones or use HMM/clustergen parameters, Kokoro and
Piper are neural. Each utterance gets a new random *physical* speaker
(:func:`speaker`): vocal tract length (11–18.5 cm: child, woman, man), glottal pulse
shape, breathiness, the radii of the eight tract sections and the nasal passage, wall
losses, throat and intonation settings.

The engine is GnuSpeech compiled to WebAssembly (``@echogarden/gnuspeech-wasm``, from the
npm registry into ``kwstrain/gnuspeech/node_modules`` by ``make``), run by node through
``kwstrain/gnuspeech/synth.mjs``, one long-lived server per worker process.

It reads English (its own pronouncing dictionary, letter-to-sound rules for the rest).
Korean is written for it as pronunciations: espeak-ng's Korean IPA (through
:func:`kwstrain.accent.phones`) is mapped onto GnuSpeech's English postures and syllables
and handed over as made-up words of a user dictionary, so it speaks Korean with an
English speaker's sounds (no tense/aspirated contrast). A voice ``name`` is
``"<seed>|<language>"``; the :class:`~kwstrain.tts.Voice`'s ``speed_wpm`` holds the tempo
in percent.
"""

from __future__ import annotations

import json
import random
import select
import shutil
import subprocess
import threading
from pathlib import Path

from kwstrain.accent import phones
from kwstrain.neural import espeak_ipa

HOME = Path(__file__).resolve().parent / "gnuspeech"
WASM = HOME / "node_modules" / "@echogarden" / "gnuspeech-wasm" / "wasm" / "gnuspeech.wasm"
VOICE = "lineguard"  # the voice file written for each utterance: voice_lineguard.txt
TIMEOUT_S = 60  # per utterance, like the other engines' subprocess timeouts

# words the main dictionary lacks (GnuSpeech notation: syllables ".", phones "_", stress ' and ")
ENGLISH_WORDS = {"fucking": "'f_a.k_i_ng%a", "asshole": "'aa_s.\"h_uh_uu_l%a", "bullshit": "'b_u_l.\"sh_i_t%a"}

# neutral phones of kwstrain.accent.phones -> GnuSpeech postures
_POSTURES = {
    "a": "ah", "e": "e", "i": "ee", "o": "aw", "u": "uu", "ɯ": "u", "æ": "aa", "ə": "uh",
    "tʃ": "ch", "dʒ": "j", "ts": "t_s", "dz": "d_z", "ʃ": "sh", "ʒ": "zh", "x": "h", "ŋ": "ng", "j": "y",
}
_VOWELS = {"a", "e", "i", "o", "u", "ɯ", "æ", "ə"}


def available() -> bool:
    return shutil.which("node") is not None and WASM.is_file()


def speaker(seed: int) -> dict[str, dict[str, float]]:
    """A random physical speaker: the values of the voice, control-model and tube-model files."""
    rng = random.Random(seed)
    kind = rng.choices(("man", "woman", "child"), (9, 9, 2))[0]
    tract, pitch, tn, breath = {
        "man": ((16.0, 18.5), (-14.0, -7.0), (20.0, 28.0), (0.3, 2.0)),
        "woman": ((13.5, 15.8), (-3.0, 2.5), (26.0, 36.0), (1.0, 3.5)),
        "child": ((11.0, 13.0), (1.0, 5.5), (22.0, 30.0), (1.0, 3.0)),
    }[kind]
    tn_min = rng.uniform(*tn)
    voice = {
        "vocal_tract_length": rng.uniform(*tract), "glottal_pulse_tp": rng.uniform(35.0, 45.0),
        "glottal_pulse_tn_min": tn_min, "glottal_pulse_tn_max": tn_min + rng.uniform(0.0, 6.0),
        "reference_glottal_pitch": rng.uniform(*pitch), "breathiness": rng.uniform(*breath),
        "aperture_radius": rng.uniform(2.6, 3.5),
        "nose_radius_1": 1.35, "nose_radius_2": 1.96, "nose_radius_3": 1.91, "nose_radius_4": 1.3,
        "nose_radius_5": 0.73, "global_nose_radius_coef": rng.uniform(0.8, 1.2),
        **{f"radius_{i}_coef": rng.uniform(0.88, 1.12) for i in range(1, 9)},
        "global_radius_coef": rng.uniform(0.9, 1.1),
    }
    control = {
        "pitch_offset": rng.uniform(-6.0, -2.0), "drift_deviation": rng.uniform(0.2, 1.2),
        "drift_lowpass_cutoff": 0.5, "notional_pitch": rng.uniform(0.0, 4.0), "pretonic_range": rng.uniform(-4.0, 0.0),
        "pretonic_lift": rng.uniform(2.0, 6.0), "tonic_range": rng.uniform(-12.0, -4.0),
        "tonic_movement": rng.uniform(2.0, 6.0),
    }
    tube = {
        "temperature": rng.uniform(30.0, 37.0), "loss_factor": rng.uniform(0.5, 1.2),
        "throat_cutoff": rng.uniform(1000.0, 2000.0), "throat_volume": rng.uniform(3.0, 12.0),
        "mix_offset": rng.uniform(44.0, 52.0),
    }
    return {"voice": voice, "control": control, "tube": tube}


def random_name(rng: random.Random, language: str) -> tuple[str, int]:
    """A random GnuSpeech speaker: (``name``, tempo in percent)."""
    return f"{rng.randrange(1 << 30)}|{language}", rng.randint(80, 125)


def parse_name(name: str) -> tuple[int, str]:
    parts = name.split("|")
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in ("ko", "en"):
        raise ValueError(f"gnuspeech voice name {name!r} is not '<seed>|<ko or en>'")
    return int(parts[0]), parts[1]


def transcription(word: list[str]) -> str:
    """One word of neutral phones as a GnuSpeech pronunciation: syllables split before the
    last consonant ahead of each vowel, stress on the first syllable."""
    syllables: list[list[str]] = [[]]
    has_vowel = False  # the syllable being built has its vowel
    for index, phone in enumerate(word):
        base = phone.rstrip(":-")
        vowel_ahead = index + 1 < len(word) and word[index + 1].rstrip(":-") in _VOWELS
        if has_vowel and (base in _VOWELS or vowel_ahead):
            syllables.append([])
            has_vowel = False
        has_vowel = has_vowel or base in _VOWELS
        syllables[-1].append(_POSTURES.get(base, base))
    return "'" + ".".join("_".join(s) for s in syllables if s) + "%a"


def _token(index: int) -> str:
    """Made-up dictionary words: letters only ("zqa", "zqb", … "zqba", …)."""
    letters = ""
    while True:
        letters = "abcdefghijklmnopqrstuvwxyz"[index % 26] + letters
        index //= 26
        if not index:
            return "zq" + letters


def korean_text(text: str) -> tuple[str, str]:
    """Korean ``text`` as (made-up words to read, the user dictionary defining them)."""
    words = phones(espeak_ipa(text, "ko"), korean=True)
    tokens = [_token(i) for i in range(len(words))]
    dictionary = "".join(f"{t} {transcription(w)}\n" for t, w in zip(tokens, words))
    return " ".join(tokens), dictionary


def _config(values: dict[str, float], base: dict[str, str]) -> str:
    merged = {**base, **{k: f"{v:.3f}" for k, v in values.items()}}
    return "".join(f"{k} = {v}\n" for k, v in merged.items())


def request_files(seed: int, tempo: float, dictionary: str, intonation_noise: bool = True) -> dict[str, str]:
    """The configuration files for one utterance. GnuSpeech's random intonation and pitch drift
    draw from its own generator; ``intonation_noise=False`` turns them off (the same audio every time)."""
    params = speaker(seed)
    noise = "1" if intonation_noise else "0"
    control = _config(params["control"], {
        "control_rate": "250.0", "voice_name": VOICE, "tempo": f"{tempo:.3f}", "micro_intonation": "1",
        "macro_intonation": "1", "intonation_drift": noise, "random_intonation": noise,
        "dictionary_1_file": "UserDictionary.txt", "dictionary_2_file": "none",
        "dictionary_3_file": "MainDictionary.txt"})
    tube = _config(params["tube"], {
        "output_rate": "22050.0", "volume": "60.0", "channels": "1", "balance": "0.0", "waveform": "0",
        "vocal_tract_length_offset": "0.0", "mouth_coefficient": "5000.0", "nose_coefficient": "5000.0",
        "noise_modulation": "1"})
    # GnuSpeech skips a dictionary's first line (the main dictionary's is its release header)
    return {f"voice_{VOICE}.txt": _config(params["voice"], {}), "trm_control_model.txt": control,
            "trm.txt": tube, "UserDictionary.txt": "LineGuard user dictionary\n" + dictionary}


class _Server:
    """node running synth.mjs; restarted if it dies."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        if not available():
            raise RuntimeError(f"GnuSpeech is not installed ({WASM}; `make venv` installs it with npm)")
        return subprocess.Popen(["node", str(HOME / "synth.mjs")], cwd=HOME, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def request(self, line: str) -> str:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            answer = ""
            try:
                self._proc.stdin.write(line + "\n")
                self._proc.stdin.flush()
                if select.select([self._proc.stdout], [], [], TIMEOUT_S)[0]:
                    answer = self._proc.stdout.readline().strip()
            except BrokenPipeError:
                pass
            if not answer:  # the synthesizer died or hung on this input
                self._proc.kill()
                self._proc = None
                raise RuntimeError(f"GnuSpeech gave no answer within {TIMEOUT_S} s (restarted)")
            return answer


_SERVER = _Server()


def speak(text: str, files: dict[str, str], out: Path) -> None:
    """GnuSpeech reads ``text`` with the configuration ``files`` (:func:`request_files`) into ``out``."""
    answer = _SERVER.request(json.dumps({"text": text, "out": str(out), "files": files}, ensure_ascii=False))
    if answer != "ok":
        raise RuntimeError(f"GnuSpeech could not say {text!r}: {answer}")


def synthesize_wav(text: str, name: str, tempo_percent: int, workdir: Path, intonation_noise: bool = True) -> bytes:
    """``text`` (Korean or English) spoken by the GnuSpeech speaker of ``name``; WAV bytes."""
    seed, language = parse_name(name)
    if language == "ko":
        text, dictionary = korean_text(text)
    else:
        dictionary = "".join(f"{w} {t}\n" for w, t in ENGLISH_WORDS.items())
    if not text.strip():
        raise ValueError(f"nothing to say for {text!r}")
    out = workdir / "gnuspeech.wav"
    speak(text, request_files(seed, tempo_percent / 100.0, dictionary, intonation_noise), out)
    return out.read_bytes()
