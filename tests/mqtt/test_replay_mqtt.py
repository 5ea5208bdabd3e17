"""`lineguard replay … --mqtt URL --device-id ID` publishes the call's events (plus status) as the box would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from lineguard.app import DEMO_CALL
from lineguard.audio.wavio import write_wav
from lineguard.config import Settings
from lineguard.errors import DeviceError
from lineguard.kws.factory import default_model_path
from lineguard.mqtt.wiring import finish_replay, replay_agent
from lineguard.replay import build_replay, run_rig
from lineguard.sinks import MemorySink
from tests.fakes import MarkerDetector, murmur, timeline, tone
from tests.mqtt.broker import Central, events, free_port
from tests.mqtt.conftest import device_settings
from tests.mqtt.rig import MARKERS

SCHEMA = json.loads((Path(__import__("lineguard.mqtt.agent").mqtt.__file__).parent / "schemas" / "event.json")
                    .read_text())


def test_replayed_call_reaches_the_broker(tmp_path, broker):
    central = Central(broker, topic="lineguard/v1/box-a/#", client_id="central-replay")
    wav = tmp_path / "call.wav"
    write_wav(wav, timeline(murmur(2), tone(1000, 0.5), murmur(8, seed=2), tone(1000, 0.5), murmur(6, seed=3)), 8000)
    settings = device_settings(tmp_path, broker, "box-a", tls=True)
    agent = replay_agent(settings, broker.tls_url, "box-a").start()
    memory = MemorySink()
    try:
        run_rig(build_replay(wav, settings, detector=MarkerDetector(MARKERS), sinks=[memory, agent]))
        finish_replay(agent)
        got = central.collect(lambda m: len(events(m)) >= len(memory.events) and
                              any(b'"offline"' in x.payload for x in m
                                  if x.topic.endswith("/status") and not x.retain), 15)
    finally:
        central.close()
    evts = events(got)
    assert [e["event_id"] for e in evts] == [e.event_id for e in memory.events]
    assert "call_terminated" in [e["type"] for e in evts]
    for e in evts:
        jsonschema.validate(e, SCHEMA)
    states = [json.loads(m.payload)["state"] for m in got if m.topic == "lineguard/v1/box-a/status" and not m.retain]
    assert states[0] == "online" and states[-1] == "offline"


def test_unreachable_broker_is_an_error_not_silence(tmp_path):
    settings = Settings()
    agent = replay_agent(settings, f"mqtt://127.0.0.1:{free_port()}", "box-a").start()
    agent.handle(__import__("lineguard.events", fromlist=["Status"]).Status(time=0, state="idle"))
    with pytest.raises(DeviceError, match="1 events not acknowledged"):
        finish_replay(agent, drain_s=0.5)


def test_cli_replay_with_the_shipped_model(tmp_path, broker):
    if not default_model_path().is_file():
        pytest.skip("the keyword model is not built yet (make model)")
    settings = device_settings(tmp_path, broker, "box-a", tls=False)
    config = tmp_path / "lineguard.toml"
    config.write_text(f'[mqtt]\npassword_file = "{settings.mqtt.password_file}"\n')
    central = Central(broker, topic="lineguard/v1/box-a/evt/#", client_id="central-cli")
    try:
        out = subprocess.run([sys.executable, "-m", "lineguard.cli", "replay", str(DEMO_CALL), "--json",
                              "--config", str(config), "--mqtt", broker.url, "--device-id", "box-a"],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        printed = [json.loads(line)["event_id"] for line in out.splitlines()]
        got = events(central.collect(lambda m: len(events(m)) >= len(printed), 15))
    finally:
        central.close()
    assert [e["event_id"] for e in got] == printed
