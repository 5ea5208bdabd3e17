"""cmd/<name> with MQTT v5 response topic and correlation data: every request gets one answer;
bad requests are refused with errors and change nothing; line tests only when idle."""

from __future__ import annotations

import json

import pytest

from tests.mqtt.broker import Central
from tests.mqtt.rig import start_box

ROOT = "lineguard/v1/box-a"


@pytest.fixture
def box(tmp_path, broker):
    central = Central(broker, topic=f"{ROOT}/resp/#", client_id="central-cmd")
    b = start_box(tmp_path, broker, "box-a")
    yield b, central
    b.stop()
    central.close()


def ask(central, name: str, payload: bytes, correlation: bytes, response_topic: str | None = None) -> dict:
    central.request(f"{ROOT}/cmd/{name}", payload, response_topic or f"{ROOT}/resp/test", correlation)
    (msg,) = central.collect(lambda m: len(m) >= 1, 10)
    assert msg.properties.CorrelationData == correlation
    return json.loads(msg.payload)


def test_selftest_play_prompt_relay_test_and_reboot(box):
    b, central = box
    answer = ask(central, "selftest", b"{}", b"c1")
    assert answer["ok"] and answer["result"]["ok"], answer
    assert set(answer["result"]["checks"]) == {"detector", "prompts", "relay"}
    answer = ask(central, "play_prompt", b'{"prompt_id": "warning"}', b"c2")
    assert answer["ok"] and answer["result"]["duration_s"] > 0.5
    assert [p.prompt_id for p in b.rig.audio.history] == ["warning"]
    answer = ask(central, "relay_test", b'{"open_ms": 100}', b"c3")
    assert answer["ok"] and answer["result"]["relay_state"] == "closed"
    assert [on for _t, on in b.rig.relay.history] == [True, False]
    answer = ask(central, "reboot", b"", b"c4")
    assert answer["ok"] and b.reboots.wait(5)
    from lineguard.mqtt.wiring import RESTART_EXIT_CODE, restart_code
    assert restart_code([b.agent]) == RESTART_EXIT_CODE, "the daemon exits so that systemd restarts it"


BAD = [
    ("selftest", b"{oops", "(payload)"),
    ("play_prompt", b"[]", "(root)"),
    ("play_prompt", b'{"prompt_id": 7}', "prompt_id"),
    ("play_prompt", b'{"prompt_id": "../../etc/passwd"}', "prompt_id"),
    ("relay_test", b'{"open_ms": "100"}', "open_ms"),
    ("relay_test", b'{"open_ms": 60000}', "open_ms"),
    ("relay_test", b'{"open_ms": 100, "pin": 4}', "pin"),
    ("reboot", b'{"now": true}', "now"),
    ("relay_test", b'{"open_ms": 100, "pad": "' + b"x" * 100_000 + b'"}', "(payload)"),
    ("format_disk", b"{}", "command"),
    ("selftest", b"\xff", "(payload)"),
]


def test_bad_requests_are_answered_with_errors_and_change_nothing(box):
    b, central = box
    for i, (name, payload, key) in enumerate(BAD):
        answer = ask(central, name, payload, f"bad{i}".encode())
        assert answer["ok"] is False and answer["command"] == name
        assert any(e["key"].startswith(key) for e in answer["errors"]), (name, payload[:60], answer)
    assert b.rig.audio.history == [] and b.rig.relay.history == [] and not b.reboots.is_set()


def test_response_topic_outside_the_device_is_refused_on_the_default_topic(box):
    b, central = box
    central.request(f"{ROOT}/cmd/relay_test", b'{"open_ms": 100}', "lineguard/v1/box-b/resp/x", b"z")
    (msg,) = central.collect(lambda m: len(m) >= 1, 10)
    answer = json.loads(msg.payload)
    assert msg.topic == f"{ROOT}/resp/relay_test" and answer["ok"] is False
    assert answer["errors"][0]["key"] == "response_topic" and b.rig.relay.history == []


def test_line_tests_are_refused_during_a_call(tmp_path, broker):
    central = Central(broker, topic="lineguard/v1/box-b/resp/#", client_id="central-busy")
    b = start_box(tmp_path, broker, "box-b", rings=0, call_s=5.0)
    try:
        gw = b.rig.gateway
        gw.audio.open()
        gw.line.open()
        for _ in range(10):
            gw.step()
        assert not gw.idle
        for name, payload in (("play_prompt", b"{}"), ("relay_test", b"{}")):
            central.request(f"lineguard/v1/box-b/cmd/{name}", payload, "lineguard/v1/box-b/resp/t", b"x")
            (msg,) = central.collect(lambda m: len(m) >= 1, 10)
            answer = json.loads(msg.payload)
            assert answer["ok"] is False and "call is in progress" in answer["errors"][0]["why"]
        assert b.rig.audio.history == [] and b.rig.relay.history == []
    finally:
        b.stop()
        central.close()
