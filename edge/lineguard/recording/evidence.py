"""Evidence bundles: a call's recording, events and detections, hash-chained.

Layout under ``<record_dir>/evidence/``::

    000001-<call_id>/
        recording.wav | recording.lgrec
        events.jsonl          the call's events, wire form, one per line   (.lgrec when encrypted)
        detections.json       every keyword detection: time, keyword, score, side   (idem)
        manifest.json         SHA-256 of each file + SHA-256 of the previous manifest
        .synced               written by the uploader once central has the bundle (not hashed)
    ANCHOR.json               the last pruned bundle's seq and manifest hash

Changing, adding or removing a file, or a bundle in the middle of the
chain, breaks verification. Retention prunes only from the oldest end and
records where the chain now starts in ``ANCHOR.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lineguard.errors import LineGuardError
from lineguard.events import Event
from lineguard.recording.crypto import seal_bytes

MANIFEST = "manifest.json"
ANCHOR = "ANCHOR.json"
SYNCED = ".synced"
FORMAT = "lineguard-evidence/1"
_BUNDLE_RE = re.compile(r"^(\d{6,})-([0-9A-Za-z]+)$")


class EvidenceError(LineGuardError, ValueError):
    """An evidence bundle or chain does not verify."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def bundles(root: Path) -> list[Path]:
    """Bundle folders under an evidence root, oldest (lowest seq) first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _BUNDLE_RE.match(p.name)]
    return sorted(found, key=lambda p: int(_BUNDLE_RE.match(p.name).group(1)))  # type: ignore[union-attr]


def is_synced(bundle: Path) -> bool:
    return (bundle / SYNCED).exists()


def mark_synced(bundle: Path) -> None:
    """Called by the uploader once the bundle is safely stored centrally."""
    (bundle / SYNCED).write_text("synced\n")


def _write_durable(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _previous(root: Path) -> tuple[int, str | None]:
    """(seq, manifest sha256) of the chain's head, or of the anchor if all were pruned."""
    existing = bundles(root)
    if existing:
        head = existing[-1]
        return int(_BUNDLE_RE.match(head.name).group(1)), sha256_file(head / MANIFEST)  # type: ignore[union-attr]
    anchor = root / ANCHOR
    if anchor.exists():
        data = json.loads(anchor.read_text())
        return int(data["seq"]), data["manifest_sha256"]
    return 0, None


@dataclass(frozen=True)
class Bundle:
    path: Path
    recording: Path
    manifest_sha256: str


def write_bundle(root: Path, call_id: str, recording: Path, events: Iterable[Event],
                 device_id: str, created_utc: str, key: bytes | None = None) -> Bundle:
    """Move the finished recording into a new bundle and seal it into the chain.

    With ``key`` the events and detections (caller numbers) are encrypted too.
    """
    root.mkdir(parents=True, exist_ok=True)
    seq, previous = _previous(root)
    folder = root / f"{seq + 1:06d}-{call_id}"
    folder.mkdir()
    events = list(events)
    name = "recording.lgrec" if recording.suffix == ".lgrec" else "recording.wav"
    target = folder / name
    os.replace(recording, target)
    lines = "".join(json.dumps(e.to_wire(), ensure_ascii=False, sort_keys=True) + "\n" for e in events)
    detections = [{k: e.to_wire()[k] for k in ("time", "keyword", "score", "side", "severity", "acted_on")}
                  for e in events if e.TYPE == "keyword_detected"]
    parts = {"events.jsonl": lines.encode(), "detections.json": json.dumps(detections, indent=1).encode()}
    for name, data in parts.items():
        if key is None:
            _write_durable(folder / name, data)
        else:
            seal_bytes(folder / f"{name}.lgrec", key, data)
    files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in sorted(folder.iterdir()) if p.name != MANIFEST}
    manifest = {"format": FORMAT, "seq": seq + 1, "call_id": call_id, "device_id": device_id,
                "created_utc": created_utc, "files": files, "previous_manifest_sha256": previous}
    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
    _write_durable(folder / MANIFEST, body)
    return Bundle(folder, target, hashlib.sha256(body).hexdigest())


def verify_bundle(bundle: Path) -> dict:
    """Check every file against the manifest; return the manifest."""
    try:
        manifest = json.loads((bundle / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"{bundle}: no readable {MANIFEST} ({exc})") from None
    listed = set(manifest.get("files", {}))
    present = {p.name for p in bundle.iterdir() if p.name not in (MANIFEST, SYNCED)}
    if present - listed:
        raise EvidenceError(f"{bundle}: files not in the manifest: {', '.join(sorted(present - listed))}")
    for name, info in manifest["files"].items():
        path = bundle / name
        if not path.exists():
            raise EvidenceError(f"{bundle}: {name} is missing")
        if sha256_file(path) != info["sha256"]:
            raise EvidenceError(f"{bundle}: {name} does not match its SHA-256 (altered)")
    return manifest


def verify_chain(root: Path) -> list[str]:
    """Verify every bundle and the chain linking them; return one line per bundle."""
    found = bundles(root)
    if not found:
        raise EvidenceError(f"{root}: no evidence bundles")
    anchor = root / ANCHOR
    prev_seq, prev_hash = 0, None
    if anchor.exists():
        data = json.loads(anchor.read_text())
        prev_seq, prev_hash = int(data["seq"]), data["manifest_sha256"]
    report = []
    for bundle in found:
        manifest = verify_bundle(bundle)
        if manifest["seq"] != prev_seq + 1:
            raise EvidenceError(f"{bundle}: seq {manifest['seq']} follows {prev_seq}: a bundle is missing")
        if manifest["previous_manifest_sha256"] != prev_hash:
            raise EvidenceError(f"{bundle}: does not chain to the bundle before it (altered or replaced)")
        prev_seq, prev_hash = manifest["seq"], sha256_file(bundle / MANIFEST)
        report.append(f"{bundle.name}: OK ({len(manifest['files'])} files)")
    return report


def prune_oldest(root: Path) -> Path | None:
    """Delete the oldest bundle if it is synced, moving the anchor past it."""
    found = bundles(root)
    if not found or not is_synced(found[0]):
        return None
    oldest = found[0]
    manifest = json.loads((oldest / MANIFEST).read_text())
    anchor = {"seq": manifest["seq"], "manifest_sha256": sha256_file(oldest / MANIFEST)}
    _write_durable(root / ANCHOR, json.dumps(anchor).encode())
    for p in oldest.iterdir():
        p.unlink()
    oldest.rmdir()
    return oldest
