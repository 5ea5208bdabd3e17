"""Simulated relay: records every change, and opens the virtual line's loop."""

from __future__ import annotations

from lineguard.clock import Clock
from lineguard.line.virtual import VirtualLine


class SimulatedRelay:
    def __init__(self, clock: Clock, line: VirtualLine | None = None) -> None:
        self.clock = clock
        self.line = line
        self._energized = False
        self.history: list[tuple[float, bool]] = []   # (time_s, energized)
        self.closed = False

    @property
    def energized(self) -> bool:
        return self._energized

    def energize(self) -> None:
        self._set(True)

    def release(self) -> None:
        self._set(False)

    def close(self) -> None:
        self._set(False)
        self.closed = True

    def _set(self, energized: bool) -> None:
        if energized == self._energized:
            return
        now = self.clock.now()
        self._energized = energized
        self.history.append((now, energized))
        if self.line is not None:
            self.line.set_relay(now, loop_open=energized)

    def energized_spans(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of each energized period; an open one ends at +inf."""
        spans, start = [], None
        for t, on in self.history:
            if on:
                start = t
            elif start is not None:
                spans.append((start, t))
                start = None
        if start is not None:
            spans.append((start, float("inf")))
        return spans
