"""First-boot seed for the SD card: cloud-init NoCloud ``user-data`` + ``meta-data``.

Raspberry Pi OS (Bookworm with cloud-init installed, Trixie out of the box)
reads them from the boot partition on first boot. The seed creates the
``lineguard`` user, writes ``/etc/lineguard/config.toml`` and the device's
credentials, installs LineGuard into a venv, installs the systemd unit and
enables the service.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lineguard.config import Settings, parse_settings
from lineguard_provision.errors import ProvisionError
from lineguard_provision.files import ensure_private_dir, write_private
from lineguard_provision.identity import DeviceIdentity
from lineguard_provision.systemd import STATE_DIR, UNIT_DIR, UNIT_NAME, VENV, unit_text

CRED_DIR = Path("/etc/lineguard/credentials")
CONFIG_PATH = Path("/etc/lineguard/config.toml")
APT_PACKAGES = ("python3-venv", "python3-pip", "python3-pyaudio", "python3-lgpio", "python3-rpi-lgpio",
                "systemd-timesyncd")
# bundle file -> (file on the Pi, mode); secrets readable by root and the lineguard group only
CREDENTIALS = {
    "mqtt_password": ("mqtt_password", "0640"),
    "client.key": ("client.key", "0640"),
    "client.crt": ("client.crt", "0644"),
    "ca.crt": ("ca.crt", "0644"),
    "recording.key": ("recording.key", "0640"),
    "update_signing.pub": ("update_signing.pub", "0644"),
}


@dataclass(frozen=True)
class SeedOptions:
    broker_url: str = "mqtts://mqtt.lineguard.example:8883"
    package_spec: str = "lineguard[pi]"
    pip_index_url: str = ""
    country: str = "KR"
    language: str = "ko"
    audio_device: str = "USB"
    line_backend: str = "board"
    line_port: str = "/dev/ttyACM0"
    timezone: str = "Asia/Seoul"


def device_config(identity: DeviceIdentity, opts: SeedOptions) -> dict[str, Any]:
    """The device's settings as a mapping, validated against LineGuard's settings model."""
    data: dict[str, Any] = {
        "device": {"id": identity.device_id, "site": identity.site, "country": opts.country,
                   "language": opts.language},
        "audio": {"backend": "pyaudio", "input_device": opts.audio_device},
        "relay": {"backend": "gpio"},
        "line": {"backend": opts.line_backend, "port": opts.line_port},
        "recording": {"dir": str(STATE_DIR)},   # recordings/ and evidence/ under it
    }
    mqtt = {"enabled": True, "url": opts.broker_url, "username": identity.device_id,
            "password_file": str(CRED_DIR / "mqtt_password"), "ca_file": str(CRED_DIR / "ca.crt"),
            "cert_file": str(CRED_DIR / "client.crt"), "key_file": str(CRED_DIR / "client.key"),
            "outbox_path": str(STATE_DIR / "outbox" / "outbox.sqlite"), "state_dir": str(STATE_DIR / "mqtt"),
            "update_public_key_file": str(CRED_DIR / "update_signing.pub")}
    if "mqtt" in Settings.model_fields:
        known = Settings.model_fields["mqtt"].annotation.model_fields   # type: ignore[union-attr]
        data["mqtt"] = {k: v for k, v in mqtt.items() if k in known}
    parse_settings(data, "generated config.toml")
    return data


def to_toml(data: dict[str, dict[str, Any]]) -> str:
    """TOML for flat sections of strings, numbers and booleans."""
    out: list[str] = []
    for section, values in data.items():
        out.append(f"[{section}]")
        for key, value in values.items():
            out.append(f"{key} = {_toml_value(value, f'{section}.{key}')}")
        out.append("")
    return "\n".join(out)


@dataclass(frozen=True)
class SeedFile:
    """A file the first boot writes on the Pi."""

    path: Path
    content: bytes
    mode: str            # octal, e.g. "0640"
    owner: str           # "user:group"


def seed_files(identity: DeviceIdentity, opts: SeedOptions) -> list[SeedFile]:
    files = [SeedFile(CONFIG_PATH, to_toml(device_config(identity, opts)).encode(), "0640", "root:lineguard"),
             SeedFile(Path("/") / UNIT_DIR / UNIT_NAME, unit_text().encode(), "0644", "root:root")]
    for name, (target, mode) in CREDENTIALS.items():
        files.append(SeedFile(CRED_DIR / target, identity.path(name).read_bytes(), mode, "root:lineguard"))
    return files


def install_commands(opts: SeedOptions) -> list[list[str]]:
    """After the files: tighten /etc/lineguard, install LineGuard in a venv, enable the service."""
    pip = [f"{VENV}/bin/pip", "install", "--upgrade"]
    if opts.pip_index_url:
        pip += ["--index-url", opts.pip_index_url]
    return [
        ["chmod", "0750", "/etc/lineguard", str(CRED_DIR)],
        ["chgrp", "lineguard", "/etc/lineguard", str(CRED_DIR)],
        ["python3", "-m", "venv", "--system-site-packages", str(VENV)],
        [*pip, opts.package_spec],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", UNIT_NAME],
    ]


def user_data(identity: DeviceIdentity, opts: SeedOptions = SeedOptions()) -> str:
    """The cloud-init ``user-data`` document (``#cloud-config``)."""
    doc = {
        "hostname": identity.device_id,
        "timezone": opts.timezone,
        "users": ["default", {"name": "lineguard", "system": True, "shell": "/usr/sbin/nologin",
                              "lock_passwd": True, "groups": "audio,gpio,dialout"}],
        "package_update": True,
        "packages": list(APT_PACKAGES),
        "write_files": [_file(f) for f in seed_files(identity, opts)],
        "runcmd": install_commands(opts),
    }
    return "#cloud-config\n" + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def meta_data(identity: DeviceIdentity) -> str:
    return yaml.safe_dump({"instance-id": f"lineguard-{identity.device_id}",
                           "local-hostname": identity.device_id}, sort_keys=False)


def write_seed(identity: DeviceIdentity, out_dir: Path, opts: SeedOptions = SeedOptions()) -> list[Path]:
    """Write ``user-data``, ``meta-data`` and ``firstboot.sh`` (owner-only: secrets); return changed files."""
    ensure_private_dir(out_dir)
    changed = []
    from lineguard_provision.firstboot import firstboot_script

    outputs = (("user-data", user_data(identity, opts)), ("meta-data", meta_data(identity)),
               ("firstboot.sh", firstboot_script(identity, opts)))
    for name, text in outputs:
        if write_private(out_dir / name, text.encode("utf-8")):
            changed.append(out_dir / name)
    return changed


def _file(f: SeedFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": str(f.path), "permissions": f.mode, "owner": f.owner}
    try:
        text = f.content.decode("utf-8")
        printable = text.isprintable() or all(c.isprintable() or c in "\n\t" for c in text)
    except UnicodeDecodeError:
        printable = False
    if printable:
        entry["content"] = text
    else:
        entry["encoding"] = "b64"
        entry["content"] = base64.b64encode(f.content).decode("ascii")
    if f.owner != "root:root":
        entry["defer"] = True        # written after the lineguard user exists
    return entry


def _toml_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)     # a JSON string is a valid TOML basic string
    raise ProvisionError(f"{where}: cannot write {type(value).__name__} to config.toml")


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so the seed stays readable."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)
