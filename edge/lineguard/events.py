"""The event contract: one frozen dataclass per event type.

Every event has ``type``, ``time`` (seconds on the gateway's clock; in a
replay, seconds since the start of the audio), ``call_id`` and a unique
``event_id``; on the device it also carries ``ts`` (UTC RFC 3339).
Later features add fields, never rename them. ``to_wire`` / ``from_wire``
are the only way events become JSON and back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from ulid import ULID

from lineguard.errors import ProtocolError


def new_id() -> str:
    """A new unique, time-ordered identifier (ULID, 26 characters)."""
    return str(ULID())


class Direction(str, Enum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class Side(str, Enum):
    FAR = "far"      # the caller / called party, on the line
    NEAR = "near"    # the worker, on the desk phone
    LINE = "line"    # one channel only: both parties mixed; treated as far


class TerminationReason(str, Enum):
    ABUSE = "abuse"
    THREAT = "threat"
    DURATION = "duration"
    MANUAL = "manual"


class EndedBy(str, Enum):
    FAR_END = "far_end"
    NEAR_END = "near_end"
    GATEWAY = "gateway"
    UNKNOWN = "unknown"


_REGISTRY: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events. Subclasses set ``TYPE``."""

    TYPE: ClassVar[str] = ""

    time: float
    call_id: str | None = None
    event_id: str = field(default_factory=new_id)
    ts: str | None = None
    seq: int | None = None        # per-device sequence, stamped by the MQTT outbox
    boot_id: str | None = None    # the boot that produced it, stamped by the MQTT outbox

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TYPE:
            _REGISTRY[cls.TYPE] = cls

    @property
    def type(self) -> str:
        return self.TYPE

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready dict: enums become their values, ``time`` is rounded to ms."""
        out: dict[str, Any] = {"type": self.TYPE}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, float):
                value = round(value, 3)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def replace(self, **changes: Any) -> Event:
        return dataclasses.replace(self, **changes)


def from_wire(data: dict[str, Any]) -> Event:
    """Rebuild an event from its wire form; unknown fields are an error."""
    if not isinstance(data, dict):
        raise ProtocolError(f"event must be an object, got {type(data).__name__}")
    kind = data.get("type")
    cls = _REGISTRY.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ProtocolError(f"unknown event type {kind!r}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    extra = set(data) - set(names) - {"type"}
    if extra:
        raise ProtocolError(f"{kind}: unknown fields {sorted(extra)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name == "type":
            continue
        kwargs[name] = _coerce(cls, name, value)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ProtocolError(f"{kind}: {exc}") from exc


_ENUM_FIELDS: dict[str, type[Enum]] = {
    "direction": Direction,
    "side": Side,
    "reason": TerminationReason,
    "ended_by": EndedBy,
}


def _coerce(cls: type[Event], name: str, value: Any) -> Any:
    enum_type = _ENUM_FIELDS.get(name)
    if enum_type is not None and value is not None:
        try:
            return enum_type(value)
        except ValueError as exc:
            raise ProtocolError(f"{cls.TYPE}.{name}: {exc}") from exc
    if isinstance(value, list):
        return tuple(value)
    return value


@dataclass(frozen=True, kw_only=True)
class CallStarted(Event):
    TYPE: ClassVar[str] = "call_started"
    direction: Direction
    caller_id: str | None = None
    caller_name: str | None = None
    dialed_number: str | None = None


@dataclass(frozen=True, kw_only=True)
class KeywordDetected(Event):
    TYPE: ClassVar[str] = "keyword_detected"
    keyword: str
    score: float
    side: Side
    severity: str = "abuse"
    acted_on: bool = True


@dataclass(frozen=True, kw_only=True)
class WarningStarted(Event):
    TYPE: ClassVar[str] = "warning_started"
    level: str          # "notice", "warning", "final", "long_call", ...
    prompt_id: str
    language: str = "ko"


@dataclass(frozen=True, kw_only=True)
class WarningFinished(Event):
    TYPE: ClassVar[str] = "warning_finished"
    level: str
    prompt_id: str
    duration_s: float = 0.0
    interrupted: bool = False


@dataclass(frozen=True, kw_only=True)
class CallTerminated(Event):
    TYPE: ClassVar[str] = "call_terminated"
    reason: TerminationReason
    keyword: str | None = None
    verified: bool | None = None   # None: no line sense to verify with
    attempts: int = 1


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    TYPE: ClassVar[str] = "call_ended"
    duration_s: float
    ended_by: EndedBy


@dataclass(frozen=True, kw_only=True)
class RecordingSaved(Event):
    TYPE: ClassVar[str] = "recording_saved"
    path: str
    duration_s: float
    sha256: str
    encrypted: bool = False
    evidence_dir: str | None = None   # the evidence bundle holding it (terminated calls)


@dataclass(frozen=True, kw_only=True)
class Status(Event):
    TYPE: ClassVar[str] = "status"
    state: str          # "online", "ringing", "idle", "stopping", ...
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Fault(Event):
    TYPE: ClassVar[str] = "fault"
    component: str      # "audio", "relay", "line", "detector", "recorder", "outbox", ...
    message: str
    recovered: bool = False


EVENT_TYPES: dict[str, type[Event]] = _REGISTRY


@dataclass(frozen=True, kw_only=True)
class CallBlocked(Event):
    TYPE: ClassVar[str] = "call_blocked"
    caller_id: str | None
    rule: str               # the list entry that matched, "withheld_policy" or "repeat_abuser"
    answered: bool = False  # the box seized the line, played the blocked prompt and hung up


@dataclass(frozen=True, kw_only=True)
class CallerFlagged(Event):
    TYPE: ClassVar[str] = "caller_flagged"
    caller_id: str
    reason: str
    expires_at: str
    count: int = 1
