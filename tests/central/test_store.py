"""The store on SQLite and on a real PostgreSQL server: dedupe, rollups, filters, timelines, settings."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from lineguard_central.store import Queries, Writer, open_database
from lineguard_central.store.rows import IncidentFilter
from lineguard_central.wire import parse_event, parse_reported, parse_status

DAY1 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc).timestamp()
DAY2 = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc).timestamp()


def ev(device: str, kind: str, event_id: str, ts_s: float, call_id: str = "c1", **fields: object):
    payload = {"type": kind, "event_id": event_id, "time": 0.0, "call_id": call_id, "seq": 1, "boot_id": "b",
               "ts": datetime.fromtimestamp(ts_s, timezone.utc).isoformat().replace("+00:00", "Z"), **fields}
    return parse_event(device, kind, json.dumps(payload).encode())


@pytest.fixture
def store(db_url: str):
    db = open_database(db_url)
    yield Writer(db), Queries(db)
    db.close()


def _abusive_call(device: str, call_id: str, ts_s: float, keyword: str) -> list:
    return [
        ev(device, "call_started", f"{call_id}-1", ts_s, call_id, direction="incoming"),
        ev(device, "keyword_detected", f"{call_id}-2", ts_s + 5, call_id, keyword=keyword, score=0.9, side="far"),
        ev(device, "warning_started", f"{call_id}-3", ts_s + 6, call_id, level="warning", prompt_id="warning"),
        ev(device, "call_terminated", f"{call_id}-4", ts_s + 20, call_id, reason="abuse", keyword=keyword),
        ev(device, "call_ended", f"{call_id}-5", ts_s + 22, call_id, duration_s=22.0, ended_by="gateway"),
    ]


def test_duplicates_are_stored_once_and_counted_once(store):
    writer, queries = store
    events = _abusive_call("gw-1", "call-a", DAY1, "ko_ssibal")
    assert writer.ingest(events, DAY1 + 30) == 5
    assert writer.ingest(events + events[:2], DAY1 + 31) == 0
    assert queries.event_count() == 5
    day = queries.daily("2026-11-20", 1)[0]
    assert (day.calls, day.warnings, day.terminations) == (1, 1, 1)


def test_warning_takes_the_keyword_heard_before_it_and_timeline_is_ordered(store):
    writer, queries = store
    writer.ingest(_abusive_call("gw-1", "call-a", DAY1, "ko_jiral"), DAY1)
    warning = [e for e in queries.incidents(IncidentFilter(kind="warning_started"))][0]
    assert warning.keyword == "ko_jiral"
    timeline = queries.call_events("call-a")
    assert [e.type for e in timeline] == ["call_started", "keyword_detected", "warning_started",
                                          "call_terminated", "call_ended"]


def test_incident_filters_by_site_date_keyword_reason(store):
    writer, queries = store
    writer.status(parse_status("gw-1", b'{"state":"online","site":"Mapo"}', DAY1))
    writer.status(parse_status("gw-2", b'{"state":"online","site":"Busan"}', DAY1))
    writer.ingest(_abusive_call("gw-1", "a", DAY1, "ko_ssibal") + _abusive_call("gw-2", "b", DAY2, "en_idiot"), DAY2)
    assert {e.call_id for e in queries.incidents(IncidentFilter(site="Mapo"))} == {"a"}
    assert {e.call_id for e in queries.incidents(IncidentFilter(day_from="2026-11-21"))} == {"b"}
    assert {e.call_id for e in queries.incidents(IncidentFilter(day_to="2026-11-20"))} == {"a"}
    assert {e.call_id for e in queries.incidents(IncidentFilter(keyword="en_idiot"))} == {"b"}
    assert [e.type for e in queries.incidents(IncidentFilter(reason="abuse"))] == ["call_terminated"] * 2
    assert [e.reason for e in queries.incidents(IncidentFilter(reason="warning"))] == ["warning"] * 2
    newest_first = queries.incidents(IncidentFilter())
    assert [e.ts_s for e in newest_first] == sorted((e.ts_s for e in newest_first), reverse=True)
    older = queries.incidents(IncidentFilter(before_s=newest_first[1].ts_s))
    assert len(older) == len(newest_first) - 2
    assert queries.sites() == ["Busan", "Mapo"]


def test_fleet_rows_carry_status_last_incident_and_calls_today(store):
    writer, queries = store
    writer.status(parse_status("gw-1", b'{"state":"online","site":"Mapo","firmware":"0.1.0",'
                                        b'"model_version":"m1","boot_id":"b1"}', DAY1))
    writer.ingest(_abusive_call("gw-1", "a", DAY1, "ko_ssibal"), DAY1 + 40)
    row = queries.fleet("2026-11-20")[0]
    assert (row.device_id, row.site, row.online, row.firmware, row.model) == ("gw-1", "Mapo", 1, "0.1.0", "m1")
    assert row.calls_today == 1 and row.incidents_today == 2
    assert row.last_incident_type == "call_terminated" and row.last_seen_s == DAY1 + 40
    writer.status(parse_status("gw-1", b'{"state":"offline"}', DAY1 + 50))
    row = queries.fleet("2026-11-20")[0]
    assert row.online == 0 and row.site == "Mapo" and row.last_seen_s == DAY1 + 40


def test_settings_desired_then_reported_rejected_then_applied(store):
    writer, queries = store
    writer.desired("gw-1", 1, '{"policy": {"warnings_before_final": 9}}', "operator", DAY1)
    report = {"status": "rejected", "version": 1, "applied_version": 0,
              "errors": [{"key": "settings.policy.warnings_before_final", "why": "less than or equal to 5"}]}
    writer.reported(parse_reported("gw-1", json.dumps(report).encode(), DAY1 + 1))
    config = queries.config("gw-1")
    assert not config.reported_applied and not config.in_sync
    assert config.errors == [("settings.policy.warnings_before_final", "less than or equal to 5")]
    writer.desired("gw-1", 2, '{"policy": {"warnings_before_final": 2}}', "operator", DAY1 + 2)
    writer.reported(parse_reported("gw-1", b'{"status":"applied","version":2,"applied_version":2,"errors":[]}',
                                   DAY1 + 3))
    assert queries.config("gw-1").in_sync


def test_commands_are_logged_and_answered(store):
    from lineguard_central.wire import parse_reply
    writer, queries = store
    writer.command_sent("corr-1", "gw-1", "selftest", "{}", "operator", DAY1)
    assert queries.commands("gw-1")[0].ok is None
    writer.command_reply(parse_reply("gw-1", b"corr-1", b'{"command":"selftest","ok":true,"result":{}}', DAY1 + 1))
    row = queries.command("corr-1")
    assert row.ok == 1 and row.answered_s == DAY1 + 1


def test_prune_removes_old_events_and_keeps_the_daily_counts(store):
    writer, queries = store
    writer.ingest(_abusive_call("gw-1", "old", DAY1, "ko_ssibal") + _abusive_call("gw-1", "new", DAY2, "en_idiot"),
                  DAY2)
    assert writer.prune_events(DAY2 - 3600, chunk=2) == 5
    assert {e.call_id for e in queries.incidents(IncidentFilter())} == {"new"}
    assert queries.daily("2026-11-20", 1)[0].calls == 1


def test_a_warning_in_a_later_batch_still_finds_the_keyword(store):
    writer, queries = store
    call = _abusive_call("gw-1", "split", DAY1, "ko_ttorai")
    writer.ingest(call[:2], DAY1)
    writer.ingest(call[2:], DAY1)
    assert [e.keyword for e in queries.incidents(IncidentFilter(kind="warning_started"))] == ["ko_ttorai"]


def test_keywords_seen_are_listed_for_the_filter(store):
    writer, queries = store
    writer.ingest(_abusive_call("gw-1", "a", DAY1, "ko_ssibal") + _abusive_call("gw-1", "b", DAY1, "en_idiot"), DAY1)
    assert queries.keywords() == ["en_idiot", "ko_ssibal"]
