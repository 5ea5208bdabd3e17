"""Writes: events (deduplicated on ``event_id``), status, health, settings, commands, users."""

from __future__ import annotations

import json
from collections.abc import Iterable

from lineguard_central.store.db import Database
from lineguard_central.wire import (
    CommandReply, DesiredConfig, EventRecord, HealthRecord, ReportedConfig, StatusRecord,
)

_DAILY_COLUMN = {"call_started": "calls", "warning_started": "warnings", "call_terminated": "terminations"}

_EVENT_COLUMNS = ("event_id, device_id, type, ts_s, day, call_id, seq, boot_id, keyword, reason, incident, "
                  "payload, received_s")
_ROWS_PER_INSERT = 400      # 13 columns each: well under SQLite's limit on bound parameters

_TOUCH_DEVICE = """INSERT INTO devices (device_id, last_seen_s) VALUES (?, ?)
    ON CONFLICT (device_id) DO UPDATE SET last_seen_s =
    CASE WHEN devices.last_seen_s IS NULL OR devices.last_seen_s < excluded.last_seen_s
         THEN excluded.last_seen_s ELSE devices.last_seen_s END"""


class Writer:
    """All writes go through here; each public method is one transaction."""

    def __init__(self, db: Database):
        self.db = db

    def ingest(self, events: Iterable[EventRecord], received_s: float) -> int:
        """Store new events, drop duplicates (by ``event_id``); return how many were new.

        One transaction: multi-row inserts that return the ids actually inserted, then the
        per-day counters and each box's last incident from the new events only.
        """
        events = list(events)
        with self.db.transaction():
            keywords = self._warning_keywords(events)
            new: list[EventRecord] = []
            for start in range(0, len(events), _ROWS_PER_INSERT):
                new += self._insert_rows(events[start:start + _ROWS_PER_INSERT], keywords, received_s)
            self._count(new)
            for device_id in sorted({e.device_id for e in events}):
                self.db.execute(_TOUCH_DEVICE, (device_id, received_s))
        return len(new)

    def _insert_rows(self, chunk: list[EventRecord], keywords: dict[str, str | None],
                     received_s: float) -> list[EventRecord]:
        unique = list({e.event_id: e for e in chunk}.values())
        params: list[object] = []
        for e in unique:
            params += [e.event_id, e.device_id, e.type, e.ts_s, e.day, e.call_id, e.seq, e.boot_id,
                       keywords.get(e.event_id, e.keyword), e.reason, int(e.incident), e.payload, received_s]
        marks = ", ".join(["(" + ",".join("?" * 13) + ")"] * len(unique))
        rows = self.db.rows(f"""INSERT INTO events ({_EVENT_COLUMNS}) VALUES {marks}
            ON CONFLICT (event_id) DO NOTHING RETURNING event_id""", params)
        inserted = {r["event_id"] for r in rows}
        return [e for e in unique if e.event_id in inserted]

    def _warning_keywords(self, events: list[EventRecord]) -> dict[str, str | None]:
        """A warning names no keyword: take the one heard last before it in the same call."""
        heard: dict[str, str] = {}
        out: dict[str, str | None] = {}
        for e in sorted(events, key=lambda e: (e.ts_s, e.seq or 0)):
            if e.type == "keyword_detected" and e.call_id and e.keyword:
                heard[e.call_id] = e.keyword
            elif e.type == "warning_started" and e.keyword is None and e.call_id:
                out[e.event_id] = heard.get(e.call_id) or self._call_keyword(e.call_id)
        return out

    def _call_keyword(self, call_id: str) -> str | None:
        row = self.db.one(
            """SELECT keyword FROM events WHERE call_id = ? AND type = 'keyword_detected'
            ORDER BY ts_s DESC LIMIT 1""", (call_id,))
        return row["keyword"] if row else None

    def _count(self, new: list[EventRecord]) -> None:
        counts: dict[tuple[str, str, str], int] = {}
        last: dict[str, EventRecord] = {}
        for e in new:
            column = _DAILY_COLUMN.get(e.type)
            if column:
                counts[(e.day, e.device_id, column)] = counts.get((e.day, e.device_id, column), 0) + 1
            if e.incident and (e.device_id not in last or last[e.device_id].ts_s <= e.ts_s):
                last[e.device_id] = e
        for (day, device_id, column), n in sorted(counts.items()):
            self.db.execute(
                f"""INSERT INTO daily (day, device_id, {column}) VALUES (?, ?, ?)
                ON CONFLICT (day, device_id) DO UPDATE SET {column} = daily.{column} + excluded.{column}""",
                (day, device_id, n))
        for keyword in sorted({e.keyword for e in new if e.keyword}):
            self.db.execute("INSERT INTO keywords (keyword) VALUES (?) ON CONFLICT (keyword) DO NOTHING", (keyword,))
        for device_id, e in sorted(last.items()):
            self.db.execute(
                """INSERT INTO devices (device_id, last_incident_s, last_incident_type, last_incident_call)
                VALUES (?,?,?,?) ON CONFLICT (device_id) DO UPDATE SET
                last_incident_s = excluded.last_incident_s, last_incident_type = excluded.last_incident_type,
                last_incident_call = excluded.last_incident_call
                WHERE devices.last_incident_s IS NULL OR devices.last_incident_s <= excluded.last_incident_s""",
                (device_id, e.ts_s, e.type, e.call_id))

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

    def prune_events(self, before_s: float, chunk: int = 10000) -> int:
        """Delete events older than ``before_s`` (the per-day counts stay); return how many went."""
        removed = 0
        while True:
            with self.db.transaction():
                cursor = self.db.execute(
                    f"""DELETE FROM events WHERE event_id IN
                    (SELECT event_id FROM events WHERE ts_s < ? LIMIT {int(chunk)})""", (before_s,))
                count = cursor.rowcount
            removed += count
            if count < chunk:
                return removed

    def set_meta(self, key: str, value: str) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                            (key, value))
