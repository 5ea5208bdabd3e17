"""Event sinks for the terminal: JSON lines, and a live, readable view."""

from __future__ import annotations

import json
import sys
from typing import IO

from rich.console import Console
from rich.text import Text

from lineguard.events import Event


class JsonLinesSink:
    """One JSON object per line per event."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)
        self.stream.write(json.dumps(event.to_wire(), ensure_ascii=False) + "\n")
        self.stream.flush()


class MemorySink:
    """Keeps every event; tests and replays read ``events``."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def of_type(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.TYPE == kind]


_STYLE = {
    "status": "dim", "call_started": "bold green", "keyword_detected": "bold yellow",
    "warning_started": "bold magenta", "warning_finished": "magenta", "call_terminated": "bold red",
    "call_ended": "bold cyan", "recording_saved": "blue", "fault": "bold white on red",
    "caller_flagged": "red", "call_blocked": "bold red",
}


class ConsoleSink:
    """A live, human view of what happens on the line."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)

    def handle(self, event: Event) -> None:
        line = Text(f"{event.time:8.2f}s  ", style="dim")
        line.append(f"{event.TYPE:<17}", style=_STYLE.get(event.TYPE, ""))
        line.append(" " + describe(event))
        self.console.print(line)

    def speech(self, time_s: float, side: str, active: bool) -> None:
        if active:
            who = "caller" if side == "far" else "worker"
            line = Text(f"{time_s:8.2f}s  ", style="dim")
            line.append(f"{'speech':<17} {who} talking ({side} end)", style="italic")
            self.console.print(line)


def describe(event: Event) -> str:
    w = event.to_wire()
    kind = event.TYPE
    if kind == "status":
        return f"{w['state']} {w['detail']}".strip()
    if kind == "call_started":
        who = w.get("caller_id") or w.get("dialed_number") or "unknown number"
        return f"{w['direction']} call, {who}"
    if kind == "keyword_detected":
        note = "" if w["acted_on"] else " (ignored)"
        return f"{w['keyword']} score {w['score']:.2f} from the {w['side']} side [{w['severity']}]{note}"
    if kind in ("warning_started", "warning_finished"):
        return f"{w['level']} prompt '{w['prompt_id']}'"
    if kind == "call_terminated":
        verified = {True: "verified", False: "NOT verified", None: "unverified"}[w["verified"]]
        return f"relay opened, call ended by the gateway: {w['reason']} ({verified})"
    if kind == "call_ended":
        return f"after {w['duration_s']:.1f} s, ended by {w['ended_by']}"
    if kind == "recording_saved":
        return f"{w['path']} ({w['duration_s']:.1f} s)"
    if kind == "fault":
        return f"{w['component']}: {w['message']}"
    if kind == "caller_flagged":
        return f"{w['caller_id']} flagged as a repeat abuser ({w['reason']}, x{w['count']}) until {w['expires_at'][:10]}"
    if kind == "call_blocked":
        how = "answered with the blocked prompt" if w["answered"] else "phone kept from ringing"
        return f"{w['caller_id'] or 'withheld'} blocked by {w['rule']}, {how}"
    return ""
