"""LineGuard Central: the fleet console.

An MQTT v5 ingester (shared subscription) that stores every gateway's events,
status, health and settings reports, and a web console served by the same
process. SQLite by default, PostgreSQL to scale (see ``docs/scale.md``).
"""

__version__ = "0.1.0"
