"""Topics, payload parsing, passwords and sessions, charts, settings: no servers."""

from __future__ import annotations

import pytest

from lineguard.errors import ConfigError, ProtocolError
from lineguard_central import topics as tp
from lineguard_central.auth import AuthError, Role, Session, SessionSigner, hash_password, verify_password
from lineguard_central.charts import daily_chart_svg, nice_ceiling
from lineguard_central.config import parse_central_settings
from lineguard_central.store.rows import DayCount
from lineguard_central.web.settings_doc import check_settings_document
from lineguard_central.wire import parse_event, parse_reported, parse_reply, parse_status, parse_ts

ROOT = "lineguard/v1"


@pytest.mark.parametrize("topic, expected", [
    ("lineguard/v1/gw-1/status", tp.Topic("gw-1", tp.TopicKind.STATUS)),
    ("lineguard/v1/gw-1/health", tp.Topic("gw-1", tp.TopicKind.HEALTH)),
    ("lineguard/v1/gw-1/evt/call_started", tp.Topic("gw-1", tp.TopicKind.EVENT, "call_started")),
    ("lineguard/v1/gw-1/cfg/reported", tp.Topic("gw-1", tp.TopicKind.CFG_REPORTED)),
    ("lineguard/v1/gw-1/resp/selftest", tp.Topic("gw-1", tp.TopicKind.COMMAND_REPLY, "selftest")),
])
def test_topics_parse(topic, expected):
    assert tp.parse_topic(topic, ROOT) == expected


@pytest.mark.parametrize("topic", ["other/v1/gw/status", "lineguard/v1/bad id/status", "lineguard/v1/gw/evt",
                                   "lineguard/v1/gw/evt/Bad-Type", "lineguard/v1/gw/cmd/selftest"])
def test_foreign_topics_are_protocol_errors(topic):
    with pytest.raises(ProtocolError):
        tp.parse_topic(topic, ROOT)


def test_events_go_through_a_shared_subscription_and_state_to_every_ingester():
    subs = tp.subscriptions(ROOT, "grp")
    assert subs[0] == "$share/grp/lineguard/v1/+/evt/+"
    assert all(not s.startswith("$share") for s in subs[1:])
    assert tp.reply_topic(ROOT, "gw-1", "selftest") == "lineguard/v1/gw-1/resp/selftest"


def test_event_parsing_keeps_unknown_fields_and_rejects_bad_ones():
    event = parse_event("gw", "call_terminated", b'{"type":"call_terminated","event_id":"E1","time":1.0,'
                        b'"ts":"2026-11-25T10:00:00.500Z","seq":7,"reason":"abuse","new_field":1}')
    assert (event.event_id, event.seq, event.reason, event.incident) == ("E1", 7, "abuse", True)
    assert event.ts_s == parse_ts("2026-11-25T10:00:00.5+00:00", "x") and event.day == "2026-11-25"
    assert '"new_field":1' in event.payload
    for bad in (b'{"time":1}', b'{"event_id":5}', b'{"event_id":"E","type":"call_ended"}',
                b'{"event_id":"E","seq":"7"}', b'{"event_id":"E","ts":"yesterday"}', b"\xff", b"[]",
                b'{"event_id":"E","seq":36893488147419103232}', b'{"event_id":"E","keyword":"a\\u0000b"}'):
        with pytest.raises(ProtocolError):
            parse_event("gw", "call_terminated", bad)


def test_status_report_and_reply_documents():
    status = parse_status("gw", b'{"state":"online","boot_id":"B","firmware":"0.1.0","model_version":"m"}', 5.0)
    assert (status.online, status.firmware, status.model) == (True, "0.1.0", "m")
    assert not parse_status("gw", b'{"state":"offline"}', 5.0).online
    rejected = parse_reported("gw", b'{"status":"rejected","version":3,"errors":[{"key":"settings.x","why":"no"}]}', 1)
    assert (rejected.applied, rejected.errors) == (False, (("settings.x", "no"),))
    assert parse_reported("gw", b'{"status":"applied","version":3,"errors":[]}', 1).applied
    assert not parse_reply("gw", b"c", b'{"command":"x","ok":false,"errors":[]}', 1).ok
    with pytest.raises(ProtocolError):
        parse_reply("gw", None, b"{}", 1)


def test_passwords_are_salted_scrypt_and_verified():
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert stored != hash_password("correct horse")
    assert verify_password("correct horse", stored) and not verify_password("wrong horse!", stored)
    with pytest.raises(AuthError):
        hash_password("short")


def test_session_cookies_are_signed_and_expire():
    signer = SessionSigner("a-long-enough-secret")
    cookie = signer.issue(Session("ann", Role.VIEWER, 1000.0))
    assert signer.read(cookie, 999.0) == Session("ann", Role.VIEWER, 1000.0)
    for forged in (cookie.replace("viewer", "operator"), cookie + "x", "", None):
        with pytest.raises(AuthError):
            signer.read(forged, 999.0)
    with pytest.raises(AuthError, match="expired"):
        signer.read(cookie, 1001.0)
    signer.check_csrf(cookie, signer.csrf(cookie))
    with pytest.raises(AuthError):
        signer.check_csrf(cookie, "nope")


def test_chart_is_inline_svg_with_a_bar_per_series_and_day():
    days = [DayCount(f"2026-11-{d:02d}", 10 + d, d % 3, d % 2) for d in range(1, 15)]
    svg = daily_chart_svg(days)
    assert svg.startswith("<svg") and svg.count("<rect") == 14 * 3 and "2026-11-14: 24 calls" in svg
    assert [nice_ceiling(v) for v in (0, 7, 24, 101)] == [5, 10, 50, 200]


def test_the_settings_editor_accepts_only_remote_sections_as_an_object():
    assert check_settings_document('{"policy": {"extend_s": 60}}') == {"policy": {"extend_s": 60}}
    for bad, why in (('{"policy": ', "not valid JSON"), ("[1]", "object"), ('{"relay": {}}', "relay")):
        with pytest.raises(ValueError, match=why):
            check_settings_document(bad)


def test_central_settings_list_every_problem():
    with pytest.raises(ConfigError) as info:
        parse_central_settings({"mqtt": {"url": "http://x", "share_group": "a b"}, "web": {"port": -1}, "x": 1})
    keys = {key for key, _ in info.value.problems}
    assert keys == {"mqtt.url", "mqtt.share_group", "web.port", "x"}
