"""Self-test steps on the system side: MQTT, keyword model, clock, disk."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from pathlib import Path

from lineguard.errors import LineGuardError
from lineguard_provision.selftest.context import Context, default_detector, demo_clip, system_clock_sync
from lineguard_provision.selftest.report import Outcome, Report, Status

log = logging.getLogger(__name__)

MIN_PLAUSIBLE_YEAR = 2025
CHUNK = 1600
REPORT_LEAF = "selftest"


def check_mqtt(ctx: Context) -> Outcome:
    m = ctx.settings.mqtt
    if not m.enabled:
        return Outcome(Status.FAIL, "MQTT is disabled (mqtt.enabled = false)",
                       "Set [mqtt] enabled, url and credentials; `lineguard provision seed` writes them.")
    try:
        from lineguard.mqtt.connection import make_client
        from lineguard.mqtt.topics import Topics
    except ImportError as exc:
        return Outcome(Status.FAIL, f"MQTT client not available in this build ({exc.name})",
                       "Install a LineGuard release that includes lineguard.mqtt.")
    topics = Topics(ctx.settings.device.id)
    client = make_client(m, topics, {"state": "offline"})
    link = _Link(client)
    try:
        client.connect(*_host_port(m.url), keepalive=m.keepalive_s)
    except OSError as exc:     # refused, unreachable, TLS handshake (ssl.SSLError is an OSError)
        return Outcome(Status.FAIL, f"cannot reach the broker at {m.url}: {exc}",
                       "Check mqtt.url, the network, and that the broker trusts the fleet CA.")
    client.loop_start()
    outcome = link.round_trip(f"{topics.root}/{REPORT_LEAF}/echo", ctx.options.mqtt_timeout_s)
    if outcome.status is Status.PASS:
        ctx.mqtt_client = (client, f"{topics.root}/{REPORT_LEAF}")
    else:
        close_mqtt(client)
    return outcome


def publish_report(ctx: Context, report: Report) -> bool:
    """Send the report (retained, QoS 1) when the MQTT step connected; True when acknowledged."""
    if ctx.mqtt_client is None:
        return False
    client, topic = ctx.mqtt_client
    info = client.publish(topic, json.dumps(report.to_wire()), qos=1, retain=True)
    info.wait_for_publish(timeout=ctx.options.mqtt_timeout_s)
    return info.is_published()


def close_mqtt(client) -> None:
    client.disconnect()
    client.loop_stop()


class _Link:
    """Connect/subscribe/message callbacks turned into waits."""

    def __init__(self, client) -> None:
        self.client = client
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.received = threading.Event()
        self.connect_reason = ""
        self.granted: list = []
        self.nonce = secrets.token_hex(8).encode()
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect

    def round_trip(self, topic: str, timeout_s: float) -> Outcome:
        remedy = "Register the device on the broker (`lineguard provision register`) and reload Mosquitto."
        if not self.connected.wait(timeout_s):
            return Outcome(Status.FAIL, f"broker did not answer the connect in {timeout_s:g} s", remedy)
        if self.connect_reason:
            return Outcome(Status.FAIL, f"broker refused the connection: {self.connect_reason}", remedy)
        started = time.monotonic()
        self.client.subscribe(topic, qos=1)
        if not self.subscribed.wait(timeout_s) or any(code.is_failure for code in self.granted):
            return Outcome(Status.FAIL, f"broker refused the subscription to {topic}",
                           "The broker's ACL must allow the device its own lineguard/v1/<id>/# tree.")
        self.client.publish(topic, self.nonce, qos=1)
        if not self.received.wait(timeout_s):
            return Outcome(Status.FAIL, "published, but the message never came back", remedy)
        rtt_ms = round((time.monotonic() - started) * 1000, 1)
        return Outcome(Status.PASS, f"connected and round-trip in {rtt_ms} ms", "", {"round_trip_ms": rtt_ms})

    def _on_connect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self.connect_reason = str(reason_code)
        self.connected.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if not self.connected.is_set():
            self.connect_reason = (f"the broker closed the connection ({reason_code}); "
                                   "is the client certificate missing or not signed by the fleet CA?")
            self.connected.set()

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        self.granted = list(reason_codes)
        self.subscribed.set()

    def _on_message(self, _client, _userdata, message) -> None:
        if message.payload == self.nonce:
            self.received.set()


def _host_port(url: str) -> tuple[str, int]:
    from lineguard.mqtt.connection import BrokerAddress

    address = BrokerAddress.parse(url)
    return address.host, address.port


def check_model(ctx: Context) -> Outcome:
    remedy = "Install the keyword model (models/lineguard_kws.tflite) or set detector.model_path."
    try:
        detector = (ctx.make_detector or (lambda: default_detector(ctx.settings)))()
    except (LineGuardError, ImportError, OSError) as exc:
        return Outcome(Status.FAIL, f"keyword model not available: {exc}", remedy)
    clip = (ctx.load_clip or (lambda: demo_clip(detector.sample_rate_hz)))()
    started = time.monotonic()
    found = []
    for start in range(0, len(clip.samples), CHUNK):
        found += detector.process(clip.samples[start:start + CHUNK])
    elapsed = time.monotonic() - started
    audio_s = len(clip.samples) / clip.sample_rate_hz
    data = {"clip": clip.name, "detections": [d.keyword for d in found],
            "real_time_factor": round(elapsed / audio_s, 4) if audio_s else None}
    if not found:
        return Outcome(Status.FAIL, f"model loaded but detected nothing in {clip.name}",
                       "The model file may be damaged or thresholds too high (detector.thresholds); "
                       "reinstall LineGuard.", data)
    best = max(found, key=lambda d: d.score)
    return Outcome(Status.PASS, f"{len(found)} detection(s) in {clip.name}, best {best.keyword} "
                   f"({best.score:.2f})", "", data)


def check_clock(ctx: Context) -> Outcome:
    now = ctx.utc_now()
    if now.year < MIN_PLAUSIBLE_YEAR:
        return Outcome(Status.FAIL, f"system clock says {now:%Y-%m-%d}",
                       "The Pi has no real-time clock: connect the network so NTP can set it (`timedatectl`).")
    sync = (ctx.clock_probe or system_clock_sync)()
    data = {"utc": now.isoformat(timespec="seconds"), "source": sync.source}
    if sync.synchronized is None:
        return Outcome(Status.WARN, f"cannot tell whether the clock is synchronized ({sync.source})",
                       "Enable systemd-timesyncd: `sudo timedatectl set-ntp true`.", data)
    if not sync.synchronized:
        return Outcome(Status.FAIL, "clock not synchronized with NTP",
                       "Check the network and `timedatectl timesync-status`; allow UDP port 123 out.", data)
    return Outcome(Status.PASS, f"synchronized ({sync.source})", "", data)


def check_disk(ctx: Context) -> Outcome:
    path = _existing(Path(ctx.settings.recording.dir))
    usage = ctx.disk_usage(path)
    free_mb = usage.free / 2**20
    data = {"path": str(path), "free_mb": round(free_mb), "total_mb": round(usage.total / 2**20)}
    if free_mb < ctx.options.min_free_mb:
        return Outcome(Status.FAIL, f"only {free_mb:.0f} MB free on {path} (need {ctx.options.min_free_mb:.0f})",
                       "Delete old recordings or use a larger SD card.", data)
    return Outcome(Status.PASS, f"{free_mb / 1024:.1f} GB free on {path}", "", data)


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path

