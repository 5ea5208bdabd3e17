"""What the queries return: frozen rows with the units in their names."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any


def _from(cls: type, row: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})


@dataclass(frozen=True)
class DeviceRow:
    device_id: str
    site: str
    online: int
    state: str
    boot_id: str | None
    firmware: str | None
    model: str | None
    status_s: float | None
    health_json: str | None
    health_s: float | None
    last_seen_s: float | None
    last_incident_s: float | None
    last_incident_type: str | None
    last_incident_call: str | None
    calls_today: int = 0
    incidents_today: int = 0

    @property
    def health(self) -> dict[str, Any]:
        return json.loads(self.health_json) if self.health_json else {}

    @classmethod
    def of(cls, row: dict[str, Any]) -> DeviceRow:
        return _from(cls, row)


@dataclass(frozen=True)
class EventRow:
    event_id: str
    device_id: str
    type: str
    ts_s: float
    call_id: str | None
    seq: int | None
    keyword: str | None
    reason: str | None
    payload: str
    site: str = ""

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload)

    @classmethod
    def of(cls, row: dict[str, Any]) -> EventRow:
        return _from(cls, row)


@dataclass(frozen=True)
class DayCount:
    day: str
    calls: int
    warnings: int
    terminations: int


@dataclass(frozen=True)
class ConfigRow:
    device_id: str
    desired_version: int | None = None
    desired_json: str | None = None
    desired_s: float | None = None
    desired_by: str | None = None
    reported_version: int | None = None
    reported_applied: int | None = None
    reported_errors: str | None = None
    reported_json: str | None = None
    reported_s: float | None = None

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [tuple(e) for e in json.loads(self.reported_errors)] if self.reported_errors else []

    @property
    def in_sync(self) -> bool:
        return (self.desired_version is not None and self.reported_version == self.desired_version
                and bool(self.reported_applied))

    @classmethod
    def of(cls, row: dict[str, Any]) -> ConfigRow:
        return _from(cls, row)


@dataclass(frozen=True)
class CommandRow:
    correlation_id: str
    device_id: str
    name: str
    args_json: str
    sent_by: str
    sent_s: float
    ok: int | None
    result_json: str | None
    answered_s: float | None

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.result_json) if self.result_json else {}

    @classmethod
    def of(cls, row: dict[str, Any]) -> CommandRow:
        return _from(cls, row)


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    password_hash: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> UserRow:
        return _from(cls, row)


@dataclass(frozen=True)
class IncidentFilter:
    site: str = ""
    device_id: str = ""
    day_from: str = ""          # YYYY-MM-DD, inclusive (UTC)
    day_to: str = ""
    keyword: str = ""           # a keyword id, e.g. ko_ssibal
    reason: str = ""            # termination reason or warning level
    kind: str = ""              # "", "warning_started" or "call_terminated"
    before_s: float | None = None   # paging: older than this
