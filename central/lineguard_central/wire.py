"""Incoming MQTT payloads, checked and turned into frozen records.

Central is tolerant of fields it does not know (newer firmware adds fields),
strict about the ones it needs: a payload without them is a ProtocolError
naming the topic and the field.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lineguard.errors import ProtocolError

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_SEQ = 2**63            # BIGINT
INCIDENT_TYPES = frozenset({"warning_started", "call_terminated"})


@dataclass(frozen=True)
class EventRecord:
    device_id: str
    event_id: str
    type: str
    ts_s: float                 # UTC epoch seconds (from ``ts``; receive time when absent)
    call_id: str | None
    seq: int | None
    boot_id: str | None
    keyword: str | None
    reason: str | None          # termination reason or warning level
    payload: str                # the JSON as received

    @property
    def incident(self) -> bool:
        return self.type in INCIDENT_TYPES

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.ts_s, timezone.utc).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class StatusRecord:
    device_id: str
    online: bool
    state: str
    site: str | None
    boot_id: str | None
    firmware: str | None
    model: str | None
    payload: str
    received_s: float


@dataclass(frozen=True)
class HealthRecord:
    device_id: str
    payload: str
    received_s: float


@dataclass(frozen=True)
class ReportedConfig:
    device_id: str
    version: int | None
    applied: bool
    errors: tuple[tuple[str, str], ...]
    payload: str
    received_s: float


@dataclass(frozen=True)
class DesiredConfig:
    device_id: str
    version: int
    settings: str               # JSON object
    received_s: float


@dataclass(frozen=True)
class CommandReply:
    correlation_id: str
    device_id: str
    ok: bool
    result: str                 # JSON
    received_s: float


def load_json_object(payload: bytes, where: str) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"{where}: payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{where}: expected a JSON object, got {type(data).__name__}")
    if "\\u0000" in payload.decode("utf-8", "replace"):
        raise ProtocolError(f"{where}: NUL characters are not allowed")
    return data


def parse_ts(value: Any, where: str) -> float:
    """RFC 3339 (``2026-11-25T10:00:00.123Z``) or epoch seconds to epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ProtocolError(f"{where}: ts {value!r} is not RFC 3339") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    raise ProtocolError(f"{where}: ts must be a string, got {type(value).__name__}")


def _opt(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool) and kind is int):
        raise ProtocolError(f"{where}: {key} has the wrong type ({type(value).__name__})")
    return value


def parse_event(device_id: str, event_type: str, payload: bytes, now_s: float | None = None) -> EventRecord:
    where = f"{device_id}/evt/{event_type}"
    data = load_json_object(payload, where)
    event_id = data.get("event_id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
        raise ProtocolError(f"{where}: event_id missing or not a string of 1-64 characters")
    if data.get("type", event_type) != event_type:
        raise ProtocolError(f"{where}: type {data.get('type')!r} does not match the topic")
    ts = data.get("ts")
    ts_s = parse_ts(ts, where) if ts is not None else (time.time() if now_s is None else now_s)
    reason = _opt(data, "reason", str, where) or _opt(data, "level", str, where)
    seq = _opt(data, "seq", int, where)
    if seq is not None and not 0 <= seq < MAX_SEQ:
        raise ProtocolError(f"{where}: seq {seq} out of range")
    return EventRecord(
        device_id=device_id, event_id=event_id, type=event_type, ts_s=ts_s,
        call_id=_opt(data, "call_id", str, where), seq=seq,
        boot_id=_opt(data, "boot_id", str, where), keyword=_opt(data, "keyword", str, where),
        reason=reason, payload=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
    )


def parse_status(device_id: str, payload: bytes, now_s: float) -> StatusRecord:
    where = f"{device_id}/status"
    if payload.strip() in (b"online", b"offline"):      # bare strings, tolerated
        data: dict[str, Any] = {"state": payload.strip().decode()}
    else:
        data = load_json_object(payload, where)
    state = data.get("state", data.get("status"))
    if not isinstance(state, str):
        raise ProtocolError(f"{where}: state missing")
    versions = data.get("versions") if isinstance(data.get("versions"), dict) else {}
    firmware = data.get("firmware", data.get("version", versions.get("firmware")))
    model = data.get("model", data.get("model_version", versions.get("model")))
    return StatusRecord(
        device_id=device_id, online=state != "offline", state=state,
        site=_opt(data, "site", str, where), boot_id=_opt(data, "boot_id", str, where),
        firmware=str(firmware) if firmware is not None else None,
        model=str(model) if model is not None else None,
        payload=json.dumps(data, ensure_ascii=False), received_s=now_s,
    )


def parse_health(device_id: str, payload: bytes, now_s: float) -> HealthRecord:
    data = load_json_object(payload, f"{device_id}/health")
    return HealthRecord(device_id, json.dumps(data, ensure_ascii=False), now_s)


def parse_reported(device_id: str, payload: bytes, now_s: float) -> ReportedConfig:
    where = f"{device_id}/cfg/reported"
    data = load_json_object(payload, where)
    version = _opt(data, "version", int, where)
    raw_errors = data.get("errors") or []
    if not isinstance(raw_errors, list):
        raise ProtocolError(f"{where}: errors must be a list")
    errors = tuple(_error_pair(e) for e in raw_errors)
    applied = data.get("applied")
    if applied is None:
        applied = data.get("status", data.get("result")) in ("applied", "ok") and not errors
    return ReportedConfig(device_id, version, bool(applied), errors, json.dumps(data, ensure_ascii=False), now_s)


def _error_pair(error: Any) -> tuple[str, str]:
    if isinstance(error, dict):
        key = error.get("key", error.get("loc", error.get("path", "")))
        why = error.get("why", error.get("msg", error.get("message", error.get("error", ""))))
        return (str(key), str(why))
    if isinstance(error, (list, tuple)) and len(error) == 2:
        return (str(error[0]), str(error[1]))
    return ("", str(error))


def parse_desired(device_id: str, payload: bytes, now_s: float) -> DesiredConfig | None:
    """A retained desired document (ours or another console's); None when cleared."""
    if not payload:
        return None
    where = f"{device_id}/cfg/desired"
    data = load_json_object(payload, where)
    version = _opt(data, "version", int, where)
    settings = data.get("settings", {})
    if version is None or not isinstance(settings, dict):
        raise ProtocolError(f"{where}: needs an integer version and a settings object")
    return DesiredConfig(device_id, version, json.dumps(settings, ensure_ascii=False), now_s)


def parse_reply(device_id: str, correlation: bytes | None, payload: bytes, now_s: float) -> CommandReply:
    where = f"{device_id}/cmd reply"
    if not correlation:
        raise ProtocolError(f"{where}: no correlation data")
    data = load_json_object(payload, where)
    ok = data.get("ok")
    if ok is None:
        ok = data.get("status", "ok") == "ok" and not data.get("error")
    return CommandReply(correlation.decode("utf-8", "replace"), device_id, bool(ok),
                        json.dumps(data, ensure_ascii=False), now_s)
