"""Ingest through a real Mosquitto: storage, dedupe, last will, shared subscription, commands, settings."""

from __future__ import annotations

import json
import uuid

from lineguard.events import CallStarted, Direction
from lineguard_central.link import CentralLink
from lineguard_central.store import Queries, Writer, open_database

from tests.central.conftest import central_settings, wait_for


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_events_status_and_health_are_stored_and_duplicates_dropped(central, gateway_factory):
    gateway = gateway_factory(_uid("gw"))
    central.writer.set_site(gateway.device_id, "Mapo clinic")
    total = gateway.backfill(days=2, calls_per_day=4)
    queries = central.queries
    wait_for(lambda: queries.event_count() >= total, what="all events stored")
    first = gateway.emit(CallStarted(time=0.0, call_id="dup-call", direction=Direction.INCOMING))
    for _ in range(3):                       # the outbox replays after a reconnect: same event_id
        gateway.resend(first)
    wait_for(lambda: central.link.stats.duplicates >= 3, what="duplicates seen")
    central.link.drain()
    assert queries.event_count() == total + 1
    row = queries.device(gateway.device_id, central.console.today())
    assert row is not None and row.online == 1 and row.site == "Mapo clinic"
    assert row.health["backends"]["relay"] == "gpio"
    seqs = [r["seq"] for r in central.db.rows("SELECT seq FROM events WHERE device_id = ? ORDER BY seq",
                                          (gateway.device_id,))]
    assert seqs == list(range(1, total + 2))


def test_a_gateway_that_drops_off_is_marked_offline_by_its_last_will(central, gateway_factory):
    gateway = gateway_factory(_uid("gw"))
    today = central.console.today()
    wait_for(lambda: (central.queries.device(gateway.device_id, today) or None), what="device row")
    gateway.stop(clean=False)
    wait_for(lambda: central.queries.device(gateway.device_id, today).online == 0, timeout_s=60,
             what="last will")


def test_bad_payloads_are_rejected_and_the_link_keeps_going(central, gateway_factory):
    gateway = gateway_factory(_uid("gw"))
    root = gateway.root
    for topic, body in ((f"{root}/evt/call_started", b"not json"), (f"{root}/evt/call_started", b"[1,2]"),
                        (f"{root}/evt/call_started", b'{"type":"call_started"}'),
                        (f"{root}/health", b'"x"'), ("lineguard/v1/bad id/status", b"{}")):
        gateway.client.publish(topic, body, qos=1).wait_for_publish(5)
    wait_for(lambda: central.link.stats.rejected >= 4, what="rejections")
    gateway.emit(CallStarted(time=0.0, call_id="after", direction=Direction.INCOMING))
    wait_for(lambda: central.queries.call_events("after"), what="a good event after bad ones")


def test_two_ingesters_share_the_load_without_duplicates(broker, gateway_factory, tmp_path, pg_url):
    """Two ingesters in one share group on one PostgreSQL: each event is delivered to one of them."""
    links = []
    for _ in range(2):
        db = open_database(pg_url)
        link = CentralLink(central_settings(broker, pg_url, share_group=_uid("grp")).mqtt.model_copy(
            update={"share_group": "shared-test"}), Writer(db), Queries(db))
        link.start()
        links.append(link)
    gateway = gateway_factory(_uid("gw"))
    total = gateway.backfill(days=3, calls_per_day=6)
    queries = Queries(open_database(pg_url))
    wait_for(lambda: queries.event_count() >= total, timeout_s=30, what="events in PostgreSQL")
    for link in links:
        link.drain()
    stored = [link.stats.stored for link in links]
    assert sum(stored) == total == queries.event_count()
    assert all(count > 0 for count in stored), f"the broker gave all events to one ingester: {stored}"
    for link in links:
        link.stop()


def test_settings_round_trip_applied_and_rejected(central, gateway_factory, device_mqtt):
    gateway = gateway_factory(_uid("gw"))
    link, queries = central.link, central.queries
    version = link.publish_desired(gateway.device_id, {"policy": {"warnings_before_final": 2}}, "operator")
    wait_for(lambda: queries.config(gateway.device_id).reported_version == version, what="applied report")
    assert queries.config(gateway.device_id).in_sync
    assert gateway.received_settings[-1]["settings"] == {"policy": {"warnings_before_final": 2}}
    bad = link.publish_desired(gateway.device_id, {"policy": {"warnings_before_final": 99}}, "operator")
    wait_for(lambda: queries.config(gateway.device_id).reported_version == bad, what="rejected report")
    config = queries.config(gateway.device_id)
    assert not config.reported_applied
    assert [key for key, _ in config.errors] == ["settings.policy.warnings_before_final"]


def test_commands_get_answers_through_the_response_topic(central, gateway_factory, device_mqtt):
    gateway = gateway_factory(_uid("gw"))
    ok = central.link.send_command(gateway.device_id, "selftest", {}, "operator")
    bad = central.link.send_command(gateway.device_id, "play_prompt", {"prompt_id": "nope"}, "operator")
    wait_for(lambda: central.queries.command(ok).ok is not None and central.queries.command(bad).ok is not None,
             what="answers")
    assert central.queries.command(ok).ok == 1
    answer = central.queries.command(bad)
    assert answer.ok == 0 and json.loads(answer.result_json)["errors"][0]["key"] == "prompt_id"


def test_with_a_client_id_events_sent_while_the_console_is_down_arrive_after_restart(broker, gateway_factory,
                                                                                      tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings = central_settings(broker, url, client_id=_uid("central"), share_group=_uid("grp")).mqtt
    db = open_database(url)
    link = CentralLink(settings, Writer(db), Queries(db))
    link.start()
    gateway = gateway_factory(_uid("gw"))
    gateway.emit(CallStarted(time=0.0, call_id="before", direction=Direction.INCOMING))
    wait_for(lambda: Queries(db).call_events("before"), what="first event")
    link.stop()
    total = gateway.backfill(days=1, calls_per_day=3)
    later = CentralLink(settings, Writer(db), Queries(db))
    later.start()
    wait_for(lambda: Queries(db).event_count() == total + 1, what="events queued by the broker while down")
    later.stop()


def test_a_message_the_database_refuses_is_dropped_alone(central, gateway_factory):
    """One poison message (here: a trigger refuses it) must not block the batch it came in."""
    central.db.execute("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.call_id = 'poison' "
                       "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    gateway = gateway_factory(_uid("gw"))
    for call_id in ("good-1", "poison", "good-2"):
        gateway.emit(CallStarted(time=0.0, call_id=call_id, direction=Direction.INCOMING))
    wait_for(lambda: central.queries.call_events("good-1") and central.queries.call_events("good-2"),
             what="the good events")
    wait_for(lambda: central.link.stats.rejected >= 1, what="the poison message counted")
    assert not central.queries.call_events("poison")


def test_nothing_is_lost_while_postgresql_is_down(broker, gateway_factory):
    """Messages are acknowledged only after commit: with the database stopped they wait, then land."""
    import psycopg

    from tests.central.conftest import PgCluster
    cluster = PgCluster().start()
    try:
        with psycopg.connect(f"{cluster.url}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE central")
        url = f"{cluster.url}/central"
        db = open_database(url)
        link = CentralLink(central_settings(broker, url, share_group=_uid("grp")).mqtt, Writer(db), Queries(db))
        link.start()
        gateway = gateway_factory(_uid("gw"))
        gateway.emit(CallStarted(time=0.0, call_id="first", direction=Direction.INCOMING))
        wait_for(lambda: Queries(db).call_events("first"), what="first event")
        cluster.stop()
        total = gateway.backfill(days=1, calls_per_day=3)
        wait_for(lambda: link.stats.received >= total + 1, what="events received while the database is down")
        cluster.start()
        reader = Queries(open_database(url))
        wait_for(lambda: reader.event_count() == total + 1, timeout_s=30, what="events stored after restart")
        link.stop()
    finally:
        cluster.remove()
