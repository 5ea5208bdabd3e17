from __future__ import annotations

from pathlib import Path

import pytest

from lineguard.config import Settings, parse_settings
from tests.mqtt.broker import DEVICES, Broker, Central


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Broker:
    b = Broker(tmp_path_factory.mktemp("mosquitto")).start()
    yield b
    b.stop()


@pytest.fixture
def central(broker):
    c = Central(broker, topic="lineguard/#")
    yield c
    c.close()


def device_settings(folder: Path, broker: Broker, device: str = "box-a", tls: bool = True,
                    **mqtt: object) -> Settings:
    """Settings of a device that reports to ``broker`` with its own password (TLS by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    password = folder / f"{device}.password"
    password.write_text(DEVICES.get(device, "wrong") + "\n")
    section = {"enabled": True, "url": broker.tls_url if tls else broker.url, "password_file": str(password),
               "ca_file": str(broker.ca), "outbox_path": str(folder / "outbox.sqlite"), "state_dir": str(folder),
               "reconnect_min_s": 0.1, "reconnect_max_s": 0.5, "health_interval_s": 1.0, **mqtt}
    return parse_settings({"device": {"id": device}, "mqtt": section})
