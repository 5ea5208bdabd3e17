"""Simulated gateways: publish what a real box publishes, in the documented topic layout.

Each one has a retained ``status`` (birth ``online``, last will ``offline``),
a retained ``health``, QoS 1 events with ``event_id``/``seq``/``boot_id``/``ts``,
and answers ``cfg/desired`` (validated by the device's own remote-settings
code) and ``cmd/<name>`` requests on their MQTT v5 response topic.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lineguard.config import Settings
from lineguard.errors import DeviceError, LineGuardError
from lineguard.events import Event, new_id
from lineguard_central.calls import script_call
from lineguard_central.config import TOPIC_ROOT

log = logging.getLogger(__name__)
FIRMWARE = "0.1.0"
MODEL = "kws-2026.11"
CONNECT_TIMEOUT_S = 10.0


def rfc3339(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SimulatedGateway:
    """One simulated box on a broker. Thread-safe ``emit``; ``start``/``stop`` for the connection."""

    def __init__(self, device_id: str, host: str, port: int, seed: int = 0,
                 root: str = TOPIC_ROOT, max_inflight: int = 1000):
        self.device_id, self.root = device_id, f"{root}/{device_id}"
        self.host, self.port = host, port
        self.rng = random.Random(seed)
        self.boot_id = new_id()
        self.seq = 0
        self.started_s = time.time()
        self.calls_today = 0
        self._lock = threading.Lock()
        self._state_dir = tempfile.TemporaryDirectory(prefix=f"lg-sim-{device_id}-")
        self._remote: Any = None
        self.received_settings: list[dict[str, Any]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{device_id}",
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.will_set(f"{self.root}/status", json.dumps(self._status("offline")), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self._connected = threading.Event()   # set once the broker has acknowledged our subscriptions

    # ---- connection ------------------------------------------------------------

    def start(self) -> SimulatedGateway:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            raise DeviceError(f"simulated gateway {self.device_id}: broker {self.host}:{self.port} not reachable")
        return self

    def stop(self, clean: bool = True) -> None:
        """``clean``: publish ``offline`` first; otherwise drop the socket so the broker sends the last will."""
        try:
            if clean and self.client.is_connected():
                self._publish("status", self._status("offline"), retain=True).wait_for_publish(5)
                self.client.disconnect()
            elif self.client.socket() is not None:
                self.client.socket().close()
        except RuntimeError as exc:          # the broker went away first: nothing left to tell it
            log.warning("simulated gateway %s: %s", self.device_id, exc)
        finally:
            self.client.loop_stop()
            self._state_dir.cleanup()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe([(f"{self.root}/cfg/desired", 1), (f"{self.root}/cmd/+", 1)])
        self._publish("status", self._status("online"), retain=True)
        self.publish_health()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, props: Any) -> None:
        """Ready only after SUBACK: a command sent before the broker holds the subscription would be lost."""
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            log.error("simulated gateway %s: subscription refused: %s", self.device_id, refused)
            return
        self._connected.set()

    def _status(self, state: str) -> dict[str, Any]:
        return {"state": state, "boot_id": self.boot_id, "firmware": FIRMWARE, "model_version": MODEL,
                "device_id": self.device_id, "ts": rfc3339(time.time())}

    def _publish(self, sub: str, doc: dict[str, Any], retain: bool = False,
                 properties: Properties | None = None, topic: str | None = None) -> mqtt.MQTTMessageInfo:
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        return self.client.publish(topic or f"{self.root}/{sub}", body, qos=1, retain=retain, properties=properties)

    # ---- what a box publishes ----------------------------------------------------

    def publish_health(self) -> None:
        self._publish("health", {
            "ts": rfc3339(time.time()), "boot_id": self.boot_id, "firmware": FIRMWARE, "model_version": MODEL,
            "uptime_s": round(time.time() - self.started_s, 1), "system_uptime_s": 86400.0 * 3,
            "cpu_percent": round(self.rng.uniform(4, 22), 1), "process_cpu_percent": round(self.rng.uniform(2, 9), 1),
            "memory_percent": round(self.rng.uniform(28, 41), 1), "disk_percent": round(self.rng.uniform(11, 24), 1),
            "disk_free_mb": round(self.rng.uniform(21000, 26000), 1), "process_rss_mb": 96.5,
            "temperature_c": round(self.rng.uniform(44, 58), 1), "outbox_depth": 0,
            "backends": {"audio": "pyaudio", "relay": "gpio", "line": "board"},
            "calls_today": self.calls_today, "last_incident": None}, retain=True)

    def emit(self, event: Event, at_s: float | None = None) -> dict[str, Any]:
        """Stamp ``seq``/``boot_id``/``ts``, publish on ``evt/<type>`` (QoS 1); return the wire form."""
        with self._lock:
            self.seq += 1
            wire = {**event.to_wire(), "seq": self.seq, "boot_id": self.boot_id,
                    "ts": rfc3339(time.time() if at_s is None else at_s)}
        if event.TYPE == "call_started":
            self.calls_today += 1
        self._publish(f"evt/{event.TYPE}", wire)
        return wire

    def resend(self, wire: dict[str, Any]) -> None:
        """Publish an already stamped event again, as the outbox does after a reconnect."""
        self._publish(f"evt/{wire['type']}", wire)

    def backfill(self, days: int, calls_per_day: int) -> int:
        """Publish ``days`` of past calls (for the charts); return the number of events."""
        count = 0
        now_s = time.time()
        for day in range(days, 0, -1):
            for _ in range(self.rng.randint(calls_per_day // 2, calls_per_day * 3 // 2)):
                start_s = now_s - day * 86400 + self.rng.uniform(0, 86400)
                for item in script_call(self.rng):
                    self.emit(item.event, at_s=start_s + item.offset_s)
                    count += 1
        return count

    def play_call(self, kind: str | None = None, speed: float = 1.0, stop: threading.Event | None = None) -> None:
        """Publish one call in (sped-up) real time."""
        begin = time.monotonic()
        for item in script_call(self.rng, kind):
            delay_s = begin + item.offset_s / speed - time.monotonic()
            if stop is not None and stop.wait(max(delay_s, 0.0)):
                return
            if stop is None and delay_s > 0:
                time.sleep(delay_s)
            self.emit(item.event)

    # ---- what a box answers --------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic.endswith("/cfg/desired"):
                self._on_desired(msg.payload)
            else:
                self._on_command(msg)
        except LineGuardError:
            log.exception("simulated gateway %s: message on %s failed", self.device_id, msg.topic)

    def _on_desired(self, payload: bytes) -> None:
        """Validated and applied by the device's own code (``lineguard.mqtt.remote_config``)."""
        from lineguard.mqtt.remote_config import RemoteConfig
        if not payload:
            return
        if self._remote is None:
            self._remote = RemoteConfig(Settings(), Path(self._state_dir.name), apply=lambda settings: None)
        report = self._remote.handle(payload)
        if report["status"] == "applied":
            self.received_settings.append(json.loads(payload))
        self._publish("cfg/reported", {**report, "ts": rfc3339(time.time())}, retain=True)

    def _on_command(self, msg: mqtt.MQTTMessage) -> None:
        from lineguard.mqtt.commands import CommandError, parse_request
        name = msg.topic.rsplit("/", 1)[1]
        props = msg.properties
        topic = getattr(props, "ResponseTopic", None) or f"{self.root}/resp/{name}"
        out = Properties(PacketTypes.PUBLISH)
        correlation = getattr(props, "CorrelationData", None)
        if correlation:
            out.CorrelationData = correlation
        try:
            args = parse_request(name, msg.payload)
        except CommandError as exc:
            answer = {"command": name, "ok": False, "errors": [{"key": k, "why": w} for k, w in exc.problems]}
        else:
            answer = {"command": name, "ok": True, "result": self._run(name, args)}
        self._publish("", answer, properties=out, topic=topic)

    def _run(self, name: str, args: Any) -> dict[str, Any]:
        if name == "selftest":
            return {"ok": True, "checks": {"detector": "ok (0 detections on silence)", "prompts": "ok (5)",
                                           "relay": "ok (closed)"}}
        if name == "play_prompt":
            return {"prompt_id": args.prompt_id, "duration_s": 4.2}
        if name == "relay_test":
            return {"open_ms": args.open_ms, "relay_state": "closed"}
        return {"accepted": True}
