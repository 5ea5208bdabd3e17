"""MQTT tools: update signing keys, signed update messages, and a look into the outbox."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lineguard.cli import command
from lineguard.config import load_settings
from lineguard.errors import ConfigError


def _keygen_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("private_key", type=Path, help="where to write the Ed25519 private key (PEM, keep it offline)")
    p.add_argument("public_key", type=Path, help="where to write the public key (PEM) for mqtt.update_public_key_file")


@command("mqtt-keygen", "make an Ed25519 key pair for signing updates", _keygen_args)
def cmd_mqtt_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding, NoEncryption, PrivateFormat, PublicFormat,
    )

    if args.private_key.exists():
        raise ConfigError(str(args.private_key), [("(file)", "exists already; not overwritten")])
    key = Ed25519PrivateKey.generate()
    args.private_key.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    args.private_key.chmod(0o600)
    args.public_key.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    print(f"private key: {args.private_key}\npublic key:  {args.public_key}")
    return 0


def _sign_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["model", "prompts"])
    p.add_argument("version", help="version name, e.g. 2026-11-25")
    p.add_argument("files", type=Path, nargs="+", help="the files of the update (a model: .tflite and .json)")
    p.add_argument("--key", type=Path, required=True, help="Ed25519 private key (PEM)")
    p.add_argument("--out", type=Path, help="write the cmd/update message here (default: stdout)")


@command("mqtt-sign", "make a signed update message for cmd/update", _sign_args)
def cmd_mqtt_sign(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from lineguard.mqtt.updates import manifest_for, sign_bundle

    key = load_pem_private_key(args.key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(str(args.key), [("(file)", "not an Ed25519 private key")])
    files = {path.name: path.read_bytes() for path in args.files}
    message = json.dumps(sign_bundle(key, manifest_for(args.kind, args.version, files), files))
    if args.out:
        args.out.write_text(message)
    else:
        sys.stdout.write(message + "\n")
    return 0


def _outbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="settings file (TOML)")
    p.add_argument("--json", action="store_true", help="print the waiting events as JSON lines")


@command("mqtt-outbox", "show the events waiting in the MQTT outbox", _outbox_args)
def cmd_mqtt_outbox(args: argparse.Namespace) -> int:
    from lineguard.mqtt.outbox import Outbox

    settings = load_settings(args.config)
    path = settings.mqtt.outbox_path
    if not Path(path).exists():
        print(f"{path}: no outbox yet")
        return 0
    box = Outbox(path, boot_id="inspect", max_events=settings.mqtt.outbox_max_events,
                 max_bytes=settings.mqtt.outbox_max_bytes)
    try:
        entries = box.pending(limit=settings.mqtt.outbox_max_events)
        for entry in entries:
            print(entry.payload.decode() if args.json else f"{entry.seq:>8}  {entry.type:<18} {entry.event_id}")
        if not args.json:
            print(f"{len(entries)} events, {box.size_bytes()} bytes waiting in {path}")
    finally:
        box.close()
    return 0
