"""``lineguard run``: the gateway as a long-running service.

On the simulated line it plays the bundled demo call (ringing, answer,
abuse, warning, hang-up) and shows it live. On hardware it runs until
SIGTERM/SIGINT. Either way the relay is released on every exit path.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
import signal
import threading
from types import FrameType

from lineguard.app import DEMO_CALL, build_hardware, build_simulated, is_simulated
from lineguard.audio.wavio import read_wav
from lineguard.button import GpioButton
from lineguard.callers.clips import clip_capture_from_settings
from lineguard.clock import PacedClock, RealClock, VirtualClock
from lineguard.config import Settings
from lineguard.events import Direction
from lineguard.gateway import EventSink
from lineguard.line.virtual import FarEndScript
from lineguard.mqtt.wiring import attach_mqtt, create_agent, restart_code, stop_mqtt
from lineguard.recording.recorder import Recorder
from lineguard.relay import failsafe
from lineguard.sdnotify import Notifier
from lineguard.sinks import ConsoleSink, JsonLinesSink

log = logging.getLogger(__name__)

DEMO_CALLER = "010-2345-6789"


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop checks it every block."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self, signum: int = 0, _frame: FrameType | None = None) -> None:
        log.info("signal %s: stopping", signum)
        self._event.set()

    def __call__(self, *_args: object) -> bool:
        return self._event.is_set()


def run_daemon(settings: Settings, fast: bool = False, as_json: bool = False) -> int:
    stop = StopFlag()
    notifier = Notifier()
    previous = {sig: signal.signal(sig, stop.set) for sig in (signal.SIGTERM, signal.SIGINT)}
    sinks: list[EventSink] = [JsonLinesSink() if as_json else ConsoleSink()]
    audio_sinks = [Recorder.from_settings(settings)] if settings.recording.enabled else []
    for recorder in audio_sinks:
        recorder.recover()            # finish recordings cut off by a crash or power cut
        sinks.append(recorder)        # it keeps each call's events for the evidence bundle
    clips = clip_capture_from_settings(settings)
    if clips is not None:             # short clips around detections, for review and retraining
        sinks.append(clips)
        audio_sinks.append(clips)
    if settings.mqtt.enabled:         # events to the broker via the on-disk outbox; remote settings
        agent, settings = create_agent(settings)
        sinks.append(agent)
    try:
        if is_simulated(settings):
            return _run_demo(settings, fast, stop, sinks, audio_sinks)
        gateway = build_hardware(settings, RealClock(), sinks, audio_sinks)
        undo_failsafe = failsafe.install(gateway.relay)   # signals and exit release the relay at once
        button = GpioButton(settings.relay.button_pin, gateway.manual_trigger) \
            if settings.relay.button_pin is not None else None
        try:
            attach_mqtt(sinks, gateway, reboot=stop.set)
            gateway.run(with_heartbeat(stop, notifier))
        finally:
            undo_failsafe()
            if button is not None:
                button.close()
        return restart_code(sinks)   # 75 after a remote reboot: systemd (Restart=on-failure) starts it again
    finally:
        notifier.stopping()
        for recorder in audio_sinks:
            recorder.close()          # a call cut by the stop keeps everything written (recovered at start)
        stop_mqtt(sinks)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def with_heartbeat(until, notifier: Notifier):
    """The loop's stop check, also telling systemd READY=1 and pinging its watchdog."""
    def check(gateway) -> bool:
        notifier.heartbeat()
        return until(gateway)
    return check


def _run_demo(settings: Settings, fast: bool, stop: StopFlag, sinks, audio_sinks) -> int:
    # the demo caller would be flagged by the first run: keep demo flags in memory so every run is the same
    settings = settings.model_copy(update={"callers": settings.callers.model_copy(update={"flags_db": ":memory:"})})
    path = settings.demo.audio or DEMO_CALL
    samples, rate = read_wav(path)
    script = FarEndScript.from_capture(samples, rate, direction=Direction.INCOMING, rings=settings.demo.rings,
                                       caller_number=DEMO_CALLER)
    clock = VirtualClock(utc_origin=datetime.now(timezone.utc)) if fast or not settings.demo.realtime else PacedClock()
    rig = build_simulated(settings, script, clock, sinks=sinks, audio_sinks=audio_sinks)
    attach_mqtt(sinks, rig.gateway, reboot=stop.set)
    limit_s = rig.line.answer_s + len(samples) / rate + 60.0
    rig.gateway.run(lambda gw: stop() or rig.finished() or clock.now() > limit_s)
    return 0
