"""A gateway on the virtual line with the MQTT agent bound to it (the daemon's wiring)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from lineguard.app import SimulatedRig, build_simulated
from lineguard.clock import VirtualClock
from lineguard.line.virtual import FarEndScript
from lineguard.mqtt.agent import MqttAgent
from lineguard.mqtt.wiring import bind_gateway, create_agent
from tests.fakes import MarkerDetector, murmur
from tests.mqtt.broker import Broker
from tests.mqtt.conftest import device_settings

MARKERS = {"ko_ssibal": 1000.0, "en_killyou": 1500.0}


@dataclass
class Box:
    agent: MqttAgent
    rig: SimulatedRig
    reboots: threading.Event
    detectors_built: list

    def stop(self) -> None:
        self.agent.stop()


def start_box(folder: Path, broker: Broker, device: str, rings: int = 20, call_s: float = 30.0, **mqtt) -> Box:
    """An idle line (the call rings only after ``rings`` cadences) unless ``rings`` is 0."""
    agent, settings = create_agent(device_settings(folder, broker, device, tls=False, **mqtt))
    script = FarEndScript(far_audio=murmur(call_s), sample_rate_hz=8000, rings=rings)
    built: list = []

    def factory(s):
        built.append(s)
        return MarkerDetector(MARKERS)

    rig = build_simulated(settings, script, VirtualClock(), detector=MarkerDetector(MARKERS), sinks=[agent])
    reboots = threading.Event()
    bind_gateway(agent, rig.gateway, reboots.set, detector_factory=factory)
    agent.start()
    assert agent.listening.wait(10), "box did not connect and subscribe"
    return Box(agent, rig, reboots, built)
