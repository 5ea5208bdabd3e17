"""The SQLite outbox: durable, ordered, monotonic seq across restarts, bounded with a drop policy."""

from __future__ import annotations

import json
import sqlite3

from lineguard.events import CallStarted, Direction, KeywordDetected, Side, Status
from lineguard.mqtt.outbox import Outbox


def status(i: int) -> Status:
    return Status(time=float(i), state="idle", detail=f"n{i}")


def test_events_are_stamped_stored_in_order_and_removed_on_ack(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", "boot-1")
    stamped = [box.add(status(i)) for i in range(5)]
    assert [e.seq for e in stamped] == [1, 2, 3, 4, 5] and {e.boot_id for e in stamped} == {"boot-1"}
    assert [json.loads(e.payload)["detail"] for e in box.pending()] == [f"n{i}" for i in range(5)]
    box.ack(2)
    assert [e.seq for e in box.pending()] == [1, 3, 4, 5]
    assert [e.seq for e in box.pending(after_seq=3, limit=1)] == [4]
    wire = json.loads(box.pending()[0].payload)
    assert wire["seq"] == 1 and wire["boot_id"] == "boot-1" and wire["event_id"] == stamped[0].event_id


def test_pending_events_and_seq_survive_a_restart(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", "boot-1")
    for i in range(3):
        box.add(status(i))
    box.ack(1), box.ack(2), box.ack(3)
    box.add(status(3))
    box.close()     # (a kill -9 is covered by test_crash.py)
    again = Outbox(tmp_path / "o.sqlite", "boot-2")
    assert [e.seq for e in again.pending()] == [4]
    assert again.add(status(4)).seq == 5, "seq only grows, even after every event was acknowledged"


def test_wal_and_full_sync(tmp_path):
    Outbox(tmp_path / "o.sqlite", "b")
    db = sqlite3.connect(tmp_path / "o.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_full_outbox_drops_oldest_non_incident_first_and_reports_one_fault(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", "b", max_events=10)
    incidents = [box.add(KeywordDetected(time=i, keyword="ko_ssibal", score=0.9, side=Side.FAR)) for i in range(3)]
    calls = [box.add(CallStarted(time=i, direction=Direction.INCOMING)) for i in range(3)]
    for i in range(10):
        box.add(status(i))
    kept = box.pending(limit=100)
    assert len(kept) == 10 and box.dropped_total == 7
    kept_ids = {e.event_id for e in kept}
    assert {e.event_id for e in incidents} <= kept_ids, "incidents are kept while others can go"
    assert not {e.event_id for e in calls} & kept_ids, "the oldest non-incident events went first"
    faults = [json.loads(e.payload) for e in kept if e.type == "fault"]
    assert len(faults) == 1 and faults[0]["component"] == "outbox"
    assert faults[0]["message"] == "outbox full: dropped 7 oldest events"
    assert [e.seq for e in kept] == sorted(e.seq for e in kept)


def test_byte_bound_drops_too(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", "b", max_events=1000, max_bytes=4096)
    for i in range(100):
        box.add(Status(time=i, state="idle", detail="x" * 100))
    assert box.size_bytes() <= 4096 + 400 and box.dropped_total > 0
