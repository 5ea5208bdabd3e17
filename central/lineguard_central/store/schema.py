"""The schema, valid on SQLite and PostgreSQL alike.

``events`` holds every event once (``event_id`` is the primary key: duplicates
from QoS 1 redelivery or outbox replay are dropped). ``daily`` is a per-day,
per-device rollup kept at insert time so the charts never scan events.
"""

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS devices (
        device_id TEXT PRIMARY KEY,
        site TEXT NOT NULL DEFAULT '',
        online SMALLINT NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'unknown',
        boot_id TEXT, firmware TEXT, model TEXT,
        status_json TEXT, status_s DOUBLE PRECISION,
        health_json TEXT, health_s DOUBLE PRECISION,
        last_seen_s DOUBLE PRECISION,
        last_incident_s DOUBLE PRECISION, last_incident_type TEXT, last_incident_call TEXT)""",
    """CREATE TABLE IF NOT EXISTS events (
        event_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        type TEXT NOT NULL,
        ts_s DOUBLE PRECISION NOT NULL,
        day TEXT NOT NULL,
        call_id TEXT, seq BIGINT, boot_id TEXT, keyword TEXT, reason TEXT,
        incident SMALLINT NOT NULL,
        payload TEXT NOT NULL,
        received_s DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS events_incident_ts ON events (incident, ts_s)",
    "CREATE INDEX IF NOT EXISTS events_call ON events (call_id)",
    "CREATE INDEX IF NOT EXISTS events_device_ts ON events (device_id, ts_s)",
    "CREATE INDEX IF NOT EXISTS events_keyword_ts ON events (keyword, ts_s)",
    "CREATE TABLE IF NOT EXISTS keywords (keyword TEXT PRIMARY KEY)",
    """CREATE TABLE IF NOT EXISTS daily (
        day TEXT NOT NULL, device_id TEXT NOT NULL,
        calls INTEGER NOT NULL DEFAULT 0, warnings INTEGER NOT NULL DEFAULT 0,
        terminations INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, device_id))""",
    """CREATE TABLE IF NOT EXISTS configs (
        device_id TEXT PRIMARY KEY,
        desired_version INTEGER, desired_json TEXT, desired_s DOUBLE PRECISION, desired_by TEXT,
        reported_version INTEGER, reported_applied SMALLINT, reported_errors TEXT,
        reported_json TEXT, reported_s DOUBLE PRECISION)""",
    """CREATE TABLE IF NOT EXISTS commands (
        correlation_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL, name TEXT NOT NULL, args_json TEXT NOT NULL,
        sent_by TEXT NOT NULL, sent_s DOUBLE PRECISION NOT NULL,
        ok SMALLINT, result_json TEXT, answered_s DOUBLE PRECISION)""",
    "CREATE INDEX IF NOT EXISTS commands_device ON commands (device_id, sent_s)",
    """CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
        created_s DOUBLE PRECISION NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
