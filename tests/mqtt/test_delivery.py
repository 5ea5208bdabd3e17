"""Delivery to a real mosquitto over TLS with per-device credentials; ACL confinement; broker restarts."""

from __future__ import annotations

import json
import queue
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from lineguard.events import Status
from lineguard.mqtt.agent import MqttAgent
from tests.mqtt.broker import DEVICES, Broker, Central, events
from tests.mqtt.conftest import device_settings


def numbered(n: int, start: int = 0) -> list[Status]:
    return [Status(time=float(i), state="idle", detail=f"n{i}") for i in range(start, start + n)]


def test_events_status_and_health_arrive_over_tls(tmp_path, broker, central):
    agent = MqttAgent(device_settings(tmp_path, broker, "box-a")).start()
    try:
        sent = numbered(20)
        for event in sent:
            agent.handle(event)
        assert agent.wait_drained(15)
        got = central.collect(lambda m: len(events(m)) >= 20 and     # health: every health_interval_s (1 s)
                              sum(x.topic.endswith("/health") and not x.retain for x in m) >= 2)
    finally:
        agent.stop()
    evts = events(got)
    assert [e["event_id"] for e in evts] == [e.event_id for e in sent]
    assert [e["seq"] for e in evts] == sorted(e["seq"] for e in evts)
    assert {m.topic for m in got if "/evt/" in m.topic} == {"lineguard/v1/box-a/evt/status"}
    status = [json.loads(m.payload) for m in got if m.topic == "lineguard/v1/box-a/status" and not m.retain]
    assert status[0]["state"] == "online" and status[0]["boot_id"] == agent.boot_id
    health = [json.loads(m.payload) for m in got if m.topic.endswith("/health") and not m.retain][0]
    assert health["boot_id"] == agent.boot_id and "cpu_percent" in health and "outbox_depth" in health
    # after a clean stop the retained status says offline
    late = Central(broker, topic="lineguard/v1/box-a/status", client_id="late-reader")
    (retained,) = late.collect(lambda m: len(m) >= 1, 5)
    late.close()
    assert retained.retain and json.loads(retained.payload)["state"] == "offline"


def test_wrong_password_never_connects_and_keeps_events(tmp_path, broker):
    settings = device_settings(tmp_path, broker, "box-a")
    settings.mqtt.password_file.write_text("not-the-password\n")
    agent = MqttAgent(settings).start()
    try:
        agent.handle(Status(time=0, state="idle"))
        time.sleep(1.0)
        assert not agent.connected.is_set() and agent.stats["connects"] == 0
        assert agent.outbox.depth() == 1
    finally:
        agent.stop()


def _device_client(broker: Broker, device: str):
    acks: queue.Queue = queue.Queue()
    inbox: queue.Queue = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{device}", protocol=MQTTProtocolVersion.MQTTv5)
    c.username_pw_set(device, DEVICES[device])
    c.on_subscribe = lambda cl, u, mid, rcs, p: acks.put(("sub", rcs))
    c.on_publish = lambda cl, u, mid, rc, p: acks.put(("pub", rc))
    c.on_message = lambda cl, u, m: inbox.put(m)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c, acks, inbox


def test_a_device_is_confined_to_its_own_subtree(broker, central):
    client, acks, inbox = _device_client(broker, "box-a")
    try:
        # mosquitto grants a subscription outside the subtree but delivers nothing from it
        for topic in ("lineguard/v1/box-b/#", "lineguard/#", "#", "lineguard/v1/box-a/cmd/+"):
            client.subscribe(topic, qos=1)
            assert acks.get(timeout=5)[0] == "sub"
        central.client.publish("lineguard/v1/box-b/cfg/desired", b'{"secret": "b"}', qos=1)
        central.client.publish("lineguard/v1/box-a/cmd/selftest", b'{"for": "a"}', qos=1)
        first = inbox.get(timeout=5)
        time.sleep(0.5)
        seen = [first] + [inbox.get_nowait() for _ in range(inbox.qsize())]
        assert [m.topic for m in seen if b"secret" in m.payload] == [], "read another device's messages"
        assert any(m.topic == "lineguard/v1/box-a/cmd/selftest" for m in seen)
        # publishing outside its subtree is refused (PUBACK 0x87) and reaches no one
        for topic in ("lineguard/v1/box-b/evt/status", "lineguard/v1/box-b/cfg/desired", "other/topic"):
            client.publish(topic, b'{"spoof": true}', qos=1)
            kind, rc = acks.get(timeout=5)
            assert kind == "pub" and rc.is_failure and rc.value == 0x87, f"{topic}: should be refused"
        client.publish("lineguard/v1/box-a/evt/status", b'{"mine": true}', qos=1)
        assert not acks.get(timeout=5)[1].is_failure
        got = central.collect(lambda m: any(b"mine" in x.payload for x in m), 5)
        assert not [m for m in got if b"spoof" in m.payload]
    finally:
        client.loop_stop()
        client.disconnect()


@pytest.fixture
def own_broker(tmp_path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


def test_no_loss_no_duplicate_across_a_broker_stop_and_start(tmp_path, own_broker):
    central = Central(own_broker, topic="lineguard/v1/box-b/evt/#", client_id="central-restart")
    agent = MqttAgent(device_settings(tmp_path / "dev", own_broker, "box-b")).start()
    sent = numbered(30)
    try:
        for event in sent[:10]:
            agent.handle(event)
        assert agent.wait_drained(10)
        own_broker.stop()
        for event in sent[10:20]:          # broker down: kept in the outbox
            agent.handle(event)
        time.sleep(0.3)
        assert agent.outbox.depth() == 10 and not agent.connected.is_set()
        own_broker.start()
        for event in sent[20:]:
            agent.handle(event)
        assert agent.wait_drained(20), f"outbox still holds {agent.outbox.depth()}"
        got = events(central.collect(lambda m: len({e['event_id'] for e in events(m)}) >= 30, 20))
    finally:
        agent.stop()
        central.close()
    ids = [e["event_id"] for e in got]
    assert set(ids) == {e.event_id for e in sent}, "nothing lost"
    unique_in_order = list(dict.fromkeys(ids))
    assert unique_in_order == [e.event_id for e in sent], "in seq order"
    assert agent.stats["connects"] >= 2


def test_backoff_grows_with_full_jitter_and_resets():
    import random
    from lineguard.mqtt.connection import Backoff
    backoff = Backoff(1.0, 30.0, random.Random(7))
    delays = [backoff.next_delay_s() for _ in range(12)]
    assert all(1.0 <= d <= 30.0 for d in delays)
    assert delays[0] == 1.0 and max(delays[6:]) > 8.0, "the ceiling doubles up to the maximum"
    assert len({round(d, 6) for d in delays[3:]}) == len(delays[3:]), "jittered, not in step"
    backoff.reset()
    assert backoff.next_delay_s() == 1.0


def test_home_assistant_discovery(tmp_path, broker):
    reader = Central(broker, topic="homeassistant/#")
    agent = MqttAgent(device_settings(tmp_path, broker, "box-a", ha_discovery=True)).start()
    try:
        got = reader.collect(lambda m: len({x.topic for x in m}) >= 3, 10)
    finally:
        agent.stop()
        reader.close()
    configs = {m.topic: json.loads(m.payload) for m in got}
    assert set(configs) == {"homeassistant/binary_sensor/box-a/online/config",
                            "homeassistant/sensor/box-a/calls_today/config",
                            "homeassistant/sensor/box-a/last_incident/config"}
    assert all(c["device"]["identifiers"] == ["lineguard_box-a"] for c in configs.values())
