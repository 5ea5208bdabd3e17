"""Repeat abusers: numbers whose call was ended for abuse are flagged.

A flag lasts ``days``; while it is live, the number's next calls get the
site's chosen consequence (a notice at call start, the strict policy, or a
block). Flags live in SQLite so they survive restarts; a central list of
flags can be merged in (``source = "central"``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lineguard.callers.numbers import is_withheld, normalize

SCHEMA = """
CREATE TABLE IF NOT EXISTS flags (
    number TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    call_id TEXT,
    flagged_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL DEFAULT 'local'
)
"""


@dataclass(frozen=True)
class Flag:
    number: str
    reason: str
    call_id: str | None
    flagged_at: datetime
    expires_at: datetime
    count: int = 1
    source: str = "local"


class FlagStore:
    def __init__(self, path: Path | str, country: str = "KR") -> None:
        self.country = country
        self.path = path
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """Opened (and created) on first use, so a box that never flags anyone writes nothing."""
        if self._db is None:
            if str(self.path) != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path))
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
            self._db.commit()
        return self._db

    def _exists(self) -> bool:
        return self._db is not None or str(self.path) == ":memory:" or Path(self.path).exists()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def flag(self, caller_id: str | None, reason: str, call_id: str | None, now: datetime, days: float,
             source: str = "local") -> Flag | None:
        """Flag a number (or refresh its flag); withheld callers cannot be flagged."""
        if is_withheld(caller_id):
            return None
        number = normalize(caller_id or "", self.country)
        expires = now + timedelta(days=days)
        with self.db:
            self.db.execute(
                "INSERT INTO flags(number, reason, call_id, flagged_at, expires_at, source) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(number) DO UPDATE SET reason=excluded.reason, call_id=excluded.call_id, "
                "flagged_at=excluded.flagged_at, expires_at=MAX(flags.expires_at, excluded.expires_at), "
                "count=flags.count+1",
                (number, reason, call_id, now.isoformat(), expires.isoformat(), source))
        return self.get(number)

    def get(self, number: str) -> Flag | None:
        if not self._exists():
            return None
        row = self.db.execute("SELECT number, reason, call_id, flagged_at, expires_at, count, source "
                              "FROM flags WHERE number = ?", (number,)).fetchone()
        return _flag(row) if row else None

    def active(self, caller_id: str | None, now: datetime) -> Flag | None:
        if is_withheld(caller_id):
            return None
        flag = self.get(normalize(caller_id or "", self.country))
        return flag if flag and now < flag.expires_at else None

    def all(self) -> list[Flag]:
        if not self._exists():
            return []
        rows = self.db.execute("SELECT number, reason, call_id, flagged_at, expires_at, count, source "
                               "FROM flags ORDER BY flagged_at").fetchall()
        return [_flag(r) for r in rows]

    def expire(self, now: datetime) -> int:
        with self.db:
            cur = self.db.execute("DELETE FROM flags WHERE expires_at <= ?", (now.isoformat(),))
        return cur.rowcount

    def remove(self, caller_id: str) -> bool:
        with self.db:
            cur = self.db.execute("DELETE FROM flags WHERE number = ?", (normalize(caller_id, self.country),))
        return cur.rowcount > 0

    def merge_central(self, entries: list[tuple[str, str, datetime]], now: datetime) -> int:
        """Take a central list of (number, reason, expires_at) pushed to the organisation's boxes."""
        merged = 0
        for number, reason, expires in entries:
            if expires > now:
                days = (expires - now).total_seconds() / 86400
                merged += self.flag(number, reason, None, now, days, source="central") is not None
        return merged


def _flag(row: tuple) -> Flag:
    number, reason, call_id, flagged, expires, count, source = row
    return Flag(number, reason, call_id, datetime.fromisoformat(flagged), datetime.fromisoformat(expires),
                int(count), source)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
