"""The remote settings document the editor sends: which sections and keys, and a first check."""

from __future__ import annotations

import json

REMOTE_SECTIONS = ("policy", "detector")   # what a box accepts in cfg/desired (docs/mqtt.md)


def remote_keys() -> list[tuple[str, str]]:
    """``(section.key, default as JSON)`` for every key the box accepts remotely (this console's version)."""
    from lineguard.config import Settings
    out = []
    for section in REMOTE_SECTIONS:
        defaults = getattr(Settings(), section).model_dump(mode="json")
        out += [(f"{section}.{key}", json.dumps(value)) for key, value in defaults.items()]
    return out


def check_settings_document(text: str) -> dict:
    """The editor's text as a settings object; ValueError saying what is wrong."""
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(settings, dict):
        raise ValueError("the settings must be a JSON object, e.g. {\"policy\": {...}}")
    outside = sorted(set(settings) - set(REMOTE_SECTIONS))
    if outside:
        raise ValueError(f"only {', '.join(REMOTE_SECTIONS)} can be set remotely, not {', '.join(outside)}")
    return settings
