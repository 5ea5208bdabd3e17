"""Read-only pages (every role): fleet, device, incidents, statistics, call timeline."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from lineguard_central.auth import Session
from lineguard_central.charts import daily_chart_svg, legend_html
from lineguard_central.store.rows import IncidentFilter
from lineguard_central.web.settings_doc import remote_keys
from lineguard_central.web.context import SESSION_COOKIE, Console, describe
from lineguard_central.web.deps import console_of, session_of

router = APIRouter()
REMOTE_KEYS = remote_keys()
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CHART_DAYS = (7, 14, 30, 90)
INCIDENT_LIMIT = 100


def render(request: Request, name: str, session: Session, status_code: int = 200, **context: Any) -> Response:
    console = console_of(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    base = {"user": session, "csrf": console.signer.csrf(cookie), "presence": console.presence,
            "path": request.url.path}
    return console.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def _fleet_context(console: Console, site: str) -> dict[str, Any]:
    devices = console.queries.fleet(console.today(), site)
    states = [console.presence(d.online, d.last_seen_s) for d in devices]
    return {"devices": devices, "site": site, "sites": console.queries.sites(),
            "online_count": states.count("online"), "silent_count": states.count("silent"),
            "offline_count": states.count("offline"),
            "calls_today": sum(d.calls_today for d in devices),
            "incidents_today": sum(d.incidents_today for d in devices)}


@router.get("/", response_class=HTMLResponse)
def fleet(request: Request, site: str = "", session: Session = Depends(session_of)) -> Response:
    console = console_of(request)
    days = console.queries.daily(console.today(), 14, site)
    return render(request, "fleet.html", session, chart=daily_chart_svg(days), legend=legend_html(),
                  **_fleet_context(console, site))


@router.get("/fragment/fleet", response_class=HTMLResponse)
def fleet_fragment(request: Request, site: str = "", session: Session = Depends(session_of)) -> Response:
    return render(request, "_fleet_table.html", session, **_fleet_context(console_of(request), site))


def _device_context(console: Console, device_id: str) -> dict[str, Any]:
    device = console.queries.device(device_id, console.today())
    return {"device": device, "device_id": device_id, "config": console.queries.config(device_id),
            "commands": console.queries.commands(device_id), "events": console.queries.recent_events(device_id),
            "describe": describe, "no_answer_before": console.clock() - console.web.command_timeout_s,
            "remote_keys": REMOTE_KEYS}


@router.get("/devices/{device_id}", response_class=HTMLResponse)
def device_page(request: Request, device_id: str, session: Session = Depends(session_of)) -> Response:
    console = console_of(request)
    context = _device_context(console, device_id)
    if context["device"] is None:
        return render(request, "error.html", session, status_code=404, title="Unknown device",
                      message=f"No gateway called {device_id!r} has reported yet.")
    days = console.queries.daily(console.today(), 14, device_id=device_id)
    return render(request, "device.html", session, chart=daily_chart_svg(days), legend=legend_html(),
                  notice=request.query_params.get("notice", ""), error=request.query_params.get("error", ""),
                  **context)


@router.get("/fragment/device/{device_id}", response_class=HTMLResponse)
def device_fragment(request: Request, device_id: str, part: str = "", session: Session = Depends(session_of)) -> Response:
    template = "_device_events.html" if part == "events" else "_device_live.html"
    return render(request, template, session, **_device_context(console_of(request), device_id))


def _incident_filter(request: Request) -> tuple[IncidentFilter, list[str]]:
    q = request.query_params
    problems = [f"{key}: use YYYY-MM-DD" for key in ("from", "to") if q.get(key) and not DAY_RE.match(q[key])]
    before = q.get("before", "")
    flt = IncidentFilter(
        site=q.get("site", ""), device_id=q.get("device", ""), keyword=q.get("keyword", "").strip(),
        reason=q.get("reason", ""), kind=q.get("kind", "") if q.get("kind") in ("warning_started",
                                                                                 "call_terminated") else "",
        day_from=q.get("from", "") if DAY_RE.match(q.get("from", "")) else "",
        day_to=q.get("to", "") if DAY_RE.match(q.get("to", "")) else "",
        before_s=float(before) if re.fullmatch(r"\d+(\.\d+)?", before) else None)
    return flt, problems


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, session: Session = Depends(session_of)) -> Response:
    console = console_of(request)
    flt, problems = _incident_filter(request)
    rows = console.queries.incidents(flt, INCIDENT_LIMIT)
    keep = [(k, v) for k, v in request.query_params.multi_items() if k != "before"]
    older = urlencode([*keep, ("before", repr(rows[-1].ts_s))]) if len(rows) == INCIDENT_LIMIT else ""
    return render(request, "incidents.html", session, rows=rows, flt=flt, problems=problems,
                  sites=console.queries.sites(), reasons=console.queries.reasons(),
                  keywords=console.queries.keywords(), query=request.url.query, older=older)


@router.get("/fragment/incidents", response_class=HTMLResponse)
def incidents_fragment(request: Request, session: Session = Depends(session_of)) -> Response:
    console = console_of(request)
    flt, _ = _incident_filter(request)
    return render(request, "_incident_rows.html", session, rows=console.queries.incidents(flt, INCIDENT_LIMIT),
                  flt=flt)


@router.get("/stats", response_class=HTMLResponse)
def stats(request: Request, site: str = "", days: int = 30, session: Session = Depends(session_of)) -> Response:
    console = console_of(request)
    days = days if days in CHART_DAYS else 30
    counts = console.queries.daily(console.today(), days, site)
    totals = {key: sum(getattr(d, key) for d in counts) for key in ("calls", "warnings", "terminations")}
    return render(request, "stats.html", session, chart=daily_chart_svg(counts), legend=legend_html(),
                  counts=list(reversed(counts)), totals=totals, site=site, sites=console.queries.sites(),
                  days=days, choices=CHART_DAYS)


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_timeline(request: Request, call_id: str, session: Session = Depends(session_of)) -> Response:
    console = console_of(request)
    events = console.queries.call_events(call_id)
    if not events:
        return render(request, "error.html", session, status_code=404, title="Unknown call",
                      message=f"No events for call {call_id}.")
    offsets = call_offsets_s(events)
    entries = [{"event": e, "data": e.data, "offset_s": offset, "text": describe(e.type, e.data)}
               for e, offset in zip(events, offsets)]
    outcome = next((e for e in events if e.type == "call_terminated"), None)
    warned = any(e.type == "warning_started" for e in events)
    return render(request, "call.html", session, call_id=call_id, entries=entries, first=events[0],
                  outcome=outcome, warned=warned, duration_s=offsets[-1])


def call_offsets_s(events: list) -> list[float]:
    """Seconds since the first event: from the gateway's own clock (``time``) when the whole call
    comes from one boot, else from the wall-clock ``ts``."""
    data = [e.data for e in events]
    times = [d.get("time") for d in data]
    if all(isinstance(t, (int, float)) for t in times) and len({d.get("boot_id") for d in data}) == 1:
        return [t - times[0] for t in times]
    return [e.ts_s - events[0].ts_s for e in events]
