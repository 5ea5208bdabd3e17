"""Clocks: everything that needs time takes one.

``RealClock`` follows the monotonic clock of the host; ``VirtualClock``
only moves when told to, so a replay runs faster than real time and the
same input always gives the same timeline.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the clock's origin (monotonic)."""

    def sleep(self, seconds: float) -> None:
        """Wait (or, for a virtual clock, advance) ``seconds``."""

    def utc(self) -> datetime:
        """Wall-clock time in UTC, for ``ts`` fields."""


class RealClock:
    """Monotonic seconds since construction, paced by the host."""

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._origin

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def utc(self) -> datetime:
        return datetime.now(timezone.utc)


class VirtualClock:
    """A clock that advances only through :meth:`sleep` or :meth:`advance`."""

    def __init__(self, start_s: float = 0.0, utc_origin: datetime | None = None) -> None:
        self._now = float(start_s)
        self._utc_origin = utc_origin or datetime(2026, 1, 1, tzinfo=timezone.utc)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards by {seconds} s")
        self._now += seconds

    def utc(self) -> datetime:
        return self._utc_origin + timedelta(seconds=self._now)


class PacedClock(VirtualClock):
    """A virtual timeline that is also paced at real time (``--realtime``)."""

    def __init__(self, start_s: float = 0.0) -> None:
        super().__init__(start_s, datetime.now(timezone.utc))
        self._wall_origin = time.monotonic() - start_s

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        lag_s = self.now() - (time.monotonic() - self._wall_origin)
        if lag_s > 0:
            time.sleep(lag_s)


def rfc3339(moment: datetime) -> str:
    """UTC RFC 3339 with milliseconds and a ``Z`` suffix."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
