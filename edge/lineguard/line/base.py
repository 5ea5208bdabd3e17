"""LineMonitor seam and the line observations it reports.

Backends: the simulated line (``virtual.py``), the line-sense board over
USB serial, and a stock caller-ID modem. Each reports the observations
below; :class:`~lineguard.line.calls.CallTracker` turns them into calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Ring:
    time_s: float
    active: bool            # ring burst started (True) or stopped (False)


@dataclass(frozen=True)
class Hook:
    time_s: float
    off_hook: bool          # the desk phone's hook state


@dataclass(frozen=True)
class LoopCurrent:
    time_s: float
    present: bool           # current flowing in the exchange loop


@dataclass(frozen=True)
class Answered:
    time_s: float           # answer supervision (polarity reversal) on an outgoing call


@dataclass(frozen=True)
class CallerId:
    time_s: float
    number: str | None
    name: str | None = None
    status: str = "ok"      # "ok" | "private" | "unavailable"


@dataclass(frozen=True)
class Dtmf:
    time_s: float
    digit: str


@dataclass(frozen=True)
class Tone:
    time_s: float
    tone: str               # "dial" | "ringback" | "busy" | "reorder"


@dataclass(frozen=True)
class LineVoltage:
    time_s: float
    volts: float
    present: bool


@dataclass(frozen=True)
class LineFault:
    time_s: float
    message: str
    recovered: bool = False


LineEvent = Ring | Hook | LoopCurrent | Answered | CallerId | Dtmf | Tone | LineVoltage | LineFault

CAP_RING = "ring"
CAP_HOOK = "hook"
CAP_LOOP = "loop_current"
CAP_CALLER_ID = "caller_id"
CAP_SEIZE = "seize"          # can take the line off-hook itself (modem, or a board with a hold circuit)


class LineMonitor(Protocol):
    capabilities: frozenset[str]

    def open(self) -> None: ...

    def close(self) -> None: ...

    def poll(self, now_s: float) -> list[LineEvent]:
        """Observations that happened up to ``now_s``, oldest first; never blocks."""


class SeizingLineMonitor(LineMonitor, Protocol):
    """A monitor with ``CAP_SEIZE``: it can answer (seize) and release the line."""

    def seize(self, now_s: float, off_hook: bool) -> None: ...


class LineAudioObserver(Protocol):
    """Decodes line observations (caller ID, DTMF, tones) from the 8 kHz line channel."""

    def process(self, samples: np.ndarray, start_s: float) -> list[LineEvent]:
        """``samples``: mono float32 at 8 kHz starting at ``start_s``; any chunk size."""
