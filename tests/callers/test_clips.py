from __future__ import annotations

import csv
import os
import time

import pytest

from lineguard.audio.wavio import read_wav
from lineguard.callers.clips import ClipCapture, export_clips, load_clips, read_labels
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.errors import ConfigError
from lineguard.line.virtual import FarEndScript
from lineguard.replay import run_rig
from lineguard.app import build_simulated
from lineguard.sinks import MemorySink
from tests.fakes import MarkerDetector, murmur, timeline, tone


def protected_call(tmp_path, **clip_args):
    clips = ClipCapture(tmp_path / "clips", **clip_args)
    sink = MemorySink()
    audio = timeline(murmur(3), tone(1000, 0.5), murmur(8, seed=2), tone(1000, 0.5), murmur(10, seed=3))
    rig = build_simulated(parse_settings({}), FarEndScript(audio, 8000), VirtualClock(),
                          MarkerDetector({"ko_ssibal": 1000.0}), sinks=[sink, clips], audio_sinks=[clips])
    run_rig(rig)
    return clips, sink


def test_a_clip_around_each_detection_and_the_termination(tmp_path):
    clips, sink = protected_call(tmp_path)
    kinds = sorted(c.kind for c in load_clips(tmp_path / "clips"))
    assert kinds == ["call_terminated", "keyword_detected", "keyword_detected"]
    first = next(c for c in clips.saved if c.kind == "keyword_detected")
    det = sink.of_type("keyword_detected")[0]
    assert first.keyword == "ko_ssibal" and first.time_s == pytest.approx(det.time)
    audio, rate = read_wav(tmp_path / "clips" / first.file)
    assert rate == 8000 and len(audio) == pytest.approx(4.0 * rate, abs=2)
    assert first.offset_s == pytest.approx(2.0, abs=0.01)
    # the marker tone that fired lies just before the event inside the clip
    k = int(first.offset_s * rate)
    assert abs(audio[k - 1000:k, 0]).max() > 0.2


def test_export_and_labels_round_trip(tmp_path):
    protected_call(tmp_path)
    out = tmp_path / "export"
    assert export_clips(tmp_path / "clips", out) == 3
    rows = list(csv.DictReader(open(out / "labels.csv")))
    rows[0]["label"], rows[1]["label"] = "true", "false"
    with open(out / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    labelled = read_labels(out)
    assert [c.label for c in labelled] == [True, False] and all(c.path.is_file() for c in labelled)
    rows[2]["label"] = "maybe"
    with open(out / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(ConfigError, match="line 4"):
        read_labels(out)


def test_retention_by_count_and_age(tmp_path):
    clips, _ = protected_call(tmp_path, max_clips=2)
    assert len(load_clips(tmp_path / "clips")) == 2
    old = sorted((tmp_path / "clips").glob("*.json"))[0]
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    assert clips.enforce_retention() == 1
    assert len(list((tmp_path / "clips").glob("*.wav"))) == 1


def test_encrypted_clips_need_the_key_to_export(tmp_path):
    clips, _ = protected_call(tmp_path, encrypt=lambda b: b[::-1])
    assert all(c.encrypted and c.file.endswith(".wav.enc") for c in clips.saved)
    with pytest.raises(ConfigError, match="encrypted"):
        export_clips(tmp_path / "clips", tmp_path / "out")
    assert export_clips(tmp_path / "clips", tmp_path / "out2", decrypt=lambda b: b[::-1]) == 3


def test_real_encryption_round_trip_and_wrong_key(tmp_path):
    from lineguard.callers.clips import clip_cipher
    from lineguard.errors import AudioFormatError

    enc, dec = clip_cipher(b"k" * 32)
    clips, _ = protected_call(tmp_path, encrypt=enc)
    blob = (tmp_path / "clips" / clips.saved[0].file).read_bytes()
    assert blob[:4] == b"LGC1" and b"RIFF" not in blob
    assert export_clips(tmp_path / "clips", tmp_path / "out", decrypt=dec) == 3
    assert read_wav(next((tmp_path / "out" / "audio").glob("*.wav")))[1] == 8000
    _, wrong = clip_cipher(b"x" * 32)
    with pytest.raises(AudioFormatError, match="wrong key"):
        wrong(blob)
