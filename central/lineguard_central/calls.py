"""Realistic call scripts for the simulated gateways: what a real box reports, in order, with timing."""

from __future__ import annotations

import random
from dataclasses import dataclass

from lineguard.events import (
    CallEnded, CallStarted, CallTerminated, Direction, EndedBy, Event, KeywordDetected, RecordingSaved, Side,
    TerminationReason, WarningFinished, WarningStarted, new_id,
)

ABUSE_KEYWORDS = ("ko_ssibal", "ko_gaesaekki", "ko_byeongsin", "ko_michinnom", "ko_jiral", "ko_kkeojyeo",
                  "ko_ttorai", "en_fuck", "en_shutup", "en_idiot")
THREAT_KEYWORDS = ("ko_jugyeo", "en_killyou")
WARNING_PROMPT_S = 4.2
FINAL_PROMPT_S = 5.0


@dataclass(frozen=True)
class Scripted:
    offset_s: float         # seconds after the call started
    event: Event


def _number(rng: random.Random) -> str:
    return f"010{rng.randrange(10**8):08d}"


def script_call(rng: random.Random, kind: str | None = None) -> list[Scripted]:
    """One call: ``normal``, ``warned``, ``terminated`` or ``threat`` (random by share when None)."""
    kind = kind or rng.choices(("normal", "warned", "terminated", "threat"), (70, 15, 12, 3))[0]
    call_id = new_id()
    direction = Direction.OUTGOING if rng.random() < 0.2 else Direction.INCOMING
    started = CallStarted(time=0.0, call_id=call_id, direction=direction,
                          caller_id=None if direction is Direction.OUTGOING else _number(rng),
                          dialed_number=_number(rng) if direction is Direction.OUTGOING else None)
    out = [Scripted(0.0, started)]
    t = rng.uniform(8.0, 40.0)
    if kind == "normal":
        end_s = t + rng.uniform(20.0, 240.0)
        out.append(Scripted(end_s, CallEnded(time=end_s, call_id=call_id, duration_s=end_s,
                                             ended_by=rng.choice((EndedBy.FAR_END, EndedBy.NEAR_END)))))
    else:
        out += _incident(rng, call_id, kind, t)
    end_s = out[-1].offset_s
    out.append(Scripted(end_s + 0.4, RecordingSaved(
        time=end_s + 0.4, call_id=call_id, path=f"recordings/{call_id}.wav.enc", duration_s=round(end_s, 1),
        sha256=f"{rng.getrandbits(256):064x}", encrypted=True)))
    return out


def _incident(rng: random.Random, call_id: str, kind: str, t: float) -> list[Scripted]:
    out: list[Scripted] = []
    threat = kind == "threat"
    keyword = rng.choice(THREAT_KEYWORDS if threat else ABUSE_KEYWORDS)

    def heard(at_s: float, word: str) -> None:
        out.append(Scripted(at_s, KeywordDetected(time=at_s, call_id=call_id, keyword=word,
                                                  score=round(rng.uniform(0.72, 0.98), 3), side=Side.FAR,
                                                  severity="threat" if word in THREAT_KEYWORDS else "abuse")))

    def warn(at_s: float, level: str, length_s: float) -> float:
        out.append(Scripted(at_s + 0.3, WarningStarted(time=at_s + 0.3, call_id=call_id, level=level,
                                                         prompt_id=level)))
        out.append(Scripted(at_s + 0.3 + length_s, WarningFinished(
            time=at_s + 0.3 + length_s, call_id=call_id, level=level, prompt_id=level, duration_s=length_s)))
        return at_s + 0.3 + length_s

    heard(t, keyword)
    if not threat:
        t = warn(t, "warning", WARNING_PROMPT_S)
        if kind == "warned":
            end_s = t + rng.uniform(10.0, 90.0)
            out.append(Scripted(end_s, CallEnded(time=end_s, call_id=call_id, duration_s=end_s,
                                                 ended_by=EndedBy.FAR_END)))
            return out
        t += rng.uniform(4.0, 25.0)
        keyword = rng.choice(ABUSE_KEYWORDS)
        heard(t, keyword)
    t = warn(t, "final", FINAL_PROMPT_S)
    reason = TerminationReason.THREAT if threat else TerminationReason.ABUSE
    out.append(Scripted(t + 0.2, CallTerminated(time=t + 0.2, call_id=call_id, reason=reason, keyword=keyword,
                                                 verified=True)))
    out.append(Scripted(t + 2.2, CallEnded(time=t + 2.2, call_id=call_id, duration_s=t + 2.2,
                                           ended_by=EndedBy.GATEWAY)))
    return out
