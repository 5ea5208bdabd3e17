"""The SD-card seed: valid cloud-init YAML with the right files, owners and permissions."""

from __future__ import annotations

import base64
import stat
import tomllib

import pytest
import yaml

from lineguard.config import parse_settings
from lineguard_provision.identity import ensure_identity
from lineguard_provision.seed import CRED_DIR, SeedOptions, meta_data, to_toml, user_data, write_seed
from lineguard_provision.errors import ProvisionError


@pytest.fixture
def ident(tmp_path):
    return ensure_identity(tmp_path / "fleet", "clinic-042", site="Mapo \"east\" clinic", installer="kim")


def _doc(ident, **kw):
    text = user_data(ident, SeedOptions(**kw))
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def _files(doc):
    return {f["path"]: f for f in doc["write_files"]}


def _content(entry) -> bytes:
    if entry.get("encoding") == "b64":
        return base64.b64decode(entry["content"])
    return entry["content"].encode()


def test_user_data_writes_config_credentials_and_unit(ident):
    files = _files(_doc(ident))
    assert set(files) == {"/etc/lineguard/config.toml", "/etc/systemd/system/lineguard.service",
                          *(f"{CRED_DIR}/{n}" for n in ("mqtt_password", "client.key", "client.crt", "ca.crt",
                                                      "recording.key", "update_signing.pub"))}
    for name in ("mqtt_password", "client.key", "client.crt", "ca.crt", "recording.key", "update_signing.pub"):
        assert _content(files[f"{CRED_DIR}/{name}"]) == ident.path(name).read_bytes(), name
    for secret in ("mqtt_password", "client.key", "recording.key"):
        entry = files[f"{CRED_DIR}/{secret}"]
        assert entry["permissions"] == "0640" and entry["owner"] == "root:lineguard" and entry["defer"] is True
    assert files[f"{CRED_DIR}/recording.key"]["encoding"] == "b64"
    unit = files["/etc/systemd/system/lineguard.service"]
    assert unit["permissions"] == "0644" and "Type=notify" in unit["content"]


def test_config_toml_is_valid_settings_for_the_device(ident):
    files = _files(_doc(ident, broker_url="mqtts://broker.example:8883", country="US", language="en"))
    entry = files["/etc/lineguard/config.toml"]
    assert entry["permissions"] == "0640"
    settings = parse_settings(tomllib.loads(entry["content"]))
    assert settings.device.id == "clinic-042" and settings.device.site == 'Mapo "east" clinic'
    assert settings.device.country == "US" and settings.audio.backend == "pyaudio"
    assert settings.relay.backend == "gpio" and settings.line.backend == "board"
    assert settings.mqtt.enabled and settings.mqtt.url == "mqtts://broker.example:8883"
    assert str(settings.mqtt.cert_file) == f"{CRED_DIR}/client.crt"
    assert str(settings.recording.dir) == "/var/lib/lineguard"     # recordings/ and evidence/ under it


def test_install_steps_user_and_service(ident):
    doc = _doc(ident, package_spec="lineguard[pi]==0.1.0", pip_index_url="https://pypi.example/simple")
    assert doc["hostname"] == "clinic-042"
    assert doc["users"][0] == "default"                  # keep the installer's login user
    assert doc["users"][1]["name"] == "lineguard" and doc["users"][1]["system"] is True
    assert "python3-pyaudio" in doc["packages"]
    commands = [" ".join(c) for c in doc["runcmd"]]
    assert any("venv --system-site-packages /opt/lineguard/venv" in c for c in commands)
    assert any("--index-url https://pypi.example/simple lineguard[pi]==0.1.0" in c for c in commands)
    assert commands[-1] == "systemctl enable --now lineguard.service"


def test_meta_data_and_seed_files_are_owner_only_and_idempotent(ident, tmp_path):
    assert yaml.safe_load(meta_data(ident)) == {"instance-id": "lineguard-clinic-042",
                                                "local-hostname": "clinic-042"}
    out = tmp_path / "seed"
    assert len(write_seed(ident, out)) == 3
    for name in ("user-data", "meta-data"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    mtime = (out / "user-data").stat().st_mtime_ns
    assert write_seed(ident, out) == []
    assert (out / "user-data").stat().st_mtime_ns == mtime


def test_bad_seed_options_are_rejected_before_writing(ident, tmp_path):
    from lineguard.errors import ConfigError

    with pytest.raises(ConfigError, match="url"):
        write_seed(ident, tmp_path / "seed", SeedOptions(broker_url="http://nope"))
    assert not (tmp_path / "seed" / "user-data").exists()
    with pytest.raises(ProvisionError, match="x.y"):
        to_toml({"x": {"y": [1]}})


def test_firstboot_script_writes_the_same_files(ident, tmp_path):
    import shutil
    import subprocess

    from lineguard_provision.firstboot import firstboot_script
    from lineguard_provision.seed import seed_files

    if shutil.which("sh") is None or shutil.which("base64") is None:
        pytest.skip("needs sh and base64")
    script = tmp_path / "firstboot.sh"
    script.write_text(firstboot_script(ident))
    root = tmp_path / "rootfs"
    for _ in range(2):                                   # safe to run again
        done = subprocess.run(["sh", str(script)], env={"ROOT": str(root), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    for f in seed_files(ident, SeedOptions()):
        target = root / str(f.path).lstrip("/")
        assert target.read_bytes() == f.content, f.path
        assert stat.S_IMODE(target.stat().st_mode) == int(f.mode, 8), f.path
    assert not list(root.rglob("*.tmp"))
    text = script.read_text()
    assert "systemctl enable --now lineguard.service" in text and "useradd --system" in text


def test_write_seed_includes_the_firstboot_script(ident, tmp_path):
    out = tmp_path / "seed"
    write_seed(ident, out)
    assert stat.S_IMODE((out / "firstboot.sh").stat().st_mode) == 0o600
    assert (out / "firstboot.sh").read_text().startswith("#!/bin/sh\n")
