"""Caller memory's side of the gateway: carry out screening decisions.

The gateway hands it line observations while no call is up; it opens or
closes the relay to keep a blocked call from ringing the phone, answers a
blocked call with the blocked prompt where the line can be seized, and
flags callers whose call was ended for abuse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lineguard.audio.port import Playback
from lineguard.callers.memory import CallerMemory
from lineguard.callers.screening import Block, CallTreatment, ScreenAction, Suppress
from lineguard.errors import LineGuardError
from lineguard.events import CallBlocked, Fault, TerminationReason
from lineguard.line.base import CallerId, LineEvent, Ring

if TYPE_CHECKING:
    from lineguard.gateway import Gateway


class CallerGuard:
    def __init__(self, memory: CallerMemory, gateway: Gateway) -> None:
        self.memory = memory
        self.gw = gateway
        self.rejecting: Playback | None = None     # blocked-call prompt playing on the seized line

    def on_line(self, event: LineEvent) -> None:
        """A line observation while no call is up."""
        if isinstance(event, Ring) and event.active:
            self._carry_out(self.memory.ring(self.gw.clock.utc()), event.time_s)
        elif isinstance(event, CallerId):
            number = event.number if event.status == "ok" else event.status
            self._carry_out(self.memory.caller_id_known(number, self.gw.clock.utc()), event.time_s)

    def ringing_over(self, time_s: float) -> None:
        """Ringing stopped or the call was answered: the phone side is reconnected."""
        self._carry_out(self.memory.ringing_over(), time_s)

    def treatment(self, caller_id: str | None) -> CallTreatment:
        return self.memory.treatment(caller_id, self.gw.clock.utc())

    def call_done(self) -> None:
        self.memory.call_done()

    def terminated(self, caller_id: str | None, reason: TerminationReason, call_id: str, time_s: float) -> None:
        flagged = self.memory.terminated(caller_id, reason, call_id, time_s, self.gw.clock.utc())
        if flagged is not None:
            self.gw.emit(flagged)

    def check(self, now: float) -> None:
        """Release the seized line once the blocked prompt has played."""
        if self.rejecting is not None and not self.gw.audio.is_playing():
            self.rejecting = None
            self.gw.line.seize(now, False)

    def _carry_out(self, actions: list[ScreenAction], time_s: float) -> None:
        for action in actions:
            if isinstance(action, Suppress) and action.on:
                self.gw.relay.energize(time_s, bound_s=self.gw.settings.callers.max_suppress_s)
            elif isinstance(action, Suppress):
                self.gw.relay.release()
            elif isinstance(action, Block):
                self.gw.emit(CallBlocked(time=time_s, caller_id=action.caller_id, rule=action.rule,
                                         answered=action.answer))
                if action.answer:
                    self._reject(time_s)

    def _reject(self, time_s: float) -> None:
        """Seize the line, tell the blocked caller, then release it (in ``check``)."""
        self.gw.line.seize(time_s, True)
        try:
            samples = self.gw.prompts.get("blocked")
        except LineGuardError as exc:
            self.gw.emit(Fault(time=time_s, component="prompts", message=str(exc)))
            samples = np.zeros(self.gw.audio.sample_rate_hz // 2, np.float32)
        self.rejecting = self.gw.audio.play("blocked", samples)
