"""Device identity bundles, checked with `cryptography` and on disk."""

from __future__ import annotations

import logging
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lineguard.cli import main
from lineguard_provision import mosquitto
from lineguard_provision.errors import BundleError, ProvisionError
from lineguard_provision.identity import BUNDLE_FILES, ensure_identity, load_identity


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _snapshot(root):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns, _mode(p)) for p in sorted(root.rglob("*")) if p.is_file()}


def test_bundle_has_every_file_with_owner_only_secrets(tmp_path):
    ident = ensure_identity(tmp_path, "clinic-042", site="Mapo clinic", installer="kim")
    bundle = ident.bundle_dir
    assert sorted(p.name for p in bundle.iterdir()) == sorted(BUNDLE_FILES)
    assert _mode(bundle) == 0o700 and _mode(tmp_path) == 0o700
    for name in ("mqtt_password", "mosquitto.passwd", "client.key", "recording.key"):
        assert _mode(bundle / name) == 0o600, name
    assert _mode(tmp_path / "ca.key") == 0o600 and _mode(tmp_path / "update_signing.key") == 0o600
    assert len((bundle / "recording.key").read_bytes()) == 32
    assert load_identity(bundle) == ident


def test_client_certificate_is_signed_by_the_fleet_ca(tmp_path):
    ident = ensure_identity(tmp_path, "clinic-042")
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    cert = x509.load_pem_x509_certificate(ident.path("client.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "clinic-042"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ident.path("ca.crt").read_bytes() == (tmp_path / "ca.crt").read_bytes()


def test_update_key_is_ed25519_and_the_same_for_the_fleet(tmp_path):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

    a = ensure_identity(tmp_path, "dev-a")
    b = ensure_identity(tmp_path, "dev-b")
    pub = load_pem_public_key(a.path("update_signing.pub").read_bytes())
    assert isinstance(pub, ed25519.Ed25519PublicKey)
    assert a.path("update_signing.pub").read_bytes() == b.path("update_signing.pub").read_bytes()
    private = load_pem_private_key((tmp_path / "update_signing.key").read_bytes(), None)
    pub.verify(private.sign(b"update"), b"update")
    assert a.path("recording.key").read_bytes() != b.path("recording.key").read_bytes()


def test_mqtt_password_line_and_acl(tmp_path):
    ident = ensure_identity(tmp_path, "dev-a")
    password = ident.path("mqtt_password").read_text().strip()
    line = ident.path("mosquitto.passwd").read_text().strip()
    assert line.startswith("dev-a:$7$101$")
    assert mosquitto.verify_password_line(line, "dev-a", password)
    assert not mosquitto.verify_password_line(line, "dev-a", password + "x")
    acl = ident.path("mosquitto.acl").read_text().splitlines()
    assert acl == ["user dev-a", "topic readwrite lineguard/v1/dev-a/#"]


def test_running_twice_changes_nothing(tmp_path):
    ensure_identity(tmp_path, "dev-a", site="s", installer="i")
    before = _snapshot(tmp_path)
    again = ensure_identity(tmp_path, "dev-a", site="other", installer="other")
    assert _snapshot(tmp_path) == before
    assert again.site == "s"


def test_a_lost_certificate_is_reissued_for_the_same_key(tmp_path):
    ident = ensure_identity(tmp_path, "dev-a")
    key = ident.path("client.key").read_bytes()
    password = ident.path("mqtt_password").read_bytes()
    ident.path("client.crt").unlink()
    again = ensure_identity(tmp_path, "dev-a")
    assert ident.path("client.crt").exists() and again.cert_sha256 != ident.cert_sha256
    assert ident.path("client.key").read_bytes() == key and ident.path("mqtt_password").read_bytes() == password


def test_inconsistent_bundles_are_refused(tmp_path):
    ident = ensure_identity(tmp_path, "dev-a")
    other = mosquitto.password_line("dev-a", "not-the-password")
    ident.path("mosquitto.passwd").write_text(other + "\n")
    with pytest.raises(BundleError, match="does not match mqtt_password"):
        ensure_identity(tmp_path, "dev-a")
    (tmp_path / "ca.key").unlink()
    with pytest.raises(BundleError, match="only one of ca.crt"):
        ensure_identity(tmp_path, "dev-b")


def test_incomplete_bundle_names_what_is_missing(tmp_path):
    ident = ensure_identity(tmp_path, "dev-a")
    ident.path("recording.key").unlink()
    with pytest.raises(BundleError, match="missing recording.key"):
        load_identity(ident.bundle_dir)


@pytest.mark.parametrize("bad", ["", "a b", "x/y", "#", "a" * 65])
def test_bad_device_ids_are_rejected(tmp_path, bad):
    with pytest.raises(ProvisionError, match="device id"):
        ensure_identity(tmp_path, bad)


def test_mosquitto_passwd_lines_verify(tmp_path):
    import shutil
    import subprocess

    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd not installed")
    path = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(path), "dev-a", "s3cret"], check=True)
    assert mosquitto.verify_password_line(path.read_text(), "dev-a", "s3cret")


def test_cli_never_prints_or_logs_secrets(tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    fleet = tmp_path / "fleet"
    for argv in (["identity", "dev-a", "--site", "Mapo"], ["register", "dev-a"], ["seed", "dev-a"],
                 ["list"], ["broker-cert", "localhost"]):
        assert main(["-vv", "provision", *argv, "--fleet-dir", str(fleet)]) == 0
    out = capsys.readouterr()
    shown = out.out + out.err + caplog.text
    bundle = fleet / "devices" / "dev-a"
    secrets = [(bundle / "mqtt_password").read_text().strip(), (bundle / "recording.key").read_bytes().hex()]
    secrets += [line for line in (bundle / "client.key").read_text().splitlines() if "PRIVATE" not in line]
    secrets += [line for line in (fleet / "ca.key").read_text().splitlines() if "PRIVATE" not in line]
    assert "dev-a" in out.out
    for secret in secrets:
        assert secret not in shown
