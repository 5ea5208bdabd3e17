"""Signed updates: verified before anything is written, atomic install, previous kept, rollback when
the new model fails its load-and-detect self-check; unsigned or wrongly signed -> nothing changed."""

from __future__ import annotations

import base64
import io
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lineguard.config import Settings
from lineguard.kws.factory import default_model_path
from lineguard.mqtt.control import make_self_check
from lineguard.mqtt.updates import UpdateInstaller, UpdateRejected, manifest_for, sign_bundle

KEY = Ed25519PrivateKey.generate()


def wav_bytes(seconds: float = 0.5) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes((np.sin(np.arange(int(8000 * seconds)) * 0.3) * 8000).astype("<i2").tobytes())
    return buf.getvalue()


def installer(root: Path) -> UpdateInstaller:
    return UpdateInstaller(root, KEY.public_key(), make_self_check(Settings()))


def bundle(kind: str, version: str, files: dict[str, bytes], key=KEY) -> dict:
    return sign_bundle(key, manifest_for(kind, version, files), files)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"->" +
            str(p.readlink()).encode() if p.is_symlink() else b"")
            for p in sorted(root.rglob("*"))} if root.exists() else {}


def test_prompt_update_installs_atomically_and_keeps_the_previous(tmp_path):
    inst = installer(tmp_path)
    first = inst.install(bundle("prompts", "p1", {"warning.wav": wav_bytes()}))
    assert first["installed"] and inst.current("prompts").name == "p1"
    second = inst.install(bundle("prompts", "p2", {"warning.wav": wav_bytes(0.7), "final.wav": wav_bytes()}))
    assert second["previous"] == "p1" and inst.current("prompts").name == "p2"
    assert (tmp_path / "prompts" / "previous").resolve().name == "p1"
    assert (tmp_path / "prompts" / "p2" / "final.wav").read_bytes() == wav_bytes()
    assert not list((tmp_path / "prompts").glob(".*")), "no temp files left behind"
    assert inst.install(bundle("prompts", "p2", {"warning.wav": wav_bytes(0.7)}))["installed"] is False


@pytest.mark.parametrize("tamper, match", [
    (lambda b: b.pop("signature"), "unsigned"),
    (lambda b: b.update(signature=bundle("prompts", "p9", {"warning.wav": b"x"}, Ed25519PrivateKey.generate())
                        ["signature"]), "bad signature"),
    (lambda b: b["manifest"].update(version="p10"), "bad signature"),
    (lambda b: b.update(signature="!!!"), "bad signature"),
    (lambda b: b["files"].update({"warning.wav": base64.b64encode(b"evil").decode()}), "sha256"),
    (lambda b: b["files"].pop("warning.wav"), "neither inline"),
])
def test_unsigned_wrongly_signed_or_tampered_updates_change_nothing(tmp_path, tamper, match):
    inst = installer(tmp_path)
    inst.install(bundle("prompts", "p1", {"warning.wav": wav_bytes()}))
    before = tree(tmp_path)
    b = bundle("prompts", "p2", {"warning.wav": wav_bytes(0.8)})
    tamper(b)
    with pytest.raises(UpdateRejected, match=match):
        inst.install(b)
    assert tree(tmp_path) == before


def test_a_signed_but_broken_model_is_rolled_back(tmp_path):
    inst = installer(tmp_path)
    inst.install(bundle("prompts", "p1", {"warning.wav": wav_bytes()}))   # unrelated kind untouched
    garbage = {"lineguard_kws.tflite": b"TFL3 this is not a model", "lineguard_kws.json": b"{}"}
    with pytest.raises(UpdateRejected, match="self-check.*rolled back to the shipped version"):
        inst.install(bundle("model", "m-bad", garbage))
    assert inst.current("model") is None and not (tmp_path / "model" / "m-bad").exists()
    bad_prompt = {"warning.wav": b"RIFF....WAVE not really"}
    with pytest.raises(UpdateRejected, match="rolled back to p1"):
        inst.install(bundle("prompts", "p-bad", bad_prompt))
    assert inst.current("prompts").name == "p1"


def test_the_shipped_model_installs_and_a_bad_one_rolls_back_to_it(tmp_path):
    model = default_model_path()
    if not model.is_file():
        pytest.skip(f"{model} not built yet (make model)")
    files = {model.name: model.read_bytes(), model.with_suffix(".json").name: model.with_suffix(".json").read_bytes()}
    inst = installer(tmp_path)
    assert inst.install(bundle("model", "m1", files))["installed"]
    with pytest.raises(UpdateRejected, match="rolled back to m1"):
        inst.install(bundle("model", "m2", {model.name: b"garbage", model.with_suffix(".json").name: b"{}"}))
    assert inst.current("model").name == "m1"


def test_update_over_mqtt(tmp_path, broker):
    from tests.mqtt.broker import Central
    from tests.mqtt.rig import start_box
    key_file = tmp_path / "update.pub"
    key_file.write_bytes(KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    central = Central(broker, topic="lineguard/v1/box-d/resp/#", client_id="central-update")
    box = start_box(tmp_path / "box", broker, "box-d", update_public_key_file=str(key_file))
    try:
        for version, key, ok in (("p1", KEY, True), ("p2", Ed25519PrivateKey.generate(), False)):
            payload = json.dumps(bundle("prompts", version, {"warning.wav": wav_bytes()}, key)).encode()
            central.request("lineguard/v1/box-d/cmd/update", payload, "lineguard/v1/box-d/resp/u", version.encode())
            (msg,) = central.collect(lambda m: len(m) >= 1, 10)
            answer = json.loads(msg.payload)
            assert answer["ok"] is ok, answer
        prompts = box.rig.gateway.prompts
        assert prompts.path_for("warning").parent.name == "p1", "the gateway plays the new prompt"
    finally:
        box.stop()
        central.close()


def test_files_can_come_by_url(tmp_path):
    data = wav_bytes()
    (tmp_path / "warning.wav").write_bytes(data)
    manifest = manifest_for("prompts", "p-url", {"warning.wav": data})
    manifest["files"][0]["url"] = (tmp_path / "warning.wav").as_uri()
    signed = sign_bundle(KEY, manifest, {})
    inst = installer(tmp_path / "updates")
    assert inst.install(signed)["installed"] and inst.current("prompts").name == "p-url"
    (tmp_path / "warning.wav").write_bytes(data[:-2] + b"xx")     # the server now serves something else
    manifest = manifest_for("prompts", "p-url2", {"warning.wav": data})
    manifest["files"][0]["url"] = (tmp_path / "warning.wav").as_uri()
    with pytest.raises(UpdateRejected, match="sha256"):
        inst.install(sign_bundle(KEY, manifest, {}))
    assert inst.current("prompts").name == "p-url"
