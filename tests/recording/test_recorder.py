"""The recorder on the simulated line: recordings, evidence bundles, disk full."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import MarkerDetector, murmur, timeline, tone
from lineguard.app import build_simulated
from lineguard.audio.wavio import read_wav, write_wav
from lineguard.cli import main as cli_main
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.line.virtual import FarEndScript
from lineguard.recording.evidence import sha256_file, verify_chain
from lineguard.recording.recorder import Recorder
from lineguard.replay import build_replay, run_rig
from lineguard.sinks import MemorySink

MARKERS = {"ko_ssibal": 1000.0}
ABUSE = tone(1000, 0.5)
KEY = bytes(range(32))


def abusive() -> np.ndarray:
    return timeline(murmur(2), ABUSE, murmur(8, seed=2), ABUSE, murmur(10, seed=3))


def replay_recorded(tmp_path: Path, audio: np.ndarray, key: bytes | None = None, free=None, **recording):
    wav = tmp_path / "call.wav"
    write_wav(wav, audio, 8000)
    return replay_wav(tmp_path, wav, key, free, **recording)


def replay_wav(tmp_path: Path, wav: Path, key: bytes | None = None, free=None, **recording):
    settings = parse_settings({"recording": {"dir": str(tmp_path / "rec"), "min_free_mb": 0, **recording}})
    kwargs = {"free_bytes": free} if free else {}
    recorder = Recorder(settings.recording, key=key, **kwargs)
    sink = MemorySink()
    rig = build_replay(wav, settings, detector=MarkerDetector(MARKERS), sinks=[sink, recorder],
                       audio_sinks=[recorder])
    run_rig(rig)
    return sink, recorder


def test_terminated_call_is_sealed_as_evidence(tmp_path):
    sink, _ = replay_recorded(tmp_path, np.stack([abusive(), 0.05 * abusive()], axis=1))
    saved, = sink.of_type("recording_saved")
    ended, = sink.of_type("call_ended")
    bundle = Path(saved.evidence_dir)
    assert Path(saved.path) == bundle / "recording.wav" and saved.sha256 == sha256_file(Path(saved.path))
    samples, rate = read_wav(saved.path)
    assert rate == 8000 and samples.shape[1] == 2                      # both sides, stereo
    assert saved.duration_s == pytest.approx(ended.duration_s, abs=1.05)   # the last partial block counts too
    assert samples.shape[0] / 8000 == pytest.approx(saved.duration_s)
    kinds = [json.loads(line)["type"] for line in (bundle / "events.jsonl").read_text().splitlines()]
    assert kinds[0] == "call_started" and "call_terminated" in kinds and kinds[-1] == "call_ended"
    detections = json.loads((bundle / "detections.json").read_text())
    assert [d["keyword"] for d in detections] == ["ko_ssibal", "ko_ssibal"]
    assert verify_chain(bundle.parent) == [f"{bundle.name}: OK (3 files)"]
    assert not list((tmp_path / "rec" / "recordings").iterdir())        # moved into the bundle


def test_ordinary_call_is_a_plain_recording(tmp_path):
    sink, _ = replay_recorded(tmp_path, murmur(5))
    saved, = sink.of_type("recording_saved")
    assert saved.evidence_dir is None and Path(saved.path).name.endswith(".wav")
    assert Path(saved.path).parent.name == "recordings" and read_wav(saved.path)[0].shape[1] == 1


def test_evidence_chain_across_calls_and_tampering(tmp_path, capsys):
    for _ in range(3):
        replay_recorded(tmp_path, abusive())
    root = tmp_path / "rec" / "evidence"
    assert len(verify_chain(root)) == 3
    assert cli_main(["evidence", "verify", str(tmp_path / "rec")]) == 0
    assert "chain OK" in capsys.readouterr().out
    second = sorted(root.iterdir())[1]
    events = second / "events.jsonl"
    events.write_text(events.read_text().replace("ko_ssibal", "ko_xxxxxx"))
    assert cli_main(["evidence", "verify", str(root)]) == 2
    assert "events.jsonl does not match" in capsys.readouterr().err


def test_encrypted_evidence_decrypts_with_the_key(tmp_path, capsys, monkeypatch):
    sink, _ = replay_recorded(tmp_path, abusive(), key=KEY)
    saved, = sink.of_type("recording_saved")
    assert saved.encrypted and saved.path.endswith("recording.lgrec")
    (tmp_path / "key").write_bytes(KEY)
    out = tmp_path / "export.wav"
    assert cli_main(["recording", "decrypt", saved.path, "--key-file", str(tmp_path / "key"), "-o", str(out)]) == 0
    assert read_wav(out)[0].shape[0] / 8000 == pytest.approx(saved.duration_s)
    assert cli_main(["evidence", "verify", saved.evidence_dir]) == 0
    # the events (caller numbers) are encrypted too, and export as JSON lines
    bundle = Path(saved.evidence_dir)
    assert sorted(p.name for p in bundle.iterdir()) == ["detections.json.lgrec", "events.jsonl.lgrec",
                                                         "manifest.json", "recording.lgrec"]
    assert b"call_started" not in (bundle / "events.jsonl.lgrec").read_bytes()
    monkeypatch.chdir(tmp_path)
    assert cli_main(["recording", "decrypt", str(bundle / "events.jsonl.lgrec"), "--key-file",
                     str(tmp_path / "key")]) == 0
    events = [json.loads(line) for line in (tmp_path / f"{bundle.name}-events.jsonl").read_text().splitlines()]
    assert cli_main(["evidence", "verify", saved.evidence_dir]) == 0          # the bundle was not touched
    assert events[0]["type"] == "call_started" and events[-1]["type"] == "call_ended"


def test_disk_full_is_a_fault_and_the_call_is_still_protected(tmp_path):
    sink, _ = replay_recorded(tmp_path, abusive(), free=lambda _p: 10 * 1024 * 1024, min_free_mb=50)
    fault, = sink.of_type("fault")
    assert fault.component == "recorder" and "disk full" in fault.message and fault.call_id
    assert sink.of_type("call_terminated") and not sink.of_type("recording_saved")


@pytest.mark.slow
def test_write_failure_mid_call_keeps_protection_and_the_partial_recording(tmp_path):
    # a real write error: the file-size limit is hit after ~3 s of stereo audio
    write_wav(tmp_path / "call.wav", np.stack([abusive(), 0.05 * abusive()], axis=1), 8000)
    child = textwrap.dedent(f"""
        import resource, signal, json
        from pathlib import Path
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        from tests.recording.test_recorder import replay_wav
        sink, _ = replay_wav(Path({str(tmp_path)!r}), Path({str(tmp_path / "call.wav")!r}))
        print(json.dumps([e.to_wire() for e in sink.events]))
    """)
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout.splitlines()[-1])
    faults = [e for e in events if e["type"] == "fault"]
    assert faults and faults[0]["component"] == "recorder" and "writing" in faults[0]["message"]
    assert [e for e in events if e["type"] == "call_terminated"]
    saved = [e for e in events if e["type"] == "recording_saved"]
    assert saved and 2.0 <= saved[0]["duration_s"] <= 6.5 and read_wav(saved[0]["path"])[0].shape[1] == 2


def test_encryption_key_comes_from_the_provisioned_file(tmp_path):
    from lineguard.errors import ConfigError
    from lineguard.recording.crypto import CryptoError
    (tmp_path / "key").write_text(KEY.hex())
    settings = parse_settings({"recording": {"dir": str(tmp_path), "encrypt": True, "key_file": str(tmp_path / "key")}})
    assert Recorder.from_settings(settings).key == KEY
    with pytest.raises(ConfigError, match="encrypt = true needs key_file"):
        parse_settings({"recording": {"encrypt": True}})
    missing = parse_settings({"recording": {"encrypt": True, "key_file": str(tmp_path / "nope")}})
    with pytest.raises(CryptoError, match="cannot read the recording key"):
        Recorder.from_settings(missing)
