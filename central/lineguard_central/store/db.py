"""Connections: one per thread, SQLite or PostgreSQL, behind the same small API.

SQL is written once with ``?`` placeholders and the subset both engines share
(``ON CONFLICT ... DO UPDATE``, ``excluded``); PostgreSQL gets ``%s``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lineguard.errors import ConfigError
from lineguard_central.store.schema import SCHEMA

log = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_S = 30.0


class Database:
    """A database URL with one connection per thread (``sqlite:///path`` or ``postgresql://...``)."""

    def __init__(self, url: str):
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.path = Path(url.removeprefix("sqlite:///"))
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            self.path = None
        else:
            raise ConfigError("database.url", [("url", f"{url!r}: use sqlite:///PATH or postgresql://...")])
        self.url = url
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        else:
            import psycopg
            from psycopg.rows import dict_row
            conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or (self.dialect == "postgresql" and conn.closed):   # closed: lost, reconnect
            conn = self._local.conn = self._connect()
        return conn

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.sql(text), tuple(params))

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.execute(text, params).fetchall()]

    def one(self, text: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        row = self.execute(text, params).fetchone()
        return dict(row) if row is not None else None

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction on this thread's connection; rolled back on any error."""
        conn = self.conn
        if self.dialect == "postgresql":
            with conn.transaction():
                yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def is_transient(self, exc: BaseException) -> bool:
        """Worth retrying (database down, locked, connection lost) rather than a bad row."""
        if self.dialect == "sqlite":
            return isinstance(exc, sqlite3.OperationalError)
        import psycopg
        if isinstance(exc, psycopg.OperationalError):
            self._local.conn = None            # reconnect on the next try
            return True
        return False

    def create_schema(self) -> None:
        with self.transaction():
            for statement in SCHEMA:
                self.execute(statement)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except Exception:       # closing from another thread: report, keep closing the rest
                log.warning("closing a database connection failed", exc_info=True)
        self._local = threading.local()


def open_database(url: str) -> Database:
    """Open the database and create the schema if it is missing."""
    db = Database(url)
    db.create_schema()
    log.info("database %s ready", db.dialect)
    return db
