"""Short clips around detections and terminations, for review and retraining.

A :class:`ClipCapture` is both an audio sink (it keeps the last ``pre_s``
seconds of the call) and an event sink (a ``keyword_detected`` or
``call_terminated`` event asks for a clip from ``pre_s`` before to
``post_s`` after it). Each clip is a WAV (encrypted when a key is set,
like recordings) plus a JSON sidecar with the detection metadata and an
empty ``label`` for the reviewer. Retention: by age and by count.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lineguard.audio.wavio import write_wav
from lineguard.events import CallTerminated, Event, KeywordDetected

log = logging.getLogger(__name__)

Encryptor = Callable[[bytes], bytes]
CLIP_MAGIC = b"LGC1"     # clip file: magic, 12-byte nonce, AES-256-GCM ciphertext (tag at the end)


def clip_cipher(key: bytes) -> tuple[Encryptor, Callable[[bytes], bytes]]:
    """(encrypt, decrypt) for whole clip files with the recording key."""
    import os as _os

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from lineguard.errors import AudioFormatError

    aead = AESGCM(key)

    def encrypt(data: bytes) -> bytes:
        nonce = _os.urandom(12)
        return CLIP_MAGIC + nonce + aead.encrypt(nonce, data, CLIP_MAGIC)

    def decrypt(blob: bytes) -> bytes:
        if not blob.startswith(CLIP_MAGIC) or len(blob) < 4 + 12 + 16:
            raise AudioFormatError("not an encrypted LineGuard clip")
        try:
            return aead.decrypt(blob[4:16], blob[16:], CLIP_MAGIC)
        except InvalidTag:
            raise AudioFormatError("clip does not decrypt with this key (wrong key or tampered)") from None
    return encrypt, decrypt


@dataclass(frozen=True)
class ClipInfo:
    clip_id: str
    call_id: str
    kind: str                 # "keyword_detected" | "call_terminated"
    keyword: str | None
    score: float | None
    side: str | None
    time_s: float             # when the event happened, seconds on the gateway clock
    offset_s: float           # where in the clip the event is
    sample_rate_hz: int
    file: str
    encrypted: bool
    label: bool | None = None  # set by the reviewer: true = really abusive


@dataclass
class _Pending:
    event: Event
    start_s: float
    end_s: float


class ClipCapture:
    def __init__(self, clip_dir: Path, pre_s: float = 2.0, post_s: float = 2.0, retention_days: float = 30.0,
                 max_clips: int = 1000, encrypt: Encryptor | None = None) -> None:
        self.dir = Path(clip_dir)
        self.pre_s, self.post_s = pre_s, post_s
        self.retention_s = retention_days * 86400
        self.max_clips = max_clips
        self.encrypt = encrypt
        self._rate = 8000
        self._blocks: deque[tuple[float, np.ndarray]] = deque()
        self._pos_s = 0.0
        self._pending: list[_Pending] = []
        self._call_id: str | None = None
        self.saved: list[ClipInfo] = []

    # -- audio sink -----------------------------------------------------------

    def start(self, call_id: str, sample_rate_hz: int, channels: int, time_s: float) -> None:
        self._call_id, self._rate, self._pos_s = call_id, sample_rate_hz, time_s
        self._blocks.clear()
        self._pending.clear()

    def write(self, frames: np.ndarray) -> None:
        self._blocks.append((self._pos_s, np.array(frames, np.float32)))
        self._pos_s += len(frames) / self._rate
        keep_s = self.pre_s + self.post_s + 1.0
        while self._blocks and self._blocks[0][0] < self._pos_s - keep_s:
            self._blocks.popleft()
        due = [p for p in self._pending if self._pos_s >= p.end_s]
        for p in due:
            self._pending.remove(p)
            self._save(p)

    def finish(self, call_id: str, time_s: float) -> list[Event]:
        for p in self._pending:      # the call ended before the clip was complete
            self._save(p)
        self._pending.clear()
        self._call_id = None
        return []

    # -- event sink -------------------------------------------------------------

    def handle(self, event: Event) -> None:
        if self._call_id is None or event.call_id != self._call_id:
            return
        if isinstance(event, (KeywordDetected, CallTerminated)):
            self._pending.append(_Pending(event, event.time - self.pre_s, event.time + self.post_s))

    # -- storage ------------------------------------------------------------------

    def _audio(self, start_s: float, end_s: float) -> tuple[np.ndarray, float]:
        parts = [(t, b) for t, b in self._blocks if t + len(b) / self._rate > start_s and t < end_s]
        if not parts:
            return np.zeros((0, 1), np.float32), start_s
        first_s = parts[0][0]
        audio = np.concatenate([b for _, b in parts])
        lo = max(0, int(round((start_s - first_s) * self._rate)))
        hi = int(round((end_s - first_s) * self._rate))
        return audio[lo:hi], first_s + lo / self._rate

    def _save(self, pending: _Pending) -> None:
        try:
            self._write_clip(pending)
            self.enforce_retention()
        except OSError as exc:   # a full disk must never stop call protection
            log.error("clip for %s not saved: %s", pending.event.TYPE, exc)

    def _write_clip(self, pending: _Pending) -> None:
        event = pending.event
        audio, begins_s = self._audio(pending.start_s, pending.end_s)
        self.dir.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        write_wav(buf, audio, self._rate)
        data = buf.getvalue()
        suffix = ".wav"
        if self.encrypt is not None:
            data, suffix = self.encrypt(data), ".wav.enc"
        clip_id = event.event_id
        path = self.dir / f"{clip_id}{suffix}"
        path.write_bytes(data)
        info = ClipInfo(clip_id, event.call_id or "", event.TYPE, getattr(event, "keyword", None),
                        getattr(event, "score", None), getattr(getattr(event, "side", None), "value", None),
                        event.time, round(event.time - begins_s, 3), self._rate, path.name, self.encrypt is not None)
        (self.dir / f"{clip_id}.json").write_text(json.dumps(asdict(info), indent=1), encoding="utf-8")
        self.saved.append(info)

    def enforce_retention(self, now: float | None = None) -> int:
        """Delete clips older than the retention time, then the oldest past ``max_clips``."""
        now = time.time() if now is None else now
        metas = sorted(self.dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
        doomed = [m for m in metas if now - m.stat().st_mtime > self.retention_s]
        alive = [m for m in metas if m not in doomed]
        doomed += alive[:max(0, len(alive) - self.max_clips)]
        for meta in doomed:
            for sibling in self.dir.glob(meta.stem + ".*"):
                sibling.unlink(missing_ok=True)
        return len(doomed)


def load_clips(clip_dir: Path) -> list[ClipInfo]:
    out = []
    for meta in sorted(Path(clip_dir).glob("*.json")):
        out.append(ClipInfo(**json.loads(meta.read_text(encoding="utf-8"))))
    return out


LABEL_FIELDS = ("clip_id", "file", "keyword", "score", "side", "kind", "call_id", "time_s", "offset_s", "label")
Decryptor = Callable[[bytes], bytes]


def export_clips(clip_dir: Path, out_dir: Path, decrypt: Decryptor | None = None) -> int:
    """Write every clip as a plain WAV under ``out_dir/audio`` and a ``labels.csv`` to fill in."""
    import csv

    out_dir = Path(out_dir)
    (out_dir / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for info in load_clips(clip_dir):
        data = (Path(clip_dir) / info.file).read_bytes()
        if info.encrypted:
            if decrypt is None:
                from lineguard.errors import ConfigError
                raise ConfigError(str(clip_dir), [(info.file, "clip is encrypted: give the recording key")])
            data = decrypt(data)
        name = f"audio/{info.clip_id}.wav"
        (out_dir / name).write_bytes(data)
        label = "" if info.label is None else str(info.label).lower()
        rows.append([info.clip_id, name, info.keyword or "", info.score if info.score is not None else "",
                     info.side or "", info.kind, info.call_id, info.time_s, info.offset_s, label])
    with open(out_dir / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(LABEL_FIELDS)
        writer.writerows(rows)
    return len(rows)


@dataclass(frozen=True)
class LabelledClip:
    path: Path
    keyword: str | None
    offset_s: float
    label: bool


def read_labels(export_dir: Path) -> list[LabelledClip]:
    """Reviewed clips (label true/false); unlabelled rows are skipped. Bad rows: ConfigError by line."""
    import csv

    from lineguard.errors import ConfigError

    export_dir = Path(export_dir)
    source = export_dir / "labels.csv"
    problems: list[tuple[str, str]] = []
    out = []
    with open(source, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            where = f"line {reader.line_num}"
            label = (row.get("label") or "").strip().lower()
            if not label:
                continue
            if label not in ("true", "false", "1", "0", "yes", "no"):
                problems.append((where, f"label must be true or false, got {label!r}"))
                continue
            path = export_dir / (row.get("file") or "")
            if not path.is_file():
                problems.append((where, f"no audio file {row.get('file')!r}"))
                continue
            try:
                offset = float(row.get("offset_s") or 0)
            except ValueError:
                problems.append((where, f"bad offset_s {row.get('offset_s')!r}"))
                continue
            out.append(LabelledClip(path, row.get("keyword") or None, offset, label in ("true", "1", "yes")))
    if problems:
        raise ConfigError(str(source), problems)
    return out


def clip_capture_from_settings(settings) -> ClipCapture | None:
    """The site's clip capture (None when clips are off); encrypted when recordings are."""
    c = settings.clips
    if not c.enabled:
        return None
    encrypt = None
    if settings.recording.encrypt and settings.recording.key_file is not None:
        from lineguard.recording.crypto import load_key
        encrypt = clip_cipher(load_key(settings.recording.key_file))[0]
    return ClipCapture(c.dir, c.pre_s, c.post_s, c.retention_days, c.max_clips, encrypt)
