"""Run the self-test steps in order, one at a time, and build the report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lineguard import __version__
from lineguard.clock import rfc3339
from lineguard.errors import LineGuardError
from lineguard_provision.selftest import steps_line, steps_system
from lineguard_provision.selftest.context import Context
from lineguard_provision.selftest.report import Outcome, Report, Status, StepResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    check: Callable[[Context], Outcome]
    remedy: str            # what to do when the step itself errors out


STEPS: tuple[Step, ...] = (
    Step("audio", "Audio interface", steps_line.check_audio_devices,
         "Plug in the USB audio interface; check `arecord -l`."),
    Step("line", "Line present", steps_line.check_line_present,
         "Check the line-sense board's USB cable and line.port."),
    Step("ring", "Ring and caller ID (test call)", steps_line.check_ring_and_caller_id,
         "Call this line from a mobile phone and answer the desk phone."),
    Step("loopback", "Loopback level calibration", steps_line.check_loopback,
         "Check audio.output_device and the transformer wiring."),
    Step("relay", "Relay click and loop drop", steps_line.check_relay,
         "Check relay.pin, relay.active_high and the relay module's power."),
    Step("mqtt", "MQTT connect and round-trip", steps_system.check_mqtt,
         "Check [mqtt] url and credential files in the config."),
    Step("model", "Keyword model on a bundled clip", steps_system.check_model,
         "Reinstall LineGuard or set detector.model_path."),
    Step("clock", "Clock synchronized", steps_system.check_clock, "Check `timedatectl`."),
    Step("disk", "Disk space", steps_system.check_disk, "Free space on the SD card."),
)
STEP_NAMES = tuple(s.name for s in STEPS)


class StepObserver:
    """Receives progress (the terminal display implements it)."""

    def started(self, step: Step, index: int, total: int) -> None: ...

    def finished(self, result: StepResult) -> None: ...


def select_steps(only: Sequence[str] = ()) -> list[Step]:
    unknown = sorted(set(only) - set(STEP_NAMES))
    if unknown:
        raise LineGuardError(f"unknown self-test step(s) {', '.join(unknown)}; choose from {', '.join(STEP_NAMES)}")
    return [s for s in STEPS if not only or s.name in only]


def run_selftest(ctx: Context, only: Sequence[str] = (), observer: StepObserver | None = None) -> Report:
    """Run the chosen steps; the relay is released and every device closed afterwards."""
    steps = select_steps(only)
    observer = observer or StepObserver()
    results = []
    try:
        for index, step in enumerate(steps):
            observer.started(step, index, len(steps))
            result = run_step(ctx, step)
            results.append(result)
            observer.finished(result)
    finally:
        ctx.rig.close()
    report = Report(ctx.settings.device.id, rfc3339(ctx.utc_now()), __version__, tuple(results))
    if ctx.mqtt_client is not None:
        try:
            ctx.shared["published"] = steps_system.publish_report(ctx, report)
        finally:
            steps_system.close_mqtt(ctx.mqtt_client[0])
            ctx.mqtt_client = None
    return report


def run_step(ctx: Context, step: Step) -> StepResult:
    started = time.monotonic()
    try:
        outcome = step.check(ctx)
    except (LineGuardError, OSError, ValueError, RuntimeError) as exc:
        log.warning("self-test step %s failed: %s", step.name, exc)
        outcome = Outcome(Status.FAIL, f"{type(exc).__name__}: {exc}", step.remedy)
    return StepResult(step.name, step.title, outcome, time.monotonic() - started)
