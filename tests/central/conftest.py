"""Fixtures: a real Mosquitto, a real PostgreSQL, the console in-process, headless Chromium."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="central extra not installed (pip install -e '.[central]')")

from lineguard_central.broker import LocalMosquitto  # noqa: E402
from lineguard_central.config import CentralSettings, DatabaseSettings, MqttSettings, WebSettings  # noqa: E402
from lineguard_central.server import CentralServer, add_user, free_port  # noqa: E402
from lineguard_central.sim import SimulatedGateway  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql")
PASSWORDS = {"operator": "operator-pass-1", "viewer": "viewer-pass-1"}


def wait_for(check: Callable[[], object], timeout_s: float = 15.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalMosquitto]:
    if not shutil.which("mosquitto") and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto is not installed (edge/scripts/system-deps.sh)")
    server = LocalMosquitto(free_port()).start()
    yield server
    server.stop()


def _pg_bin() -> Path | None:
    versions = sorted(PG_BIN.glob("*/bin/initdb")) if PG_BIN.exists() else []
    return versions[-1].parent if versions else None


class PgCluster:
    """A throwaway PostgreSQL cluster in a temporary folder (run as ``nobody`` when we are root)."""

    def __init__(self) -> None:
        bindir = _pg_bin()
        if bindir is None:
            pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="lg-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self.prefix = ["runuser", "-u", "nobody", "--"]
        self.port = free_port()
        self.data = self.root / "data"
        self.url = f"postgresql://lineguard@127.0.0.1:{self.port}"
        subprocess.run([*self.prefix, str(bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                        "lineguard", "--no-sync", "-E", "UTF8"], check=True, capture_output=True)

    def start(self) -> PgCluster:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off")
        subprocess.run([*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                        "-l", str(self.root / "log"), "-w", "start"], check=True, capture_output=True)
        return self

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                       capture_output=True)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The session's PostgreSQL server; yields an admin URL (no database part)."""
    cluster = PgCluster().start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def pg_url(postgres: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    return request.getfixturevalue("pg_url")


def central_settings(broker: LocalMosquitto, db_url: str, **mqtt: object) -> CentralSettings:
    return CentralSettings(mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{broker.port}", **mqtt),
                           database=DatabaseSettings(url=db_url),
                           web=WebSettings(port=0, refresh_s=0.5, secret="test-secret-0123456789"))


@pytest.fixture
def central(broker: LocalMosquitto, tmp_path: Path) -> Iterator[CentralServer]:
    server = CentralServer(central_settings(broker, f"sqlite:///{tmp_path / 'central.db'}"))
    for role, password in PASSWORDS.items():
        add_user(server.db, role, role, password)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def gateway_factory(broker: LocalMosquitto) -> Iterator[Callable[..., SimulatedGateway]]:
    started: list[SimulatedGateway] = []

    def make(device_id: str, seed: int = 1) -> SimulatedGateway:
        gateway = SimulatedGateway(device_id, "127.0.0.1", broker.port, seed=seed).start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        try:
            gateway.stop()
        except Exception:     # already stopped by the test
            pass


@pytest.fixture
def device_mqtt() -> None:
    """The simulated gateways answer settings and commands with the device's own code."""
    pytest.importorskip("lineguard.mqtt.remote_config", reason="lineguard.mqtt (device side) is not present")
    pytest.importorskip("lineguard.mqtt.commands", reason="lineguard.mqtt (device side) is not present")
