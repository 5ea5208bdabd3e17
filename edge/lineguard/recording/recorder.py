"""Records every call, from answer to end, as crash-safe evidence.

The recorder is both an event sink (it keeps each call's events) and a
call-audio sink (``start`` / ``write`` / ``finish``). Audio is written in
segments of ``segment_ms`` (see :mod:`.segments`), optionally encrypted
(:mod:`.crypto`). A finished call becomes ``recordings/<call_id>.wav``
(or ``.lgrec``); a call the gateway terminated (or every call, with
``evidence = "all"``) is sealed into a hash-chained evidence bundle
(:mod:`.evidence`). Retention runs before and after each call.

Failures never stop call protection: they are raised as
:class:`RecordingError`, which the gateway reports as a ``fault`` event,
and the recorder carries on with the next call.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lineguard.config import RecordingSettings, Settings
from lineguard.errors import AudioFormatError, LineGuardError
from lineguard.events import CallTerminated, Event, Fault, RecordingSaved
from lineguard.recording.crypto import EncryptedSegmentFile, load_key
from lineguard.recording.evidence import sha256_file, write_bundle
from lineguard.recording.retention import MB, Retention, RetentionPolicy, disk_free_bytes
from lineguard.recording.segments import SegmentFile, WavSegmentFile, repair_wav
from lineguard.recording.writer import SegmentWriter

log = logging.getLogger(__name__)

MAX_PENDING_CALLS = 4       # events kept for calls whose audio has not started yet


class RecordingError(LineGuardError, OSError):
    """A call could not be (fully) recorded; protection goes on."""


@dataclass
class _Active:
    call_id: str
    writer: SegmentWriter
    final_path: Path
    events: list[Event]
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0

    @property
    def file(self) -> SegmentFile:
        return self.writer.file


class Recorder:
    """Event sink + call-audio sink writing recordings and evidence bundles."""

    def __init__(self, settings: RecordingSettings, device_id: str = "lineguard-dev", key: bytes | None = None,
                 free_bytes: Callable[[Path], int] = disk_free_bytes,
                 utc: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.settings = settings
        self.device_id = device_id
        self.key = key if key is not None or not settings.encrypt else load_key(settings.key_file)  # type: ignore[arg-type]
        self.free_bytes = free_bytes
        self.utc = utc
        self.retention = Retention(settings.dir, RetentionPolicy(settings.retention_days, settings.quota_mb,
                                                                 settings.min_free_mb), free_bytes)
        self._active: _Active | None = None
        self._events: OrderedDict[str, list[Event]] = OrderedDict()
        self._terminated: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> Recorder:
        return cls(settings.recording, device_id=settings.device.id)

    @property
    def recordings_dir(self) -> Path:
        return self.retention.recordings_dir

    @property
    def active_path(self) -> Path | None:
        return self._active.file.path if self._active else None

    # -- event sink ---------------------------------------------------------------

    def handle(self, event: Event) -> None:
        if event.call_id is None:
            return
        if event.call_id not in self._events:
            self._events[event.call_id] = []
            while len(self._events) > MAX_PENDING_CALLS:
                self._events.popitem(last=False)
        self._events[event.call_id].append(event)
        if isinstance(event, CallTerminated):
            self._terminated.add(event.call_id)

    # -- call-audio sink ------------------------------------------------------------

    def start(self, call_id: str, sample_rate_hz: int, channels: int, time_s: float) -> None:
        self._active = None
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        result = self.retention.enforce()
        need = self.settings.min_free_mb * MB
        if result.short or result.free_bytes < need:
            raise RecordingError(f"disk full: {result.free_bytes // MB} MB free in {self.settings.dir} "
                                 f"(need {self.settings.min_free_mb} MB, nothing more may be deleted); "
                                 f"call {call_id} is protected but not recorded")
        suffix = ".lgrec" if self.key is not None else ".wav"
        part = self.recordings_dir / f"{call_id}.part{suffix}"
        try:
            file: SegmentFile = (EncryptedSegmentFile(part, self.key, sample_rate_hz, channels, self.settings.fsync)
                                 if self.key is not None else
                                 WavSegmentFile(part, sample_rate_hz, channels, self.settings.fsync))
        except OSError as exc:
            raise RecordingError(f"cannot create {part}: {exc.strerror or exc}; call not recorded") from None
        self._active = _Active(call_id, SegmentWriter(file), self.recordings_dir / f"{call_id}{suffix}",
                               self._events.setdefault(call_id, []))
        self._segment_bytes = sample_rate_hz * channels * 2 * self.settings.segment_ms // 1000

    def write(self, frames: np.ndarray) -> None:
        active = self._active
        if active is None or active.writer.failed:
            return
        pcm = np.clip(np.round(np.asarray(frames) * 32768.0), -32768, 32767).astype("<i2").tobytes()
        active.pending.append(pcm)
        active.pending_bytes += len(pcm)
        if active.pending_bytes >= self._segment_bytes:
            self._flush(active)

    def finish(self, call_id: str, time_s: float) -> list[Event]:
        active = self._active
        if active is None or active.call_id != call_id:
            return []
        self._active = None
        out: list[Event] = []
        try:
            self._flush(active)
        except RecordingError as exc:
            out.append(Fault(time=time_s, call_id=call_id, component="recorder", message=str(exc), recovered=True))
        error = active.writer.close()
        if error is not None:
            out.append(Fault(time=time_s, call_id=call_id, component="recorder", recovered=True,
                             message=_write_failed(active.file.path, error)))
        path = active.file.path.rename(active.final_path)
        out.append(self._seal(active, path, time_s))
        self._events.pop(call_id, None)
        self._terminated.discard(call_id)
        self.retention.enforce()
        return out

    # -- internals ------------------------------------------------------------------

    def _flush(self, active: _Active) -> None:
        if not active.pending:
            return
        data = b"".join(active.pending)
        active.pending, active.pending_bytes = [], 0
        try:
            active.writer.submit(data)
        except OSError as exc:
            raise RecordingError(_write_failed(active.file.path, exc)) from None

    def _seal(self, active: _Active, path: Path, time_s: float) -> RecordingSaved:
        duration_s = active.file.duration_s  # type: ignore[attr-defined]
        wanted = self.settings.evidence == "all" or (
            self.settings.evidence == "terminated" and active.call_id in self._terminated)
        evidence_dir = None
        if wanted:
            utc = self.utc().isoformat(timespec="seconds")
            bundle = write_bundle(self.retention.evidence_dir, active.call_id, path, active.events,
                                  self.device_id, utc, key=self.key)
            path, evidence_dir = bundle.recording, str(bundle.path)
        return RecordingSaved(time=time_s, call_id=active.call_id, path=str(path), duration_s=duration_s,
                              sha256=sha256_file(path), encrypted=self.key is not None, evidence_dir=evidence_dir)

    def close(self) -> None:
        """Stop without a call end (shutdown mid-call): what was written stays as ``.part``."""
        if self._active is not None:
            active, self._active = self._active, None
            try:
                self._flush(active)
            finally:
                active.writer.close()

    def recover(self) -> list[Path]:
        """After a crash: finish the recordings that were cut off (``*.part.*``)."""
        recovered = []
        for part in sorted(self.recordings_dir.glob("*.part.*")) if self.recordings_dir.is_dir() else []:
            try:
                if part.suffix == ".wav":
                    repair_wav(part)
            except AudioFormatError as exc:   # cut off before its header was written: keep it aside
                log.error("recording cut off too early to repair, kept as .damaged: %s", exc)
                part.rename(part.with_name(part.name.replace(".part", ".damaged")))
                continue
            final = part.with_name(part.name.replace(".part", ".recovered"))
            part.rename(final)
            log.warning("recovered a recording cut off by a crash: %s", final)
            recovered.append(final)
        return recovered


def _write_failed(path: Path, exc: OSError) -> str:
    return (f"writing {path} failed ({exc.strerror or exc}); the recording keeps what was written "
            f"so far, the call is still protected")
