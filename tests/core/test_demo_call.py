"""The bundled demo call through the whole gateway with the shipped model (what `make run` shows)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lineguard.app import DEMO_CALL
from lineguard.kws.factory import default_model_path

pytestmark = pytest.mark.skipif(not default_model_path().exists(), reason="the keyword model is not built")

LINEGUARD = Path(sys.executable).parent / "lineguard"


def test_replay_of_the_demo_call_warns_then_hangs_up():
    out = subprocess.run([LINEGUARD, "replay", str(DEMO_CALL), "--json"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = [e["type"] for e in events if e["type"] not in ("status",)]
    assert kinds[0] == "call_started"
    levels = [e["level"] for e in events if e["type"] == "warning_started"]
    assert levels == ["warning", "final"]
    terminated = next(e for e in events if e["type"] == "call_terminated")
    assert terminated["reason"] == "abuse" and terminated["verified"] is True
    assert events[-2]["type"] == "call_ended" and events[-2]["ended_by"] == "gateway"
    assert all({"type", "time", "call_id", "event_id", "ts"} <= set(e) for e in events)


def test_run_shows_the_demo_live(tmp_path):
    out = subprocess.run([LINEGUARD, "run", "--fast"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for step in ("ringing", "call_started", "speech", "keyword_detected", "warning_started", "call_terminated",
                 "call_ended", "recording_saved"):
        assert step in text, f"{step} missing from the live view"
