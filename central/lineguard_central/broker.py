"""A local Mosquitto for ``make central`` and the tests: anonymous, loopback only, temporary folder."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from lineguard.errors import DeviceError

log = logging.getLogger(__name__)
START_TIMEOUT_S = 10.0


class LocalMosquitto:
    def __init__(self, port: int, binary: str = "mosquitto"):
        self.port = port
        self.binary = shutil.which(binary) or "/usr/sbin/mosquitto"
        self._dir = tempfile.TemporaryDirectory(prefix="lg-mosquitto-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalMosquitto:
        if not Path(self.binary).exists():
            raise DeviceError("mosquitto is not installed (run edge/scripts/system-deps.sh)")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        f"max_queued_messages 100000\nlog_dest stderr\nlog_type error\nlog_type warning\n")
        with open(Path(self._dir.name) / "mosquitto.log", "wb") as log_file:
            # own session: a Ctrl-C in the terminal reaches us, and we stop the broker last
            self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                         stderr=log_file, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DeviceError(f"mosquitto exited at start: {self.log_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise DeviceError(f"mosquitto did not listen on port {self.port}")

    def log_text(self) -> str:
        path = Path(self._dir.name) / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._dir.cleanup()
