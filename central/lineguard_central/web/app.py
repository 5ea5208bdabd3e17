"""The FastAPI application: error handling, the routers and the static files."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from lineguard_central.auth import AuthError
from lineguard_central.web import actions, login, pages
from lineguard_central.web.context import HERE, Console
from lineguard_central.web.deps import LoginRequired


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

    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(actions.router)
    return app
