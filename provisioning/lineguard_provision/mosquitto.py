"""Mosquitto credentials: password-file lines (``$7$`` PBKDF2-SHA512) and ACL lines.

The ``$7$`` format is Mosquitto 2.x's own: ``user:$7$<iterations>$<b64 salt>$<b64 hash>``
with a 12-byte salt and a 64-byte PBKDF2-HMAC-SHA512 digest, base64 with padding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from lineguard_provision.errors import ProvisionError

SALT_BYTES = 12
DEFAULT_ITERATIONS = 101          # mosquitto_passwd's default
HASH_BYTES = 64
TOPIC_ROOT = "lineguard/v1"
_USER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def password_line(username: str, password: str, iterations: int = DEFAULT_ITERATIONS,
                  salt: bytes | None = None) -> str:
    """One ``mosquitto.passwd`` line (no newline) for ``username``."""
    _check_user(username)
    if not password:
        raise ProvisionError("MQTT password must not be empty")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, HASH_BYTES)
    return f"{username}:$7${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password_line(line: str, username: str, password: str) -> bool:
    """True when ``line`` is ``username``'s entry and matches ``password``."""
    user, _, encoded = line.strip().partition(":")
    parts = encoded.split("$")
    if user != username or len(parts) != 5 or parts[1] != "7":
        raise ProvisionError(f"not a $7$ mosquitto password line for {username!r}")
    iterations, salt, expected = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, len(expected))
    return hmac.compare_digest(digest, expected)


def acl_lines(username: str) -> list[str]:
    """ACL entries confining the device to its own topic tree."""
    _check_user(username)
    return [f"user {username}", f"topic readwrite {TOPIC_ROOT}/{username}/#"]


def device_topic(device_id: str, leaf: str) -> str:
    return f"{TOPIC_ROOT}/{device_id}/{leaf}"


def _check_user(username: str) -> None:
    if not _USER_RE.match(username):
        raise ProvisionError(f"device id {username!r}: use 1-64 letters, digits, '-' or '_'")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
