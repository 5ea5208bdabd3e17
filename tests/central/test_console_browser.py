"""The console in a real headless browser: pages, live incidents, settings round trip, roles."""

from __future__ import annotations

import json
import uuid

import pytest

from lineguard.events import CallTerminated, KeywordDetected, Side, TerminationReason, WarningStarted
from lineguard_central.store.rows import IncidentFilter

from tests.central.browser import start_chromium, stop_chromium
from tests.central.conftest import PASSWORDS, wait_for

TIMEOUT_S = 20


@pytest.fixture(scope="module")
def driver():
    d = start_chromium()
    yield d
    stop_chromium(d)


@pytest.fixture
def browser(driver, central):
    driver.delete_all_cookies()
    driver.base = central.url
    return driver


def login(browser, user: str) -> None:
    from selenium.webdriver.common.by import By
    browser.get(browser.base + "/login")
    browser.find_element(By.ID, "username").send_keys(user)
    browser.find_element(By.ID, "password").send_keys(PASSWORDS[user])
    browser.find_element(By.ID, "login-button").click()
    wait_for(lambda: "/login" not in browser.current_url, TIMEOUT_S, "login")


def text_of(browser, css: str) -> str:
    """Read in one script call: live regions may swap the element between two WebDriver calls."""
    return browser.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                                  css)


def _gateway(gateway_factory, central, site="Mapo clinic"):
    gateway = gateway_factory(f"gw-{uuid.uuid4().hex[:6]}")
    central.writer.set_site(gateway.device_id, site)
    wait_for(lambda: central.queries.device(gateway.device_id, central.console.today()).online, TIMEOUT_S, "online")
    return gateway


def test_login_is_required_and_wrong_passwords_are_refused(browser):
    browser.get(browser.base + "/incidents")
    assert "/login" in browser.current_url
    from selenium.webdriver.common.by import By
    browser.find_element(By.ID, "username").send_keys("operator")
    browser.find_element(By.ID, "password").send_keys("wrong-password")
    browser.find_element(By.ID, "login-button").click()
    wait_for(lambda: "Wrong user name or password" in browser.page_source, TIMEOUT_S, "refusal")


def test_pages_render(browser, central, gateway_factory):
    gateway = _gateway(gateway_factory, central)
    gateway.backfill(days=3, calls_per_day=6)
    gateway.play_call(kind="terminated", speed=1e6)
    wait_for(lambda: central.queries.incidents(IncidentFilter()), TIMEOUT_S, "incidents")
    login(browser, "operator")
    browser.get(browser.base + "/")
    assert gateway.device_id in text_of(browser, "#fleet-table")
    assert "online" in text_of(browser, f"tr[data-device='{gateway.device_id}']")
    assert "<svg" in browser.page_source
    browser.get(f"{browser.base}/devices/{gateway.device_id}")
    assert "Uptime" in text_of(browser, "#health") and "gpio" in text_of(browser, "#health")
    browser.get(browser.base + "/incidents")
    rows = text_of(browser, "#incident-table")
    assert "Terminated" in rows and gateway.device_id in rows
    browser.get(browser.base + "/stats?days=7")
    assert text_of(browser, "#daily-table").count("\n") >= 7
    call_id = central.queries.incidents(IncidentFilter())[0].call_id
    browser.get(f"{browser.base}/calls/{call_id}")
    timeline = text_of(browser, "#timeline")
    assert timeline.index("Call started") < timeline.index("Terminated") < timeline.index("Call ended")


def test_a_new_incident_appears_live_without_reloading(browser, central, gateway_factory):
    gateway = _gateway(gateway_factory, central)
    login(browser, "viewer")
    browser.get(browser.base + "/incidents")
    browser.execute_script("window.__notReloaded = true;")
    keyword = KeywordDetected(time=1.0, call_id="live-call", keyword="ko_kkeojyeo", score=0.93, side=Side.FAR)
    gateway.emit(keyword)
    gateway.emit(WarningStarted(time=1.3, call_id="live-call", level="final", prompt_id="final"))
    gateway.emit(CallTerminated(time=6.5, call_id="live-call", reason=TerminationReason.ABUSE,
                                keyword="ko_kkeojyeo", verified=True))
    wait_for(lambda: "ko_kkeojyeo" in text_of(browser, "#incident-table"), TIMEOUT_S, "live incident row")
    assert browser.execute_script("return window.__notReloaded === true;")
    assert "Terminated" in text_of(browser, "#incident-table")


def test_settings_change_round_trips_to_the_gateway(browser, central, gateway_factory, device_mqtt):
    from selenium.webdriver.common.by import By
    gateway = _gateway(gateway_factory, central)
    login(browser, "operator")
    browser.get(f"{browser.base}/devices/{gateway.device_id}")
    editor = browser.find_element(By.ID, "settings-editor")
    editor.clear()
    editor.send_keys(json.dumps({"policy": {"warnings_before_final": 2, "long_call_warning_s": 900}}))
    browser.find_element(By.ID, "settings-save").click()
    wait_for(lambda: "sent" in text_of(browser, "#notice"), TIMEOUT_S, "notice")
    wait_for(lambda: "applied" in text_of(browser, "#reported"), TIMEOUT_S, "applied report shown live")
    assert "yes" in text_of(browser, "#in-sync")
    assert gateway.received_settings[-1]["settings"]["policy"]["long_call_warning_s"] == 900
    editor = browser.find_element(By.ID, "settings-editor")
    editor.clear()
    editor.send_keys('{"policy": {"warnings_before_final": 42}}')
    browser.find_element(By.ID, "settings-save").click()
    wait_for(lambda: "rejected" in text_of(browser, "#reported"), TIMEOUT_S, "rejected report")
    wait_for(lambda: "warnings_before_final" in text_of(browser, "#reported-errors"), TIMEOUT_S, "errors")
    editor = browser.find_element(By.ID, "settings-editor")
    editor.clear()
    editor.send_keys('{"policy": ')
    browser.find_element(By.ID, "settings-save").click()
    wait_for(lambda: "not valid JSON" in text_of(browser, "#error"), TIMEOUT_S, "JSON error")


def test_command_button_gets_the_gateways_answer(browser, central, gateway_factory, device_mqtt):
    from selenium.webdriver.common.by import By
    gateway = _gateway(gateway_factory, central)
    login(browser, "operator")
    browser.get(f"{browser.base}/devices/{gateway.device_id}")
    browser.find_element(By.ID, "cmd-selftest").click()
    wait_for(lambda: "ok" in text_of(browser, "#command-log .badge"), TIMEOUT_S, "selftest answer")
    assert "selftest" in text_of(browser, "#command-log")


def test_a_viewer_cannot_change_settings_or_send_commands(browser, central, gateway_factory):
    from selenium.webdriver.common.by import By
    gateway = _gateway(gateway_factory, central)
    login(browser, "viewer")
    browser.get(f"{browser.base}/devices/{gateway.device_id}")
    assert "read-only" in text_of(browser, "#viewer-note")
    assert not browser.find_elements(By.ID, "settings-editor")
    assert not browser.find_elements(By.ID, "cmd-selftest")
    # even with a valid session token in the form, the role decides
    csrf = central.console.signer.csrf(browser.get_cookie("lg_session")["value"])
    for path, form in ((f"/devices/{gateway.device_id}/settings", {"settings": '{"policy": {}}', "csrf": csrf}),
                       (f"/devices/{gateway.device_id}/commands/selftest", {"csrf": csrf}),
                       (f"/devices/{gateway.device_id}/site", {"site": "Elsewhere", "csrf": csrf})):
        status = browser.execute_script(
            "const r = await fetch(arguments[0], {method: 'POST', body: new URLSearchParams(arguments[1])});"
            " return [r.status, await r.text()];", path, form)
        assert status[0] == 403 and "viewer" in status[1], path
    assert central.queries.config(gateway.device_id).desired_version is None
    assert not gateway.received_settings and not central.queries.commands(gateway.device_id)


def test_an_operator_form_without_its_session_token_is_refused(browser, central, gateway_factory):
    gateway = _gateway(gateway_factory, central)
    login(browser, "operator")
    browser.get(f"{browser.base}/devices/{gateway.device_id}")
    status = browser.execute_script(
        "const r = await fetch(arguments[0], {method: 'POST', body: new URLSearchParams("
        "{settings: '{}', csrf: 'forged'})}); return r.status;", f"/devices/{gateway.device_id}/settings")
    assert status == 403
    assert central.queries.config(gateway.device_id).desired_version is None
    assert "policy.warnings_before_final" in browser.page_source      # the key reference under the editor
