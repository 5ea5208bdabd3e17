"""Telephone channel simulation for training and test audio (8 kHz float32).

Room reverb (pyroomacoustics image-source RIRs), 300-3400 Hz band-pass,
mu-law / A-law / GSM 06.10 round trips, noise at 0-25 dB SNR, level
-35..-5 dBFS and clipping; plus non-speech sounds (tones, DTMF, music, noise).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, lfilter, sosfilt

LOG = logging.getLogger(__name__)
RATE_HZ = 8000
MU = 255.0
A_LAW = 87.6
DTMF_HZ = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
           "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "0": (941, 1336),
           "*": (941, 1209), "#": (941, 1477)}


@dataclass(frozen=True)
class ChannelConfig:
    reverb_prob: float = 0.5
    codec_probs: tuple[float, float, float, float] = (0.25, 0.3, 0.25, 0.2)  # none, ulaw, alaw, gsm
    snr_db_range: tuple[float, float] = (0.0, 25.0)
    noise_prob: float = 0.85
    level_dbfs_range: tuple[float, float] = (-35.0, -5.0)
    clip_prob: float = 0.1


def make_rirs(count: int, seed: int) -> list[np.ndarray]:
    """Random shoebox-room impulse responses at 8 kHz (small offices, shops)."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    rirs = []
    for _ in range(count):
        dims = rng.uniform([2.5, 2.5, 2.2], [8.0, 6.0, 3.5])
        rt60 = rng.uniform(0.15, 0.7)
        absorption, max_order = pra.inverse_sabine(rt60, dims)
        room = pra.ShoeBox(dims, fs=RATE_HZ, materials=pra.Material(absorption), max_order=min(max_order, 12))
        room.add_source(rng.uniform([0.3] * 3, dims - 0.3))
        room.add_microphone(rng.uniform([0.3] * 3, dims - 0.3))
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], dtype=np.float32)
        rirs.append(rir / (np.max(np.abs(rir)) + 1e-9))
    return rirs


_BANDPASS = butter(4, [300.0, 3400.0], btype="bandpass", fs=RATE_HZ, output="sos")


def bandpass(x: np.ndarray) -> np.ndarray:
    return sosfilt(_BANDPASS, x).astype(np.float32)


def mu_law_round_trip(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, -1.0, 1.0)
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    y = np.round(y * 127.0) / 127.0
    return (np.sign(y) * ((1.0 + MU) ** np.abs(y) - 1.0) / MU).astype(np.float32)


def a_law_round_trip(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, -1.0, 1.0)
    ax = np.abs(x)
    small = ax < 1.0 / A_LAW
    y = np.where(small, A_LAW * ax, 1.0 + np.log(np.maximum(A_LAW * ax, 1e-12))) / (1.0 + np.log(A_LAW))
    y = np.round(y * 127.0) / 127.0
    inv = np.where(y < 1.0 / (1.0 + np.log(A_LAW)), y * (1.0 + np.log(A_LAW)) / A_LAW,
                   np.exp(y * (1.0 + np.log(A_LAW)) - 1.0) / A_LAW)
    return (np.sign(x) * inv).astype(np.float32)


def gsm_round_trip(x: np.ndarray) -> np.ndarray:
    """GSM 06.10 full-rate encode/decode through sox (falls back to mu-law)."""
    if shutil.which("sox") is None:
        return mu_law_round_trip(x)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    raw = ["-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1"]
    enc = subprocess.run(["sox", *raw, "-", "-t", "gsm", "-"], input=pcm, capture_output=True, check=True)
    dec = subprocess.run(["sox", "-t", "gsm", "-r", "8000", "-c", "1", "-", *raw, "-"], input=enc.stdout,
                         capture_output=True, check=True)
    y = np.frombuffer(dec.stdout, dtype="<i2").astype(np.float32) / 32768.0
    out = np.zeros_like(x)
    out[: min(len(x), len(y))] = y[: len(x)]
    return out


def colored_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    x = np.fft.irfft(spec / freqs ** (exponent / 2.0), n)
    return (x / (np.std(x) + 1e-9)).astype(np.float32)


def tone(freqs_hz: tuple[float, ...], n: int, on_s: float, off_s: float) -> np.ndarray:
    t = np.arange(n) / RATE_HZ
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs_hz) / len(freqs_hz)
    if off_s > 0:
        x = x * ((t % (on_s + off_s)) < on_s)
    return x.astype(np.float32)


def non_speech(n: int, rng: np.random.Generator) -> np.ndarray:
    """Telephony tones, DTMF, music-like chords, hum or noise; unit scale."""
    kind = rng.integers(0, 7)
    if kind == 0:
        return tone((350, 440), n, 1, 0) if rng.random() < 0.5 else tone((440, 480), n, 2, 4)
    if kind == 1:
        return tone((480, 620), n, 0.5, 0.5) if rng.random() < 0.5 else tone((425,), n, 0.48, 0.48)
    if kind == 2:
        keys = rng.choice(list(DTMF_HZ), size=max(1, n // 1600))
        parts = [np.concatenate([tone(DTMF_HZ[k], 800, 1, 0), np.zeros(800, np.float32)]) for k in keys]
        return np.resize(np.concatenate(parts), n)
    if kind == 3:  # hold music: random chords with decays
        out = np.zeros(n, np.float32)
        step = RATE_HZ // 4
        for start in range(0, n, step):
            base = 110 * 2 ** (rng.integers(0, 24) / 12)
            seg = tone((base, base * 1.26, base * 1.5, base * 2), min(step * 2, n - start), 1, 0)
            out[start : start + seg.size] += seg * np.exp(-np.arange(seg.size) / (0.3 * RATE_HZ))
        return out
    if kind == 4:
        return tone((50 * rng.integers(1, 3), 150), n, 1, 0) + 0.3 * colored_noise(n, rng, 1)
    return colored_noise(n, rng, float(rng.choice([0.0, 1.0, 2.0])))


def _set_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) + 1e-9
    return x * (10 ** (dbfs / 20.0) / rms)


def apply_channel(x: np.ndarray, rng: np.random.Generator, rirs: list[np.ndarray],
                  noise_bank: list[np.ndarray], config: ChannelConfig = ChannelConfig()) -> np.ndarray:
    """One random telephone channel applied to ``x`` (same length out)."""
    y = x.astype(np.float32)
    if rirs and rng.random() < config.reverb_prob:
        y = fftconvolve(y, rirs[rng.integers(len(rirs))])[: y.size].astype(np.float32)
    y = bandpass(y)
    y = _set_level(y, rng.uniform(*config.level_dbfs_range))
    if rng.random() < config.noise_prob:
        noise = noise_bank[rng.integers(len(noise_bank))] if noise_bank and rng.random() < 0.5 else None
        if noise is None or noise.size < y.size:
            noise = colored_noise(y.size, rng, float(rng.choice([0.0, 1.0, 2.0])))
        else:
            start = rng.integers(0, noise.size - y.size + 1)
            noise = noise[start : start + y.size]
        snr_db = rng.uniform(*config.snr_db_range)
        speech_rms = np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-9
        y = y + bandpass(noise) * (speech_rms / (np.sqrt(np.mean(noise**2)) + 1e-9) / 10 ** (snr_db / 20))
    if rng.random() < config.clip_prob:
        y = np.clip(y * rng.uniform(2, 8), -1.0, 1.0) / 1.0
    codec = rng.choice(4, p=np.asarray(config.codec_probs) / sum(config.codec_probs))
    y = np.clip(y, -1.0, 1.0)
    if codec == 1:
        y = mu_law_round_trip(y)
    elif codec == 2:
        y = a_law_round_trip(y)
    elif codec == 3:
        y = gsm_round_trip(y)
    # DC blocker: codecs and hum leave offsets
    return lfilter([1, -1], [1, -0.995], y).astype(np.float32)
