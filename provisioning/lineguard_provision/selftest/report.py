"""Self-test results and the machine-readable report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

REPORT_VERSION = 1


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"      # works, but something needs a look
    FAIL = "fail"
    SKIP = "skip"      # does not apply to this hardware


@dataclass(frozen=True)
class Outcome:
    """What a step found: status, a one-line finding, what to do, measured values."""

    status: Status
    detail: str
    remedy: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    name: str
    title: str
    outcome: Outcome
    duration_s: float

    @property
    def status(self) -> Status:
        return self.outcome.status

    def to_wire(self) -> dict[str, Any]:
        o = self.outcome
        return {"name": self.name, "title": self.title, "status": o.status.value, "detail": o.detail,
                "remedy": o.remedy, "data": o.data, "duration_s": round(self.duration_s, 3)}


@dataclass(frozen=True)
class Report:
    device_id: str
    time: str                  # RFC 3339 UTC
    version: str
    steps: tuple[StepResult, ...]

    @property
    def passed(self) -> bool:
        return all(s.status is not Status.FAIL for s in self.steps)

    def result(self, name: str) -> StepResult:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def to_wire(self) -> dict[str, Any]:
        return {"report_version": REPORT_VERSION, "device_id": self.device_id, "time": self.time,
                "lineguard_version": self.version, "passed": self.passed,
                "steps": [s.to_wire() for s in self.steps]}

    def to_json(self) -> str:
        return json.dumps(self.to_wire(), ensure_ascii=False, indent=2)
