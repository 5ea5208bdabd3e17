"""The topic contract: everything a device says or hears lives under ``lineguard/v1/<device_id>/``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lineguard.errors import ProtocolError

ROOT = "lineguard/v1"
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Topics:
    """Topic names for one device."""

    device_id: str

    def __post_init__(self) -> None:
        if not DEVICE_ID_PATTERN.match(self.device_id):
            raise ProtocolError(f"device id {self.device_id!r}: use 1-64 of A-Z a-z 0-9 _ -")

    @property
    def root(self) -> str:
        return f"{ROOT}/{self.device_id}"

    @property
    def status(self) -> str:          # retained: online (birth) / offline (last will)
        return f"{self.root}/status"

    @property
    def health(self) -> str:          # retained, periodic
        return f"{self.root}/health"

    @property
    def cfg_desired(self) -> str:     # retained, central -> box
        return f"{self.root}/cfg/desired"

    @property
    def cfg_reported(self) -> str:    # retained, box -> central
        return f"{self.root}/cfg/reported"

    @property
    def cmd_filter(self) -> str:
        return f"{self.root}/cmd/+"

    def event(self, event_type: str) -> str:   # QoS 1, not retained
        return f"{self.root}/evt/{event_type}"

    def cmd(self, name: str) -> str:
        return f"{self.root}/cmd/{name}"

    def default_response(self, name: str) -> str:
        return f"{self.root}/resp/{name}"

    def owns(self, topic: str) -> bool:
        """True when ``topic`` lies inside this device's subtree (no wildcards)."""
        return topic.startswith(self.root + "/") and not any(c in topic for c in "+#\0")

    def command_name(self, topic: str) -> str:
        prefix = f"{self.root}/cmd/"
        if not topic.startswith(prefix):
            raise ProtocolError(f"{topic}: not a command topic of {self.device_id}")
        return topic[len(prefix):]
