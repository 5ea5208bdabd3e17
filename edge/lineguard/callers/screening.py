"""Caller screening during ringing, and what a flagged caller's call gets.

Pure decisions, no I/O: the gateway tells it what happens on the line and
carries out what it returns.

* ``first_ring = "suppress"``: the phone side is disconnected (relay open)
  from the first ring until the caller ID says the call is allowed, so a
  blocked caller never makes the phone ring; ``"pass"`` lets the first
  ring through (the phone may ring once for a blocked caller).
* A blocked caller: the phone side stays disconnected while it rings and is
  reconnected as soon as ringing stops. Where the line interface can seize
  the line, the box answers, plays the blocked-call prompt and hangs up.
* No caller ID by the second ring: treated as withheld.
* A flagged repeat abuser (call ended for abuse within ``repeat_days``):
  ``notice`` (call-start notice), ``strict`` (the first abuse brings the
  final message), or ``block``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from lineguard.callers.flags import Flag
from lineguard.callers.lists import CallerLists, Verdict

WITHHELD_AFTER_RINGS = 2


class ScreenState(str, Enum):
    IDLE = "idle"
    WAITING_CID = "waiting_cid"      # ringing, caller not known yet
    ALLOWED = "allowed"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Suppress:
    on: bool            # True: keep the phone side disconnected


@dataclass(frozen=True)
class Block:
    caller_id: str | None
    rule: str
    answer: bool        # seize the line, play the blocked prompt, hang up


@dataclass(frozen=True)
class CallTreatment:
    announce: bool = False
    strict: bool = False
    flag: Flag | None = None


ScreenAction = Suppress | Block


class CallerScreen:
    def __init__(self, lists: CallerLists, first_ring: str, repeat_action: str, can_seize: bool) -> None:
        self.lists = lists
        self.first_ring = first_ring
        self.repeat_action = repeat_action
        self.can_seize = can_seize
        self.state = ScreenState.IDLE
        self.rings = 0
        self.suppressing = False

    def ring_started(self, now: datetime, flagged: Flag | None = None) -> list[ScreenAction]:
        self.rings += 1
        if self.state is ScreenState.IDLE:
            self.state = ScreenState.WAITING_CID
            if self.first_ring == "suppress":
                return self._suppress(True)
        elif self.state is ScreenState.WAITING_CID and self.rings >= WITHHELD_AFTER_RINGS:
            return self.caller_id(None, now, flagged)
        return []

    def caller_id(self, number: str | None, now: datetime, flagged: Flag | None = None) -> list[ScreenAction]:
        if self.state is not ScreenState.WAITING_CID:
            return []         # a second caller ID, or call waiting: decided already
        verdict = self.lists.check(number, now)
        if not verdict.blocked and flagged is not None and self.repeat_action == "block" \
                and not verdict.rule.startswith("allow"):
            verdict = Verdict(True, "repeat_abuser")
        if verdict.blocked:
            self.state = ScreenState.BLOCKED
            return [*self._suppress(True), Block(number, verdict.rule, self.can_seize)]
        self.state = ScreenState.ALLOWED
        return self._suppress(False)

    def ringing_over(self) -> list[ScreenAction]:
        """Ringing stopped (unanswered) or the call was answered: reconnect the phone."""
        self.state = ScreenState.IDLE
        self.rings = 0
        return self._suppress(False)

    @property
    def blocked(self) -> bool:
        return self.state is ScreenState.BLOCKED

    def treatment(self, flagged: Flag | None) -> CallTreatment:
        """What an answered call from this caller gets."""
        if flagged is None or self.repeat_action == "none":
            return CallTreatment()
        return CallTreatment(announce=self.repeat_action == "notice", strict=self.repeat_action == "strict",
                             flag=flagged)

    def _suppress(self, on: bool) -> list[ScreenAction]:
        if on == self.suppressing:
            return []
        self.suppressing = on
        return [Suppress(on)]
