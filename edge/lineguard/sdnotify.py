"""systemd notifications (``sd_notify``) over ``$NOTIFY_SOCKET``, in a few lines.

Under ``Type=notify`` the service tells systemd READY=1 once it is
listening, and pings WATCHDOG=1 more often than ``WatchdogSec``. Outside
systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        watchdog_usec = int(env.get("WATCHDOG_USEC", "0") or 0)
        self.watchdog_interval_s = watchdog_usec / 2e6 if watchdog_usec > 0 else None   # ping at half
        self._monotonic = monotonic
        self._last_ping_s: float | None = None
        self.ready_sent = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *fields: str) -> None:
        if not self.address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(self.address)
            sock.sendall("\n".join(fields).encode("utf-8"))

    def ready(self, status: str = "protecting the line") -> None:
        if not self.ready_sent:
            self.send("READY=1", f"STATUS={status}")
            self.ready_sent = True
            log.info("told systemd: ready")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self) -> None:
        """Ping the watchdog, at most every half ``WatchdogSec``."""
        if self.watchdog_interval_s is None:
            return
        now = self._monotonic()
        if self._last_ping_s is None or now - self._last_ping_s >= self.watchdog_interval_s:
            self.send("WATCHDOG=1")
            self._last_ping_s = now

    def heartbeat(self) -> None:
        """Called from the service loop: READY on the first call, then watchdog pings."""
        self.ready()
        self.watchdog()
