"""Changes (operators only, with the form's CSRF token): publish settings, send commands."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from lineguard.errors import LineGuardError
from lineguard_central.auth import Session
from lineguard_central.charts import daily_chart_svg, legend_html
from lineguard_central.web.deps import check_csrf, console_of, operator_of
from lineguard_central.web.settings_doc import check_settings_document
from lineguard_central.web.pages import _device_context, render

log = logging.getLogger(__name__)
router = APIRouter()
COMMANDS = {"selftest": {}, "play_prompt": {"prompt_id": "warning"}, "relay_test": {"open_ms": 500}}
MAX_SITE_CHARS = 80


def _back(device_id: str, notice: str = "", error: str = "") -> Response:
    query = f"notice={quote(notice)}" if notice else f"error={quote(error)}"
    return RedirectResponse(f"/devices/{quote(device_id)}?{query}", status_code=303)


@router.post("/devices/{device_id}/settings", dependencies=[Depends(check_csrf)])
def publish_settings(request: Request, device_id: str, settings: str = Form(...),
                     session: Session = Depends(operator_of)) -> Response:
    console = console_of(request)
    try:
        document = check_settings_document(settings)
        if console.link is None:
            raise LineGuardError("this console has no MQTT link")
        version = console.link.publish_desired(device_id, document, session.username)
    except (ValueError, LineGuardError) as exc:
        context = _device_context(console, device_id)
        days = console.queries.daily(console.today(), 14, device_id=device_id)
        return render(request, "device.html", session, chart=daily_chart_svg(days), legend=legend_html(),
                      notice="", error=f"Settings not sent: {exc}", draft=settings, status_code=400, **context)
    log.info("%s published settings version %d to %s", session.username, version, device_id)
    return _back(device_id, notice=f"Settings version {version} sent; waiting for the gateway to report.")


@router.post("/devices/{device_id}/site", dependencies=[Depends(check_csrf)])
def set_site(request: Request, device_id: str, site: str = Form(""), session: Session = Depends(operator_of)) -> Response:
    site = site.strip()
    if len(site) > MAX_SITE_CHARS:
        return _back(device_id, error=f"a site name has at most {MAX_SITE_CHARS} characters")
    console_of(request).writer.set_site(device_id, site)
    log.info("%s put %s at site %r", session.username, device_id, site)
    return _back(device_id, notice=f"Site set to {site or '(none)'}.")


@router.post("/devices/{device_id}/commands/{name}", dependencies=[Depends(check_csrf)])
def send_command(request: Request, device_id: str, name: str, session: Session = Depends(operator_of)) -> Response:
    console = console_of(request)
    if name not in COMMANDS:
        return _back(device_id, error=f"unknown command {name!r}")
    if console.link is None:
        return _back(device_id, error="this console has no MQTT link")
    try:
        console.link.send_command(device_id, name, COMMANDS[name], session.username)
    except LineGuardError as exc:
        return _back(device_id, error=f"{name} not sent: {exc}")
    log.info("%s sent %s to %s", session.username, name, device_id)
    return _back(device_id, notice=f"{name.replace('_', ' ')} sent; the answer appears below.")
