"""Log in and out, and a small unauthenticated health probe for load balancers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lineguard_central.auth import Session, parse_role, verify_password
from lineguard_central.web.context import SESSION_COOKIE
from lineguard_central.web.deps import console_of

log = logging.getLogger(__name__)
router = APIRouter()


def safe_next(target: str) -> str:
    """Only local paths: never redirect off the console after login."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return console_of(request).templates.TemplateResponse(request, "login.html",
                                                          {"next": safe_next(next), "error": ""})


@router.post("/login")
def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/")) -> Response:
    console = console_of(request)
    user = console.queries.user(username.strip())
    if user is None or not verify_password(password, user.password_hash):
        log.warning("failed login for %r", username)
        return console.templates.TemplateResponse(
            request, "login.html", {"next": safe_next(next), "error": "Wrong user name or password."},
            status_code=401)
    lifetime_s = console.web.session_hours * 3600
    session = Session(user.username, parse_role(user.role), console.clock() + lifetime_s)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, console.signer.issue(session), httponly=True, samesite="strict",
                        max_age=int(lifetime_s))
    log.info("%s logged in as %s", user.username, user.role)
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/healthz")
def healthz(request: Request) -> dict[str, object]:
    link = console_of(request).link
    return {"mqtt_connected": bool(link and link.connected),
            "received": link.stats.received if link else 0, "stored": link.stats.stored if link else 0}
