"""The topic layout of ``docs/mqtt.md``, seen from the central side.

Root ``lineguard/v1/<device_id>/``: ``status`` and ``health`` (retained),
``evt/<type>`` (QoS 1 events), ``cfg/desired`` (central to box, retained),
``cfg/reported`` (box to central, retained), ``cmd/<name>`` (requests with an
MQTT v5 response topic and correlation data; central asks for the answer on
``resp/<name>``, inside the box's own subtree, which the broker ACL allows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from lineguard.errors import ProtocolError

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class TopicKind(str, Enum):
    STATUS = "status"
    HEALTH = "health"
    EVENT = "evt"
    CFG_DESIRED = "cfg/desired"
    CFG_REPORTED = "cfg/reported"
    COMMAND_REPLY = "cmd-reply"


@dataclass(frozen=True)
class Topic:
    device_id: str
    kind: TopicKind
    name: str = ""          # event type or command name


def parse_topic(topic: str, root: str) -> Topic:
    """Split a topic under ``root``; raise ProtocolError for anything else."""
    prefix = root.rstrip("/") + "/"
    if not topic.startswith(prefix):
        raise ProtocolError(f"topic {topic!r} is not under {prefix!r}")
    parts = topic[len(prefix):].split("/")
    device_id, rest = parts[0], parts[1:]
    if not DEVICE_ID_RE.match(device_id):
        raise ProtocolError(f"topic {topic!r}: bad device id {device_id!r}")
    if rest in (["status"], ["health"]):
        return Topic(device_id, TopicKind(rest[0]))
    if len(rest) == 2 and rest[0] == "evt" and NAME_RE.match(rest[1]):
        return Topic(device_id, TopicKind.EVENT, rest[1])
    if rest in (["cfg", "desired"], ["cfg", "reported"]):
        return Topic(device_id, TopicKind("/".join(rest)))
    if len(rest) == 2 and rest[0] == "resp" and NAME_RE.match(rest[1]):
        return Topic(device_id, TopicKind.COMMAND_REPLY, rest[1])
    raise ProtocolError(f"topic {topic!r}: unknown layout")


def device_topic(root: str, device_id: str, *parts: str) -> str:
    if not DEVICE_ID_RE.match(device_id):
        raise ProtocolError(f"bad device id {device_id!r}")
    return "/".join([root.rstrip("/"), device_id, *parts])


def command_topic(root: str, device_id: str, name: str) -> str:
    if not NAME_RE.match(name):
        raise ProtocolError(f"bad command name {name!r}")
    return device_topic(root, device_id, "cmd", name)


def reply_topic(root: str, device_id: str, name: str) -> str:
    """Where central asks the box to answer (inside the box's own subtree, so broker ACLs allow it)."""
    return device_topic(root, device_id, "resp", name)


def subscriptions(root: str, share_group: str) -> list[str]:
    """Events through a shared subscription; retained state topics to every ingester.

    MQTT v5 brokers do not send retained messages to shared subscriptions, and
    state topics are upserts, so each ingester takes them whole.
    """
    root = root.rstrip("/")
    return [
        f"$share/{share_group}/{root}/+/evt/+",
        f"{root}/+/status",
        f"{root}/+/health",
        f"{root}/+/cfg/+",
        f"{root}/+/resp/+",
    ]
