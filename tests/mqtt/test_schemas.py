"""Every payload the box publishes validates against its JSON Schema in edge/lineguard/mqtt/schemas/."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from lineguard.events import (
    EVENT_TYPES, CallBlocked, CallerFlagged, CallEnded, CallStarted, CallTerminated, Direction, EndedBy, Fault, KeywordDetected, RecordingSaved, Side,
    Status, TerminationReason, WarningFinished, WarningStarted,
)
from lineguard.mqtt import commands
from lineguard.mqtt.health import HealthSampler
from lineguard.mqtt.outbox import Outbox
from lineguard.mqtt.remote_config import RemoteConfig
from lineguard.mqtt.updates import manifest_for, sign_bundle
from lineguard.config import Settings

SCHEMAS = Path(__import__("lineguard.mqtt", fromlist=["x"]).__file__).parent / "schemas"
DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"


def schema(name: str) -> dict:
    data = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def check(name: str, doc) -> None:
    jsonschema.validate(doc, schema(name), cls=jsonschema.Draft202012Validator)


def test_every_event_type_on_the_wire_matches(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", "boot")
    c = "01JCALL0000000000000000000"
    for event in [CallStarted(time=0, call_id=c, direction=Direction.INCOMING, caller_id="0101234"),
                  KeywordDetected(time=1, call_id=c, keyword="ko_ssibal", score=0.9, side=Side.FAR),
                  WarningStarted(time=1, call_id=c, level="warning", prompt_id="warning"),
                  WarningFinished(time=3, call_id=c, level="warning", prompt_id="warning", duration_s=2),
                  CallTerminated(time=9, call_id=c, reason=TerminationReason.ABUSE, verified=True),
                  CallEnded(time=9, call_id=c, duration_s=9, ended_by=EndedBy.GATEWAY),
                  RecordingSaved(time=9, call_id=c, path="r.wav", duration_s=9, sha256="0" * 64),
                  Status(time=0, state="idle"), Fault(time=0, component="audio", message="gone"),
                  CallBlocked(time=0, caller_id="0701234", rule="block:prefix:070", answered=True),
                  CallerFlagged(time=9, call_id=c, caller_id="0101234", reason="abuse",
                                expires_at="2026-02-01T00:00:00+00:00", count=1)]:
        box.add(event.replace(ts="2026-01-01T00:00:00.000Z"))
    for entry in box.pending():
        check("event", json.loads(entry.payload))
    with pytest.raises(jsonschema.ValidationError):
        check("event", {**json.loads(box.pending()[0].payload), "seq": None})


def test_the_event_schema_names_every_event_type():
    assert set(schema("event")["properties"]["type"]["enum"]) == set(EVENT_TYPES)


def test_status_health_reported_and_answers_match(tmp_path):
    from lineguard.mqtt.agent import MqttAgent
    settings = Settings.model_validate({"mqtt": {"outbox_path": str(tmp_path / "o.sqlite"),
                                                 "state_dir": str(tmp_path)}})
    agent = MqttAgent(settings)
    check("status", agent.status_document("online"))
    check("health", HealthSampler("boot", lambda: 3, tmp_path).sample())
    remote = RemoteConfig(settings, tmp_path, apply=lambda s: None)
    for payload in [b'{"version": 1, "settings": {"policy": {"warnings_before_final": 2}}}', b"{nope"]:
        check("cfg_reported", {**remote.handle(payload), "ts": "2026-01-01T00:00:00.000Z"})
    check("cfg_desired", {"version": 1, "settings": {"policy": {"warnings_before_final": 2}}})
    check("cmd_response", {"command": "selftest", "ok": True, "result": {}})
    check("cmd_response", {"command": "selftest", "ok": False, "errors": [{"key": "x", "why": "y"}]})
    agent.outbox.close()


@pytest.mark.parametrize("name, payload, ok", [
    ("selftest", {}, True), ("selftest", {"x": 1}, False),
    ("play_prompt", {"prompt_id": "warning"}, True), ("play_prompt", {"prompt_id": 3}, False),
    ("relay_test", {"open_ms": 500}, True), ("relay_test", {"open_ms": "500"}, False),
    ("relay_test", {"open_ms": 10}, False), ("reboot", {}, True),
])
def test_command_schema_agrees_with_the_parser(name, payload, ok):
    sub = {**schema("cmd_request"), "$ref": f"#/$defs/{name}"}
    schema_ok = jsonschema.Draft202012Validator(sub).is_valid(payload)
    try:
        commands.parse_request(name, json.dumps(payload).encode())
        parser_ok = True
    except commands.CommandError:
        parser_ok = False
    assert schema_ok == parser_ok == ok


def test_update_request_schema():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    bundle = sign_bundle(Ed25519PrivateKey.generate(), manifest_for("prompts", "v1", {"warning.wav": b"RIFF"}),
                         {"warning.wav": b"RIFF"})
    check("update", bundle)


def test_the_doc_names_every_schema():
    text = DOC.read_text()
    for path in SCHEMAS.glob("*.json"):
        assert f"schemas/{path.name}" in text
