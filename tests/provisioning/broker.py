"""A real Mosquitto with mutual TLS, the fleet's password file and ACL, on a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from lineguard_provision.pki import ensure_ca, issue_server_cert


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def tls_broker(fleet: Path, workdir: Path):
    """Yield the port of a broker requiring a client certificate from the fleet CA."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.skip("mosquitto not installed")
    ca = ensure_ca(fleet)
    issue_server_cert(ca, ["localhost", "127.0.0.1"], workdir / "server.crt", workdir / "server.key")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        "per_listener_settings false\nallow_anonymous false\n"
        f"password_file {fleet / 'mosquitto.passwd'}\nacl_file {fleet / 'mosquitto.acl'}\n"
        "persistence false\nlog_type error\nuser root\n"
        f"listener {port} 127.0.0.1\ncafile {ca.cert_path}\ncertfile {workdir / 'server.crt'}\n"
        f"keyfile {workdir / 'server.key'}\nrequire_certificate true\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_listening(port: int, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {proc.stdout.read().decode(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start listening")
