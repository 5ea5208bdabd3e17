"""What commands, remote settings and updates do to a running gateway.

The MQTT thread never touches a call in progress: new settings are handed to
``Gateway.apply_settings`` (taken between calls), and the line tests
(``play_prompt``, ``relay_test``) are refused unless the line is idle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lineguard.audio.wavio import read_wav
from lineguard.config import Settings
from lineguard.errors import LineGuardError
from lineguard.kws.base import KeywordDetector
from lineguard.prompts import PROMPT_IDS, PromptLibrary

log = logging.getLogger(__name__)

SELFTEST_AUDIO_S = 1.0
DetectorFactory = Callable[[Settings], KeywordDetector]


class Busy(LineGuardError, RuntimeError):
    """The line is in use: the command would disturb a call."""


def default_detector_factory(settings: Settings) -> KeywordDetector:
    from lineguard.app import build_detector
    return build_detector(settings)


def load_and_detect(detector: KeywordDetector) -> int:
    """Run a detector over a second of silence; return the detections (must not raise)."""
    detector.reset()
    found = detector.process(np.zeros(int(SELFTEST_AUDIO_S * detector.sample_rate_hz), np.float32))
    detector.reset()
    return len(found)


def make_self_check(settings: Settings, factory: DetectorFactory = default_detector_factory):
    """The update self-check: a model must load and run; prompts must decode and be known ids."""
    def check(kind: str, folder: Path) -> None:
        if kind == "model":
            models = sorted(folder.glob("*.tflite"))
            if len(models) != 1:
                raise LineGuardError(f"{folder}: expected one .tflite file, found {len(models)}")
            load_and_detect(factory(with_model(settings, models[0])))
        else:
            for wav in sorted(folder.glob("*.wav")):
                if wav.stem not in PROMPT_IDS:
                    raise LineGuardError(f"{wav.name}: not a prompt id ({', '.join(PROMPT_IDS)})")
                read_wav(wav)
    return check


def with_model(settings: Settings, model_path: Path) -> Settings:
    return settings.model_copy(update={"detector": settings.detector.model_copy(update={"model_path": model_path})})


class GatewayControl:
    """Carries out device commands on one gateway."""

    def __init__(self, gateway, reboot: Callable[[], None],
                 detector_factory: DetectorFactory = default_detector_factory) -> None:
        self.gateway = gateway
        self._reboot = reboot
        self.detector_factory = detector_factory
        self._line_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self.gateway.settings

    def backends(self) -> dict[str, str]:
        s = self.settings
        return {"audio": s.audio.backend, "line": s.line.backend, "relay": s.relay.backend,
                "relay_state": "open" if self.gateway.relay.energized else "closed",
                "call": "active" if not self.gateway.idle else "idle"}

    def apply_settings(self, settings: Settings) -> None:
        """Validate by building what the settings need, then hand them to the gateway."""
        from lineguard.app import keyword_severities
        detector = None
        if settings.detector != self.settings.detector:
            detector = self.detector_factory(settings)
            load_and_detect(detector)
        self.gateway.apply_settings(settings, detector=detector, severities=keyword_severities(settings))

    def selftest(self) -> dict[str, Any]:
        checks: dict[str, str] = {}
        checks["detector"] = _try(lambda: f"ok ({load_and_detect(self.detector_factory(self.settings))} "
                                          f"detections on silence)")
        checks["prompts"] = _try(lambda: f"ok ({sum(1 for p in PROMPT_IDS if self.gateway.prompts.get(p).size)})")
        checks["relay"] = "ok (closed)" if not self.gateway.relay.energized else "error: relay is open"
        return {"ok": all(v.startswith("ok") for v in checks.values()), "checks": checks,
                "backends": self.backends()}

    def play_prompt(self, prompt_id: str) -> dict[str, Any]:
        with self._idle_line():
            samples = self.gateway.prompts.get(prompt_id)
            playback = self.gateway.audio.play(prompt_id, samples)
            return {"prompt_id": prompt_id, "duration_s": round(playback.end_s - playback.start_s, 3)}

    def relay_test(self, open_ms: int) -> dict[str, Any]:
        with self._idle_line():
            relay, clock = self.gateway.relay, self.gateway.clock
            relay.energize(clock.now())
            try:
                time.sleep(open_ms / 1000.0)
            finally:
                relay.release()
            return {"open_ms": open_ms, "relay_state": "closed" if not relay.energized else "open"}

    def reboot(self) -> None:
        self._reboot()

    def use_update(self, kind: str, folder: Path) -> None:
        """Switch the gateway to a freshly installed model or prompt set (between calls)."""
        if kind == "model":
            self.apply_settings(with_model(self.settings, next(folder.glob("*.tflite"))))
        else:
            old = self.gateway.prompts
            overrides = {wav.stem: wav for wav in folder.glob("*.wav")}
            prompts = PromptLibrary(old.language, old.device_rate_hz, old.level_dbfs, overrides, old.bundled_dir)
            prompts.load_all()
            self.gateway.prompts = prompts

    def _idle_line(self):
        if not self.gateway.idle:
            raise Busy("a call is in progress: try again when the line is idle")
        if not self._line_lock.acquire(blocking=False):
            raise Busy("another line test is running")
        return _Release(self._line_lock)


class _Release:
    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _try(check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:   # a selftest reports every failure instead of stopping at the first
        return f"error: {exc}"
