"""The fleet registry: one SQLite file listing every provisioned gateway.

Also keeps the central broker's fleet-wide ``mosquitto.passwd`` and
``mosquitto.acl`` in step with the registry. Registering the same device
twice changes nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from lineguard_provision.files import write_private, write_public
from lineguard_provision.identity import DeviceIdentity

log = logging.getLogger(__name__)

REGISTRY_NAME = "registry.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id    TEXT PRIMARY KEY,
    site         TEXT NOT NULL,
    installer    TEXT NOT NULL,
    provisioned  TEXT NOT NULL,      -- ISO date
    cert_sha256  TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class RegistryEntry:
    device_id: str
    site: str
    installer: str
    provisioned: str
    cert_sha256: str


def registry_path(fleet_dir: Path) -> Path:
    return fleet_dir / REGISTRY_NAME


def register(fleet_dir: Path, identity: DeviceIdentity) -> bool:
    """Add or update the device's row and broker entries; False when nothing changed."""
    entry = RegistryEntry(identity.device_id, identity.site, identity.installer, identity.created,
                          identity.cert_sha256)
    with closing(_connect(fleet_dir)) as db, db:
        row = db.execute("SELECT device_id, site, installer, provisioned, cert_sha256 FROM devices "
                         "WHERE device_id = ?", (entry.device_id,)).fetchone()
        changed = row is None or RegistryEntry(*row) != entry
        if changed:
            db.execute("INSERT OR REPLACE INTO devices VALUES (?, ?, ?, ?, ?)",
                       (entry.device_id, entry.site, entry.installer, entry.provisioned, entry.cert_sha256))
            log.info("registered %s (site %r)", entry.device_id, entry.site)
    broker_changed = _merge_broker_files(fleet_dir, identity)
    return changed or broker_changed


def list_devices(fleet_dir: Path) -> list[RegistryEntry]:
    with closing(_connect(fleet_dir)) as db:
        rows = db.execute("SELECT device_id, site, installer, provisioned, cert_sha256 FROM devices "
                          "ORDER BY provisioned, device_id").fetchall()
    return [RegistryEntry(*row) for row in rows]


def _connect(fleet_dir: Path) -> sqlite3.Connection:
    fleet_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(registry_path(fleet_dir))
    db.execute(_SCHEMA)
    return db


def _merge_broker_files(fleet_dir: Path, identity: DeviceIdentity) -> bool:
    """Put the device's password line and ACL block into the fleet-wide broker files."""
    device = identity.device_id
    pw_path, acl_path = fleet_dir / "mosquitto.passwd", fleet_dir / "mosquitto.acl"
    pw_lines = pw_path.read_text("ascii").splitlines() if pw_path.exists() else []
    pw_lines = [ln for ln in pw_lines if not ln.startswith(f"{device}:")]
    pw_lines.append(identity.path("mosquitto.passwd").read_text("ascii").strip())
    blocks = _acl_blocks(acl_path.read_text("ascii") if acl_path.exists() else "")
    blocks[device] = identity.path("mosquitto.acl").read_text("ascii").strip()
    acl = "\n\n".join(blocks[k] for k in sorted(blocks)) + "\n"
    changed = write_private(pw_path, ("\n".join(sorted(pw_lines)) + "\n").encode("ascii"))
    return write_public(acl_path, acl.encode("ascii")) or changed


def _acl_blocks(text: str) -> dict[str, str]:
    """ACL text split into per-user blocks (each starts with ``user <id>``)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line.split(None, 1)[1].strip(), [])
        if current is not None and line.strip():
            current.append(line)
    return {user: "\n".join(lines) for user, lines in blocks.items()}
