"""WAV files in and out, with clear errors naming the file and the problem."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lineguard.errors import AudioFormatError

_INT16_FULL_SCALE = 32768.0


def pcm16_samples(raw: bytes, channels: int) -> np.ndarray:
    """Interleaved 16-bit little-endian PCM as float32 ``(n, channels)`` in [-1, 1] (a trailing part frame
    dropped)."""
    usable = len(raw) - len(raw) % (2 * channels)
    data = np.frombuffer(raw[:usable], dtype="<i2").reshape(-1, channels)
    return data.astype(np.float32) / _INT16_FULL_SCALE


class _Wav:
    """An open, checked 16-bit PCM WAV (mono or stereo); raises AudioFormatError naming the file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._wav = wave.open(str(self.path), "rb")
        except FileNotFoundError:
            raise AudioFormatError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise AudioFormatError(f"{self.path}: is a directory, not a WAV file") from None
        except (wave.Error, EOFError) as exc:
            why = str(exc) or "file ends inside the WAV header"
            raise AudioFormatError(f"{self.path}: not a valid WAV file ({why})") from None
        self.channels = self._wav.getnchannels()
        width = self._wav.getsampwidth()
        self.rate = self._wav.getframerate()
        self.declared = self._wav.getnframes()
        problem = None
        if width != 2:
            problem = f"sample format is {8 * width}-bit; 16-bit PCM is required"
        elif self.rate < 4000 or self.rate > 192000:
            problem = f"sample rate {self.rate} Hz is out of range (4000-192000)"
        elif self.channels not in (1, 2):
            problem = f"{self.channels} channels; mono or stereo is required"
        if problem:
            self._wav.close()
            raise AudioFormatError(f"{self.path}: {problem}")

    def blocks(self, frames: int):
        """Float32 ``(n, channels)`` blocks of up to ``frames`` frames; the file's end checked at the end."""
        total = 0
        try:
            while total < self.declared:  # never past what the header declares (a file being written)
                try:
                    raw = self._wav.readframes(min(frames, self.declared - total))
                except (wave.Error, EOFError) as exc:
                    raise AudioFormatError(f"{self.path}: not a valid WAV file ({exc or 'cut short'})") from None
                block = pcm16_samples(raw, self.channels)
                if not len(block):
                    break
                total += len(block)
                yield block
        finally:
            self._wav.close()
        if total == 0:
            raise AudioFormatError(f"{self.path}: contains no audio frames")
        if total < self.declared:
            raise AudioFormatError(f"{self.path}: truncated: header declares {self.declared} frames, "
                                   f"file holds {total}")


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV; return float32 ``(n, channels)`` in [-1, 1] and the rate."""
    wav = _Wav(path)
    parts = list(wav.blocks(max(wav.declared, 1)))
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), wav.rate


def wav_blocks(path: Path | str, frames: int) -> tuple[int, int, object]:
    """``(rate, channels, blocks)`` of a 16-bit PCM WAV read ``frames`` at a time (float32 ``(n, channels)``
    in [-1, 1]), so a long file never sits in memory whole; the same checks and errors as :func:`read_wav`
    (a truncated file raises after its last block)."""
    wav = _Wav(path)
    return wav.rate, wav.channels, wav.blocks(frames)


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
