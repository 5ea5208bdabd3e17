"""Call tracking: line observations in, call starts and ends out.

Ring then off-hook -> incoming call. Off-hook without ring -> outgoing
call, started when dialing is done (inter-digit timeout) or the far end
answers (answer supervision). On-hook, a loop-current drop or a
busy/reorder tone -> call ended, with who ended it. A caller ID that
arrives during a live call (call waiting) starts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lineguard.events import Direction, EndedBy
from lineguard.line.base import (
    Answered, CallerId, Dtmf, Hook, LineEvent, LoopCurrent, Ring, Tone,
)

RING_GAP_TIMEOUT_S = 8.0        # no ring for this long: the caller gave up
DIAL_DIGIT_TIMEOUT_S = 4.0      # no digit for this long: dialing is done
DIAL_MAX_S = 30.0               # start protection even if dialing never "ends"


class TrackState(str, Enum):
    IDLE = "idle"
    RINGING = "ringing"
    DIALING = "dialing"
    IN_CALL = "in_call"
    WAIT_ON_HOOK = "wait_on_hook"   # call over, the handset is still off-hook


@dataclass(frozen=True)
class CallStart:
    time_s: float
    direction: Direction
    caller_id: str | None = None
    caller_name: str | None = None
    dialed_number: str | None = None


@dataclass(frozen=True)
class CallEnd:
    time_s: float
    ended_by: EndedBy


@dataclass(frozen=True)
class RingingStarted:
    time_s: float


@dataclass(frozen=True)
class RingingStopped:
    time_s: float        # unanswered


@dataclass(frozen=True)
class DigitInCall:
    time_s: float
    digit: str           # a handset code digit during the call


TrackOutput = CallStart | CallEnd | RingingStarted | RingingStopped | DigitInCall


class CallTracker:
    """Stateful, clock-free: feed it observations and ticks."""

    def __init__(self) -> None:
        self.state = TrackState.IDLE
        self._off_hook = False
        self._last_ring_s = 0.0
        self._caller: CallerId | None = None
        self._digits: list[str] = []
        self._dial_start_s = 0.0
        self._last_digit_s = 0.0
        self.gateway_holding = False   # the gateway's relay holds the loop open

    def feed(self, event: LineEvent) -> list[TrackOutput]:
        out: list[TrackOutput] = []
        if isinstance(event, Hook):
            self._off_hook = event.off_hook
            out += self._on_hook_change(event)
        elif isinstance(event, Ring) and event.active:
            self._last_ring_s = event.time_s
            if self.state is TrackState.IDLE:
                self.state = TrackState.RINGING
                self._caller = None
                out.append(RingingStarted(event.time_s))
        elif isinstance(event, CallerId) and self.state in (TrackState.IDLE, TrackState.RINGING):
            self._caller = event   # during a call: call waiting, ignored
        elif isinstance(event, Dtmf):
            out += self._on_digit(event)
        elif isinstance(event, Answered) and self.state is TrackState.DIALING:
            out.append(self._start_outgoing(event.time_s))
        elif (isinstance(event, LoopCurrent) and not event.present and not self.gateway_holding
              and self.state is TrackState.IN_CALL):
            out.append(self._end(event.time_s, EndedBy.FAR_END))
        elif isinstance(event, Tone) and event.tone in ("busy", "reorder") and self.state is TrackState.IN_CALL:
            out.append(self._end(event.time_s, EndedBy.FAR_END))
        return out

    def tick(self, now_s: float) -> list[TrackOutput]:
        if self.state is TrackState.RINGING and now_s - self._last_ring_s > RING_GAP_TIMEOUT_S:
            self.state = TrackState.IDLE
            return [RingingStopped(now_s)]
        if self.state is TrackState.DIALING:
            digit_done = self._digits and now_s - self._last_digit_s >= DIAL_DIGIT_TIMEOUT_S
            if digit_done or now_s - self._dial_start_s >= DIAL_MAX_S:
                return [self._start_outgoing(now_s)]
        return []

    def gateway_opening(self) -> None:
        """The gateway is about to open the loop: its loop drop is not the far end's."""
        self.gateway_holding = True

    def gateway_released(self, now_s: float) -> list[TrackOutput]:
        """The gateway opened the loop and the exchange released the call."""
        self.gateway_holding = False
        if self.state is TrackState.IN_CALL:
            return [self._end(now_s, EndedBy.GATEWAY)]
        return []

    def _on_hook_change(self, event: Hook) -> list[TrackOutput]:
        if event.off_hook:
            if self.state is TrackState.RINGING:
                self.state = TrackState.IN_CALL
                cid = self._caller
                return [CallStart(event.time_s, Direction.INCOMING,
                                  caller_id=_cid_number(cid), caller_name=cid.name if cid else None)]
            if self.state is TrackState.IDLE:
                self.state = TrackState.DIALING
                self._digits = []
                self._dial_start_s = event.time_s
            return []
        if self.state is TrackState.IN_CALL:
            return [self._end(event.time_s, EndedBy.NEAR_END)]
        if self.state in (TrackState.DIALING, TrackState.WAIT_ON_HOOK):
            self.state = TrackState.IDLE
        return []

    def _on_digit(self, event: Dtmf) -> list[TrackOutput]:
        if self.state is TrackState.DIALING:
            self._digits.append(event.digit)
            self._last_digit_s = event.time_s
            return []
        if self.state is TrackState.IN_CALL:
            return [DigitInCall(event.time_s, event.digit)]
        return []

    def _start_outgoing(self, time_s: float) -> CallStart:
        self.state = TrackState.IN_CALL
        number = "".join(self._digits) or None
        return CallStart(time_s, Direction.OUTGOING, dialed_number=number)

    def _end(self, time_s: float, by: EndedBy) -> CallEnd:
        self.state = TrackState.WAIT_ON_HOOK if self._off_hook else TrackState.IDLE
        return CallEnd(time_s, by)


def _cid_number(cid: CallerId | None) -> str | None:
    if cid is None:
        return None
    return cid.number if cid.status == "ok" else cid.status
