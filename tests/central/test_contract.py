"""What the simulated gateways and the console put on the wire follows the device's JSON Schemas (docs/mqtt.md)."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

import lineguard
from tests.central.conftest import wait_for

SCHEMAS = Path(lineguard.__file__).resolve().parent / "mqtt" / "schemas"
SCHEMA_OF = {"status": "status.json", "health": "health.json", "evt": "event.json", "cfg/desired": "cfg_desired.json",
             "cfg/reported": "cfg_reported.json", "resp": "cmd_response.json", "cmd": "cmd_request.json"}


def _schema_for(topic: str, root: str) -> str:
    rest = topic[len(root) + 1:]
    key = rest if rest in SCHEMA_OF else rest.split("/")[0]
    return SCHEMA_OF[key]


def test_every_message_follows_the_device_schemas(central, gateway_factory, broker, device_mqtt):
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMAS.is_dir():
        pytest.skip("device JSON Schemas not present")
    seen: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    device_id = f"gw-{uuid.uuid4().hex[:6]}"
    root = f"lineguard/v1/{device_id}"
    spy = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    spy.on_message = lambda c, u, m: (lock.acquire(), seen.append((m.topic, m.payload)), lock.release())
    spy.connect("127.0.0.1", broker.port)
    spy.subscribe(f"{root}/#", qos=1)
    spy.loop_start()
    try:
        gateway = gateway_factory(device_id)
        gateway.play_call(kind="terminated", speed=1e6)
        central.link.publish_desired(device_id, {"policy": {"warnings_before_final": 2}}, "operator")
        central.link.send_command(device_id, "selftest", {}, "operator")
        central.link.send_command(device_id, "relay_test", {"open_ms": 5}, "operator")
        wait_for(lambda: {t.split("/", 3)[3].split("/")[0] for t, _ in seen} >= {"status", "health", "evt", "cfg",
                                                                                   "cmd", "resp"}, what="traffic")
        wait_for(lambda: sum(t.endswith("/resp/relay_test") for t, _ in seen) == 1, what="relay_test answer")
    finally:
        spy.loop_stop()
        spy.disconnect()
    with lock:
        messages = list(seen)
    for topic, payload in messages:
        schema = json.loads((SCHEMAS / _schema_for(topic, root)).read_text())
        jsonschema.validate(json.loads(payload), schema)
    assert {_schema_for(t, root) for t, _ in messages} == set(SCHEMA_OF.values())
