"""Optional Home Assistant MQTT discovery: the box as a device with three entities.

Discovery topics are ``<prefix>/<component>/<device_id>/<object_id>/config``;
the broker's ACL must let the device write there (see docs/mqtt.md).
"""

from __future__ import annotations

from typing import Any

from lineguard import __version__
from lineguard.mqtt.topics import Topics


def discovery_messages(prefix: str, topics: Topics, site: str = "") -> list[tuple[str, dict[str, Any]]]:
    device_id = topics.device_id
    device = {"identifiers": [f"lineguard_{device_id}"], "name": f"LineGuard {site or device_id}",
              "manufacturer": "LineGuard", "model": "LineGuard gateway", "sw_version": __version__}
    entities = [
        ("binary_sensor", "online", {
            "name": "Online", "device_class": "connectivity", "state_topic": topics.status,
            "value_template": "{{ 'ON' if value_json.state == 'online' else 'OFF' }}"}),
        ("sensor", "calls_today", {
            "name": "Calls today", "state_topic": topics.health, "state_class": "total_increasing",
            "value_template": "{{ value_json.calls_today }}"}),
        ("sensor", "last_incident", {
            "name": "Last incident", "device_class": "timestamp", "state_topic": topics.health,
            "value_template": "{{ value_json.last_incident }}"}),
    ]
    out = []
    for component, object_id, config in entities:
        config.update({"unique_id": f"lineguard_{device_id}_{object_id}", "device": device,
                       "availability_topic": topics.status,
                       "availability_template": "{{ 'online' if value_json.state == 'online' else 'offline' }}"})
        if object_id == "online":
            config.pop("availability_topic")
            config.pop("availability_template")
        out.append((f"{prefix}/{component}/{device_id}/{object_id}/config", config))
    return out
