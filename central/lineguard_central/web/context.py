"""What the pages need: the stores, the MQTT link, the signer and the clock, plus template filters."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from lineguard_central.auth import SessionSigner
from lineguard_central.config import WebSettings
from lineguard_central.link import CentralLink
from lineguard_central.store import Queries, Writer

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "lg_session"


@dataclass
class Console:
    web: WebSettings
    queries: Queries
    writer: Writer
    link: CentralLink | None
    signer: SessionSigner
    clock: Callable[[], float] = time.time
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.filters["ago"] = lambda s: ago(s, self.clock())
        env.filters["when"] = when
        env.filters["clock"] = lambda s: "" if s is None else datetime.fromtimestamp(s, timezone.utc).strftime("%H:%M:%S")
        env.filters["pretty"] = lambda text: json.dumps(json.loads(text), indent=2, ensure_ascii=False) if text else ""
        env.filters["label"] = label
        env.filters["summary"] = summary
        env.filters["duration"] = duration
        env.globals["refresh_ms"] = int(self.web.refresh_s * 1000)

    def today(self) -> str:
        return datetime.fromtimestamp(self.clock(), timezone.utc).strftime("%Y-%m-%d")

    def presence(self, online: int, last_seen_s: float | None) -> str:
        """online / silent (online, but nothing heard lately) / offline."""
        if not online:
            return "offline"
        if last_seen_s is None or self.clock() - last_seen_s > self.web.offline_after_s:
            return "silent"
        return "online"


def ago(epoch_s: float | None, now_s: float) -> str:
    if epoch_s is None:
        return "never"
    delta = max(0, int(now_s - epoch_s))
    for unit_s, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if delta >= unit_s:
            return f"{delta // unit_s} {unit} ago"
    return f"{delta} s ago"


def when(epoch_s: float | None) -> str:
    if epoch_s is None:
        return ""
    return datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


_LABELS = {
    "call_started": "Call started", "call_ended": "Call ended", "keyword_detected": "Keyword heard",
    "warning_started": "Warning", "warning_finished": "Warning finished", "call_terminated": "Terminated",
    "recording_saved": "Recording saved", "status": "Status", "fault": "Fault",
    "call_blocked": "Call blocked", "caller_flagged": "Caller flagged",
}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def summary(result: Any) -> str:
    """A command result on one line: ``key: value`` pairs, one level of nesting flattened."""
    if not isinstance(result, dict):
        return json.dumps(result, ensure_ascii=False)
    parts = []
    for key, value in result.items():
        if isinstance(value, dict):
            parts.extend(f"{k}: {v}" for k, v in value.items())
        else:
            parts.append(f"{key}: {value}")
    return " · ".join(parts)


def label(event_type: str) -> str:
    return _LABELS.get(event_type, event_type.replace("_", " ").capitalize())


def describe(event_type: str, data: dict[str, Any]) -> str:
    """One line for a timeline entry."""
    parts = {
        "call_started": lambda: f"{data.get('direction', '')} call" + (
            f" from {data['caller_id']}" if data.get("caller_id") else "") + (
            f" to {data['dialed_number']}" if data.get("dialed_number") else ""),
        "keyword_detected": lambda: f"“{data.get('keyword')}” on the {data.get('side')} side, "
                                    f"score {data.get('score', 0):.2f}" + ("" if data.get("acted_on", True)
                                                                          else " (not acted on)"),
        "warning_started": lambda: f"{data.get('level')} prompt “{data.get('prompt_id')}”",
        "warning_finished": lambda: f"{data.get('level')} prompt, {data.get('duration_s', 0):.1f} s"
                                    + (" (interrupted)" if data.get("interrupted") else ""),
        "call_terminated": lambda: f"reason {data.get('reason')}" + (
            f", keyword “{data['keyword']}”" if data.get("keyword") else "") + (
            "" if data.get("verified") is None else (", line release verified" if data.get("verified")
                                                      else ", release NOT verified")),
        "call_ended": lambda: f"{data.get('duration_s', 0):.0f} s, ended by {str(data.get('ended_by', '')).replace('_', ' ')}",
        "recording_saved": lambda: f"{data.get('duration_s', 0):.0f} s" + (", encrypted" if data.get("encrypted") else ""),
        "fault": lambda: f"{data.get('component')}: {data.get('message')}",
    }
    make = parts.get(event_type)
    try:
        return make() if make else ""
    except (TypeError, ValueError, KeyError):
        return json.dumps(data, ensure_ascii=False)[:200]
