"""The central MQTT link: ingest (shared subscription, manual acks after commit) and control (settings, commands).

Messages are parsed on paho's network thread and queued; one writer thread
stores them in batches and only then acknowledges the QoS 1 events, so an
event the broker delivered is either committed or redelivered, never lost.
Duplicates (redelivery, outbox replay) are dropped by ``event_id``.
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lineguard.errors import ConfigError, DeviceError, ProtocolError
from lineguard_central import topics as tp
from lineguard_central import wire
from lineguard_central.config import MqttSettings
from lineguard_central.store import Queries, Writer

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 10.0
QUEUE_POLL_S = 0.2


@dataclass(frozen=True)
class _Inbound:
    topic: tp.Topic
    payload: bytes
    correlation: bytes | None
    mid: int
    qos: int
    received_s: float


@dataclass
class LinkStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class CentralLink:
    """One MQTT v5 connection for ingest and control; one writer thread for the database."""

    def __init__(self, settings: MqttSettings, writer: Writer, queries: Queries,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self.writer = writer
        self.queries = queries
        self.clock = clock
        self.stats = LinkStats()
        self._inbox: queue.Queue[_Inbound] = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name="central-writer", daemon=True)
        self.client = self._make_client()

    # ---- connection ------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        url = urlsplit(self.settings.url)
        client_id = self.settings.client_id or f"central-{uuid.uuid4().hex[:12]}"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True)
        if self.settings.username:
            client.username_pw_set(self.settings.username, self.settings.password or None)
        if url.scheme == "mqtts":
            if self.settings.ca_file is not None and not self.settings.ca_file.is_file():
                raise ConfigError("mqtt", [("mqtt.ca_file", f"{self.settings.ca_file}: no such file")])
            client.tls_set(ca_certs=str(self.settings.ca_file) if self.settings.ca_file else None,
                           cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._host, self._port = url.hostname or "127.0.0.1", url.port or (8883 if url.scheme == "mqtts" else 1883)
        return client

    def start(self) -> None:
        self._thread.start()
        persistent = bool(self.settings.client_id) and self.settings.session_expiry_s > 0
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s if persistent else 0
        self.client.connect_async(self._host, self._port, keepalive=self.settings.keepalive_s,
                                  clean_start=not persistent, properties=props)
        self.client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            log.warning("MQTT broker %s:%d not reachable yet; retrying in the background", self._host, self._port)

    def stop(self) -> None:
        """Store what was received, disconnect, end the writer."""
        self.drain()
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        self._thread.join(timeout=10)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect to %s:%d refused: %s", self._host, self._port, reason)
            return
        subs = tp.subscriptions(self.settings.topic_root, self.settings.share_group)
        client.subscribe([(topic, mqtt.SubscribeOptions(qos=1)) for topic in subs])
        log.info("MQTT connected to %s:%d; subscribing %s", self._host, self._port, ", ".join(subs))

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, props: Any) -> None:
        """Connected (for publishing) once the broker holds our subscriptions: a command's answer can't be missed."""
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            log.error("MQTT broker %s:%d refused subscriptions (check its ACL): %s", self._host, self._port, refused)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.stats.received += 1
        try:
            topic = tp.parse_topic(msg.topic, self.settings.topic_root)
        except ProtocolError as exc:
            log.warning("ignoring message: %s", exc)
            self.stats.rejected += 1
            client.ack(msg.mid, msg.qos)
            return
        correlation = getattr(msg.properties, "CorrelationData", None) if msg.properties else None
        self._inbox.put(_Inbound(topic, msg.payload, correlation, msg.mid, msg.qos, self.clock()))

    # ---- writer ----------------------------------------------------------------

    def _write_loop(self) -> None:
        while not self._stop.is_set() or not self._inbox.empty():
            try:
                first = self._inbox.get(timeout=QUEUE_POLL_S)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self.settings.batch_max:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            self._store_until_done(batch)
            for item in batch:
                self.client.ack(item.mid, item.qos)
                self._inbox.task_done()

    def _store_until_done(self, batch: list[_Inbound]) -> None:
        """Retry while the database is down: nothing is acknowledged before it is committed.

        A batch that fails for another reason is stored message by message, and a single
        message the database refuses is logged, counted as rejected and acknowledged, so one
        bad message never blocks the rest.
        """
        while True:
            try:
                self._store(batch)
                return
            except Exception as exc:
                if self.writer.db.is_transient(exc):
                    log.warning("database unavailable (%s); retrying, nothing acknowledged", exc)
                    if self._stop.wait(1.0):
                        raise
                    continue
                if len(batch) == 1:
                    log.error("dropping a message on %s the database refused: %s", batch[0].topic, exc)
                    self.stats.rejected += 1
                    return
                for item in batch:
                    self._store_until_done([item])
                return

    def _store(self, batch: list[_Inbound]) -> None:
        events: list[wire.EventRecord] = []
        for item in batch:
            try:
                if item.topic.kind is tp.TopicKind.EVENT:
                    events.append(wire.parse_event(item.topic.device_id, item.topic.name, item.payload,
                                                   item.received_s))
                else:
                    self._store_state(item)
            except ProtocolError as exc:
                log.warning("rejected: %s", exc)
                self.stats.rejected += 1
        if events:
            new = self.writer.ingest(events, batch[-1].received_s)
            self.stats.stored += new
            self.stats.duplicates += len(events) - new

    def _store_state(self, item: _Inbound) -> None:
        device_id, kind, now_s = item.topic.device_id, item.topic.kind, item.received_s
        if kind is tp.TopicKind.STATUS and item.payload:
            self.writer.status(wire.parse_status(device_id, item.payload, now_s))
        elif kind is tp.TopicKind.HEALTH and item.payload:
            self.writer.health(wire.parse_health(device_id, item.payload, now_s))
        elif kind is tp.TopicKind.CFG_REPORTED and item.payload:
            self.writer.reported(wire.parse_reported(device_id, item.payload, now_s))
        elif kind is tp.TopicKind.CFG_DESIRED:
            desired = wire.parse_desired(device_id, item.payload, now_s)
            if desired is not None:
                self.writer.desired_seen(desired)
        elif kind is tp.TopicKind.COMMAND_REPLY:
            self.writer.command_reply(wire.parse_reply(device_id, item.correlation, item.payload, now_s))

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until everything received so far is stored (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._inbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    # ---- control ---------------------------------------------------------------

    def publish_desired(self, device_id: str, settings: dict[str, Any], by: str) -> int:
        """Publish a new retained ``cfg/desired`` (version = last known + 1); return the version."""
        if not isinstance(settings, dict):
            raise ProtocolError("settings must be a JSON object")
        current = self.queries.config(device_id)
        version = max(current.desired_version or 0, current.reported_version or 0) + 1
        body = json.dumps({"version": version, "settings": settings}, ensure_ascii=False)
        self._publish(tp.device_topic(self.settings.topic_root, device_id, "cfg", "desired"), body, retain=True)
        self.writer.desired(device_id, version, json.dumps(settings, ensure_ascii=False), by, self.clock())
        return version

    def send_command(self, device_id: str, name: str, args: dict[str, Any], by: str) -> str:
        """Send ``cmd/<name>`` with a response topic and correlation data; return the correlation id."""
        correlation_id = uuid.uuid4().hex
        args_json = json.dumps(args, ensure_ascii=False)
        self.writer.command_sent(correlation_id, device_id, name, args_json, by, self.clock())
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = tp.reply_topic(self.settings.topic_root, device_id, name)
        props.CorrelationData = correlation_id.encode()
        self._publish(tp.command_topic(self.settings.topic_root, device_id, name), args_json, properties=props)
        return correlation_id

    def _publish(self, topic: str, body: str, retain: bool = False, properties: Properties | None = None) -> None:
        if not self.connected:
            raise DeviceError(f"MQTT broker {self._host}:{self._port} is not connected")
        info = self.client.publish(topic, body, qos=1, retain=retain, properties=properties)
        info.wait_for_publish(PUBLISH_TIMEOUT_S)
        if info.rc != mqtt.MQTT_ERR_SUCCESS or not info.is_published():
            raise DeviceError(f"publishing to {topic} failed (rc={info.rc})")
