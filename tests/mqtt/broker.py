"""A real mosquitto on a free port: password file, per-device ACL, a TLS listener with a test CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import queue
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = "/usr/sbin/mosquitto"
CENTRAL = ("central", "central-secret")
DEVICES = {"box-a": "secret-a", "box-b": "secret-b", "box-c": "secret-c", "box-d": "secret-d"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """CA certificate, and a server certificate/key for localhost signed by it."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("LineGuard test CA")).issuer_name(_name("LineGuard test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(san, critical=False).sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@dataclass
class Broker:
    folder: Path
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca, cert, key = make_test_ca(self.folder)
        passwd = self.folder / "passwd"
        passwd.touch()
        for user, password in [CENTRAL, *DEVICES.items()]:
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
        (self.folder / "acl").write_text(
            f"user {CENTRAL[0]}\ntopic readwrite lineguard/#\ntopic read homeassistant/#\n\n"
            "pattern readwrite lineguard/v1/%u/#\npattern write homeassistant/+/%u/+/config\n")
        (self.folder / "mosquitto.conf").write_text(
            "per_listener_settings false\nallow_anonymous false\nuser root\n"
            f"password_file {passwd}\nacl_file {self.folder / 'acl'}\n"
            f"persistence true\npersistence_location {self.folder}/\nautosave_interval 1\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"log_dest file {self.folder / 'mosquitto.log'}\n"
            f"listener {self.port} 127.0.0.1\n"
            f"listener {self.tls_port} 127.0.0.1\ncafile {self.ca}\ncertfile {cert}\nkeyfile {key}\n")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"mqtts://localhost:{self.tls_port}"

    def start(self) -> Broker:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class Central:
    """The operator's side: a persistent-session subscriber that records every message."""

    def __init__(self, broker: Broker, topic: str = "lineguard/#", client_id: str = "central",
                 user: tuple[str, str] = CENTRAL) -> None:
        client_id = f"{client_id}-{uuid.uuid4().hex[:8]}"   # a fresh persistent session per reader
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.subscribed = queue.Queue()
        self.acks: queue.Queue = queue.Queue()
        self.topic = topic
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        c.username_pw_set(*user)
        c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(self.topic, qos=1) if topic else None
        c.on_subscribe = lambda cl, u, mid, rcs, p: self.subscribed.put(rcs)
        c.on_message = lambda cl, u, m: self.messages.put(m)
        c.on_publish = lambda cl, u, mid, rc, p: self.acks.put((mid, rc))
        c.reconnect_delay_set(0.1, 0.5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        c.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        c.loop_start()
        self.client = c
        if topic:
            self.subscribed.get(timeout=10)

    def collect(self, until, timeout_s: float = 20.0) -> list[mqtt.MQTTMessage]:
        """Messages until ``until(messages)`` is true (or the timeout)."""
        got: list[mqtt.MQTTMessage] = []
        deadline = time.monotonic() + timeout_s
        while not until(got) and time.monotonic() < deadline:
            try:
                got.append(self.messages.get(timeout=0.1))
            except queue.Empty:
                pass
        return got

    def request(self, topic: str, payload: bytes, response_topic: str, correlation: bytes) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = response_topic
        props.CorrelationData = correlation
        self.client.publish(topic, payload, qos=1, properties=props)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def events(messages: list[mqtt.MQTTMessage]) -> list[dict]:
    return [json.loads(m.payload) for m in messages if "/evt/" in m.topic]
