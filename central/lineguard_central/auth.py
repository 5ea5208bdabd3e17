"""Users, passwords (scrypt) and signed session cookies.

Roles: ``operator`` (may change settings and send commands) and ``viewer``
(reads only). A session cookie is ``username|role|expiry|hmac``; the HMAC key
is the console secret. Forms carry a CSRF token derived from the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from lineguard.errors import LineGuardError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_DKLEN = 32
MIN_PASSWORD_CHARS = 8


class Role(str, Enum):
    OPERATOR = "operator"
    VIEWER = "viewer"


class AuthError(LineGuardError, PermissionError):
    """Login failed, session missing or expired, or the role does not allow the action."""


@dataclass(frozen=True)
class Session:
    username: str
    role: Role
    expires_s: float

    @property
    def can_change(self) -> bool:
        return self.role is Role.OPERATOR


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (all base64url)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        raise AuthError("stored password hash is malformed") from None
    return hmac.compare_digest(got, expected)


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise AuthError(f"unknown role {text!r} (operator or viewer)") from None


class SessionSigner:
    def __init__(self, secret: str):
        if len(secret) < 16:
            raise AuthError("the console secret must have at least 16 characters")
        self._key = secret.encode()

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    def issue(self, session: Session) -> str:
        body = f"{session.username}|{session.role.value}|{int(session.expires_s)}"
        return f"{body}|{self._mac(body)}"

    def read(self, cookie: str | None, now_s: float) -> Session:
        if not cookie:
            raise AuthError("not logged in")
        body, _, mac = cookie.rpartition("|")
        if not hmac.compare_digest(mac, self._mac(body)):
            raise AuthError("session cookie is not valid")
        username, role, expires = body.split("|")
        if float(expires) < now_s:
            raise AuthError("session expired")
        return Session(username, parse_role(role), float(expires))

    def csrf(self, cookie: str) -> str:
        return self._mac("csrf|" + cookie)[:32]

    def check_csrf(self, cookie: str, token: str) -> None:
        if not hmac.compare_digest(self.csrf(cookie), token or ""):
            raise AuthError("form token does not match the session; reload the page")
