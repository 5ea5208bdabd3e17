"""kill -9 in the middle of a call: the recording is valid and at most ~1 s is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lineguard.audio.wavio import read_wav
from lineguard.config import RecordingSettings
from lineguard.recording.crypto import decrypt_file
from lineguard.recording.recorder import Recorder

RATE = 8000
BLOCK = 160
KEY = bytes(range(32))

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from lineguard.config import RecordingSettings
    from lineguard.recording.recorder import Recorder
    key = bytes(range(32)) if sys.argv[2] == "enc" else None
    rec = Recorder(RecordingSettings(dir=Path(sys.argv[1]), segment_ms=1000, min_free_mb=0), key=key)
    rec.start("CALL1", 8000, 2, 0.0)
    n = 0
    while True:
        idx = np.arange(n, n + 160)
        block = np.stack([np.sin(idx * 0.01), np.cos(idx * 0.003)], axis=1).astype(np.float32) * 0.5
        rec.write(block)
        n += 160
        print(n, flush=True)
        time.sleep(0.002)
""")


def expected(frames: int) -> np.ndarray:
    idx = np.arange(frames)
    x = np.stack([np.sin(idx * 0.01), np.cos(idx * 0.003)], axis=1).astype(np.float32) * 0.5
    return np.clip(np.round(x * 32768.0), -32768, 32767) / 32768.0


def kill_mid_call(tmp_path, mode: str) -> int:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), mode], stdout=subprocess.PIPE, text=True)
    written = 0
    try:
        for line in proc.stdout:                     # type: ignore[union-attr]
            written = int(line)
            if written >= int(3.5 * RATE):
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return written


@pytest.mark.slow
def test_wav_survives_kill_9(tmp_path):
    written = kill_mid_call(tmp_path, "wav")
    part = tmp_path / "recordings" / "CALL1.part.wav"
    samples, rate = read_wav(part)               # valid as it lies on the disk
    lost_s = (written - len(samples)) / RATE
    assert rate == RATE and samples.shape[1] == 2 and len(samples) >= 3 * RATE
    assert 0 <= lost_s <= 1.0 + BLOCK / RATE
    np.testing.assert_allclose(samples, expected(len(samples)), atol=1e-4)
    recovered, = Recorder(RecordingSettings(dir=tmp_path, min_free_mb=0)).recover()
    assert recovered.name == "CALL1.recovered.wav" and read_wav(recovered)[0].shape == samples.shape


@pytest.mark.slow
def test_encrypted_recording_survives_kill_9(tmp_path):
    written = kill_mid_call(tmp_path, "enc")
    out = decrypt_file(tmp_path / "recordings" / "CALL1.part.lgrec", KEY)
    frames = len(out.pcm) // 4
    assert not out.complete and frames >= 3 * RATE
    assert (written - frames) / RATE <= 1.0 + BLOCK / RATE
    pcm = np.frombuffer(out.pcm, "<i2").reshape(-1, 2) / 32768.0
    np.testing.assert_allclose(pcm, expected(frames), atol=1e-4)


def test_recovery_sets_aside_a_file_cut_off_before_its_header(tmp_path):
    recs = tmp_path / "recordings"
    recs.mkdir()
    (recs / "CALL2.part.wav").write_bytes(b"RIFF\0\0")
    assert Recorder(RecordingSettings(dir=tmp_path, min_free_mb=0)).recover() == []
    assert (recs / "CALL2.damaged.wav").exists()
