"""Writes: events (deduplicated on ``event_id``), status, health, settings, commands, users."""

from __future__ import annotations

import json
from collections.abc import Iterable

from lineguard_central.store.db import Database
from lineguard_central.wire import (
    CommandReply, DesiredConfig, EventRecord, HealthRecord, ReportedConfig, StatusRecord,
)

_DAILY_COLUMN = {"call_started": "calls", "warning_started": "warnings", "call_terminated": "terminations"}

_INSERT_EVENT = """INSERT INTO events (event_id, device_id, type, ts_s, day, call_id, seq, boot_id, keyword,
    reason, incident, payload, received_s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
    ON CONFLICT (event_id) DO NOTHING"""

_TOUCH_DEVICE = """INSERT INTO devices (device_id, last_seen_s) VALUES (?, ?)
    ON CONFLICT (device_id) DO UPDATE SET last_seen_s =
    CASE WHEN devices.last_seen_s IS NULL OR devices.last_seen_s < excluded.last_seen_s
         THEN excluded.last_seen_s ELSE devices.last_seen_s END"""


class Writer:
    """All writes go through here; each public method is one transaction."""

    def __init__(self, db: Database):
        self.db = db

    def ingest(self, events: Iterable[EventRecord], received_s: float) -> int:
        """Store new events, drop duplicates; return how many were new."""
        inserted = 0
        with self.db.transaction():
            last_seen: dict[str, float] = {}
            for event in events:
                last_seen[event.device_id] = max(last_seen.get(event.device_id, 0.0), received_s)
                if self._insert(event, received_s):
                    inserted += 1
            for device_id, seen_s in last_seen.items():
                self.db.execute(_TOUCH_DEVICE, (device_id, seen_s))
        return inserted

    def _insert(self, event: EventRecord, received_s: float) -> bool:
        keyword = event.keyword
        if keyword is None and event.type == "warning_started" and event.call_id:
            keyword = self._call_keyword(event.call_id)
        cursor = self.db.execute(_INSERT_EVENT, (
            event.event_id, event.device_id, event.type, event.ts_s, event.day, event.call_id, event.seq,
            event.boot_id, keyword, event.reason, int(event.incident), event.payload, received_s))
        if cursor.rowcount != 1:
            return False
        column = _DAILY_COLUMN.get(event.type)
        if column:
            self.db.execute(
                f"""INSERT INTO daily (day, device_id, {column}) VALUES (?, ?, 1)
                ON CONFLICT (day, device_id) DO UPDATE SET {column} = daily.{column} + 1""",
                (event.day, event.device_id))
        if event.incident:
            self.db.execute(
                """INSERT INTO devices (device_id, last_incident_s, last_incident_type, last_incident_call)
                VALUES (?,?,?,?) ON CONFLICT (device_id) DO UPDATE SET
                last_incident_s = excluded.last_incident_s, last_incident_type = excluded.last_incident_type,
                last_incident_call = excluded.last_incident_call
                WHERE devices.last_incident_s IS NULL OR devices.last_incident_s <= excluded.last_incident_s""",
                (event.device_id, event.ts_s, event.type, event.call_id))
        return True

    def _call_keyword(self, call_id: str) -> str | None:
        row = self.db.one(
            """SELECT keyword FROM events WHERE call_id = ? AND type = 'keyword_detected'
            ORDER BY ts_s DESC LIMIT 1""", (call_id,))
        return row["keyword"] if row else None

    def status(self, record: StatusRecord) -> None:
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO devices (device_id, site, online, state, boot_id, firmware, model, status_json,
                status_s, last_seen_s) VALUES (?,?,?,?,?,?,?,?,?,?)
                ON CONFLICT (device_id) DO UPDATE SET
                site = CASE WHEN excluded.site = '' THEN devices.site ELSE excluded.site END,
                online = excluded.online, state = excluded.state,
                boot_id = COALESCE(excluded.boot_id, devices.boot_id),
                firmware = COALESCE(excluded.firmware, devices.firmware),
                model = COALESCE(excluded.model, devices.model),
                status_json = excluded.status_json, status_s = excluded.status_s,
                last_seen_s = CASE WHEN excluded.online = 1 THEN excluded.last_seen_s ELSE devices.last_seen_s END""",
                (record.device_id, record.site or "", int(record.online), record.state, record.boot_id,
                 record.firmware, record.model, record.payload, record.received_s, record.received_s))

    def set_site(self, device_id: str, site: str) -> None:
        """The operator's inventory: which site a box is at (status documents may also name it)."""
        with self.db.transaction():
            self.db.execute("""INSERT INTO devices (device_id, site) VALUES (?, ?)
                ON CONFLICT (device_id) DO UPDATE SET site = excluded.site""", (device_id, site))

    def health(self, record: HealthRecord) -> None:
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO devices (device_id, health_json, health_s, last_seen_s) VALUES (?,?,?,?)
                ON CONFLICT (device_id) DO UPDATE SET health_json = excluded.health_json,
                health_s = excluded.health_s, last_seen_s = excluded.last_seen_s""",
                (record.device_id, record.payload, record.received_s, record.received_s))

    def desired(self, device_id: str, version: int, settings_json: str, by: str, now_s: float) -> None:
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO configs (device_id, desired_version, desired_json, desired_s, desired_by)
                VALUES (?,?,?,?,?) ON CONFLICT (device_id) DO UPDATE SET
                desired_version = excluded.desired_version, desired_json = excluded.desired_json,
                desired_s = excluded.desired_s, desired_by = excluded.desired_by""",
                (device_id, version, settings_json, now_s, by))

    def desired_seen(self, record: DesiredConfig) -> None:
        """A retained desired document from the broker: keep it if it is newer than ours."""
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO configs (device_id, desired_version, desired_json, desired_s, desired_by)
                VALUES (?,?,?,?,'broker') ON CONFLICT (device_id) DO UPDATE SET
                desired_version = excluded.desired_version, desired_json = excluded.desired_json,
                desired_s = excluded.desired_s, desired_by = excluded.desired_by
                WHERE configs.desired_version IS NULL OR configs.desired_version < excluded.desired_version""",
                (record.device_id, record.version, record.settings, record.received_s))

    def reported(self, record: ReportedConfig) -> None:
        errors = json.dumps([list(e) for e in record.errors], ensure_ascii=False)
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO configs (device_id, reported_version, reported_applied, reported_errors,
                reported_json, reported_s) VALUES (?,?,?,?,?,?) ON CONFLICT (device_id) DO UPDATE SET
                reported_version = excluded.reported_version, reported_applied = excluded.reported_applied,
                reported_errors = excluded.reported_errors, reported_json = excluded.reported_json,
                reported_s = excluded.reported_s""",
                (record.device_id, record.version, int(record.applied), errors, record.payload, record.received_s))

    def command_sent(self, correlation_id: str, device_id: str, name: str, args_json: str,
                     by: str, now_s: float) -> None:
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO commands (correlation_id, device_id, name, args_json, sent_by, sent_s)
                VALUES (?,?,?,?,?,?)""", (correlation_id, device_id, name, args_json, by, now_s))

    def command_reply(self, reply: CommandReply) -> None:
        with self.db.transaction():
            self.db.execute(
                """UPDATE commands SET ok = ?, result_json = ?, answered_s = ?
                WHERE correlation_id = ? AND device_id = ?""",
                (int(reply.ok), reply.result, reply.received_s, reply.correlation_id, reply.device_id))

    def put_user(self, username: str, role: str, password_hash: str, now_s: float) -> None:
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO users (username, role, password_hash, created_s) VALUES (?,?,?,?)
                ON CONFLICT (username) DO UPDATE SET role = excluded.role,
                password_hash = excluded.password_hash""", (username, role, password_hash, now_s))

    def set_meta(self, key: str, value: str) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                            (key, value))
