"""The FastAPI application: login, sessions, the page routes and the static files."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from lineguard_central.auth import AuthError, Session, parse_role, verify_password
from lineguard_central.web import actions, pages
from lineguard_central.web.context import HERE, SESSION_COOKIE, Console
from lineguard_central.web.deps import LoginRequired

log = logging.getLogger(__name__)


def create_app(console: Console) -> FastAPI:
    app = FastAPI(title="LineGuard Central", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        if request.method != "GET" or request.url.path.startswith("/fragment"):
            return JSONResponse({"error": str(exc)}, status_code=401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(AuthError)
    async def _forbidden(request: Request, exc: AuthError) -> Response:
        return console.templates.TemplateResponse(
            request, "error.html", {"title": "Not allowed", "message": str(exc), "user": None}, status_code=403)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        return console.templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": ""})

    @app.post("/login")
    def login(request: Request, username: str = Form(...), password: str = Form(...),
              next: str = Form("/")) -> Response:
        user = console.queries.user(username.strip())
        if user is None or not verify_password(password, user.password_hash):
            log.warning("failed login for %r", username)
            return console.templates.TemplateResponse(
                request, "login.html", {"next": _safe_next(next), "error": "Wrong user name or password."},
                status_code=401)
        session = Session(user.username, parse_role(user.role), console.clock() + console.web.session_hours * 3600)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, console.signer.issue(session), httponly=True, samesite="strict",
                            max_age=int(console.web.session_hours * 3600))
        log.info("%s logged in as %s", user.username, user.role)
        return response

    @app.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        link = console.link
        return {"mqtt_connected": bool(link and link.connected),
                "received": link.stats.received if link else 0, "stored": link.stats.stored if link else 0}

    app.include_router(pages.router)
    app.include_router(actions.router)
    return app


def _safe_next(target: str) -> str:
    """Only local paths: never redirect off the console after login."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
