"""Broken hardware for the self-test's failure paths, passed in through the rig's factories."""

from __future__ import annotations

import numpy as np

from lineguard.line.base import LineVoltage
from lineguard.relay.base import GuardedRelay
from lineguard.relay.sim import SimulatedRelay


class FilteredMonitor:
    """A line monitor that never reports some observations (e.g. a dead ring detector)."""

    def __init__(self, inner, drop: tuple[type, ...], capabilities: frozenset[str] | None = None) -> None:
        self.inner = inner
        self.drop = drop
        self.capabilities = inner.capabilities if capabilities is None else capabilities

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def poll(self, now_s: float):
        return [e for e in self.inner.poll(now_s) if not isinstance(e, self.drop)]


class VoltageMonitor:
    """Line sense that reports the line voltage once, and nothing else."""

    capabilities = frozenset()

    def __init__(self, volts: float) -> None:
        self.volts = volts
        self.sent = False

    def open(self) -> None: ...

    def close(self) -> None: ...

    def poll(self, now_s: float):
        if self.sent:
            return []
        self.sent = True
        return [LineVoltage(now_s, self.volts, self.volts > 20.0)]


class ScaledAudio:
    """An audio port whose output is lost (``play_gain`` 0) or whose capture is too hot."""

    def __init__(self, inner, play_gain: float = 1.0, capture_gain: float = 1.0) -> None:
        self.inner = inner
        self.play_gain = play_gain
        self.capture_gain = capture_gain
        self.sample_rate_hz = inner.sample_rate_hz
        self.channels = inner.channels
        self.played: list[str] = []

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def read(self, frames: int) -> np.ndarray:
        return self.inner.read(frames) * self.capture_gain

    def play(self, prompt_id: str, samples: np.ndarray):
        self.played.append(prompt_id)
        return self.inner.play(prompt_id, samples * self.play_gain)

    def stop_playback(self) -> None:
        self.inner.stop_playback()

    def is_playing(self) -> bool:
        return self.inner.is_playing()


def unwired_relay(rig) -> None:
    """The relay clicks but its contacts are not in the loop."""
    relays = []

    def make() -> GuardedRelay:
        relay = SimulatedRelay(rig.clock, None)
        relays.append(relay)
        return GuardedRelay(relay, rig.settings.relay.max_energized_ms)

    rig.make_relay = make
    rig.fake_relays = relays
