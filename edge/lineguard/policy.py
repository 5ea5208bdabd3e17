"""The protection policy: a pure, table-driven state machine.

It takes timestamped observations and returns actions. It does no I/O and
has no clock of its own, so the same code runs live on the device and
faster than real time in replays and tests.

Default behaviour (the operator service it follows):

* first confident abusive word from the far end -> warning prompt;
* abuse again after the warning has finished -> final message, then hang up;
* a threat may skip straight to the final message;
* long calls: a warning at ``long_call_warning_s``, termination after
  ``long_call_grace_s`` unless the worker extends the call;
* the worker can trigger the sequence by hand (button or DTMF code);
* words attributed to the near end (the worker) never trigger anything;
* words heard while one of our prompts plays (or just after) are ignored.

See docs/policy.md for the full table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from lineguard.config import PolicySettings
from lineguard.events import Direction, Side, TerminationReason


class State(str, Enum):
    IDLE = "idle"
    ANNOUNCING = "announcing"      # call-start notice playing
    ACTIVE = "active"              # call in progress, no warning yet
    WARNING = "warning"            # warning prompt playing
    WARNED = "warned"              # warned; next abuse -> final
    LONG_WARNING = "long_warning"  # long-call warning playing
    FINAL = "final"                # final message playing; hang-up follows
    TERMINATED = "terminated"      # relay opened; waiting for the call to end


# ---- observations -------------------------------------------------------

@dataclass(frozen=True)
class CallBegan:
    time_s: float
    direction: Direction = Direction.INCOMING
    announce: bool = False     # play the call-start notice (e.g. a flagged repeat caller)
    strict: bool = False       # no warnings left: the first abuse brings the final message


@dataclass(frozen=True)
class Heard:
    time_s: float
    keyword: str
    severity: str = "abuse"         # "abuse" | "threat"
    side: Side = Side.FAR


@dataclass(frozen=True)
class PromptDone:
    time_s: float
    prompt_id: str


@dataclass(frozen=True)
class Tick:
    time_s: float


@dataclass(frozen=True)
class ManualTrigger:
    time_s: float


@dataclass(frozen=True)
class Extend:
    time_s: float


@dataclass(frozen=True)
class CallOver:
    time_s: float


Observation = CallBegan | Heard | PromptDone | Tick | ManualTrigger | Extend | CallOver
OBSERVATION_TYPES: tuple[type, ...] = (CallBegan, Heard, PromptDone, Tick, ManualTrigger, Extend, CallOver)


# ---- actions --------------------------------------------------------------

@dataclass(frozen=True)
class Play:
    prompt_id: str      # "notice" | "warning" | "final" | "long_call" | "long_call_final"
    level: str          # what the prompt is for, reported in warning_* events


@dataclass(frozen=True)
class HangUp:
    reason: TerminationReason
    keyword: str | None = None


Action = Play | HangUp


# ---- state ----------------------------------------------------------------

@dataclass(frozen=True)
class CallState:
    state: State = State.IDLE
    call_start_s: float = 0.0
    warnings_given: int = 0
    reason: TerminationReason | None = None
    keyword: str | None = None
    ignore_until_s: float = 0.0
    long_warning_at_s: float | None = None     # when the long-call warning is due
    long_deadline_s: float | None = None       # when the call is ended for length
    resume: State = State.ACTIVE               # where LONG_WARNING returns to
    manual_pending: bool = False               # button pressed while a prompt played


@dataclass(frozen=True)
class Step:
    state: CallState
    actions: tuple[Action, ...] = ()


Handler = Callable[["Policy", CallState, Observation], Step]


class Policy:
    """Pure transition function ``step(state, observation) -> Step``."""

    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings

    def initial(self) -> CallState:
        return CallState()

    def step(self, current: CallState, obs: Observation) -> Step:
        handler = TABLE.get((current.state, type(obs)), _ignore)
        return handler(self, current, obs)

    # -- helpers used by the handlers --------------------------------------

    def _start_warning(self, s: CallState, keyword: str | None) -> Step:
        nxt = dataclasses.replace(
            s, state=State.WARNING, warnings_given=s.warnings_given + 1, keyword=keyword
        )
        return Step(nxt, (Play("warning", "warning"),))

    def _start_final(self, s: CallState, reason: TerminationReason, keyword: str | None) -> Step:
        prompt = "long_call_final" if reason is TerminationReason.DURATION else "final"
        nxt = dataclasses.replace(s, state=State.FINAL, reason=reason, keyword=keyword, manual_pending=False)
        return Step(nxt, (Play(prompt, "final"),))

    def _escalate(self, s: CallState, reason: TerminationReason, keyword: str | None) -> Step:
        """One step up the ladder: another warning, or the final message."""
        if reason is TerminationReason.THREAT and self.settings.threat_skips_to_final:
            return self._start_final(s, reason, keyword)
        if s.warnings_given < self.settings.warnings_before_final:
            return self._start_warning(s, keyword)
        return self._start_final(s, reason, keyword)

    def _long_warning_due(self, time_s: float) -> float | None:
        if self.settings.long_call_warning_s <= 0:
            return None
        return time_s + self.settings.long_call_warning_s


# ---- handlers ---------------------------------------------------------------

def _ignore(policy: Policy, s: CallState, obs: Observation) -> Step:
    return Step(s)


def _call_began(policy: Policy, s: CallState, obs: Observation) -> Step:
    assert isinstance(obs, CallBegan)
    base = CallState(
        state=State.ACTIVE,
        call_start_s=obs.time_s,
        warnings_given=policy.settings.warnings_before_final if obs.strict else 0,
        long_warning_at_s=policy._long_warning_due(obs.time_s),
    )
    if policy.settings.announce_at_start or obs.announce:
        return Step(dataclasses.replace(base, state=State.ANNOUNCING), (Play("notice", "notice"),))
    return Step(base)


def _heard(policy: Policy, s: CallState, obs: Observation) -> Step:
    assert isinstance(obs, Heard)
    if obs.side is Side.NEAR or obs.severity not in ("abuse", "threat") or obs.time_s < s.ignore_until_s:
        return Step(s)
    reason = TerminationReason.THREAT if obs.severity == "threat" else TerminationReason.ABUSE
    return policy._escalate(s, reason, obs.keyword)


def _prompt_done(policy: Policy, s: CallState, obs: Observation) -> Step:
    quiet = obs.time_s + policy.settings.ignore_after_prompt_s
    if s.state is State.FINAL:
        return Step(dataclasses.replace(s, state=State.TERMINATED),
                    (HangUp(s.reason or TerminationReason.MANUAL, s.keyword),))
    if s.state is State.LONG_WARNING:
        extended = s.long_warning_at_s is not None   # the worker extended while it played
        deadline = None if extended else obs.time_s + policy.settings.long_call_grace_s
        nxt = dataclasses.replace(s, state=s.resume, ignore_until_s=quiet, long_deadline_s=deadline)
    elif s.state is State.WARNING:
        nxt = dataclasses.replace(s, state=State.WARNED, ignore_until_s=quiet)
    else:  # ANNOUNCING
        nxt = dataclasses.replace(s, state=State.ACTIVE, ignore_until_s=quiet)
    if nxt.manual_pending:
        return policy._escalate(dataclasses.replace(nxt, manual_pending=False), TerminationReason.MANUAL, None)
    return Step(nxt)


def _tick(policy: Policy, s: CallState, obs: Observation) -> Step:
    if s.long_deadline_s is not None and obs.time_s >= s.long_deadline_s:
        return policy._start_final(dataclasses.replace(s, long_deadline_s=None), TerminationReason.DURATION, None)
    if s.long_warning_at_s is not None and obs.time_s >= s.long_warning_at_s:
        nxt = dataclasses.replace(s, state=State.LONG_WARNING, resume=s.state, long_warning_at_s=None)
        return Step(nxt, (Play("long_call", "long_call"),))
    return Step(s)


def _manual(policy: Policy, s: CallState, obs: Observation) -> Step:
    return policy._escalate(s, TerminationReason.MANUAL, None)


def _manual_later(policy: Policy, s: CallState, obs: Observation) -> Step:
    return Step(dataclasses.replace(s, manual_pending=True))


def _extend(policy: Policy, s: CallState, obs: Observation) -> Step:
    if policy.settings.long_call_warning_s <= 0:
        return Step(s)
    nxt = dataclasses.replace(s, long_deadline_s=None,
                              long_warning_at_s=obs.time_s + policy.settings.extend_s)
    return Step(nxt)


def _call_over(policy: Policy, s: CallState, obs: Observation) -> Step:
    return Step(CallState())


_IN_CALL = (State.ANNOUNCING, State.ACTIVE, State.WARNING, State.WARNED,
            State.LONG_WARNING, State.FINAL, State.TERMINATED)
_PLAYING = (State.ANNOUNCING, State.WARNING, State.LONG_WARNING)

TABLE: dict[tuple[State, type], Handler] = {
    (State.IDLE, CallBegan): _call_began,
    **{(st, CallOver): _call_over for st in _IN_CALL},
    **{(st, Heard): _heard for st in (State.ACTIVE, State.WARNED)},
    **{(st, PromptDone): _prompt_done for st in (*_PLAYING, State.FINAL)},
    **{(st, Tick): _tick for st in (State.ACTIVE, State.WARNED)},
    **{(st, ManualTrigger): _manual for st in (State.ACTIVE, State.WARNED)},
    **{(st, ManualTrigger): _manual_later for st in _PLAYING},
    **{(st, Extend): _extend for st in (State.ACTIVE, State.WARNED, State.LONG_WARNING)},
}
"""(state, observation type) -> handler; every pair not listed is ignored."""
