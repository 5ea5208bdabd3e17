"""cfg/desired -> validate -> apply between calls -> cfg/reported; invalid documents change nothing."""

from __future__ import annotations

import json

import pytest

from tests.mqtt.broker import Central
from tests.mqtt.rig import start_box

DESIRED = "lineguard/v1/box-c/cfg/desired"
REPORTED = "lineguard/v1/box-c/cfg/reported"


@pytest.fixture
def box(tmp_path, broker):
    central = Central(broker, topic=REPORTED, client_id="central-cfg")
    central.client.publish(DESIRED, b"", qos=1, retain=True).wait_for_publish(5)   # no leftover document
    central.client.publish(REPORTED, b"", qos=1, retain=True).wait_for_publish(5)
    central.collect(lambda m: False, 0.3)
    b = start_box(tmp_path, broker, "box-c")
    yield b, central
    b.stop()
    central.client.publish(DESIRED, b"", qos=1, retain=True).wait_for_publish(5)
    central.close()


def desire(central, payload: bytes) -> dict:
    central.client.publish(DESIRED, payload, qos=1, retain=True)
    (msg,) = central.collect(lambda m: any(x.payload for x in m), 10)[-1:]
    return json.loads(msg.payload)


GOOD = {"version": 1, "settings": {"policy": {"warnings_before_final": 2}, "detector": {"refractory_s": 2.0}}}

BAD = [
    (b"{not json", "(payload)"),
    (b"[1, 2]", "(root)"),
    (b'"version 3"', "(root)"),
    (json.dumps({"version": "2", "settings": {}}).encode(), "version"),
    (json.dumps({"version": 2, "settings": {"policy": {"warnings_before_final": "two"}}}).encode(),
     "settings.policy.warnings_before_final"),
    (json.dumps({"version": 2, "settings": {"policy": {"warnings_before_final": 99}}}).encode(),
     "settings.policy.warnings_before_final"),
    (json.dumps({"version": 2, "settings": {"policy": {"bogus": 1}}}).encode(), "settings.policy.bogus"),
    (json.dumps({"version": 2, "settings": {"relay": {"pin": 5}}}).encode(), "settings.relay"),
    (json.dumps({"version": 2, "settings": {}, "extra": 1}).encode(), "extra"),
    (json.dumps({"version": 2, "settings": {"policy": {"manual_dtmf_code": "1" * 200_000}}}).encode(), "(payload)"),
    (b"\xff\xfe", "(payload)"),
]


def test_good_document_is_applied_between_calls_and_survives_a_restart(box, tmp_path, broker):
    b, central = box
    report = desire(central, json.dumps(GOOD).encode())
    assert report["status"] == "applied" and report["applied_version"] == 1 and report["errors"] == []
    gw = b.rig.gateway
    assert gw.settings.policy.warnings_before_final == 1, "taken by the gateway loop, not the MQTT thread"
    gw.step()
    assert gw.settings.policy.warnings_before_final == 2 and gw.settings.detector.refractory_s == 2.0
    assert b.detectors_built and gw.detector is not None
    # the same version again is a no-op; an older one is refused
    assert desire(central, json.dumps(GOOD).encode())["status"] == "applied"
    older = desire(central, json.dumps({**GOOD, "version": 0}).encode())
    assert older["status"] == "rejected"
    b.stop()
    from lineguard.mqtt.wiring import create_agent
    from tests.mqtt.conftest import device_settings
    again, effective = create_agent(device_settings(tmp_path, broker, "box-c", tls=False))
    again.outbox.close()
    assert effective.policy.warnings_before_final == 2 and again.remote.applied_version == 1


def test_bad_documents_are_rejected_and_change_nothing(box):
    b, central = box
    assert desire(central, json.dumps(GOOD).encode())["status"] == "applied"
    gw = b.rig.gateway
    gw.step()
    before = gw.settings
    applied_file = b.agent.remote.path.read_bytes()
    for payload, key in BAD:
        report = desire(central, payload)
        assert report["status"] == "rejected" and report["applied_version"] == 1, payload[:80]
        assert any(e["key"].startswith(key) for e in report["errors"]), (payload[:80], report["errors"])
        gw.step()
        assert gw.settings is before and gw.pending_settings is None
        assert b.agent.remote.path.read_bytes() == applied_file


def test_settings_wait_for_the_call_to_end(tmp_path, broker):
    b = start_box(tmp_path, broker, "box-d", rings=0, call_s=1.0)
    try:
        gw = b.rig.gateway
        gw.audio.open()
        gw.line.open()
        for _ in range(10):
            gw.step()
        assert not gw.idle, "a call is up"
        new = gw.settings.model_copy(update={"policy": gw.settings.policy.model_copy(update={"extend_s": 10.0})})
        gw.apply_settings(new)
        gw.step()
        assert gw.settings.policy.extend_s == 300.0, "not in the middle of a call"
        for _ in range(1000):
            if gw.idle:
                break
            gw.step()
        assert gw.idle, "the far end hung up"
        gw.step()
        assert gw.settings.policy.extend_s == 10.0
    finally:
        b.stop()
