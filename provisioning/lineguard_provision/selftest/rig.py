"""The hardware under test: audio, relay and line sense, real or simulated by config.

The simulated rig is a virtual line on which the installer's test call
happens by itself: two rings with caller ID, the worker answers, the far
end stays on until the relay releases the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lineguard.app import is_simulated, release_ms
from lineguard.audio.port import AudioPort
from lineguard.clock import Clock, RealClock, VirtualClock
from lineguard.audio.resample import StreamingDecimator
from lineguard.config import DETECTOR_RATE_HZ, Settings
from lineguard.events import Direction
from lineguard.line.base import CallerId, Hook, LineEvent, LineMonitor, LineVoltage, LoopCurrent, Ring
from lineguard.relay.base import GuardedRelay

log = logging.getLogger(__name__)

SIM_CALLER = "0212345678"


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    input_channels: int
    output_channels: int


@dataclass
class LineState:
    """What line sense has told us so far."""

    off_hook: bool | None = None
    loop_present: bool | None = None
    voltage: LineVoltage | None = None
    rings: int = 0
    caller_id: CallerId | None = None
    events: list[LineEvent] = field(default_factory=list)

    def apply(self, event: LineEvent) -> None:
        self.events.append(event)
        if isinstance(event, Hook):
            self.off_hook = event.off_hook
        elif isinstance(event, LoopCurrent):
            self.loop_present = event.present
        elif isinstance(event, LineVoltage):
            self.voltage = event
        elif isinstance(event, Ring) and event.active:
            self.rings += 1
        elif isinstance(event, CallerId):
            self.caller_id = event


@dataclass
class Rig:
    """Opened lazily by the steps that need each part; closed (relay released) at the end."""

    settings: Settings
    clock: Clock
    list_devices: Callable[[], list[AudioDevice]]
    make_audio: Callable[[], AudioPort]
    make_relay: Callable[[], GuardedRelay]
    make_monitor: Callable[[], LineMonitor]
    release_ms: int
    line_audio_observers: list = field(default_factory=list)   # caller ID etc. decoded from line audio
    audio: AudioPort | None = None
    relay: GuardedRelay | None = None
    monitor: LineMonitor | None = None
    line: LineState = field(default_factory=LineState)
    _decimator: StreamingDecimator | None = None

    def open_audio(self) -> AudioPort:
        if self.audio is None:
            audio = self.make_audio()
            audio.open()
            self.audio = audio
        return self.audio

    def open_relay(self) -> GuardedRelay:
        if self.relay is None:
            self.relay = self.make_relay()
        return self.relay

    def open_monitor(self) -> LineMonitor:
        if self.monitor is None:
            monitor = self.make_monitor()
            monitor.open()
            self.monitor = monitor
        return self.monitor

    def pump(self, seconds: float) -> np.ndarray:
        """Listen for ``seconds``: capture audio (which paces the clock) and poll line sense."""
        audio, monitor = self.open_audio(), self.open_monitor()
        block = max(1, audio.sample_rate_hz * self.settings.audio.block_ms // 1000)
        blocks = []
        for _ in range(max(1, int(round(seconds * audio.sample_rate_hz / block)))):
            blocks.append(audio.read(block))
            for event in monitor.poll(self.clock.now()):
                self.line.apply(event)
            self._decode_line_audio(blocks[-1])
        return np.concatenate(blocks)

    def _decode_line_audio(self, block: np.ndarray) -> None:
        if not self.line_audio_observers:
            return
        audio = self.audio
        assert audio is not None
        if self._decimator is None:
            self._decimator = StreamingDecimator(audio.sample_rate_hz, DETECTOR_RATE_HZ, audio.channels)
        low = self._decimator.process(block)
        line = low[:, self.settings.audio.far_end_channel if audio.channels == 2 else 0]
        start_s = self.clock.now() - len(line) / DETECTOR_RATE_HZ
        for observer in self.line_audio_observers:
            for event in observer.process(line, start_s):
                self.line.apply(event)

    def wait_until(self, condition: Callable[[LineState], bool], timeout_s: float, step_s: float = 0.1) -> bool:
        """Pump until ``condition(line state)`` holds; False after ``timeout_s``."""
        deadline = self.clock.now() + timeout_s
        while not condition(self.line):
            if self.clock.now() >= deadline:
                return False
            self.pump(step_s)
        return True

    def close(self) -> None:
        """Relay released first (the line stays connected), then everything closed."""
        try:
            if self.relay is not None:
                self.relay.close()
        finally:
            for part in (self.audio, self.monitor):
                if part is not None:
                    part.close()
            self.audio = self.relay = self.monitor = None
            self._decimator = None


def build_rig(settings: Settings) -> Rig:
    """The rig named by the settings' backends (all simulated, or all real)."""
    return simulated_rig(settings) if is_simulated(settings) else hardware_rig(settings)


def simulated_rig(settings: Settings, clock: VirtualClock | None = None, caller: str | None = SIM_CALLER) -> Rig:
    """A virtual line with a test call (``caller`` None: a line without caller ID)."""
    from lineguard.audio.sim import SimulatedAudioPort
    from lineguard.line.profiles import profile_for
    from lineguard.line.virtual import FarEndScript, SimulatedLineMonitor, VirtualLine
    from lineguard.relay.sim import SimulatedRelay

    clock = clock or VirtualClock()
    rate = 8000
    script = FarEndScript(far_audio=np.zeros(rate, np.float32), sample_rate_hz=rate, far_hangs_up=False,
                          direction=Direction.INCOMING, rings=2, caller_number=caller,
                          exchange_release_ms=release_ms(settings))
    line = VirtualLine(clock, script, profile_for(settings.device.country), settings.audio.sample_rate_hz)
    name = "Simulated USB line interface"
    return Rig(settings, clock,
               list_devices=lambda: [AudioDevice(0, name, 2, 1)],
               make_audio=lambda: SimulatedAudioPort(line, clock, settings.audio.channels),
               make_relay=lambda: GuardedRelay(SimulatedRelay(clock, line),
                                               settings.relay.max_energized_ms),
               make_monitor=lambda: SimulatedLineMonitor(line),
               release_ms=release_ms(settings))


def hardware_rig(settings: Settings) -> Rig:
    from lineguard.app import build_line_audio_observers, build_line_monitor
    from lineguard.audio.pyaudio_port import PyAudioPort
    from lineguard.relay.gpio import GpioRelay

    a, clock = settings.audio, RealClock()
    return Rig(settings, clock,
               list_devices=list_pyaudio_devices,
               make_audio=lambda: PyAudioPort(clock, a.sample_rate_hz, a.channels, a.input_device, a.output_device),
               make_relay=lambda: GuardedRelay(GpioRelay(settings.relay.pin, settings.relay.active_high),
                                               settings.relay.max_energized_ms),
               make_monitor=lambda: build_line_monitor(settings),
               release_ms=release_ms(settings), line_audio_observers=build_line_audio_observers(settings))


def list_pyaudio_devices(pyaudio_module=None) -> list[AudioDevice]:
    """Every ALSA/PortAudio device PyAudio sees."""
    from lineguard.audio.pyaudio_port import _pyaudio_module

    mod = pyaudio_module or _pyaudio_module()
    pa = mod.PyAudio()
    try:
        return [AudioDevice(i, str(info.get("name", "")), int(info.get("maxInputChannels", 0)),
                            int(info.get("maxOutputChannels", 0)))
                for i in range(pa.get_device_count()) for info in [pa.get_device_info_by_index(i)]]
    finally:
        pa.terminate()
