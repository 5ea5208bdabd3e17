"""Device identity bundles: everything one gateway needs to prove who it is.

A bundle is a directory ``<fleet>/devices/<device_id>/`` (mode 0700):

=====================  ====  ===================================================
file                   mode  content
=====================  ====  ===================================================
``device.json``        0644  id, site, installer, creation date, cert fingerprint
``mqtt_password``      0600  the device's MQTT password (secret)
``mosquitto.passwd``   0600  the broker's password-file line (``$7$`` hash)
``mosquitto.acl``      0644  ACL lines: the device may only use its own topics
``client.key``         0600  TLS client key (secret)
``client.crt``         0644  TLS client certificate signed by the fleet CA
``ca.crt``             0644  the fleet CA certificate
``update_signing.pub`` 0644  Ed25519 key that verifies software updates
``recording.key``      0600  32 random bytes: recording encryption key (secret)
=====================  ====  ===================================================

Creating a bundle again changes nothing; a missing file is recreated from
what is there (a deleted certificate is reissued for the same key).
Secrets are never logged or returned in printable form.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from lineguard_provision import mosquitto, pki
from lineguard_provision.errors import BundleError
from lineguard_provision.files import ensure_private_dir, write_private, write_public

log = logging.getLogger(__name__)

RECORDING_KEY_BYTES = 32
PASSWORD_BYTES = 24
BUNDLE_FILES = ("device.json", "mqtt_password", "mosquitto.passwd", "mosquitto.acl", "client.key",
                "client.crt", "ca.crt", "update_signing.pub", "recording.key")
SECRET_FILES = ("mqtt_password", "mosquitto.passwd", "client.key", "recording.key")


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    site: str
    installer: str
    created: str                 # ISO date
    bundle_dir: Path
    cert_sha256: str

    def path(self, name: str) -> Path:
        return self.bundle_dir / name


def new_device_id() -> str:
    return f"lg-{secrets.token_hex(4)}"


def bundle_dir_for(fleet_dir: Path, device_id: str) -> Path:
    return fleet_dir / "devices" / device_id


def ensure_identity(fleet_dir: Path, device_id: str, site: str = "", installer: str = "") -> DeviceIdentity:
    """Create (or complete) the device's bundle; an existing complete bundle is left as is."""
    mosquitto.acl_lines(device_id)                      # validates the id
    ensure_private_dir(fleet_dir)
    ca = pki.ensure_ca(fleet_dir)
    update_pub = pki.ensure_update_key(fleet_dir)
    bundle = ensure_private_dir(bundle_dir_for(fleet_dir, device_id))
    meta = _read_meta(bundle)
    _ensure_mqtt(bundle, device_id)
    if not (bundle / "recording.key").exists():
        write_private(bundle / "recording.key", secrets.token_bytes(RECORDING_KEY_BYTES))
    cert = pki.ensure_client_cert(ca, device_id, bundle / "client.crt", bundle / "client.key")
    write_public(bundle / "ca.crt", ca.cert_path.read_bytes())
    write_public(bundle / "update_signing.pub", update_pub)
    identity = DeviceIdentity(
        device_id=device_id,
        site=meta.get("site") or site,
        installer=meta.get("installer") or installer,
        created=meta.get("created") or dt.date.today().isoformat(),
        bundle_dir=bundle,
        cert_sha256=pki.fingerprint_sha256(cert),
    )
    if meta.get("device_id", device_id) != device_id:
        raise BundleError(f"{bundle}/device.json names {meta['device_id']!r}, not {device_id!r}")
    write_public(bundle / "device.json", _meta_json(identity))
    return identity


def load_identity(bundle: Path) -> DeviceIdentity:
    """Read a complete bundle; raise naming every missing file."""
    if not bundle.is_dir():
        raise BundleError(f"no device bundle at {bundle}: run `lineguard provision identity {bundle.name}` first")
    missing = [name for name in BUNDLE_FILES if not (bundle / name).is_file()]
    if missing:
        raise BundleError(f"{bundle}: incomplete device bundle, missing {', '.join(missing)} "
                          "(run `lineguard provision identity` again to complete it)")
    meta = _read_meta(bundle)
    return DeviceIdentity(meta["device_id"], meta.get("site", ""), meta.get("installer", ""),
                          meta["created"], bundle, meta["cert_sha256"])


def read_secret(identity: DeviceIdentity, name: str) -> bytes:
    if name not in SECRET_FILES:
        raise BundleError(f"{name} is not a secret of the bundle")
    return identity.path(name).read_bytes()


def _ensure_mqtt(bundle: Path, device_id: str) -> None:
    pw_path, line_path = bundle / "mqtt_password", bundle / "mosquitto.passwd"
    if not pw_path.exists():
        write_private(pw_path, secrets.token_urlsafe(PASSWORD_BYTES).encode("ascii"))
        if line_path.exists():
            line_path.unlink()                         # stale hash of a lost password
    password = pw_path.read_text("ascii").strip()
    if line_path.exists():
        if not mosquitto.verify_password_line(line_path.read_text("ascii"), device_id, password):
            raise BundleError(f"{line_path}: does not match mqtt_password; remove it to regenerate")
    else:
        write_private(line_path, (mosquitto.password_line(device_id, password) + "\n").encode("ascii"))
    write_public(bundle / "mosquitto.acl", ("\n".join(mosquitto.acl_lines(device_id)) + "\n").encode("ascii"))


def _read_meta(bundle: Path) -> dict[str, str]:
    path = bundle / "device.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _meta_json(identity: DeviceIdentity) -> bytes:
    data = {"device_id": identity.device_id, "site": identity.site, "installer": identity.installer,
            "created": identity.created, "cert_sha256": identity.cert_sha256}
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
