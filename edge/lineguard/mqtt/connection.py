"""Broker address, credentials, TLS and reconnect backoff for the device's paho client."""

from __future__ import annotations

import json
import random
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from lineguard.config import MqttSettings
from lineguard.errors import ConfigError
from lineguard.mqtt.topics import Topics

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://host[:port]`` or ``mqtts://host[:port]`` (TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ConfigError("mqtt.url", [("url", f"{url!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")])
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError as exc:
            raise ConfigError("mqtt.url", [("url", f"{url!r}: {exc}")]) from None
        return cls(parts.hostname, port, parts.scheme == "mqtts")


class Backoff:
    """Exponential reconnect delay with full jitter: uniform(min, min(max, min * 2**n))."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.min_s = min_s
        self.max_s = max(max_s, min_s)
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay_s(self) -> float:
        ceiling = min(self.max_s, self.min_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self._rng.uniform(self.min_s, ceiling)

    def reset(self) -> None:
        self.failures = 0


def read_password(settings: MqttSettings) -> str | None:
    if settings.password_file is None:
        return None
    try:
        return Path(settings.password_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(str(settings.password_file), [("mqtt.password_file", exc.strerror or str(exc))]) from None


def make_client(settings: MqttSettings, topics: Topics, will_payload: dict | None,
                client_id: str | None = None) -> mqtt.Client:
    """A fresh MQTT v5 client with credentials, TLS and (unless None) the ``offline`` last will set.

    ``client_id`` defaults to the device id, which the running gateway uses: a tool that
    connects beside it (a self-test) must pass another one, or the broker drops the gateway.
    """
    address = BrokerAddress.parse(settings.url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or topics.device_id,
                         protocol=MQTTProtocolVersion.MQTTv5, reconnect_on_failure=False)
    password = read_password(settings)
    if password is not None or settings.username:
        client.username_pw_set(settings.username or topics.device_id, password)
    if address.tls:
        for key in ("ca_file", "cert_file", "key_file"):
            path = getattr(settings, key)
            if path is not None and not Path(path).is_file():
                raise ConfigError("mqtt", [(f"mqtt.{key}", f"{path}: no such file")])
        client.tls_set(ca_certs=_str(settings.ca_file), certfile=_str(settings.cert_file),
                       keyfile=_str(settings.key_file), cert_reqs=ssl.CERT_REQUIRED,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if will_payload is not None:
        client.will_set(topics.status, json.dumps(will_payload), qos=1, retain=True)
    return client


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
