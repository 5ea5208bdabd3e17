"""mqtt-keygen, mqtt-sign (accepted by the installer), mqtt-outbox."""

from __future__ import annotations

import json

from lineguard.cli import main
from lineguard.config import Settings
from lineguard.events import Status
from lineguard.mqtt.control import make_self_check
from lineguard.mqtt.outbox import Outbox
from lineguard.mqtt.updates import UpdateInstaller, load_public_key
from tests.mqtt.test_updates import wav_bytes


def test_keygen_sign_and_install(tmp_path, capsys):
    priv, pub = tmp_path / "update.key", tmp_path / "update.pub"
    assert main(["mqtt-keygen", str(priv), str(pub)]) == 0
    assert main(["mqtt-keygen", str(priv), str(pub)]) == 2, "never overwrites a key"
    wav = tmp_path / "warning.wav"
    wav.write_bytes(wav_bytes())
    out = tmp_path / "update.json"
    assert main(["mqtt-sign", "prompts", "v7", str(wav), "--key", str(priv), "--out", str(out)]) == 0
    inst = UpdateInstaller(tmp_path / "updates", load_public_key(pub), make_self_check(Settings()))
    assert inst.install(json.loads(out.read_text()))["version"] == "v7"


def test_outbox_listing(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(f'[mqtt]\noutbox_path = "{tmp_path / "o.sqlite"}"\n')
    box = Outbox(tmp_path / "o.sqlite", "b")
    box.add(Status(time=0, state="idle"))
    box.close()
    capsys.readouterr()
    assert main(["mqtt-outbox", "--config", str(config)]) == 0
    assert "1 events" in capsys.readouterr().out
