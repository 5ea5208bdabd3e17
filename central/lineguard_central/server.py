"""One process: the database, the MQTT link and the web console."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from lineguard.errors import DeviceError
from lineguard_central.auth import SessionSigner, hash_password, parse_role
from lineguard_central.config import CentralSettings
from lineguard_central.link import CentralLink
from lineguard_central.store import Database, Queries, Writer, open_database
from lineguard_central.web.app import create_app
from lineguard_central.web.context import Console

log = logging.getLogger(__name__)
START_TIMEOUT_S = 20.0


def console_secret(settings: CentralSettings, writer: Writer, queries: Queries) -> str:
    """The configured secret, or one generated once and shared through the database."""
    if settings.web.secret:
        return settings.web.secret
    writer.set_meta("session_secret", secrets.token_urlsafe(32))
    secret = queries.meta("session_secret")
    assert secret is not None
    return secret


def add_user(db: Database, username: str, role: str, password: str, now_s: float | None = None) -> None:
    Writer(db).put_user(username, parse_role(role).value, hash_password(password),
                        time.time() if now_s is None else now_s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CentralServer:
    """Start and stop the whole console (tests run it in-process on a free port)."""

    def __init__(self, settings: CentralSettings, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.clock = clock
        self.db = open_database(settings.database.url)
        self.writer, self.queries = Writer(self.db), Queries(self.db)
        self.link = CentralLink(settings.mqtt, self.writer, self.queries, clock)
        signer = SessionSigner(console_secret(settings, self.writer, self.queries))
        self.console = Console(settings.web, self.queries, self.writer, self.link, signer, clock)
        # no port set: bind one now and hand the socket to the server, so no other socket (the MQTT
        # link's own connection, say) can take a port that was free a moment ago
        self._socket: socket.socket | None = None
        if settings.web.port:
            self.port = settings.web.port
        else:
            self._socket = socket.socket()
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((settings.web.host, 0))
            self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(create_app(self.console), host=settings.web.host, port=self.port,
                                log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        sockets = [self._socket] if self._socket else None
        self._thread = threading.Thread(target=self._server.run, args=(sockets,), name="central-web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.settings.web.host}:{self.port}"

    def start(self) -> CentralServer:
        self.link.start()
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()  # the link and the database do not outlive a console that did not start
                raise DeviceError(f"the console did not start on {self.url}")
            time.sleep(0.05)
        log.info("console on %s", self.url)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.link.stop()
        self.db.close()
        if self._socket is not None:
            self._socket.close()

    def serve_forever(self) -> None:
        self.start()
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=1.0)
        except KeyboardInterrupt:
            log.info("stopping")
        finally:
            self.stop()
