"""The systemd unit: content, systemd's own verifier, idempotent install."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from lineguard_provision.errors import ProvisionError
from lineguard_provision.systemd import ServiceOptions, install_service, unit_text


def _unit(opts=ServiceOptions()):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(unit_text(opts))
    return parser


def test_unit_is_a_notify_service_with_watchdog_state_and_journal():
    svc = _unit(ServiceOptions(watchdog_s=20))["Service"]
    assert svc["Type"] == "notify" and svc["NotifyAccess"] == "main"
    assert svc["WatchdogSec"] == "20" and svc["Restart"] == "on-failure"
    assert set(svc["StateDirectory"].split()) == {"lineguard", "lineguard/outbox", "lineguard/recordings",
                                                   "lineguard/evidence", "lineguard/models"}
    assert svc["StandardOutput"] == "journal" and svc["StandardError"] == "journal"
    assert svc["ExecStart"] == "/opt/lineguard/venv/bin/lineguard run --config /etc/lineguard/config.toml"
    assert svc["ExecStopPost"] == "/opt/lineguard/venv/bin/lineguard relay release --config /etc/lineguard/config.toml"
    assert svc["User"] == "lineguard" and "audio" in svc["SupplementaryGroups"]
    assert _unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_accepts_the_unit(tmp_path):
    path = tmp_path / "lineguard.service"
    path.write_text(unit_text(ServiceOptions(exec_path=Path("/bin/true"), config_path=tmp_path / "c.toml")))
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Unknown" not in done.stderr and "lineguard.service" not in done.stderr, done.stderr


def test_install_writes_once_and_refuses_to_enable_elsewhere(tmp_path):
    assert install_service(tmp_path, enable=False) is True
    path = tmp_path / "etc/systemd/system/lineguard.service"
    mtime = path.stat().st_mtime_ns
    assert install_service(tmp_path, enable=False) is False
    assert path.stat().st_mtime_ns == mtime and path.read_text() == unit_text()
    with pytest.raises(ProvisionError, match="live system"):
        install_service(tmp_path, enable=True)


def test_cli_install_service(tmp_path, capsys):
    from lineguard.cli import main

    argv = ["provision", "install-service", "--root", str(tmp_path), "--no-enable", "--watchdog-s", "15"]
    assert main(argv) == 0 and "installed" in capsys.readouterr().out
    assert main(argv) == 0 and "unchanged" in capsys.readouterr().out
    assert "WatchdogSec=15" in (tmp_path / "etc/systemd/system/lineguard.service").read_text()
