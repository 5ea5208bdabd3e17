"""The retained ``health`` document: uptime, CPU, memory, disk, temperature, backends, outbox."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from lineguard import __version__
from lineguard.clock import rfc3339
from lineguard.events import Event

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
INCIDENT_EVENTS = frozenset({"call_terminated", "keyword_detected"})


class HealthSampler:
    """Builds health documents; also counts today's calls and the last incident from the events."""

    def __init__(self, boot_id: str, outbox_depth: Callable[[], int], disk_path: Path,
                 backends: Callable[[], dict[str, str]] = dict,
                 model_version: Callable[[], str] = lambda: "shipped") -> None:
        self.boot_id = boot_id
        self.outbox_depth = outbox_depth
        self.disk_path = Path(disk_path)
        self.backends = backends
        self.model_version = model_version
        self.started_monotonic_s = time.monotonic()
        self.calls_today = 0
        self.last_incident: str | None = None
        self._day = _today()
        self._process = psutil.Process()
        self._process.cpu_percent(None)   # prime: the next call measures since now

    def observe(self, event: Event) -> None:
        if _today() != self._day:
            self._day, self.calls_today = _today(), 0
        if event.TYPE == "call_started":
            self.calls_today += 1
        elif event.TYPE in INCIDENT_EVENTS:
            self.last_incident = event.ts or rfc3339(datetime.now(timezone.utc))

    def sample(self) -> dict[str, Any]:
        memory = psutil.virtual_memory()
        disk = shutil.disk_usage(_existing_parent(self.disk_path))
        return {
            "ts": rfc3339(datetime.now(timezone.utc)),
            "boot_id": self.boot_id,
            "firmware": __version__,
            "model_version": self.model_version(),
            "uptime_s": round(time.monotonic() - self.started_monotonic_s, 1),
            "system_uptime_s": round(time.time() - psutil.boot_time(), 1),
            "cpu_percent": psutil.cpu_percent(None),
            "process_cpu_percent": self._process.cpu_percent(None),
            "memory_percent": memory.percent,
            "process_rss_mb": round(self._process.memory_info().rss / 2**20, 1),
            "disk_free_mb": round(disk.free / 2**20, 1),
            "disk_percent": round(100.0 * disk.used / disk.total, 1) if disk.total else 0.0,
            "temperature_c": read_temperature_c(),
            "backends": dict(self.backends()),
            "outbox_depth": self.outbox_depth(),
            "calls_today": self.calls_today,
            "last_incident": self.last_incident,
        }


def read_temperature_c() -> float | None:
    """SoC temperature (Raspberry Pi thermal zone), or psutil's first sensor; None when unknown."""
    try:
        return round(int(THERMAL_ZONE.read_text().strip()) / 1000.0, 1)
    except (OSError, ValueError):
        pass
    sensors = getattr(psutil, "sensors_temperatures", lambda: {})() or {}
    for readings in sensors.values():
        if readings:
            return round(float(readings[0].current), 1)
    return None


def _existing_parent(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()
