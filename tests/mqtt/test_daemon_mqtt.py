"""`lineguard run` with [mqtt] enabled: the demo call's events reach the broker, each shown as acknowledged."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lineguard.kws.factory import default_model_path
from tests.mqtt.broker import Central, events


def test_run_publishes_the_demo_call(tmp_path, broker):
    if not default_model_path().is_file():
        pytest.skip("the keyword model is not built yet (make model)")
    (tmp_path / "pw").write_text("secret-a\n")
    config = tmp_path / "site.toml"
    config.write_text(f'[device]\nid = "box-a"\n[recording]\nenabled = false\n[mqtt]\nenabled = true\n'
                      f'url = "{broker.tls_url}"\npassword_file = "{tmp_path / "pw"}"\nca_file = "{broker.ca}"\n'
                      f'outbox_path = "{tmp_path / "outbox.sqlite"}"\nstate_dir = "{tmp_path}"\n')
    central = Central(broker, topic="lineguard/v1/box-a/evt/#")
    try:
        out = subprocess.run([sys.executable, "-m", "lineguard.cli", "run", "--fast", "--config", str(config)],
                             capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "160"})
        assert out.returncode == 0, out.stderr
        acked = out.stdout.count("acknowledged by the broker")
        got = events(central.collect(lambda m: len(events(m)) >= acked, 10))
    finally:
        central.close()
    assert acked >= 4 and len(got) == acked
    assert {"call_started", "call_ended"} <= {e["type"] for e in got}
