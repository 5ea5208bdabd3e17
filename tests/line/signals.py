"""Test signals at 8 kHz: FSK caller ID (a Bell 202 / V.23 modulator), DTMF, call-progress tones."""

from __future__ import annotations

import numpy as np

RATE = 8000
BAUD = 1200
BELL202 = (1200.0, 2200.0)     # mark, space
V23 = (1300.0, 2100.0)
DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")


def fsk(bits: list[int], mark_space=BELL202, amplitude: float = 0.3, rate: int = RATE,
        baud: float = BAUD) -> np.ndarray:
    """Continuous-phase FSK: 1 = mark, 0 = space."""
    n = int(round(len(bits) * rate / baud))
    idx = np.minimum((np.arange(n) * baud / rate).astype(int), len(bits) - 1)
    freq = np.where(np.asarray(bits)[idx] == 1, mark_space[0], mark_space[1])
    phase = 2 * np.pi * np.cumsum(freq) / rate
    return (amplitude * np.sin(phase)).astype(np.float32)


def uart_bits(data: bytes) -> list[int]:
    bits: list[int] = []
    for byte in data:
        bits += [0] + [(byte >> i) & 1 for i in range(8)] + [1]
    return bits


def checksum(body: bytes) -> bytes:
    return bytes([(-sum(body)) & 0xFF])


def sdmf(datetime8: str, number: str) -> bytes:
    payload = (datetime8 + number).encode()
    body = bytes([0x04, len(payload)]) + payload
    return body + checksum(body)


def mdmf(params: list[tuple[int, bytes]], kind: int = 0x80) -> bytes:
    payload = b"".join(bytes([t, len(v)]) + v for t, v in params)
    body = bytes([kind, len(payload)]) + payload
    return body + checksum(body)


def cid_burst(message: bytes, mark_space=BELL202, amplitude: float = 0.3, seizure_bits: int = 300,
              mark_bits: int = 180) -> np.ndarray:
    bits = [i % 2 for i in range(seizure_bits)] + [1] * mark_bits + uart_bits(message) + [1] * 10
    return fsk(bits, mark_space, amplitude)


def tone(freqs: tuple[float, ...], seconds: float, amplitude: float = 0.2, twist_db: float = 0.0) -> np.ndarray:
    t = np.arange(int(round(seconds * RATE))) / RATE
    out = np.zeros(len(t))
    for i, f in enumerate(freqs):
        gain = 10 ** (-twist_db / 20) if i == 1 else 1.0
        out += amplitude * gain * np.sin(2 * np.pi * f * t)
    return out.astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * RATE)), np.float32)


def dtmf(digits: str, on_s: float = 0.08, off_s: float = 0.08, amplitude: float = 0.15,
         twist_db: float = 0.0) -> np.ndarray:
    parts = []
    for d in digits:
        r = next(i for i, row in enumerate(KEYS) if d in row)
        c = KEYS[r].index(d)
        parts += [tone((DTMF_ROWS[r], DTMF_COLS[c]), on_s, amplitude, twist_db), silence(off_s)]
    return np.concatenate(parts)


def cadence(freqs: tuple[float, ...], on_s: float, off_s: float, total_s: float, amplitude: float = 0.1) -> np.ndarray:
    cycle = np.concatenate([tone(freqs, on_s, amplitude), silence(off_s)])
    reps = int(np.ceil(total_s / (on_s + off_s)))
    return np.tile(cycle, reps)[:int(total_s * RATE)]


def noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)
