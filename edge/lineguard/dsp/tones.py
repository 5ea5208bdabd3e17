"""Call-progress tones (dial, ringback, busy, reorder) per country profile.

Every 50 ms block, each tone's frequencies are checked (Hann-windowed
Goertzel powers): together at least 60 % of the block's energy, each a fair
part of it, above a floor. The on/off runs of each frequency set are then
matched against the profile's cadences: dial is a steady tone (0.6 s, or
1.25 x the longest on-time of a cadenced tone on the same frequencies, so
1.25 s in DE); busy and reorder need two on/off cycles; ringback one. Each tone is reported once per
episode (until the frequency set has been silent for a while), timed at the
episode's start. Tones a profile does not know (None) are not looked for.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from lineguard.dsp.goertzel import BlockBuffer, ToneBank, energy
from lineguard.line.profiles import CountryProfile

SAMPLE_RATE_HZ = 8000
BLOCK = 400                     # 50 ms
MIN_POWER = 0.5 * 0.005 ** 2    # about -46 dBFS
MIN_SHARE = 0.6
MIN_PART = 0.15                 # each frequency's part of the set's power
TOL_FRAC, TOL_MIN_S = 0.25, 0.1
DIAL_MIN_S = 0.6              # steady this long = dial tone (longer where a cadenced tone shares it)
EPISODE_GAP_S = 1.5


@dataclass(frozen=True)
class ToneSpec:
    name: str                                  # "dial" | "ringback" | "busy" | "reorder"
    freqs_hz: tuple[float, ...]
    on_off_s: tuple[float, float] | None       # None: steady
    cycles: int = 1


@dataclass(frozen=True)
class ToneHit:
    time_s: float
    tone: str


def specs_for(profile: CountryProfile) -> list[ToneSpec]:
    specs = [ToneSpec("dial", tuple(profile.dial_tone_hz), None)] if profile.dial_tone_hz else []
    if profile.busy_hz and profile.busy_on_off_s:
        specs.append(ToneSpec("busy", tuple(profile.busy_hz), tuple(profile.busy_on_off_s), 2))
    if profile.busy_hz and profile.reorder_on_off_s:
        specs.append(ToneSpec("reorder", tuple(profile.busy_hz), tuple(profile.reorder_on_off_s), 2))
    if profile.ringback_hz and profile.ringback_on_off_s:
        specs.append(ToneSpec("ringback", tuple(profile.ringback_hz), tuple(profile.ringback_on_off_s), 1))
    return specs


def _matches(duration_s: float, nominal_s: float, at_least: bool = False) -> bool:
    tol = max(TOL_FRAC * nominal_s, TOL_MIN_S)
    return duration_s >= nominal_s - tol if at_least else abs(duration_s - nominal_s) <= tol


class _Cadence:
    """On/off runs of one frequency set, and which of its tones they make."""

    def __init__(self, specs: list[ToneSpec], block_s: float) -> None:
        self.specs = specs
        self.block_s = block_s
        cadenced = [s.on_off_s for s in specs if s.on_off_s]
        self.dial_min_s = max([DIAL_MIN_S] + [1.25 * c[0] for c in cadenced])
        self.gap_s = max([EPISODE_GAP_S] + [1.5 * c[1] for c in cadenced])
        self.on = False
        self.run_s = 0.0
        self.seg_start_s = 0.0
        self.segments: deque[tuple[bool, float]] = deque(maxlen=8)
        self.episode_s: float | None = None
        self.reported: set[str] = set()

    def step(self, present: bool, time_s: float) -> list[ToneHit]:
        if present != self.on:
            self.segments.append((self.on, self.run_s))
            self.on, self.run_s, self.seg_start_s = present, 0.0, time_s
            if present and self.episode_s is None:
                self.episode_s = time_s
        self.run_s += self.block_s
        if not self.on and self.run_s > self.gap_s:
            self.segments.clear()
            self.reported.clear()
            self.episode_s = None
        return [ToneHit(t, s.name) for s in self.specs if (t := self._check(s)) is not None]

    def _check(self, spec: ToneSpec) -> float | None:
        if spec.name in self.reported or self.episode_s is None:
            return None
        if spec.on_off_s is None:
            found, time_s = self.on and self.run_s >= self.dial_min_s, self.seg_start_s
        else:
            found, time_s = self._cycles(*spec.on_off_s) >= spec.cycles, self.episode_s
        if found:
            self.reported.add(spec.name)
            return time_s
        return None

    def _cycles(self, on_s: float, off_s: float) -> int:
        """Complete on/off cycles matching the cadence, counted back from now (now must be off)."""
        if self.on or not _matches(self.run_s, off_s, at_least=True):
            return 0
        count, segs = 0, list(self.segments)
        while segs:
            is_on, dur = segs.pop()
            if not is_on or not _matches(dur, on_s):
                break
            count += 1
            if not segs:
                break
            is_on, dur = segs.pop()
            if is_on or not _matches(dur, off_s):
                break
        return count


class ToneDetector:
    """Streaming: ``process(chunk) -> [ToneHit]``; results do not depend on chunk size."""

    def __init__(self, profile: CountryProfile, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"tone detection runs at {SAMPLE_RATE_HZ} Hz, not {sample_rate_hz}")
        self.rate = sample_rate_hz
        specs = specs_for(profile)
        freqs = sorted({f for s in specs for f in s.freqs_hz})
        self._bank = ToneBank(freqs, BLOCK, sample_rate_hz, window="hann")
        self._index = {f: i for i, f in enumerate(freqs)}
        groups: dict[tuple[float, ...], list[ToneSpec]] = {}
        for spec in specs:
            groups.setdefault(tuple(sorted(spec.freqs_hz)), []).append(spec)
        self._groups = {sig: _Cadence(group, BLOCK / sample_rate_hz) for sig, group in groups.items()}
        self._blocks = BlockBuffer(BLOCK, BLOCK)

    def process(self, samples: np.ndarray) -> list[ToneHit]:
        hits: list[ToneHit] = []
        if not self._groups:
            return hits
        for start, block in self._blocks.push(samples):
            powers, total = self._bank.powers(block), energy(block)
            for sig, cadence in self._groups.items():
                parts = powers[[self._index[f] for f in sig]]
                share = float(parts.sum())
                present = (total >= MIN_POWER and share >= MIN_SHARE * total
                           and bool(np.all(parts >= MIN_PART * share)))
                hits += cadence.step(present, start / self.rate)
        return sorted(hits, key=lambda h: h.time_s)
