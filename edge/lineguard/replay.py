"""Replay: a WAV file as the far end of an answered call, on a virtual clock.

Channel 0 is the line (far end), channel 1, if present, the phone (near
end). Time 0 is the start of the audio. Faster than real time unless
``realtime`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from lineguard.app import SimulatedRig, build_simulated
from lineguard.audio.wavio import read_wav
from lineguard.clock import PacedClock, VirtualClock
from lineguard.config import Settings
from lineguard.events import Direction
from lineguard.gateway import CallAudioSink, EventSink
from lineguard.kws.base import KeywordDetector
from lineguard.line.virtual import FarEndScript

MAX_TAIL_S = 60.0


def replay_settings(settings: Settings, channels: int) -> Settings:
    """The site's settings on the simulated backends, with the WAV's channel count."""
    update = {
        "audio": settings.audio.model_copy(update={"backend": "simulated", "channels": channels}),
        "relay": settings.relay.model_copy(update={"backend": "simulated"}),
        "line": settings.line.model_copy(update={"backend": "simulated"}),
    }
    return settings.model_copy(update=update)


def build_replay(path: Path, settings: Settings, direction: Direction = Direction.INCOMING,
                 realtime: bool = False, detector: KeywordDetector | None = None,
                 sinks: Iterable[EventSink] = (), audio_sinks: Iterable[CallAudioSink] = ()) -> SimulatedRig:
    samples, rate = read_wav(path)
    channels = samples.shape[1]
    script = FarEndScript.from_capture(samples, rate, direction=direction, rings=0, far_leak=0.0, near_leak=0.0)
    # the timeline is virtual; ``ts`` starts at the wall-clock time of the replay
    clock = PacedClock() if realtime else VirtualClock(utc_origin=datetime.now(timezone.utc))
    return build_simulated(replay_settings(settings, channels), script, clock, detector, sinks, audio_sinks)


def run_rig(rig: SimulatedRig) -> None:
    """Run until the call is over and the handset is down (bounded)."""
    audio_s = rig.line.answer_s + len(rig.line.script.far_audio) / rig.line.script.sample_rate_hz
    limit_s = audio_s + MAX_TAIL_S
    rig.gateway.run(lambda gw: rig.finished() or rig.clock.now() > limit_s)
