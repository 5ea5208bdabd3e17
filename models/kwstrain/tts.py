"""Offline speech synthesis: espeak-ng (random custom voices), flite, festival,
Kokoro-82M (a neural engine, :mod:`kwstrain.neural`) and Piper's joe voice (a
second neural engine, :mod:`kwstrain.piper_voice`).

A :class:`Voice` is a frozen description of one synthetic speaker; the same
voice synthesizes every segment of one utterance so carrier sentences and
keywords sound like one person. All output is float32 mono at 8 kHz.
"""

from __future__ import annotations

import logging
import random
import shutil
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

LOG = logging.getLogger(__name__)
RATE_HZ = 8000
ESPEAK_DATA_SYSTEM = Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data")
FLITE_VOICES = ("kal", "awb", "rms", "slt", "kal16", "awb_time")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
ESPEAK_EN_DIALECTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd")


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak", "flite", "festival", "kokoro", "piper", "accent" (:mod:`kwstrain.accent`), "gnuspeech", "pico",
    # "mbrola" (:mod:`kwstrain.mbrola_voice`)
    name: str  # espeak language+variant, flite/festival voice name, kokoro "lang|voice=weight,...",
    # piper "lang|noise_scale|noise_w", accent "festival voice|lang", gnuspeech "seed|lang", pico "voice|how|pitch",
    # mbrola the voice ("us1", "de2-en", "hn1")
    language: str  # "ko" or "en"
    speed_wpm: int = 170  # espeak, mbrola: words per minute; kokoro, pico: speed in percent; piper: length scale in percent; accent: duration stretch; gnuspeech: tempo
    pitch: int = 50
    variant_text: str = ""  # espeak-ng variant file body ("" = stock)
    rate_factor: float = 1.0  # resampling speed/pitch perturbation
    morph: str = ""  # a new speaker made from this voice (:mod:`kwstrain.morph`): "formant ratio,pitch Hz,range"

    @property
    def key(self) -> str:
        key = f"{self.engine}:{self.name}:{self.speed_wpm}:{self.pitch}:{zlib.crc32(self.variant_text.encode()):08x}"
        return f"{key}:morph={self.morph}" if self.morph else key


def find_espeak_data() -> Path:
    for candidate in (ESPEAK_DATA_SYSTEM, Path("/usr/share/espeak-ng-data")):
        if (candidate / "phontab").exists():
            return candidate
    raise FileNotFoundError("espeak-ng-data not found: apt-get install espeak-ng")


def prepare_espeak_home(build_dir: Path) -> Path:
    """A private copy of espeak-ng-data where custom variant files can be written."""
    home = build_dir / "espeak-home"
    data = home / "espeak-ng-data"
    if not (data / "phontab").exists():
        shutil.copytree(find_espeak_data(), data, dirs_exist_ok=True)
    return home


def stock_variants() -> list[str]:
    return sorted(p.name for p in (find_espeak_data() / "voices" / "!v").iterdir() if p.is_file())


def random_variant_text(rng: random.Random) -> str:
    """Body of an espeak-ng voice variant file: a new random speaker."""
    female = rng.random() < 0.5
    base = rng.randint(150, 260) if female else rng.randint(60, 150)
    lines = ["language variant", f"name lg{rng.randrange(1 << 30)}", f"pitch {base} {base + rng.randint(20, 120)}"]
    scale = rng.uniform(0.95, 1.15) if female else rng.uniform(0.85, 1.05)
    for formant in range(0, 9):
        freq = int(100 * scale * rng.uniform(0.92, 1.08))
        strength = int(rng.uniform(70, 130))
        width = int(rng.uniform(80, 150))
        lines.append(f"formant {formant} {freq} {strength} {width}")
    if rng.random() < 0.5:
        breath = " ".join(str(rng.randint(0, 6)) for _ in range(8))
        lines.append(f"breath {breath}")
    lines.append(f"roughness {rng.randint(0, 6)}")
    lines.append(f"flutter {rng.randint(0, 30)}")
    lines.append(f"intonation {rng.randint(1, 4)}")
    lines.append(f"tone {rng.randint(300, 700)} {rng.randint(150, 255)} {rng.randint(1200, 2000)} {rng.randint(150, 255)} {rng.randint(2200, 3200)} {rng.randint(100, 255)}")
    if rng.random() < 0.3:
        lines.append(f"klatt {rng.randint(1, 4)}")
    return "\n".join(lines) + "\n"


def random_voice(rng: random.Random, language: str, engines: tuple[str, ...], stock: list[str]) -> Voice:
    engine = rng.choice(engines)
    rate_factor = rng.uniform(0.9, 1.1)
    if engine == "flite":
        return Voice("flite", rng.choice(FLITE_VOICES), language, rate_factor=rate_factor)
    if engine == "festival":
        return Voice("festival", rng.choice(FESTIVAL_VOICES), language, rate_factor=rate_factor)
    lang = "ko" if language == "ko" else rng.choice(ESPEAK_EN_DIALECTS)
    speed = rng.randint(120, 220)
    pitch = rng.randint(20, 80)
    if stock and rng.random() < 0.3:
        return Voice("espeak", f"{lang}+{rng.choice(stock)}", language, speed, pitch, "", rate_factor)
    return Voice("espeak", lang, language, speed, pitch, random_variant_text(rng), rate_factor)


def parse_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV from a pipe (espeak writes a bogus length when streaming)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("TTS output is not a WAV file")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk_id == b"fmt ":
            rate = int.from_bytes(data[pos + 12 : pos + 16], "little")
            channels = int.from_bytes(data[pos + 10 : pos + 12], "little")
        elif chunk_id == b"data":
            raw = data[pos + 8 : pos + 8 + min(size, len(data) - pos - 8)]
            pcm = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
            return pcm.reshape(-1, channels)[:, 0] if channels > 1 else pcm, rate
        pos += 8 + size + (size & 1)
    raise ValueError("TTS output has no data chunk")


def _to_8k(x: np.ndarray, rate_hz: int, rate_factor: float) -> np.ndarray:
    source_rate = int(round(rate_hz * rate_factor))  # pretend another rate: speed+pitch change
    g = np.gcd(source_rate, RATE_HZ)
    # a full-scale voice can overshoot 1.0 after resampling (ringing): clip as a sound card would
    return np.clip(resample_poly(x, RATE_HZ // g, source_rate // g), -1.0, 1.0).astype(np.float32)


def _espeak(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    """espeak-ng; a custom variant file lives only while it is used (espeak-ng
    lists at most 350 voices, so thousands of variant files would hide the
    stock voices)."""
    name, path = voice.name, None
    if voice.variant_text:
        variant = f"lgv{zlib.crc32(voice.variant_text.encode()):08x}{random.randrange(1 << 20):05x}"
        path = home / "espeak-ng-data" / "voices" / "!v" / variant
        path.write_text(voice.variant_text)
        name = f"{voice.name}+{variant}"
    cmd = ["espeak-ng", f"--path={home}", "-v", name, "-s", str(voice.speed_wpm), "-p", str(voice.pitch),
           "--stdout", "--stdin"]
    try:  # the text on stdin: a sentence starting with "-" must not read as an option
        return subprocess.run(cmd, input=text.encode(), capture_output=True, check=True, timeout=60).stdout
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def _flite(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    out = workdir / "flite.wav"
    subprocess.run(["flite", "-voice", voice.name, "-t", text, "-o", str(out)], capture_output=True, check=True, timeout=60)
    return out.read_bytes()


def run_text2wave(voice: str, text: str, spoken: bytes, out: Path, evals: tuple[str, ...] = ()) -> None:
    """festival's ``voice`` saying ``spoken`` (``text``, encoded for the voice) into the WAV file ``out``, after
    the Scheme expressions ``evals``. festival exits 0 and writes nothing when a voice fails to load (a missing
    voice or language file): that is an error naming the voice, the text and festival's own message."""
    cmd = ["text2wave", "-eval", f"(voice_{voice})", *(arg for e in evals for arg in ("-eval", e)), "-o", str(out)]
    done = subprocess.run(cmd, input=spoken, capture_output=True, check=True, timeout=120)
    if not out.exists():
        said = (done.stdout + done.stderr).decode("utf-8", "replace").strip()[-300:]
        raise RuntimeError(f"festival voice {voice} wrote no audio for {text!r}: {said or 'no message'}")


def _festival(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    out = workdir / "festival.wav"
    run_text2wave(voice.name, text, text.encode(), out)
    return out.read_bytes()


def _kokoro(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    from kwstrain import neural

    return neural.synthesize_wav(text, voice.name, voice.language, voice.speed_wpm / 100.0)


def _accent(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    from kwstrain import accent

    return accent.synthesize_wav(text, voice.name, voice.speed_wpm, workdir)


def _gnuspeech(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    from kwstrain import gnuspeech_voice

    return gnuspeech_voice.synthesize_wav(text, voice.name, voice.speed_wpm, workdir)


def _pico(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    from kwstrain import pico_voice

    return pico_voice.synthesize_wav(text, voice.name, voice.speed_wpm)


def _mbrola(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    from kwstrain import mbrola_voice

    return mbrola_voice.synthesize_wav(text, voice.name, voice.speed_wpm, voice.pitch, home, workdir)


def _piper(text: str, voice: Voice, home: Path, workdir: Path) -> bytes:
    from kwstrain import piper_voice

    return piper_voice.synthesize_wav(text, voice.name, voice.speed_wpm / 100.0)


ENGINES = {"espeak": _espeak, "flite": _flite, "festival": _festival, "kokoro": _kokoro, "piper": _piper,
           "accent": _accent, "gnuspeech": _gnuspeech, "pico": _pico, "mbrola": _mbrola}


def trim_silence(x: np.ndarray, threshold: float = 0.01, pad_samples: int = 160) -> np.ndarray:
    """Cut leading/trailing silence (TTS engines add some)."""
    loud = np.flatnonzero(np.abs(x) > threshold * max(float(np.max(np.abs(x))), 1e-6))
    if loud.size == 0:
        return x[:0]
    return x[max(0, loud[0] - pad_samples) : loud[-1] + pad_samples]


def synthesize(text: str, voice: Voice, home: Path) -> np.ndarray:
    """Speak ``text`` with ``voice``; float32 mono at 8 kHz, silence trimmed."""
    with tempfile.TemporaryDirectory(prefix="lgtts") as tmp:
        data = ENGINES[voice.engine](text, voice, home, Path(tmp))
    pcm, rate = parse_wav_bytes(data)
    if voice.morph:
        from kwstrain import morph

        pcm = morph.change_voice(pcm, rate, voice.morph)
    return trim_silence(_to_8k(pcm, rate, voice.rate_factor))


def available_engines(language: str) -> tuple[str, ...]:
    engines = ["espeak"] if shutil.which("espeak-ng") else []
    if language == "en":
        if shutil.which("flite"):
            engines.append("flite")
        if shutil.which("text2wave"):
            engines.append("festival")
    return tuple(engines)


FESTIVAL_VOICE_ROOT = Path("/usr/share/festival/voices")


def festival_voices_found() -> set[str]:
    """Every festival voice installed (``<root>/<language>/<voice>/``)."""
    root = FESTIVAL_VOICE_ROOT
    return {p.name for p in root.glob("*/*") if p.is_dir()} if root.exists() else set()


def festival_voices_installed() -> tuple[str, ...]:
    found = festival_voices_found()
    return tuple(v for v in FESTIVAL_VOICES if v in found)
