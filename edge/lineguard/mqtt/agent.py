"""The device's MQTT agent: an EventSink that never loses an event.

``handle(event)`` stores the event in the outbox (on disk) and returns; one
network thread connects (TLS, credentials, last will), publishes the birth
``status``, subscribes to ``cfg/desired`` and ``cmd/+``, sends stored events
in ``seq`` order (QoS 1, at most :data:`WINDOW` in flight), removes each on
its PUBACK, publishes the retained ``health`` periodically and reconnects
with backoff and jitter. A fresh paho client is made for every connection,
so after a reconnect the outbox alone decides what is sent again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lineguard import __version__
from lineguard.config import Settings
from lineguard.events import Event, new_id
from lineguard.mqtt import ha
from lineguard.mqtt.commands import CommandHandler
from lineguard.mqtt.connection import Backoff, BrokerAddress, make_client
from lineguard.mqtt.health import HealthSampler
from lineguard.mqtt.outbox import Outbox, rfc3339_now
from lineguard.mqtt.remote_config import RemoteConfig
from lineguard.mqtt.topics import Topics

log = logging.getLogger(__name__)

WINDOW = 20            # QoS 1 messages in flight (mosquitto's default max_inflight_messages)
LOOP_TIMEOUT_S = 0.05
STOP_FLUSH_S = 2.0


class MqttAgent:
    """Outbox + connection + handlers for one device."""

    def __init__(self, settings: Settings, boot_id: str | None = None, listen: bool = True) -> None:
        self.settings = settings
        self.listen = listen    # False: publish only (replays): no remote settings, no commands
        self.mqtt = settings.mqtt
        self.topics = Topics(settings.device.id)
        self.boot_id = boot_id or new_id()
        self.address = BrokerAddress.parse(self.mqtt.url)
        self.outbox = Outbox(self.mqtt.outbox_path, self.boot_id, self.mqtt.outbox_max_events,
                             self.mqtt.outbox_max_bytes)
        self.health = HealthSampler(self.boot_id, self.outbox.depth, self.mqtt.state_dir)
        self.commands = CommandHandler(self.topics, self.respond)
        self.remote: RemoteConfig | None = None
        self.model_version: Callable[[], str] = lambda: "shipped"
        self.on_delivered: Callable[[str, int], None] | None = None   # (topic, seq) after each PUBACK
        self.stats = {"connects": 0, "published": 0, "acked": 0, "rejected": 0}
        self.restart_requested = False        # set by the remote ``reboot`` command
        self.connected = threading.Event()
        self.listening = threading.Event()    # subscribed to cfg/desired and cmd/+ on this connection
        self._stop = threading.Event()
        self._client: mqtt.Client | None = None
        self._inflight: dict[int, tuple[int, str]] = {}
        self._last_sent_seq = 0
        self._more = threading.Event()
        self._next_health_s = 0.0
        self._backoff = Backoff(self.mqtt.reconnect_min_s, self.mqtt.reconnect_max_s)
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)

    # -- EventSink --------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        if event.ts is None:
            event = event.replace(ts=rfc3339_now())
        stamped = self.outbox.add(event)
        self.health.observe(stamped)
        self._more.set()

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> MqttAgent:
        self._more.set()
        self._thread.start()
        return self

    def wait_drained(self, timeout_s: float) -> bool:
        """True once every stored event has been acknowledged by the broker."""
        deadline = time.monotonic() + timeout_s
        while self.outbox.depth() > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, drain_s: float = 0.0) -> None:
        """Optionally wait for the outbox to drain, say ``offline``, disconnect, close."""
        if drain_s > 0 and self._thread.is_alive():
            self.wait_drained(drain_s)
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_FLUSH_S + 5.0)
        self.commands.close()
        self.outbox.close()

    # -- publishing helpers (any thread) ------------------------------------------------------

    def respond(self, topic: str, answer: dict[str, Any], correlation: bytes | None) -> None:
        props = Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            props.CorrelationData = correlation
        self._publish(topic, answer, retain=False, properties=props)

    def report_config(self, report: dict[str, Any]) -> None:
        self._publish(self.topics.cfg_reported, {**report, "ts": rfc3339_now()}, retain=True)

    def status_document(self, state: str) -> dict[str, Any]:
        return {"state": state, "boot_id": self.boot_id, "firmware": __version__,
                "model_version": self.model_version(), "device_id": self.topics.device_id, "ts": rfc3339_now()}

    def _publish(self, topic: str, doc: dict[str, Any], retain: bool, properties: Properties | None = None) -> None:
        client = self._client
        if client is None or not self.connected.is_set():
            log.warning("not connected: dropped %s", topic)
            return
        client.publish(topic, json.dumps(doc, ensure_ascii=False), qos=1, retain=retain, properties=properties)

    # -- network thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                client = self._connect()
            except (OSError, ValueError) as exc:
                log.warning("MQTT %s:%d: cannot connect: %s", self.address.host, self.address.port, exc)
            else:
                self._serve(client)
            if not self._stop.is_set():
                self._stop.wait(self._backoff.next_delay_s())

    def _connect(self) -> mqtt.Client:
        client = make_client(self.mqtt, self.topics, self.status_document("offline"))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        client.connect(self.address.host, self.address.port, keepalive=self.mqtt.keepalive_s, clean_start=True)
        return client

    def _serve(self, client: mqtt.Client) -> None:
        try:
            while not self._stop.is_set():
                if client.loop(timeout=LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                    break
                if self.connected.is_set():
                    self._pump(client)
                    self._health_tick()
            if self._stop.is_set() and self.connected.is_set():
                self._say_goodbye(client)
        finally:
            self.connected.clear()
            self.listening.clear()
            self._inflight.clear()
            self._last_sent_seq = 0
            client.disconnect()
            client.loop(timeout=LOOP_TIMEOUT_S)   # flush the DISCONNECT when there is still a socket

    def _pump(self, client: mqtt.Client) -> None:
        room = WINDOW - len(self._inflight)
        if room <= 0 or not self._more.is_set():
            return
        self._more.clear()
        entries = self.outbox.pending(after_seq=self._last_sent_seq, limit=room)
        for entry in entries:
            info = client.publish(self.topics.event(entry.type), entry.payload, qos=1, retain=False)
            self._inflight[info.mid] = (entry.seq, entry.type)
            self._last_sent_seq = entry.seq
            self.stats["published"] += 1
        if len(entries) == room:
            self._more.set()   # there may be more behind the window

    def _health_tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_health_s:
            self._next_health_s = now + self.mqtt.health_interval_s
            self._publish(self.topics.health, self.health.sample(), retain=True)

    def _say_goodbye(self, client: mqtt.Client) -> None:
        info = client.publish(self.topics.status, json.dumps(self.status_document("offline")), qos=1, retain=True)
        deadline = time.monotonic() + STOP_FLUSH_S
        while not info.is_published() and time.monotonic() < deadline:
            if client.loop(timeout=LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                break

    # -- paho callbacks (network thread) -----------------------------------------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        self.stats["connects"] += 1
        self._backoff.reset()
        self.connected.set()
        self._more.set()
        self._next_health_s = 0.0
        log.info("MQTT connected to %s:%d as %s", self.address.host, self.address.port, self.topics.device_id)
        self._publish(self.topics.status, self.status_document("online"), retain=True)
        if self.listen:
            client.subscribe([(self.topics.cfg_desired, 1), (self.topics.cmd_filter, 1)])
        if self.mqtt.ha_discovery:
            for topic, doc in ha.discovery_messages(self.mqtt.ha_prefix, self.topics, self.settings.device.site):
                self._publish(topic, doc, retain=True)

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        refused = [str(rc) for rc in reason_codes if rc.is_failure]
        if refused:
            log.error("MQTT subscription refused: %s", ", ".join(refused))
        else:
            self.listening.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if self.connected.is_set():
            log.warning("MQTT disconnected: %s", reason_code)
        self.connected.clear()

    def _on_publish(self, _client, _userdata, mid, reason_code, _properties) -> None:
        sent = self._inflight.pop(mid, None)
        if sent is None:
            return
        seq, kind = sent
        if reason_code.is_failure:   # the broker answered but will never take it (e.g. not authorized)
            log.error("broker refused event seq %d: %s; dropped", seq, reason_code)
            self.stats["rejected"] += 1
        self.outbox.ack(seq)
        self.stats["acked"] += 1
        self._more.set()
        if self.on_delivered is not None:
            self.on_delivered(self.topics.event(kind), seq)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic == self.topics.cfg_desired:
                if self.remote is not None:
                    self.report_config(self.remote.handle(message.payload))
                return
            props = message.properties
            response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
            correlation = getattr(props, "CorrelationData", None) if props is not None else None
            self.commands.submit(message.topic, message.payload, response_topic, correlation)
        except Exception:   # one bad message must never stop the network thread
            log.exception("MQTT message on %s could not be handled", message.topic)
