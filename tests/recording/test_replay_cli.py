"""`lineguard replay CALL.wav --json --record-dir DIR` end to end (needs the shipped keyword model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineguard.app import DEMO_CALL
from lineguard.cli import main as cli_main

MODEL = Path(__file__).resolve().parents[2] / "models" / "lineguard_kws.tflite"


@pytest.mark.skipif(not MODEL.exists(), reason="the keyword model is not built yet (make model)")
def test_replay_records_and_seals_evidence(tmp_path, capsys):
    assert cli_main(["replay", str(DEMO_CALL), "--json", "--record-dir", str(tmp_path)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    saved = [e for e in events if e["type"] == "recording_saved"]
    assert len(saved) == 1 and Path(saved[0]["path"]).exists() and saved[0]["duration_s"] > 5
    if any(e["type"] == "call_terminated" for e in events):
        assert saved[0]["evidence_dir"] and cli_main(["evidence", "verify", str(tmp_path)]) == 0
