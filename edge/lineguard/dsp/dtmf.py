"""DTMF digit detection: Goertzel powers with level, twist, purity and duration checks.

Blocks of 205 samples (25.6 ms at 8 kHz) every 102 samples. A block holds a
digit when one row and one column tone stand out: both loud enough, together
most of the block's energy, each at least 6 dB above the other tones of its
group, and the twist (row over column level) within -4..+8 dB. A digit is
reported after two such blocks in a row (about 40 ms of tone) and must be
followed by two blocks without it before the same digit counts again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lineguard.dsp.goertzel import BlockBuffer, ToneBank, energy

SAMPLE_RATE_HZ = 8000
BLOCK = 205
HOP = 102
ROWS_HZ = (697.0, 770.0, 852.0, 941.0)
COLS_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")
MIN_TONE_POWER = 0.5 * 0.01 ** 2        # each tone at least -40 dBFS
MIN_PURITY = 0.55                       # row + column share of the block's energy
MIN_GROUP_MARGIN_DB = 6.0
MAX_NORMAL_TWIST_DB = 8.0               # column (high group) weaker than row
MAX_REVERSE_TWIST_DB = 4.0              # column stronger than row
ON_BLOCKS = 3                           # ~40 ms of tone
OFF_BLOCKS = 2


@dataclass(frozen=True)
class DtmfHit:
    time_s: float           # seconds from the start of the stream
    digit: str


class DtmfDetector:
    """Streaming: ``process(chunk) -> [DtmfHit]``; results do not depend on chunk size."""

    def __init__(self, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"DTMF detection runs at {SAMPLE_RATE_HZ} Hz, not {sample_rate_hz}")
        self.rate = sample_rate_hz
        self._blocks = BlockBuffer(BLOCK, HOP)
        self._bank = ToneBank(ROWS_HZ + COLS_HZ, BLOCK, sample_rate_hz)
        self._candidate: str | None = None
        self._candidate_start = 0
        self._run = 0
        self._current: str | None = None     # digit reported and still sounding
        self._gap = 0                        # blocks without the current digit

    def process(self, samples: np.ndarray) -> list[DtmfHit]:
        hits = []
        for start, block in self._blocks.push(samples):
            hit = self._step(start, classify_block(block, self._bank))
            if hit is not None:
                hits.append(hit)
        return hits

    def _step(self, start: int, digit: str | None) -> DtmfHit | None:
        if self._current is not None:
            self._gap = 0 if digit == self._current else self._gap + 1
            if self._gap >= OFF_BLOCKS:
                self._current = None          # released: the same key may count again
        if digit is None:
            self._candidate, self._run = None, 0
        elif digit == self._candidate:
            self._run += 1
        else:
            self._candidate, self._candidate_start, self._run = digit, start, 1
        if self._current is None and self._candidate is not None and self._run >= ON_BLOCKS:
            self._current, self._gap = self._candidate, 0
            return DtmfHit(self._candidate_start / self.rate, self._candidate)
        return None


def classify_block(block: np.ndarray, bank: ToneBank) -> str | None:
    """The digit one block holds, or None."""
    p = bank.powers(block)
    rows, cols = p[:4], p[4:]
    r, c = int(np.argmax(rows)), int(np.argmax(cols))
    pr, pc = rows[r], cols[c]
    if pr < MIN_TONE_POWER or pc < MIN_TONE_POWER:
        return None
    if pr + pc < MIN_PURITY * energy(block):
        return None
    margin = 10 ** (-MIN_GROUP_MARGIN_DB / 10)
    if np.any(np.delete(rows, r) > pr * margin) or np.any(np.delete(cols, c) > pc * margin):
        return None
    twist_db = 10 * np.log10(pr / pc)
    if twist_db > MAX_NORMAL_TWIST_DB or twist_db < -MAX_REVERSE_TWIST_DB:
        return None
    return KEYS[r][c]
