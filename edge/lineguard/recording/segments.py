"""Crash-safe recording files, written one segment at a time.

Plain: a 16-bit PCM WAV whose header is rewritten after every segment, in
this order: append the samples, sync, then patch the sizes, sync. At any
instant (power cut, ``kill -9``) the header declares at most what the file
holds, so the file is a valid WAV holding everything up to the last
segment. :func:`repair_wav` stretches the header over samples written
after the last patch.

Encrypted (``.lgrec``): see :mod:`lineguard.recording.crypto`; each segment
is one authenticated record, so a cut-off file still decrypts up to its
last whole record.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import BinaryIO, Protocol

from lineguard.errors import AudioFormatError

log = logging.getLogger(__name__)

WAV_HEADER_BYTES = 44
SAMPLE_BYTES = 2


class SegmentFile(Protocol):
    path: Path

    def append(self, pcm: bytes) -> None:
        """Write one segment of interleaved 16-bit PCM and make it durable."""

    def close(self) -> None:
        """Finish the file (complete header or final record)."""


def wav_header(sample_rate_hz: int, channels: int, data_bytes: int) -> bytes:
    block_align = channels * SAMPLE_BYTES
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate_hz,
                                    sample_rate_hz * block_align, block_align, 8 * SAMPLE_BYTES)
            + b"data" + struct.pack("<I", data_bytes))


def _sync(f: BinaryIO, fsync: bool) -> None:
    f.flush()
    if fsync:
        os.fsync(f.fileno())


class WavSegmentFile:
    """A WAV file that is valid after every segment."""

    def __init__(self, path: Path, sample_rate_hz: int, channels: int, fsync: bool = True) -> None:
        self.path = Path(path)
        self.sample_rate_hz = sample_rate_hz
        self.channels = channels
        self.fsync = fsync
        self.data_bytes = 0
        self._f: BinaryIO | None = open(self.path, "xb")   # noqa: SIM115 - closed in close()
        self._f.write(wav_header(sample_rate_hz, channels, 0))
        _sync(self._f, fsync)

    def append(self, pcm: bytes) -> None:
        if self._f is None:
            raise ValueError(f"{self.path}: already closed")
        if len(pcm) % (self.channels * SAMPLE_BYTES):
            raise ValueError(f"{self.path}: segment of {len(pcm)} bytes is not whole frames")
        self._f.seek(0, os.SEEK_END)
        self._f.write(pcm)
        _sync(self._f, self.fsync)               # the samples first ...
        self.data_bytes += len(pcm)
        self._f.seek(0)
        self._f.write(wav_header(self.sample_rate_hz, self.channels, self.data_bytes))
        _sync(self._f, self.fsync)               # ... then the header that counts them

    def close(self) -> None:
        if self._f is not None:
            f, self._f = self._f, None
            f.close()

    @property
    def duration_s(self) -> float:
        return self.data_bytes / (self.channels * SAMPLE_BYTES * self.sample_rate_hz)


def repair_wav(path: Path) -> float:
    """Make the header of a cut-off WAV count every whole frame in the file; return its seconds."""
    path = Path(path)
    with open(path, "r+b") as f:
        head = f.read(WAV_HEADER_BYTES)
        if len(head) < WAV_HEADER_BYTES or head[:4] != b"RIFF" or head[8:12] != b"WAVE" or head[36:40] != b"data":
            raise AudioFormatError(f"{path}: not a LineGuard recording (no canonical WAV header)")
        channels, rate = struct.unpack("<HI", head[22:28])
        frame = channels * SAMPLE_BYTES
        size = f.seek(0, os.SEEK_END)
        data = (size - WAV_HEADER_BYTES) // frame * frame
        f.truncate(WAV_HEADER_BYTES + data)
        f.seek(0)
        f.write(wav_header(rate, channels, data))
        f.flush()
        os.fsync(f.fileno())
    return data / (frame * rate)
