"""Relay seam, and the guard that never leaves it energized.

Wiring: normally-closed contacts in series with the loop, so a
de-energized relay (power off, crash, unplugged) leaves the line
connected. Energizing opens the loop.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from lineguard.errors import SafetyError

log = logging.getLogger(__name__)


class Relay(Protocol):
    def energize(self) -> None:
        """Open the loop."""

    def release(self) -> None:
        """Close the loop (the safe state)."""

    @property
    def energized(self) -> bool: ...

    def close(self) -> None:
        """Release and free the hardware."""


class GuardedRelay:
    """Wraps a relay with a hard upper bound on energized time.

    A wall-clock watchdog thread releases the relay after
    ``max_energized_ms`` even if the main loop is stuck; ``check(now_s)``
    enforces the same bound on the gateway's own clock (virtual in replay).
    """

    def __init__(self, relay: Relay, max_energized_ms: int) -> None:
        self.relay = relay
        self.max_energized_s = max_energized_ms / 1000.0
        self._since_s: float | None = None
        self._bound_s = self.max_energized_s
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.forced_releases = 0

    @property
    def energized(self) -> bool:
        return self.relay.energized

    def energize(self, now_s: float, bound_s: float | None = None) -> None:
        """Energize; ``bound_s`` (e.g. ring suppression) replaces the default bound for this time."""
        with self._lock:
            self.relay.energize()
            self._since_s = now_s
            self._bound_s = bound_s or self.max_energized_s
            self._cancel_timer()
            self._timer = threading.Timer(self._bound_s, self._watchdog)
            self._timer.daemon = True
            self._timer.start()

    def release(self) -> None:
        with self._lock:
            self._cancel_timer()
            self._since_s = None
            self.relay.release()

    def check(self, now_s: float) -> None:
        """Release if the bound is passed on the gateway clock; raise to report it."""
        if self._since_s is not None and now_s - self._since_s > self._bound_s:
            self.release()
            self.forced_releases += 1
            raise SafetyError(f"relay energized longer than {self._bound_s:.1f} s; released")

    def close(self) -> None:
        try:
            self.release()
        finally:
            self.relay.close()

    def _watchdog(self) -> None:
        log.error("relay watchdog: energized longer than %.1f s, releasing", self._bound_s)
        self.forced_releases += 1
        try:
            self.relay.release()
        finally:
            self._since_s = None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
