"""The hang-up sequence: open the loop, let go, and check the call really ended.

A clock-free, table-driven state machine. The gateway feeds it line
observations and ticks, and carries out the relay commands it returns.

Release (the default action)::

    OPEN ──release_ms──► VERIFY ──released──► DONE (verified = true)
      ▲                    │
      └──── retry once ────┘ window passed, not released
                           └── second time ──► DONE (verified = false)

"Released" needs line sense: the loop current dropped while the relay was
open (the contacts really broke the loop), and then the exchange showed it
let the call go: dial tone on the re-closed loop, or the desk phone put
back on hook. Without loop sense the sequence ends at the first re-close
with ``verified = None``. The retry holds the loop open longer
(``retry_release_ms``), for exchanges that need a longer break.

Flash (``hangup_action = "flash"``): one short break of ``flash_ms`` for
lines where the site wants the call transferred; never verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from lineguard.config import RelaySettings
from lineguard.errors import SafetyError
from lineguard.line.base import Hook, LineEvent, LoopCurrent, Tone
from lineguard.line.profiles import profile_for

DEFAULT_VERIFY_WINDOW_MS = 1500
TIME_EPS_S = 1e-6               # clock arithmetic slack
RELEASE_MARGIN_MS = 500          # the relay guard's bound must exceed every planned break by this


class Phase(str, Enum):
    OPEN = "open"          # relay energized, loop open
    VERIFY = "verify"      # relay released, waiting for proof the exchange let go
    DONE = "done"


@dataclass(frozen=True)
class Energize:
    time_s: float


@dataclass(frozen=True)
class Release:
    time_s: float


@dataclass(frozen=True)
class Finished:
    time_s: float
    verified: bool | None
    attempts: int


Command = Energize | Release | Finished


@dataclass(frozen=True)
class HangupPlan:
    """Timings of one hang-up, checked against the relay's hard bound."""

    release_ms: int
    retry_release_ms: int
    verify_window_ms: int = DEFAULT_VERIFY_WINDOW_MS
    flash_ms: int = 0              # > 0: a hook flash instead of a hang-up
    line_sense: bool = True        # loop current is reported: verify

    def check(self, max_energized_ms: int) -> None:
        longest = self.flash_ms if self.flash_ms else max(self.release_ms, self.retry_release_ms)
        if longest + RELEASE_MARGIN_MS > max_energized_ms:
            raise SafetyError(f"relay break of {longest} ms does not fit the hard bound relay.max_energized_ms = "
                              f"{max_energized_ms} (needs {RELEASE_MARGIN_MS} ms margin)")


# After the loop is re-closed, proof that the exchange let go (dial tone) takes the dial-tone
# detector this long to see: 0.6 s for US/KR dial tone, 1.26 s for the German 425 Hz tone.
VERIFY_WINDOW_MS = {"US": 1500, "KR": 1500, "DE": 2200}


def plan_from_settings(relay: RelaySettings, country: str, release_ms: int, line_sense: bool) -> HangupPlan:
    """The plan for this site: ``relay.*`` keys, else the country profile."""
    profile = profile_for(country)
    retry_ms = relay.retry_release_ms or min(2 * release_ms, relay.max_energized_ms - RELEASE_MARGIN_MS)
    plan = HangupPlan(release_ms=release_ms, retry_release_ms=max(retry_ms, release_ms),
                      verify_window_ms=relay.verify_window_ms or VERIFY_WINDOW_MS.get(country,
                                                                                      DEFAULT_VERIFY_WINDOW_MS),
                      line_sense=line_sense,
                      flash_ms=(relay.flash_ms or profile.flash_ms) if relay.hangup_action == "flash" else 0)
    plan.check(relay.max_energized_ms)
    return plan


class HangupSequence:
    """One hang-up (or flash) of one call."""

    def __init__(self, plan: HangupPlan) -> None:
        self.plan = plan
        self.phase = Phase.OPEN
        self.attempts = 0
        self.opened_s = 0.0
        self.closed_s = 0.0
        self.loop_dropped = False
        self.exchange_released = False
        self.on_hook = False

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    def start(self, now_s: float) -> list[Command]:
        return self._open(now_s)

    def observe(self, event: LineEvent) -> None:
        """Line observations while the sequence runs."""
        if isinstance(event, Hook) and not event.off_hook:
            self.on_hook = True
        elif isinstance(event, LoopCurrent) and not event.present and self.phase is Phase.OPEN:
            self.loop_dropped = True
        elif isinstance(event, Tone) and event.tone == "dial" and self.phase is Phase.VERIFY:
            self.exchange_released = True

    def tick(self, now_s: float) -> list[Command]:
        handler = _TABLE.get(self.phase)
        return handler(self, now_s) if handler else []

    def abort(self, now_s: float) -> list[Command]:
        """The call ended under us (e.g. the worker hung up): close the loop and finish."""
        if self.done:
            return []
        out: list[Command] = [Release(now_s)] if self.phase is Phase.OPEN else []
        verified = None if not self.plan.line_sense or self.plan.flash_ms else True
        return out + self._finish(now_s, verified)

    # -- transitions ---------------------------------------------------------

    def _open(self, now_s: float) -> list[Command]:
        self.phase = Phase.OPEN
        self.attempts += 1
        self.opened_s = now_s
        self.loop_dropped = False
        return [Energize(now_s)]

    def _break_s(self) -> float:
        if self.plan.flash_ms:
            return self.plan.flash_ms / 1000.0
        ms = self.plan.release_ms if self.attempts == 1 else self.plan.retry_release_ms
        return ms / 1000.0

    def _tick_open(self, now_s: float) -> list[Command]:
        if now_s - self.opened_s < self._break_s() - TIME_EPS_S:
            return []
        self.phase = Phase.VERIFY
        self.closed_s = now_s
        if self.plan.flash_ms or not self.plan.line_sense:
            return [Release(now_s), *self._finish(now_s, None)]
        return [Release(now_s)]

    def _tick_verify(self, now_s: float) -> list[Command]:
        if self.on_hook or (self.loop_dropped and self.exchange_released):
            return self._finish(now_s, True)
        if now_s - self.closed_s < self.plan.verify_window_ms / 1000.0 - TIME_EPS_S:
            return []
        if self.attempts < 2:
            return self._open(now_s)
        return self._finish(now_s, False)

    def _finish(self, now_s: float, verified: bool | None) -> list[Command]:
        self.phase = Phase.DONE
        return [Finished(now_s, verified, max(self.attempts, 1))]


_TABLE: dict[Phase, Callable[[HangupSequence, float], list[Command]]] = {
    Phase.OPEN: HangupSequence._tick_open,
    Phase.VERIFY: HangupSequence._tick_verify,
}
