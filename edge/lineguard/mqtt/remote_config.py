"""Remote settings: ``cfg/desired`` -> validate -> apply atomically -> ``cfg/reported``.

A desired document is ``{"version": N, "settings": {"policy": {...}, "detector": {...}}}``.
Only the sections in :data:`REMOTE_SECTIONS` may be set remotely; each given
section is laid over the site's settings file. The whole document is checked
first; an invalid document changes nothing and is reported with every error.
The applied document is kept in ``state_dir`` so it survives a restart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lineguard.config import Settings, parse_settings
from lineguard.errors import ConfigError

log = logging.getLogger(__name__)

REMOTE_SECTIONS = ("policy", "detector")
MAX_DOCUMENT_BYTES = 64 * 1024
APPLIED_FILE = "cfg_applied.json"
SOURCE = "cfg/desired"

Applier = Callable[[Settings], None]


def parse_desired(payload: bytes, base: Settings) -> tuple[int, Settings]:
    """Validate a desired document against ``base``; raise ConfigError listing every problem."""
    if len(payload) > MAX_DOCUMENT_BYTES:
        raise ConfigError(SOURCE, [("(payload)", f"{len(payload)} bytes, more than {MAX_DOCUMENT_BYTES}")])
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(SOURCE, [("(payload)", f"not JSON: {exc}")]) from None
    if not isinstance(doc, dict):
        raise ConfigError(SOURCE, [("(root)", f"must be an object, got {type(doc).__name__}")])
    problems = [(key, "unknown key") for key in sorted(set(doc) - {"version", "settings"})]
    version = doc.get("version")
    if type(version) is not int or version < 1:
        problems.append(("version", f"must be an integer >= 1, got {version!r}"))
    sections = doc.get("settings")
    if not isinstance(sections, dict):
        problems.append(("settings", f"must be an object, got {type(sections).__name__}"))
        sections = {}
    for name, values in sections.items():
        if name not in REMOTE_SECTIONS:
            problems.append((f"settings.{name}", f"cannot be set remotely (allowed: {', '.join(REMOTE_SECTIONS)})"))
        elif not isinstance(values, dict):
            problems.append((f"settings.{name}", f"must be an object, got {type(values).__name__}"))
    if problems:
        raise ConfigError(SOURCE, problems)
    return version, overlay(base, sections)


def overlay(base: Settings, sections: dict[str, dict[str, Any]]) -> Settings:
    data = base.model_dump(mode="json", exclude_none=True)
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    try:
        return parse_settings(data, SOURCE)
    except ConfigError as exc:
        raise ConfigError(SOURCE, [(f"settings.{key}", why) for key, why in exc.problems]) from None


class RemoteConfig:
    """Holds the applied version; turns each desired document into a report."""

    def __init__(self, base: Settings, state_dir: Path, apply: Applier) -> None:
        self.base = base
        self.path = Path(state_dir) / APPLIED_FILE
        self.apply = apply
        self.applied_version = 0
        self.settings = base
        self._lock = threading.Lock()

    def restore(self) -> Settings:
        """The settings with the last applied document laid over them (the base when none)."""
        if not self.path.is_file():
            return self.base
        try:
            version, settings = parse_desired(self.path.read_bytes(), self.base)
        except (OSError, ConfigError) as exc:
            log.error("%s: ignoring the stored remote settings: %s", self.path, exc)
            return self.base
        self.applied_version, self.settings = version, settings
        return settings

    def handle(self, payload: bytes) -> dict[str, Any]:
        """Validate and apply one desired document; return the ``cfg/reported`` document."""
        with self._lock:
            try:
                version, settings = parse_desired(payload, self.base)
            except ConfigError as exc:
                return self._report("rejected", _version_of(payload), exc.problems)
            if version == self.applied_version:
                return self._report("applied", version)
            if version < self.applied_version:
                return self._report("rejected", version, [("version", f"older than the applied version "
                                                                      f"{self.applied_version}")])
            try:
                self.apply(settings)
            except Exception as exc:   # the gateway refused it: nothing changed, say why
                log.exception("applying remote settings version %d failed", version)
                return self._report("rejected", version, [("(apply)", str(exc))])
            _write_atomic(self.path, payload)
            self.applied_version, self.settings = version, settings
            log.info("remote settings version %d applied", version)
            return self._report("applied", version)

    def _report(self, status: str, version: int | None, problems: list[tuple[str, str]] = ()) -> dict[str, Any]:
        return {"status": status, "version": version, "applied_version": self.applied_version,
                "errors": [{"key": key, "why": why} for key, why in problems]}


def _version_of(payload: bytes) -> int | None:
    try:
        version = json.loads(payload[:MAX_DOCUMENT_BYTES]).get("version")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return version if type(version) is int else None


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
