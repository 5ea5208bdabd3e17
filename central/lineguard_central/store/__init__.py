"""Storage: SQLite (embedded default) or PostgreSQL (scale path), one schema, one SQL dialect subset."""

from lineguard_central.store.db import Database, open_database
from lineguard_central.store.queries import Queries
from lineguard_central.store.writer import Writer

__all__ = ["Database", "Queries", "Writer", "open_database"]
