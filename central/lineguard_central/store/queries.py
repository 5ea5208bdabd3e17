"""Reads for the console. Every query is bounded (LIMIT) and served by an index or the daily rollup."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from lineguard_central.store.db import Database
from lineguard_central.store.rows import (
    CommandRow, ConfigRow, DayCount, DeviceRow, EventRow, IncidentFilter, UserRow,
)

_EVENT_COLUMNS = "e.event_id, e.device_id, e.type, e.ts_s, e.call_id, e.seq, e.keyword, e.reason, e.payload"


def utc_day(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%d")


class Queries:
    def __init__(self, db: Database):
        self.db = db

    def fleet(self, today: str, site: str = "") -> list[DeviceRow]:
        where, params = ("WHERE d.site = ?", [site]) if site else ("", [])
        rows = self.db.rows(
            f"""SELECT d.*, COALESCE(y.calls, 0) AS calls_today,
            COALESCE(y.warnings, 0) + COALESCE(y.terminations, 0) AS incidents_today
            FROM devices d LEFT JOIN daily y ON y.device_id = d.device_id AND y.day = ?
            {where} ORDER BY d.site, d.device_id""", [today, *params])
        return [DeviceRow.of(r) for r in rows]

    def device(self, device_id: str, today: str) -> DeviceRow | None:
        rows = [d for d in self.fleet(today) if d.device_id == device_id]
        return rows[0] if rows else None

    def sites(self) -> list[str]:
        return [r["site"] for r in self.db.rows(
            "SELECT DISTINCT site FROM devices WHERE site <> '' ORDER BY site")]

    def incidents(self, flt: IncidentFilter, limit: int = 100) -> list[EventRow]:
        clauses, params = ["e.incident = 1"], []
        for cond, sql, value in (
            (flt.site, "d.site = ?", flt.site),
            (flt.device_id, "e.device_id = ?", flt.device_id),
            (flt.kind, "e.type = ?", flt.kind),
            (flt.reason, "e.reason = ?", flt.reason),
            (flt.keyword, "e.keyword = ?", flt.keyword),
            (flt.day_from, "e.ts_s >= ?", _day_start_s(flt.day_from) if flt.day_from else 0),
            (flt.day_to, "e.ts_s < ?", _day_start_s(flt.day_to) + 86400 if flt.day_to else 0),
            (flt.before_s is not None, "e.ts_s < ?", flt.before_s),
        ):
            if cond:
                clauses.append(sql)
                params.append(value)
        rows = self.db.rows(
            f"""SELECT {_EVENT_COLUMNS}, COALESCE(d.site, '') AS site FROM events e
            LEFT JOIN devices d ON d.device_id = e.device_id
            WHERE {' AND '.join(clauses)} ORDER BY e.ts_s DESC LIMIT {int(limit)}""", params)
        return [EventRow.of(r) for r in rows]

    def keywords(self) -> list[str]:
        return [r["keyword"] for r in self.db.rows("SELECT keyword FROM keywords ORDER BY keyword")]

    def reasons(self) -> list[str]:
        return ["abuse", "threat", "duration", "manual", "notice", "warning", "final", "long_call"]

    def daily(self, last_day: str, days: int, site: str = "", device_id: str = "") -> list[DayCount]:
        first = (datetime.strptime(last_day, "%Y-%m-%d") - timedelta(days=days - 1)).strftime("%Y-%m-%d")
        clauses, params = ["y.day >= ?", "y.day <= ?"], [first, last_day]
        if site:
            clauses.append("y.device_id IN (SELECT device_id FROM devices WHERE site = ?)")
            params.append(site)
        if device_id:
            clauses.append("y.device_id = ?")
            params.append(device_id)
        rows = {r["day"]: r for r in self.db.rows(
            f"""SELECT y.day, SUM(y.calls) AS calls, SUM(y.warnings) AS warnings,
            SUM(y.terminations) AS terminations FROM daily y WHERE {' AND '.join(clauses)}
            GROUP BY y.day""", params)}
        out = []
        for i in range(days):
            day = (datetime.strptime(first, "%Y-%m-%d") + timedelta(days=i)).strftime("%Y-%m-%d")
            r = rows.get(day, {})
            out.append(DayCount(day, int(r.get("calls") or 0), int(r.get("warnings") or 0),
                                int(r.get("terminations") or 0)))
        return out

    def call_events(self, call_id: str, limit: int = 500) -> list[EventRow]:
        rows = self.db.rows(
            f"""SELECT {_EVENT_COLUMNS}, COALESCE(d.site, '') AS site FROM events e
            LEFT JOIN devices d ON d.device_id = e.device_id WHERE e.call_id = ?
            ORDER BY e.ts_s, e.seq LIMIT {int(limit)}""", (call_id,))
        return [EventRow.of(r) for r in rows]

    def recent_events(self, device_id: str, limit: int = 20) -> list[EventRow]:
        rows = self.db.rows(
            f"""SELECT {_EVENT_COLUMNS} FROM events e WHERE e.device_id = ?
            ORDER BY e.ts_s DESC, e.seq DESC LIMIT {int(limit)}""", (device_id,))
        return [EventRow.of(r) for r in rows]

    def config(self, device_id: str) -> ConfigRow:
        row = self.db.one("SELECT * FROM configs WHERE device_id = ?", (device_id,))
        return ConfigRow.of(row) if row else ConfigRow(device_id)

    def commands(self, device_id: str, limit: int = 10) -> list[CommandRow]:
        rows = self.db.rows(
            f"SELECT * FROM commands WHERE device_id = ? ORDER BY sent_s DESC LIMIT {int(limit)}", (device_id,))
        return [CommandRow.of(r) for r in rows]

    def command(self, correlation_id: str) -> CommandRow | None:
        row = self.db.one("SELECT * FROM commands WHERE correlation_id = ?", (correlation_id,))
        return CommandRow.of(row) if row else None

    def user(self, username: str) -> UserRow | None:
        row = self.db.one("SELECT username, role, password_hash FROM users WHERE username = ?", (username,))
        return UserRow.of(row) if row else None

    def meta(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def event_count(self) -> int:
        row = self.db.one("SELECT COUNT(*) AS n FROM events")
        return int(row["n"]) if row else 0


def _day_start_s(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
