"""Store-and-forward outbox: every event is on disk before it is published.

SQLite in WAL mode with ``synchronous=FULL``: an event handed to :meth:`Outbox.add`
survives a power cut. It is removed only when the broker acknowledges it
(PUBACK), and is sent again, in ``seq`` order, after a reconnect or a restart.
``seq`` comes from an AUTOINCREMENT key, so it only grows, across restarts too.

The outbox is bounded (events and bytes). When full it drops the oldest
non-incident events first, then the oldest incidents, and records a ``fault``
event saying how many it dropped.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lineguard.clock import rfc3339
from lineguard.errors import DeviceError
from lineguard.events import Event, Fault

log = logging.getLogger(__name__)

INCIDENT_TYPES = frozenset({"keyword_detected", "warning_started", "warning_finished", "call_terminated",
                            "recording_saved", "fault", "call_blocked", "caller_flagged"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type     TEXT NOT NULL,
    incident INTEGER NOT NULL,
    payload  BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    """One stored event, ready to publish."""

    seq: int
    event_id: str
    type: str
    payload: bytes


class Outbox:
    """Durable, bounded queue of events waiting for the broker's PUBACK."""

    def __init__(self, path: Path, boot_id: str, max_events: int = 20000, max_bytes: int = 16 << 20) -> None:
        self.path = Path(path)
        self.boot_id = boot_id
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.dropped_total = 0
        self._drop_fault: Event | None = None
        self._episode_dropped = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise DeviceError(f"{self.path}: cannot open the MQTT outbox: {exc}") from exc

    def add(self, event: Event) -> Event:
        """Stamp ``seq`` and ``boot_id``, store durably, and return the stamped event."""
        with self._lock:
            stamped = self._insert(event)
            dropped = self._enforce_bounds()
            if dropped:
                self._report_drop(event.time, dropped)
        if dropped:
            log.warning("MQTT outbox full (%s): dropped %d events", self.path, dropped)
        return stamped

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[Entry]:
        """Stored events with ``seq > after_seq``, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT seq, event_id, type, payload FROM outbox WHERE seq > ? "
                                    "ORDER BY seq LIMIT ?", (after_seq, limit)).fetchall()
        return [Entry(seq, event_id, kind, bytes(payload)) for seq, event_id, kind, payload in rows]

    def ack(self, seq: int) -> None:
        """The broker has the event: forget it."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def size_bytes(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals (called with the lock held) -------------------------------------

    def _insert(self, event: Event) -> Event:
        try:
            with _transaction(self._db):   # one commit (an fsync, with synchronous=FULL)
                cur = self._db.execute("INSERT INTO outbox (event_id, type, incident, payload) VALUES (?, ?, ?, ?)",
                                       (event.event_id, event.TYPE, int(event.TYPE in INCIDENT_TYPES), b""))
                seq = cur.lastrowid
                stamped = event.replace(seq=seq, boot_id=self.boot_id)
                payload = json.dumps(stamped.to_wire(), ensure_ascii=False, separators=(",", ":")).encode()
                self._db.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (payload, seq))
        except sqlite3.IntegrityError as exc:
            raise DeviceError(f"event {event.event_id} is already in the outbox") from exc
        except sqlite3.Error as exc:
            raise DeviceError(f"{self.path}: cannot store event: {exc}") from exc
        return stamped

    def _report_drop(self, time_s: float, dropped: int) -> None:
        """One pending ``fault`` per episode: while it is unsent, its count grows."""
        self._episode_dropped += dropped
        fault = self._drop_fault
        message = f"outbox full: dropped {self._episode_dropped} oldest events"
        if fault is not None and self._db.execute("SELECT 1 FROM outbox WHERE seq = ?", (fault.seq,)).fetchone():
            fault = fault.replace(message=message)
            payload = json.dumps(fault.to_wire(), ensure_ascii=False, separators=(",", ":")).encode()
            self._db.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (payload, fault.seq))
        else:
            self._episode_dropped = dropped
            fault = self._insert(Fault(time=time_s, ts=rfc3339_now(), component="outbox", recovered=True,
                                       message=f"outbox full: dropped {dropped} oldest events"))
        self._drop_fault = fault

    def _enforce_bounds(self) -> int:
        dropped = 0
        while True:
            count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()
            # keep room for the fault event that reports the drop
            if count + (1 if dropped and self._drop_fault is None else 0) <= self.max_events \
                    and size <= self.max_bytes:
                break
            if count <= 1:
                break
            victim = self._db.execute("SELECT seq FROM outbox ORDER BY incident, seq LIMIT 1").fetchone()[0]
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (victim,))
            dropped += 1
        self.dropped_total += dropped
        return dropped


def rfc3339_now() -> str:
    return rfc3339(datetime.now(timezone.utc))


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
