"""WAV files in and out, with clear errors naming the file and the problem."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lineguard.errors import AudioFormatError

_INT16_FULL_SCALE = 32768.0


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV; return float32 ``(n, channels)`` in [-1, 1] and the rate."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels = wav.getnchannels()
            width = wav.getsampwidth()
            rate = wav.getframerate()
            declared = wav.getnframes()
            raw = wav.readframes(declared)
    except FileNotFoundError:
        raise AudioFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioFormatError(f"{path}: is a directory, not a WAV file") from None
    except (wave.Error, EOFError) as exc:
        why = str(exc) or "file ends inside the WAV header"
        raise AudioFormatError(f"{path}: not a valid WAV file ({why})") from None
    if width != 2:
        raise AudioFormatError(f"{path}: sample format is {8 * width}-bit; 16-bit PCM is required")
    if rate < 4000 or rate > 192000:
        raise AudioFormatError(f"{path}: sample rate {rate} Hz is out of range (4000-192000)")
    if channels not in (1, 2):
        raise AudioFormatError(f"{path}: {channels} channels; mono or stereo is required")
    frame_bytes = channels * width
    usable = len(raw) - len(raw) % frame_bytes
    if usable == 0:
        raise AudioFormatError(f"{path}: contains no audio frames")
    if usable // frame_bytes < declared:
        raise AudioFormatError(
            f"{path}: truncated: header declares {declared} frames, file holds {usable // frame_bytes}"
        )
    data = np.frombuffer(raw[:usable], dtype="<i2").reshape(-1, channels)
    return (data.astype(np.float32) / _INT16_FULL_SCALE), rate


def write_wav(path: Path | str | BinaryIO, samples: np.ndarray, sample_rate_hz: int) -> None:
    """Write float samples (``(n,)`` or ``(n, channels)``) as 16-bit PCM to a path or binary file."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    pcm = np.clip(np.round(data * _INT16_FULL_SCALE), -32768, 32767).astype("<i2")
    target = path if hasattr(path, "write") else str(path)
    with wave.open(target, "wb") as wav:
        wav.setnchannels(pcm.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(int(sample_rate_hz))
        wav.writeframes(pcm.tobytes())
