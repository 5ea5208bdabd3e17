"""Generated identities against a real Mosquitto with `require_certificate true`."""

from __future__ import annotations

import json
import ssl
import threading
import tomllib

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from lineguard.config import parse_settings
from lineguard_provision.identity import ensure_identity
from lineguard_provision.registry import register
from lineguard_provision.seed import SeedOptions, device_config, to_toml
from lineguard_provision.selftest.context import Context
from lineguard_provision.selftest.report import Status
from lineguard_provision.selftest.rig import simulated_rig
from lineguard_provision.selftest.runner import run_selftest
from lineguard_provision.selftest.steps_system import check_mqtt, close_mqtt

from .broker import tls_broker

pytest.importorskip("lineguard.mqtt.connection", reason="lineguard.mqtt not in this build")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    for device in ("dev-a", "dev-b"):
        register(root, ensure_identity(root, device, site="Mapo"))
    ensure_identity(root, "dev-unregistered")
    with tls_broker(root, tmp_path_factory.mktemp("broker")) as port:
        yield root, port


def _settings(fleet_dir, port, device="dev-a", **mqtt_overrides):
    """The config `provision seed` writes, with the credential paths pointing at the bundle."""
    ident = ensure_identity(fleet_dir, device)
    data = device_config(ident, SeedOptions(broker_url=f"mqtts://localhost:{port}"))
    data["mqtt"].update(password_file=str(ident.path("mqtt_password")), ca_file=str(ident.path("ca.crt")),
                        cert_file=str(ident.path("client.crt")), key_file=str(ident.path("client.key")))
    data["mqtt"].update(mqtt_overrides)
    data["mqtt"] = {k: v for k, v in data["mqtt"].items() if v is not None}
    for section in ("audio", "relay", "line"):
        data[section]["backend"] = "simulated"
    return parse_settings(tomllib.loads(to_toml(data)))


def _client(fleet_dir, device, cert=True):
    bundle = fleet_dir / "devices" / device
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{device}-probe", protocol=MQTTProtocolVersion.MQTTv5)
    client.username_pw_set(device, (bundle / "mqtt_password").read_text().strip())
    client.tls_set(ca_certs=str(bundle / "ca.crt"), certfile=str(bundle / "client.crt") if cert else None,
                   keyfile=str(bundle / "client.key") if cert else None, cert_reqs=ssl.CERT_REQUIRED)
    return client


def test_selftest_mqtt_step_passes_with_the_generated_identity(fleet):
    fleet_dir, port = fleet
    settings = _settings(fleet_dir, port)
    ctx = Context(settings, simulated_rig(settings))
    outcome = check_mqtt(ctx)
    assert outcome.status is Status.PASS, outcome
    assert outcome.data["round_trip_ms"] >= 0
    close_mqtt(ctx.mqtt_client[0])


def test_report_is_published_retained_to_the_device_tree(fleet):
    fleet_dir, port = fleet
    settings = _settings(fleet_dir, port)
    ctx = Context(settings, simulated_rig(settings))
    report = run_selftest(ctx, only=["mqtt", "disk"])
    assert report.passed and ctx.shared["published"] is True
    got, done = [], threading.Event()
    probe = _client(fleet_dir, "dev-a")
    probe.on_message = lambda c, u, m: (got.append(m), done.set())
    probe.on_connect = lambda c, u, f, rc, p: c.subscribe("lineguard/v1/dev-a/selftest", qos=1)
    probe.connect("localhost", port)
    probe.loop_start()
    try:
        assert done.wait(10)
    finally:
        probe.disconnect()
        probe.loop_stop()
    body = json.loads(got[0].payload)
    assert got[0].retain and body["device_id"] == "dev-a" and body["passed"] is True
    assert [s["name"] for s in body["steps"]] == ["mqtt", "disk"]


def test_a_client_without_certificate_is_refused(fleet):
    fleet_dir, port = fleet
    settings = _settings(fleet_dir, port, cert_file=None, key_file=None)
    outcome = check_mqtt(Context(settings, simulated_rig(settings)))
    assert outcome.status is Status.FAIL, outcome
    assert "certificate" in outcome.detail or "cannot reach" in outcome.detail


def test_wrong_password_fails_with_what_to_do(fleet, tmp_path):
    fleet_dir, port = fleet
    wrong = tmp_path / "pw"
    wrong.write_text("not-the-password\n")
    settings = _settings(fleet_dir, port, password_file=str(wrong))
    outcome = check_mqtt(Context(settings, simulated_rig(settings)))
    assert outcome.status is Status.FAIL and "refused" in outcome.detail
    assert "provision register" in outcome.remedy


def test_unregistered_device_is_refused(fleet):
    fleet_dir, port = fleet
    settings = _settings(fleet_dir, port, device="dev-unregistered")
    outcome = check_mqtt(Context(settings, simulated_rig(settings)))
    assert outcome.status is Status.FAIL and "refused" in outcome.detail


class _Probe:
    """A connected client that records what it receives."""

    def __init__(self, fleet_dir, device, port, topic):
        self.messages, self.ready, self.arrived = [], threading.Event(), threading.Event()
        self.client = _client(fleet_dir, device)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("localhost", port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def _on_message(self, _c, _u, message):
        self.messages.append((message.topic, message.payload))
        self.arrived.set()

    def wait_for(self, payload: bytes) -> None:
        while (payload not in [m[1] for m in self.messages]):
            assert self.arrived.wait(10), f"{payload!r} never arrived"
            self.arrived.clear()

    def publish(self, topic, payload):
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_acl_confines_a_device_to_its_own_tree(fleet):
    fleet_dir, port = fleet
    a = _Probe(fleet_dir, "dev-a", port, "lineguard/v1/#")      # tries to read everyone's
    b = _Probe(fleet_dir, "dev-b", port, "lineguard/v1/dev-b/#")
    try:
        a.publish("lineguard/v1/dev-b/cmd/open_relay", b"intrusion")   # accepted, but dropped
        b.publish("lineguard/v1/dev-b/evt/status", b"b-own")
        b.wait_for(b"b-own")
        a.publish("lineguard/v1/dev-a/evt/status", b"a-own")          # queued after b-own
        a.wait_for(b"a-own")
    finally:
        a.close()
        b.close()
    assert [p for _, p in b.messages] == [b"b-own"]
    assert not any(topic.startswith("lineguard/v1/dev-b/") for topic, _ in a.messages)
    assert (b"a-own") in [p for _, p in a.messages]


def test_unreachable_broker_fails_clearly(fleet):
    from .broker import free_port

    fleet_dir, _ = fleet
    settings = _settings(fleet_dir, free_port())
    outcome = check_mqtt(Context(settings, simulated_rig(settings)))
    assert outcome.status is Status.FAIL and "cannot reach the broker" in outcome.detail
