"""Log-mel features for 8 kHz telephone audio.

This module is the ONE feature implementation: the training pipeline in
``models/`` and the streaming runtime both call it, so what the model learned
on is bit-for-bit what it sees on the device.

Frames are 25 ms (200 samples) every 10 ms (80 samples); frame ``k`` covers
samples ``[k * hop, k * hop + window)`` of the stream. The streaming extractor
computes frames in fixed blocks of ``block_frames`` aligned on absolute frame
index, so the floating-point work (and so the result) is the same whatever
chunk sizes the audio arrives in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAMPLE_RATE_HZ = 8000
WINDOW_SAMPLES = 200  # 25 ms
HOP_SAMPLES = 80  # 10 ms
FFT_SIZE = 256
MEL_BINS = 40
MEL_LOW_HZ = 100.0
MEL_HIGH_HZ = 3800.0
LOG_FLOOR = 1e-6
BATCH_FRAMES = 1024  # frames per numpy batch: ~10 s of audio, a few MB of temporaries


@dataclass(frozen=True)
class FeatureConfig:
    """Parameters of the log-mel front end (stored in the model metadata)."""

    sample_rate_hz: int = SAMPLE_RATE_HZ
    window_samples: int = WINDOW_SAMPLES
    hop_samples: int = HOP_SAMPLES
    fft_size: int = FFT_SIZE
    mel_bins: int = MEL_BINS
    mel_low_hz: float = MEL_LOW_HZ
    mel_high_hz: float = MEL_HIGH_HZ
    # a noise floor in the features: each mel bin's power gets that of white noise at this RMS level
    # (dBFS) added, so digital silence and a quiet line look like the noisy lines the model learned
    # on (None: no floor but ``LOG_FLOOR``)
    floor_dbfs: float | None = -55.0

    def to_dict(self) -> dict[str, float | int]:
        out = {
            "sample_rate_hz": self.sample_rate_hz,
            "window_samples": self.window_samples,
            "hop_samples": self.hop_samples,
            "fft_size": self.fft_size,
            "mel_bins": self.mel_bins,
            "mel_low_hz": self.mel_low_hz,
            "mel_high_hz": self.mel_high_hz,
        }
        if self.floor_dbfs is not None:
            out["floor_dbfs"] = self.floor_dbfs
        return out

    @classmethod
    def from_dict(cls, data: dict[str, float | int]) -> "FeatureConfig":
        return cls(
            sample_rate_hz=int(data["sample_rate_hz"]),
            window_samples=int(data["window_samples"]),
            hop_samples=int(data["hop_samples"]),
            fft_size=int(data["fft_size"]),
            mel_bins=int(data["mel_bins"]),
            mel_low_hz=float(data["mel_low_hz"]),
            mel_high_hz=float(data["mel_high_hz"]),
            floor_dbfs=None if data.get("floor_dbfs") is None else float(data["floor_dbfs"]),
        )


def hz_to_mel(freq_hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(freq_hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_edges(config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The ``mel_bins + 2`` equally spaced mel points: filter ``m`` rises from
    point ``m``, peaks at ``m + 1`` and falls to ``m + 2``."""
    return np.linspace(hz_to_mel(config.mel_low_hz), hz_to_mel(config.mel_high_hz), config.mel_bins + 2)


@lru_cache(maxsize=8)
def mel_filterbank(config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Triangular HTK-style mel filters, shape ``(fft_size // 2 + 1, mel_bins)``."""
    n_bins = config.fft_size // 2 + 1
    bin_hz = np.arange(n_bins) * config.sample_rate_hz / config.fft_size
    edges_hz = mel_to_hz(mel_edges(config))
    bank = np.zeros((n_bins, config.mel_bins), dtype=np.float64)
    for m in range(config.mel_bins):
        low, centre, high = edges_hz[m], edges_hz[m + 1], edges_hz[m + 2]
        rising = (bin_hz - low) / (centre - low)
        falling = (high - bin_hz) / (high - centre)
        bank[:, m] = np.clip(np.minimum(rising, falling), 0.0, None)
    bank.setflags(write=False)
    return bank


@lru_cache(maxsize=8)
def _window(config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    n = config.window_samples
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic Hann
    win.setflags(write=False)
    return win


@lru_cache(maxsize=8)
def mel_floor(config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """What is added to every frame's mel powers before the log, shape ``(mel_bins,)``:
    ``LOG_FLOOR``, plus with ``floor_dbfs`` the expected mel power of white noise of that RMS
    level (per FFT bin ``sigma^2 * sum(window^2)``, summed through the mel filters)."""
    floor = np.full(config.mel_bins, LOG_FLOOR, dtype=np.float64)
    if config.floor_dbfs is not None:
        sigma2 = 10.0 ** (config.floor_dbfs / 10.0)
        floor += sigma2 * float(np.sum(_window(config) ** 2)) * mel_filterbank(config).sum(axis=0)
    floor.setflags(write=False)
    return floor


def frame_count(n_samples: int, config: FeatureConfig = FeatureConfig()) -> int:
    """Number of complete frames in ``n_samples`` samples."""
    if n_samples < config.window_samples:
        return 0
    return 1 + (n_samples - config.window_samples) // config.hop_samples


def frames_to_log_mel(frames: np.ndarray, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Log-mel of already-cut frames, shape ``(n, window_samples)`` -> ``(n, mel_bins)``."""
    frames = np.asarray(frames)
    blocks = _log_mel_blocks(frames, _window(config), mel_filterbank(config), config.fft_size, max(1, len(frames)),
                             mel_floor(config))
    return blocks.reshape(-1, config.mel_bins)


def _log_mel_blocks(frames: np.ndarray, window: np.ndarray, bank: np.ndarray, fft_size: int,
                    block_frames: int, floor: np.ndarray) -> np.ndarray:
    """Log-mel of ``n_blocks * block_frames`` cut frames, shape ``(n_blocks, block_frames, mel_bins)``.

    Hann window, power spectrum, mel filters, + ``floor``, log: float64 throughout, float32
    out. Every step but the mel product works row by row (the FFT transforms
    each row on its own, the rest is elementwise), and the mel product is one
    ``(block_frames, bins) @ (bins, mel_bins)`` BLAS product per block; so a
    block's features are bit for bit the same whether it is computed alone or
    with others, which lets a long chunk go through in a few numpy calls.
    """
    spectrum = np.fft.rfft(frames * window, n=fft_size, axis=1)  # float frames * float64 window -> float64
    parts = spectrum.view(np.float64)  # re, im interleaved
    np.multiply(parts, parts, out=parts)
    power = parts[:, 0::2] + parts[:, 1::2]  # |X|^2, a new C-contiguous array
    mel = power.reshape(-1, block_frames, power.shape[1]) @ bank  # numpy calls BLAS once per block
    mel += floor
    return np.log(mel, out=mel).astype(np.float32)


def _frames_view(samples: np.ndarray, n_frames: int, config: FeatureConfig) -> np.ndarray:
    """The first ``n_frames`` frames of ``samples`` as a read-only strided view (no copy)."""
    frames = np.lib.stride_tricks.sliding_window_view(samples, config.window_samples)
    return frames[: (n_frames - 1) * config.hop_samples + 1 : config.hop_samples]


def log_mel(
    samples: np.ndarray, config: FeatureConfig = FeatureConfig(), block_frames: int = 1
) -> np.ndarray:
    """Log-mel features of a whole clip, shape ``(n_frames, mel_bins)``, float32.

    ``block_frames`` > 1 runs :class:`StreamingLogMel` over the clip (aligned
    blocks of that many frames; frames of an incomplete last block are
    dropped), so offline and streaming features are identical.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if block_frames > 1:  # the streaming code itself, fed the whole clip at once
        return StreamingLogMel(config, block_frames).process(x).reshape(-1, config.mel_bins)
    n_frames = frame_count(x.size, config)
    if n_frames == 0:
        return np.zeros((0, config.mel_bins), dtype=np.float32)
    return frames_to_log_mel(_frames_view(x, n_frames, config), config)


class StreamingLogMel:
    """Incremental log-mel: feed any chunks, get frames in aligned blocks.

    Holds at most one block plus one window of samples (a bounded buffer).
    """

    def __init__(self, config: FeatureConfig = FeatureConfig(), block_frames: int = 4) -> None:
        if block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        self.config = config
        self.block_frames = block_frames
        self._block_samples = (block_frames - 1) * config.hop_samples + config.window_samples
        self._advance_samples = block_frames * config.hop_samples
        self._batch_blocks = max(1, BATCH_FRAMES // block_frames)
        # frames of one batch as a fancy index: per call much cheaper than building a strided view
        starts = np.arange(self._batch_blocks * block_frames) * config.hop_samples
        self._index = starts[:, None] + np.arange(config.window_samples)[None, :]
        self._window = _window(config)
        self._bank = mel_filterbank(config)
        self._floor = mel_floor(config)
        self._buffer = np.zeros(0, dtype=np.float32)
        self.frames_emitted = 0

    def reset(self) -> None:
        self._buffer = np.zeros(0, dtype=np.float32)
        self.frames_emitted = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Add samples; return the newly completed blocks, shape ``(n_blocks, block_frames, mel_bins)``."""
        chunk = np.asarray(samples, dtype=np.float32).reshape(-1)
        buffer = np.concatenate((self._buffer, chunk)) if self._buffer.size else chunk
        n_blocks = 0
        if buffer.size >= self._block_samples:
            n_blocks = 1 + (buffer.size - self._block_samples) // self._advance_samples
        self.frames_emitted += n_blocks * self.block_frames
        self._buffer = buffer[n_blocks * self._advance_samples :].copy()
        if n_blocks == 0:  # e.g. the first 20 ms half of a 40 ms block
            return np.zeros((0, self.block_frames, self.config.mel_bins), dtype=np.float32)
        if n_blocks <= self._batch_blocks:  # the usual case: one batch
            return self._batch(buffer, n_blocks)
        out = np.empty((n_blocks, self.block_frames, self.config.mel_bins), dtype=np.float32)
        for first in range(0, n_blocks, self._batch_blocks):
            count = min(self._batch_blocks, n_blocks - first)
            out[first : first + count] = self._batch(buffer[first * self._advance_samples :], count)
        return out

    def _batch(self, samples: np.ndarray, n_blocks: int) -> np.ndarray:
        frames = samples[self._index[: n_blocks * self.block_frames]]
        return _log_mel_blocks(frames, self._window, self._bank, self.config.fft_size, self.block_frames, self._floor)
