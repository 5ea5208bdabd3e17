"""Records each call from answer to end as a WAV file (stereo with two channels)."""

from __future__ import annotations

import hashlib
import logging
import wave
from pathlib import Path

import numpy as np

from lineguard.events import Event, RecordingSaved

log = logging.getLogger(__name__)


class CallRecorder:
    """A call-audio sink: ``start`` / ``write`` / ``finish``."""

    def __init__(self, record_dir: Path) -> None:
        self.record_dir = Path(record_dir)
        self._wav: wave.Wave_write | None = None
        self._path: Path | None = None
        self._frames = 0
        self._rate = 8000

    def start(self, call_id: str, sample_rate_hz: int, channels: int, time_s: float) -> None:
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self._path = self.record_dir / f"{call_id}.wav"
        self._wav = wave.open(str(self._path), "wb")
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate_hz)
        self._rate = sample_rate_hz
        self._frames = 0

    def write(self, frames: np.ndarray) -> None:
        if self._wav is None:
            return
        pcm = np.clip(np.round(frames * 32768.0), -32768, 32767).astype("<i2")
        self._wav.writeframes(pcm.tobytes())
        self._frames += len(frames)

    def finish(self, call_id: str, time_s: float) -> list[Event]:
        if self._wav is None or self._path is None:
            return []
        self._wav.close()
        self._wav = None
        digest = hashlib.sha256(self._path.read_bytes()).hexdigest()
        return [RecordingSaved(time=time_s, call_id=call_id, path=str(self._path),
                               duration_s=self._frames / self._rate, sha256=digest)]
