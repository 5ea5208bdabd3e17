"""Retention by age and quota never deletes an active recording or unsynced evidence."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lineguard.events import CallEnded, EndedBy
from lineguard.recording.evidence import (
    ANCHOR, EvidenceError, bundles, mark_synced, verify_chain, write_bundle,
)
from lineguard.recording.retention import MB, Retention, RetentionPolicy

DAY = 86400


def make_recording(folder: Path, name: str, size_mb: float, age_days: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\0" * int(size_mb * MB))
    t = time.time() - age_days * DAY
    os.utime(path, (t, t))
    return path


def make_bundle(root: Path, call_id: str, size_mb: float, age_days: float, synced: bool) -> Path:
    rec = make_recording(root.parent / "tmp", f"{call_id}.wav", size_mb, 0)
    bundle = write_bundle(root, call_id, rec, [CallEnded(time=1.0, call_id=call_id, duration_s=1.0,
                                                         ended_by=EndedBy.GATEWAY)], "dev", "2026-01-01T00:00:00")
    t = time.time() - age_days * DAY
    for p in bundle.path.iterdir():
        os.utime(p, (t, t))
    if synced:
        mark_synced(bundle.path)
    return bundle.path


def test_old_recordings_go_active_ones_stay(tmp_path):
    recs = tmp_path / "recordings"
    old = make_recording(recs, "A.wav", 0.1, 100)
    active = make_recording(recs, "B.part.wav", 0.1, 100)
    fresh = make_recording(recs, "C.wav", 0.1, 1)
    result = Retention(tmp_path, RetentionPolicy(retention_days=90)).enforce(active=[active])
    assert result.deleted == [old] and active.exists() and fresh.exists()


def test_quota_deletes_oldest_first_but_never_unsynced_evidence(tmp_path):
    recs = tmp_path / "recordings"
    ev = tmp_path / "evidence"
    b1 = make_bundle(ev, "E1", 1.0, 30, synced=True)
    b2 = make_bundle(ev, "E2", 1.0, 20, synced=False)
    b3 = make_bundle(ev, "E3", 1.0, 10, synced=True)
    r1 = make_recording(recs, "R1.wav", 1.0, 25)
    r2 = make_recording(recs, "R2.wav", 1.0, 5)
    result = Retention(tmp_path, RetentionPolicy(retention_days=0, quota_mb=2)).enforce()
    # oldest first: the synced bundle E1, then R1, then R2; E2 is unsynced so E2 and E3 (after it) stay
    assert result.deleted == [b1, r1, r2] and result.short
    assert bundles(ev) == [b2, b3] and not r1.exists()
    assert verify_chain(ev) == [f"{b2.name}: OK (3 files)", f"{b3.name}: OK (3 files)"]   # anchored
    assert (ev / ANCHOR).exists()


def test_low_disk_prunes_until_enough_is_free(tmp_path):
    recs = tmp_path / "recordings"
    files = [make_recording(recs, f"R{i}.wav", 1.0, 10 - i) for i in range(4)]
    free = {"bytes": 0}

    def free_bytes(_path):
        return free["bytes"] + sum(MB for f in files if not f.exists())
    result = Retention(tmp_path, RetentionPolicy(retention_days=0, min_free_mb=2), free_bytes).enforce()
    assert result.deleted == files[:2] and not result.short


def test_chain_detects_a_removed_bundle(tmp_path):
    ev = tmp_path / "evidence"
    paths = [make_bundle(ev, f"E{i}", 0.01, 0, synced=False) for i in range(3)]
    assert len(verify_chain(ev)) == 3
    for p in paths[1].iterdir():
        p.unlink()
    paths[1].rmdir()
    with pytest.raises(EvidenceError, match="a bundle is missing"):
        verify_chain(ev)


def test_chain_detects_a_rewritten_manifest(tmp_path):
    ev = tmp_path / "evidence"
    paths = [make_bundle(ev, f"E{i}", 0.01, 0, synced=False) for i in range(2)]
    manifest = paths[0] / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"dev"', '"other"'))
    with pytest.raises(EvidenceError, match="does not chain"):
        verify_chain(ev)


def test_extra_file_in_a_bundle_is_detected(tmp_path):
    ev = tmp_path / "evidence"
    path = make_bundle(ev, "E1", 0.01, 0, synced=True)
    (path / "planted.wav").write_bytes(b"x")
    with pytest.raises(EvidenceError, match="not in the manifest: planted.wav"):
        verify_chain(ev)
