"""The policy, exhaustively: every state x every observation, then sequences."""

from __future__ import annotations

import dataclasses

import pytest

from lineguard.config import PolicySettings
from lineguard.events import Side, TerminationReason
from lineguard.policy import (
    OBSERVATION_TYPES, CallBegan, CallOver, CallState, Extend, HangUp, Heard, ManualTrigger, Play,
    Policy, PromptDone, State, Tick,
)

T = 100.0   # observation time in every cell of the table

SETTINGS = PolicySettings(long_call_warning_s=600, long_call_grace_s=60)


def state_of(kind: State) -> CallState:
    """A representative CallState for each state (call began at 0 s)."""
    base = CallState(state=kind, call_start_s=0.0, long_warning_at_s=600.0)
    if kind is State.IDLE:
        return CallState()
    if kind is State.WARNED:
        return dataclasses.replace(base, warnings_given=1)
    if kind is State.FINAL:
        return dataclasses.replace(base, warnings_given=1, reason=TerminationReason.ABUSE, keyword="ko_ssibal")
    if kind is State.LONG_WARNING:
        return dataclasses.replace(base, long_warning_at_s=None)
    return base


def observation(kind: type) -> object:
    return {
        CallBegan: CallBegan(T),
        Heard: Heard(T, "ko_ssibal", "abuse", Side.FAR),
        PromptDone: PromptDone(T, "x"),
        Tick: Tick(T),
        ManualTrigger: ManualTrigger(T),
        Extend: Extend(T),
        CallOver: CallOver(T),
    }[kind]


S = State
P_WARN, P_FINAL = Play("warning", "warning"), Play("final", "final")
HANG = HangUp(TerminationReason.ABUSE, "ko_ssibal")

# (state, observation) -> (next state, actions). Every cell is listed.
EXPECTED = {
    (S.IDLE, CallBegan): (S.ACTIVE, ()),
    (S.IDLE, Heard): (S.IDLE, ()),
    (S.IDLE, PromptDone): (S.IDLE, ()),
    (S.IDLE, Tick): (S.IDLE, ()),
    (S.IDLE, ManualTrigger): (S.IDLE, ()),
    (S.IDLE, Extend): (S.IDLE, ()),
    (S.IDLE, CallOver): (S.IDLE, ()),

    (S.ANNOUNCING, CallBegan): (S.ANNOUNCING, ()),
    (S.ANNOUNCING, Heard): (S.ANNOUNCING, ()),          # our own notice is playing
    (S.ANNOUNCING, PromptDone): (S.ACTIVE, ()),
    (S.ANNOUNCING, Tick): (S.ANNOUNCING, ()),
    (S.ANNOUNCING, ManualTrigger): (S.ANNOUNCING, ()),  # remembered, acted on when the notice ends
    (S.ANNOUNCING, Extend): (S.ANNOUNCING, ()),
    (S.ANNOUNCING, CallOver): (S.IDLE, ()),

    (S.ACTIVE, CallBegan): (S.ACTIVE, ()),
    (S.ACTIVE, Heard): (S.WARNING, (P_WARN,)),
    (S.ACTIVE, PromptDone): (S.ACTIVE, ()),
    (S.ACTIVE, Tick): (S.ACTIVE, ()),
    (S.ACTIVE, ManualTrigger): (S.WARNING, (P_WARN,)),
    (S.ACTIVE, Extend): (S.ACTIVE, ()),
    (S.ACTIVE, CallOver): (S.IDLE, ()),

    (S.WARNING, CallBegan): (S.WARNING, ()),
    (S.WARNING, Heard): (S.WARNING, ()),
    (S.WARNING, PromptDone): (S.WARNED, ()),
    (S.WARNING, Tick): (S.WARNING, ()),
    (S.WARNING, ManualTrigger): (S.WARNING, ()),
    (S.WARNING, Extend): (S.WARNING, ()),
    (S.WARNING, CallOver): (S.IDLE, ()),

    (S.WARNED, CallBegan): (S.WARNED, ()),
    (S.WARNED, Heard): (S.FINAL, (P_FINAL,)),
    (S.WARNED, PromptDone): (S.WARNED, ()),
    (S.WARNED, Tick): (S.WARNED, ()),
    (S.WARNED, ManualTrigger): (S.FINAL, (P_FINAL,)),
    (S.WARNED, Extend): (S.WARNED, ()),
    (S.WARNED, CallOver): (S.IDLE, ()),

    (S.LONG_WARNING, CallBegan): (S.LONG_WARNING, ()),
    (S.LONG_WARNING, Heard): (S.LONG_WARNING, ()),
    (S.LONG_WARNING, PromptDone): (S.ACTIVE, ()),
    (S.LONG_WARNING, Tick): (S.LONG_WARNING, ()),
    (S.LONG_WARNING, ManualTrigger): (S.LONG_WARNING, ()),
    (S.LONG_WARNING, Extend): (S.LONG_WARNING, ()),
    (S.LONG_WARNING, CallOver): (S.IDLE, ()),

    (S.FINAL, CallBegan): (S.FINAL, ()),
    (S.FINAL, Heard): (S.FINAL, ()),
    (S.FINAL, PromptDone): (S.TERMINATED, (HANG,)),
    (S.FINAL, Tick): (S.FINAL, ()),
    (S.FINAL, ManualTrigger): (S.FINAL, ()),
    (S.FINAL, Extend): (S.FINAL, ()),
    (S.FINAL, CallOver): (S.IDLE, ()),

    (S.TERMINATED, CallBegan): (S.TERMINATED, ()),
    (S.TERMINATED, Heard): (S.TERMINATED, ()),
    (S.TERMINATED, PromptDone): (S.TERMINATED, ()),
    (S.TERMINATED, Tick): (S.TERMINATED, ()),
    (S.TERMINATED, ManualTrigger): (S.TERMINATED, ()),
    (S.TERMINATED, Extend): (S.TERMINATED, ()),
    (S.TERMINATED, CallOver): (S.IDLE, ()),
}


def test_table_covers_every_state_and_observation():
    assert set(EXPECTED) == {(s, o) for s in State for o in OBSERVATION_TYPES}


@pytest.mark.parametrize("cell", sorted(EXPECTED, key=lambda c: (c[0].value, c[1].__name__)),
                         ids=lambda c: f"{c[0].value}-{c[1].__name__}")
def test_every_cell(cell):
    state, obs_type = cell
    want_state, want_actions = EXPECTED[cell]
    step = Policy(SETTINGS).step(state_of(state), observation(obs_type))
    assert step.state.state is want_state
    assert step.actions == want_actions


def run(policy: Policy, *observations) -> tuple[CallState, list]:
    state, actions = policy.initial(), []
    for obs in observations:
        step = policy.step(state, obs)
        state = step.state
        actions.extend(step.actions)
    return state, actions


def test_warn_then_terminate_default():
    state, actions = run(Policy(PolicySettings()), CallBegan(0), Heard(5, "ko_ssibal"), PromptDone(8, "warning"),
                         Heard(12, "ko_jiral"), PromptDone(15, "final"))
    assert actions == [P_WARN, P_FINAL, HangUp(TerminationReason.ABUSE, "ko_jiral")]
    assert state.state is State.TERMINATED


def test_near_end_words_never_trigger():
    policy = Policy(PolicySettings())
    state, actions = run(policy, CallBegan(0), *[Heard(t, "ko_ssibal", "abuse", Side.NEAR) for t in range(1, 20)])
    assert actions == [] and state.state is State.ACTIVE


def test_threat_skips_to_final_when_configured():
    state, actions = run(Policy(PolicySettings()), CallBegan(0), Heard(3, "ko_jugyeo", "threat"),
                         PromptDone(6, "final"))
    assert actions == [P_FINAL, HangUp(TerminationReason.THREAT, "ko_jugyeo")]
    _, actions = run(Policy(PolicySettings(threat_skips_to_final=False)), CallBegan(0), Heard(3, "ko_jugyeo", "threat"))
    assert actions == [P_WARN]


def test_abuse_right_after_the_warning_is_ignored():
    policy = Policy(PolicySettings(ignore_after_prompt_s=1.0))
    state, actions = run(policy, CallBegan(0), Heard(1, "k"), PromptDone(4, "warning"), Heard(4.5, "k"))
    assert actions == [P_WARN] and state.state is State.WARNED
    state, actions = run(policy, CallBegan(0), Heard(1, "k"), PromptDone(4, "warning"), Heard(5.5, "k"))
    assert actions[-1] == P_FINAL


def test_two_warnings_before_final():
    policy = Policy(PolicySettings(warnings_before_final=2))
    _, actions = run(policy, CallBegan(0), Heard(1, "k"), PromptDone(3, "w"), Heard(5, "k"), PromptDone(7, "w"),
                     Heard(9, "k"))
    assert actions == [P_WARN, P_WARN, P_FINAL]


def test_zero_warnings_goes_straight_to_final():
    _, actions = run(Policy(PolicySettings(warnings_before_final=0)), CallBegan(0), Heard(1, "k"))
    assert actions == [P_FINAL]


def test_announcement_at_call_start():
    state, actions = run(Policy(PolicySettings(announce_at_start=True)), CallBegan(0))
    assert actions == [Play("notice", "notice")] and state.state is State.ANNOUNCING


def test_long_call_warning_then_termination():
    policy = Policy(PolicySettings(long_call_warning_s=60, long_call_grace_s=30))
    state, actions = run(policy, CallBegan(0), Tick(59), Tick(60.0))
    assert actions == [Play("long_call", "long_call")]
    state, actions = run(policy, CallBegan(0), Tick(60), PromptDone(64, "long_call"), Tick(93), Tick(94),
                         PromptDone(98, "long_call_final"))
    assert actions == [Play("long_call", "long_call"), Play("long_call_final", "final"),
                       HangUp(TerminationReason.DURATION, None)]


def test_worker_extends_a_long_call():
    policy = Policy(PolicySettings(long_call_warning_s=60, long_call_grace_s=30, extend_s=120))
    state, actions = run(policy, CallBegan(0), Tick(60), PromptDone(64, "long_call"), Extend(70), Tick(100),
                         Tick(189))
    assert actions == [Play("long_call", "long_call")]
    state, actions = run(policy, CallBegan(0), Tick(60), PromptDone(64, "long_call"), Extend(70), Tick(190))
    assert actions[-1] == Play("long_call", "long_call")


def test_extend_while_the_long_warning_plays_cancels_the_deadline():
    policy = Policy(PolicySettings(long_call_warning_s=60, long_call_grace_s=30, extend_s=120))
    state, actions = run(policy, CallBegan(0), Tick(60), Extend(62), PromptDone(64, "long_call"), Tick(100))
    assert actions == [Play("long_call", "long_call")] and state.long_deadline_s is None


def test_manual_trigger_ends_in_manual_termination():
    _, actions = run(Policy(PolicySettings()), CallBegan(0), ManualTrigger(1), PromptDone(4, "warning"),
                     ManualTrigger(6), PromptDone(9, "final"))
    assert actions == [P_WARN, P_FINAL, HangUp(TerminationReason.MANUAL, None)]


def test_manual_trigger_during_a_prompt_acts_when_it_ends():
    _, actions = run(Policy(PolicySettings()), CallBegan(0), Heard(1, "k"), ManualTrigger(2), PromptDone(4, "w"))
    assert actions == [P_WARN, P_FINAL]


def test_call_over_resets_everything():
    state, _ = run(Policy(PolicySettings()), CallBegan(0), Heard(1, "k"), CallOver(2))
    assert state == CallState()


def test_policy_is_pure():
    policy = Policy(PolicySettings())
    state = state_of(State.WARNED)
    first = policy.step(state, Heard(T, "k"))
    second = policy.step(state, Heard(T, "k"))
    assert first == second and state == state_of(State.WARNED)


def test_a_strict_call_goes_to_the_final_message_on_first_abuse():
    _, actions = run(Policy(PolicySettings()), CallBegan(0, strict=True), Heard(1, "k"))
    assert actions == [P_FINAL]


def test_a_call_can_ask_for_the_notice():
    state, actions = run(Policy(PolicySettings()), CallBegan(0, announce=True))
    assert actions == [Play("notice", "notice")]
