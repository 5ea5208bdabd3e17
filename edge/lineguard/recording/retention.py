"""Retention: keep recordings within days and a disk quota, never losing evidence.

Never deleted: the recording of the call in progress, and an evidence
bundle the uploader has not yet marked synced (and, to keep the chain
whole, any bundle newer than one of those). Plain recordings of ordinary
calls and synced bundles go, oldest first, when they are older than
``retention_days``, or while the store is over ``quota_mb`` or the disk
has less than ``min_free_mb`` free.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from lineguard.recording.evidence import MANIFEST, bundles, is_synced, prune_oldest

log = logging.getLogger(__name__)

MB = 1024 * 1024
RECORDING_SUFFIXES = (".wav", ".lgrec")


def disk_free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


@dataclass(frozen=True)
class RetentionPolicy:
    retention_days: int = 90       # 0: no age limit
    quota_mb: int = 0              # 0: no quota
    min_free_mb: int = 0


@dataclass
class RetentionResult:
    deleted: list[Path] = field(default_factory=list)
    used_bytes: int = 0
    free_bytes: int = 0
    short: bool = False            # still over quota / under free space: nothing more may go


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def _mtime(path: Path) -> float:
    """When a recording or bundle was made (a bundle's folder changes when it is marked synced)."""
    return (path / MANIFEST if path.is_dir() else path).stat().st_mtime


def _recordings(folder: Path, active: Collection[Path]) -> list[Path]:
    if not folder.is_dir():
        return []
    keep = {Path(p).resolve() for p in active}
    found = [p for p in folder.iterdir() if p.is_file() and p.suffix in RECORDING_SUFFIXES
             and ".part" not in p.suffixes and p.resolve() not in keep]
    return sorted(found, key=lambda p: p.stat().st_mtime)


class Retention:
    """Applies a policy to ``<record_dir>/recordings`` and ``<record_dir>/evidence``."""

    def __init__(self, record_dir: Path, policy: RetentionPolicy,
                 free_bytes: Callable[[Path], int] = disk_free_bytes,
                 now_s: Callable[[], float] = time.time) -> None:
        self.record_dir = Path(record_dir)
        self.policy = policy
        self.free_bytes = free_bytes
        self.now_s = now_s

    @property
    def recordings_dir(self) -> Path:
        return self.record_dir / "recordings"

    @property
    def evidence_dir(self) -> Path:
        return self.record_dir / "evidence"

    def used_bytes(self) -> int:
        items = [*self.recordings_dir.glob("*"), *bundles(self.evidence_dir)] if self.record_dir.exists() else []
        return sum(_size(p) for p in items if p.exists())

    def enforce(self, active: Collection[Path] = ()) -> RetentionResult:
        result = RetentionResult()
        if self.policy.retention_days > 0:
            cutoff = self.now_s() - self.policy.retention_days * 86400
            while (victim := self._oldest(active)) is not None and _mtime(victim) < cutoff:
                self._delete(victim, result)
        while self._short():
            victim = self._oldest(active)
            if victim is None:
                result.short = True
                log.warning("recordings: over quota or low on disk and nothing may be deleted")
                break
            self._delete(victim, result)
        result.used_bytes = self.used_bytes()
        result.free_bytes = self.free_bytes(self.record_dir)
        return result

    def _short(self) -> bool:
        p = self.policy
        over = p.quota_mb > 0 and self.used_bytes() > p.quota_mb * MB
        return over or self.free_bytes(self.record_dir) < p.min_free_mb * MB

    def _oldest(self, active: Collection[Path]) -> Path | None:
        """The oldest thing retention may delete: a plain recording or the oldest synced bundle."""
        candidates = _recordings(self.recordings_dir, active)[:1]
        chain = bundles(self.evidence_dir)
        if chain and is_synced(chain[0]):
            candidates.append(chain[0])
        return min(candidates, key=_mtime, default=None)

    def _delete(self, victim: Path, result: RetentionResult) -> None:
        if victim.is_dir():
            prune_oldest(self.evidence_dir)
        else:
            victim.unlink()
        log.info("retention: deleted %s", victim)
        result.deleted.append(victim)
