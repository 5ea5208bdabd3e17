"""What the steps share: the rig, options, and the system probes they use (passed in, so tests can)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lineguard.config import Settings
from lineguard.kws.base import KeywordDetector
from lineguard_provision.selftest.rig import Rig


@dataclass(frozen=True)
class SelftestOptions:
    line_wait_s: float = 3.0          # listen this long for line voltage
    ring_timeout_s: float = 120.0     # the installer calls the line within this
    answer_timeout_s: float = 60.0    # ... and answers the desk phone within this
    tone_hz: float = 1000.0
    tone_s: float = 1.0
    target_echo_dbfs: float = -24.0   # loopback level the output gain is set for
    min_echo_over_noise_db: float = 10.0
    loop_drop_timeout_s: float = 0.6  # line sense must see the loop open within this
    mqtt_timeout_s: float = 10.0
    min_free_mb: float = 1024.0


@dataclass(frozen=True)
class ClockSync:
    synchronized: bool | None         # None: cannot tell
    source: str


@dataclass(frozen=True)
class Clip:
    """Audio at the detector's rate on which the model must detect something."""

    samples: np.ndarray
    sample_rate_hz: int
    name: str


@dataclass
class Context:
    settings: Settings
    rig: Rig
    options: SelftestOptions = SelftestOptions()
    make_detector: Callable[[], KeywordDetector] | None = None
    load_clip: Callable[[], Clip] | None = None
    clock_probe: Callable[[], ClockSync] | None = None
    utc_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    disk_usage: Callable[[Path], Any] = shutil.disk_usage
    mqtt_client: Any = None           # kept open by the MQTT step to publish the report
    shared: dict[str, Any] = field(default_factory=dict)


def default_detector(settings: Settings) -> KeywordDetector:
    from lineguard.app import build_detector
    return build_detector(settings)


def demo_clip(rate_hz: int = 8000) -> Clip:
    """The far-end channel of the bundled demo call (it contains abuse)."""
    from lineguard.app import DEMO_CALL
    from lineguard.audio.resample import to_rate
    from lineguard.audio.wavio import read_wav

    samples, rate = read_wav(DEMO_CALL)
    return Clip(to_rate(samples[:, 0], rate, rate_hz), rate_hz, DEMO_CALL.name)


def system_clock_sync() -> ClockSync:
    """NTP sync as systemd sees it (``timedatectl``), else timesyncd's flag file."""
    exe = shutil.which("timedatectl")
    if exe is not None:
        done = subprocess.run([exe, "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                              text=True, check=False, timeout=10)
        if done.returncode == 0 and done.stdout.strip() in ("yes", "no"):
            return ClockSync(done.stdout.strip() == "yes", "timedatectl")
    if Path("/run/systemd/timesync/synchronized").exists():
        return ClockSync(True, "systemd-timesyncd")
    return ClockSync(None, "no timedatectl or timesyncd state")
