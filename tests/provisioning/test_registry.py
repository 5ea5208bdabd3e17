"""Fleet registry and the broker's fleet-wide password and ACL files."""

from __future__ import annotations

import stat

from lineguard_provision import mosquitto
from lineguard_provision.identity import ensure_identity
from lineguard_provision.registry import list_devices, register


def test_register_twice_changes_nothing(tmp_path):
    a = ensure_identity(tmp_path, "dev-a", site="Mapo", installer="kim")
    assert register(tmp_path, a) is True
    snapshot = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.is_file()}
    assert register(tmp_path, a) is False
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.is_file()} == snapshot
    [entry] = list_devices(tmp_path)
    assert (entry.device_id, entry.site, entry.installer) == ("dev-a", "Mapo", "kim")
    assert entry.cert_sha256 == a.cert_sha256


def test_broker_files_hold_every_device_once(tmp_path):
    a = ensure_identity(tmp_path, "dev-a")
    b = ensure_identity(tmp_path, "dev-b")
    register(tmp_path, b)
    register(tmp_path, a)
    register(tmp_path, a)
    lines = (tmp_path / "mosquitto.passwd").read_text().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["dev-a", "dev-b"]
    assert stat.S_IMODE((tmp_path / "mosquitto.passwd").stat().st_mode) == 0o600
    assert mosquitto.verify_password_line(lines[0], "dev-a", a.path("mqtt_password").read_text().strip())
    acl = (tmp_path / "mosquitto.acl").read_text()
    assert acl.count("user dev-a") == 1 and "topic readwrite lineguard/v1/dev-b/#" in acl
    assert [e.device_id for e in list_devices(tmp_path)] == ["dev-a", "dev-b"]


def test_a_reissued_certificate_updates_the_row(tmp_path):
    a = ensure_identity(tmp_path, "dev-a")
    register(tmp_path, a)
    a.path("client.crt").unlink()
    again = ensure_identity(tmp_path, "dev-a")
    assert register(tmp_path, again) is True
    assert list_devices(tmp_path)[0].cert_sha256 == again.cert_sha256
