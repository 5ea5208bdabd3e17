"""Assembly: build a gateway from settings, on the simulated line or on hardware.

Backends are chosen by configuration only. All three of audio, relay and
line are simulated together (the virtual line) or all real.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lineguard.audio.sim import SimulatedAudioPort
from lineguard.clock import Clock
from lineguard.config import Settings
from lineguard.errors import ConfigError
from lineguard.gateway import CallAudioSink, EventSink, Gateway
from lineguard.kws.base import KeywordDetector
from lineguard.callers.memory import CallerMemory
from lineguard.line.base import CAP_SEIZE, LineMonitor
from lineguard.line.profiles import profile_for, site_profile
from lineguard.line.virtual import FarEndScript, SimulatedLineMonitor, VirtualLine
from lineguard.prompts import PromptLibrary
from lineguard.relay.base import GuardedRelay
from lineguard.relay.sim import SimulatedRelay

log = logging.getLogger(__name__)

DEMO_CALL = Path(__file__).parent / "assets" / "demo" / "demo_call.wav"


def is_simulated(settings: Settings) -> bool:
    kinds = {settings.audio.backend == "simulated", settings.relay.backend == "simulated",
             settings.line.backend == "simulated"}
    if len(kinds) > 1:
        raise ConfigError("settings", [("audio/relay/line.backend",
                                        "simulated and real backends cannot be mixed: set all three "
                                        "to 'simulated', or none")])
    return kinds.pop()


def build_detector(settings: Settings) -> KeywordDetector:
    """The TFLite keyword spotter configured for this site."""
    from lineguard.kws.factory import build_detector as factory
    from lineguard.kws.keywords import load_keywords, select_keywords

    d = settings.detector
    enabled = list(d.keywords) if d.keywords else list(d.languages)
    thresholds: dict[str, float] = {}
    if d.default_threshold is not None:
        thresholds = {kw.id: d.default_threshold for kw in select_keywords(load_keywords(), enabled)}
    thresholds.update(d.thresholds)
    return factory(enabled_keywords=enabled, thresholds=thresholds, model_path=d.model_path,
                   refractory_s=d.refractory_s)


def keyword_severities(settings: Settings) -> dict[str, str]:
    """Severity per keyword id: the keyword file's, overridden by the site's policy."""
    from lineguard.kws.keywords import load_keywords

    severities = {kw.id: kw.severity.value for kw in load_keywords()}
    severities.update(settings.policy.severities)
    return severities


def release_ms(settings: Settings) -> int:
    return settings.relay.release_ms or profile_for(settings.device.country).release_ms


@dataclass
class SimulatedRig:
    """A gateway on the virtual line, with the fakes' histories at hand."""

    gateway: Gateway
    line: VirtualLine
    relay: SimulatedRelay
    audio: SimulatedAudioPort
    monitor: SimulatedLineMonitor
    clock: Clock

    def finished(self) -> bool:
        """The call is over and the worker has put the handset down."""
        gone = self.line.released_s is not None or self.line.far_gone_s is not None
        quiet = self.line.idle_after_s is not None and self.clock.now() >= self.line.idle_after_s
        return (gone or quiet) and self.gateway.idle and not self.line.phone_off_hook and not self.relay.energized


def build_simulated(settings: Settings, script: FarEndScript, clock: Clock,
                    detector: KeywordDetector | None = None, sinks: Iterable[EventSink] = (),
                    audio_sinks: Iterable[CallAudioSink] = ()) -> SimulatedRig:
    profile = site_profile(settings)      # the country's, with the site's [line.profile] values
    line = VirtualLine(clock, script, profile, settings.audio.sample_rate_hz)
    audio = SimulatedAudioPort(line, clock, settings.audio.channels)
    relay = SimulatedRelay(clock, line)
    monitor = SimulatedLineMonitor(line)
    gateway = _gateway(settings, clock, audio, GuardedRelay(relay, settings.relay.max_energized_ms),
                       monitor, detector, sinks, audio_sinks)
    return SimulatedRig(gateway, line, relay, audio, monitor, clock)


def build_hardware(settings: Settings, clock: Clock, sinks: Iterable[EventSink] = (),
                   audio_sinks: Iterable[CallAudioSink] = ()) -> Gateway:
    from lineguard.audio.pyaudio_port import PyAudioPort
    from lineguard.relay.gpio import GpioRelay

    a = settings.audio
    audio = PyAudioPort(clock, a.sample_rate_hz, a.channels, a.input_device, a.output_device)
    relay = GuardedRelay(GpioRelay(settings.relay.pin, settings.relay.active_high),
                         settings.relay.max_energized_ms)
    gateway = _gateway(settings, clock, audio, relay, build_line_monitor(settings), None, sinks, audio_sinks)
    gateway.line_audio_observers += build_line_audio_observers(settings)
    return gateway


def build_line_audio_observers(settings: Settings) -> list:
    """Caller ID, DTMF and tones decoded from the line audio (``line.decode_audio``)."""
    if not settings.line.decode_audio:
        return []
    from lineguard.dsp.decoder import LineAudioDecoder

    return [LineAudioDecoder(site_profile(settings))]


def build_line_monitor(settings: Settings) -> LineMonitor:
    """The serial line-sense backend named by ``line.backend``."""
    modules = {"board": "lineguard.line.board", "modem": "lineguard.line.modem"}
    module = importlib.import_module(modules[settings.line.backend])
    return module.open_monitor(settings)


def _gateway(settings: Settings, clock: Clock, audio, relay: GuardedRelay, monitor: LineMonitor,
             detector: KeywordDetector | None, sinks: Iterable[EventSink],
             audio_sinks: Iterable[CallAudioSink]) -> Gateway:
    prompts = PromptLibrary.from_settings(settings, audio.sample_rate_hz)
    prompts.load_all()
    memory = CallerMemory.from_settings(settings.callers, settings.device.country,
                                        can_seize=CAP_SEIZE in monitor.capabilities)
    return Gateway(settings, clock, audio, relay, monitor, detector or build_detector(settings), prompts,
                   keyword_severities(settings), release_ms(settings), sinks, audio_sinks, memory)
