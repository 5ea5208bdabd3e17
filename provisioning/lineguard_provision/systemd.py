"""The systemd service that runs the gateway on the Pi.

``Type=notify``: the daemon says READY=1 once the line and audio are open
and pings the watchdog from its loop (see :mod:`lineguard.sdnotify`); a
hung loop is killed and restarted. Outbox, recordings and models live in
``/var/lib/lineguard`` (``StateDirectory=``); logs go to journald.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lineguard_provision.errors import ProvisionError
from lineguard_provision.files import write_public

log = logging.getLogger(__name__)

UNIT_NAME = "lineguard.service"
UNIT_DIR = Path("etc/systemd/system")
STATE_DIR = Path("/var/lib/lineguard")
CONFIG_PATH = Path("/etc/lineguard/config.toml")
VENV = Path("/opt/lineguard/venv")


@dataclass(frozen=True)
class ServiceOptions:
    exec_path: Path = VENV / "bin" / "lineguard"
    config_path: Path = CONFIG_PATH
    user: str = "lineguard"
    watchdog_s: int = 30
    restart_s: int = 5


def unit_text(opts: ServiceOptions = ServiceOptions()) -> str:
    return f"""\
[Unit]
Description=LineGuard call protection gateway
Documentation=https://lineguard.example/docs/installer
After=network-online.target sound.target time-sync.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStartPre={opts.exec_path} check-config {opts.config_path}
ExecStart={opts.exec_path} run --config {opts.config_path}
# after any stop, kill -9 or watchdog kill included: drive the relay pin inactive (line connected)
ExecStopPost={opts.exec_path} relay release --config {opts.config_path}
User={opts.user}
Group={opts.user}
SupplementaryGroups=audio gpio dialout
StateDirectory=lineguard lineguard/outbox lineguard/recordings lineguard/evidence lineguard/models
StateDirectoryMode=0750
ConfigurationDirectory=lineguard
ConfigurationDirectoryMode=0750
WorkingDirectory={STATE_DIR}
WatchdogSec={opts.watchdog_s}
Restart=on-failure
RestartSec={opts.restart_s}
TimeoutStartSec=120
TimeoutStopSec=15
StandardOutput=journal
StandardError=journal
SyslogIdentifier=lineguard
NoNewPrivileges=yes
ProtectSystem=full
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""


def install_service(root: Path = Path("/"), opts: ServiceOptions = ServiceOptions(),
                    enable: bool = True) -> bool:
    """Write the unit under ``root`` and (on the live system) enable and start it.

    Returns whether the unit file changed. Enabling twice is harmless.
    """
    unit_dir = root / UNIT_DIR
    unit_dir.mkdir(parents=True, exist_ok=True)
    changed = write_public(unit_dir / UNIT_NAME, unit_text(opts).encode("utf-8"))
    if enable:
        if root != Path("/"):
            raise ProvisionError(f"cannot enable a service in {root}: enable only on the live system")
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", UNIT_NAME)
    return changed


def _systemctl(*args: str) -> None:
    exe = shutil.which("systemctl")
    if exe is None:
        raise ProvisionError("systemctl not found: install-service needs systemd (use --no-enable to only write)")
    done = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ProvisionError(f"systemctl {' '.join(args)} failed: {done.stderr.strip()}")
