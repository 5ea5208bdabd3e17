"""Request dependencies: the console, the session, the operator check."""

from __future__ import annotations

from fastapi import Depends, Request

from lineguard_central.auth import AuthError, Session
from lineguard_central.web.context import SESSION_COOKIE, Console


class LoginRequired(AuthError):
    """No valid session: pages answer with a redirect to the login page."""


def console_of(request: Request) -> Console:
    return request.app.state.console


def session_of(request: Request) -> Session:
    console = console_of(request)
    try:
        return console.signer.read(request.cookies.get(SESSION_COOKIE), console.clock())
    except AuthError as exc:
        raise LoginRequired(str(exc)) from None


def operator_of(request: Request, session: Session = Depends(session_of)) -> Session:
    """A POST by an operator with the form's CSRF token; viewers get 403."""
    if not session.can_change:
        raise AuthError(f"{session.username} is a viewer: only operators may change settings or send commands")
    return session


async def check_csrf(request: Request) -> None:
    form = await request.form()
    console = console_of(request)
    console.signer.check_csrf(request.cookies.get(SESSION_COOKIE, ""), str(form.get("csrf", "")))
