"""``lineguard detect AUDIO.wav [--json]``: spot keywords in a WAV file.

Any sample rate, mono or stereo (channel 0 is used). With ``--json`` one
JSON object per line per detection: ``{"time": s, "keyword": id, "score": x}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from lineguard.errors import LineGuardError

DETECT_CHUNK_SAMPLES = 8000 * 60  # one minute at a time keeps memory flat on long files


def one_channel(samples: np.ndarray, rate_hz: int, channel: int, to_hz: int) -> np.ndarray:
    """``channel`` of ``(n, channels)`` samples (channel 0 of a mono file) at ``to_hz``."""
    mono = np.ascontiguousarray(samples[:, channel if samples.shape[1] > 1 else 0])
    if rate_hz != to_hz:
        from lineguard.audio.resample import to_rate  # scipy: only when a file needs resampling

        mono = to_rate(mono, rate_hz, to_hz)
    return mono


def chunks_of(mono: np.ndarray):
    for start in range(0, mono.size, DETECT_CHUNK_SAMPLES):
        yield mono[start : start + DETECT_CHUNK_SAMPLES]


def channel_chunks(blocks, rate_hz: int, channel: int, to_hz: int):
    """``channel`` (channel 0 of mono) of float32 ``(n, channels)`` ``blocks`` at ``to_hz``: block by block when
    they are at ``to_hz`` already (a long recording never sits in memory whole), else gathered, resampled and
    handed on a minute at a time."""
    if rate_hz == to_hz:
        for block in blocks:
            yield np.ascontiguousarray(block[:, channel if block.shape[1] > 1 else 0])
        return
    parts = list(blocks)
    yield from chunks_of(one_channel(np.concatenate(parts) if len(parts) > 1 else parts[0], rate_hz, channel, to_hz))


def wav_chunks(path: Path, channel: int, to_hz: int):
    """``channel`` of a WAV file at ``to_hz``, read from disk a minute at a time (:func:`channel_chunks`)."""
    from lineguard.audio.wavio import wav_blocks

    rate_hz, _, blocks = wav_blocks(path, DETECT_CHUNK_SAMPLES)
    yield from channel_chunks(blocks, rate_hz, channel, to_hz)


def detect_file(path: Path, model_path: Path | None = None, detector=None) -> list:
    """All detections in a WAV file (channel 0, resampled to the detector rate)."""
    from lineguard.kws.factory import build_detector

    if detector is None:
        detector = build_detector(None, {}, model_path)
    detector.reset()
    hits = []
    for chunk in wav_chunks(Path(path), 0, detector.sample_rate_hz):
        hits.extend(detector.process(chunk))
    return hits


def detect_main(path: Path, as_json: bool, model_path: Path | None) -> int:
    """CLI entry: print detections; exit status 0, or 2 with a message on error."""
    try:
        hits = detect_file(Path(path), model_path)
    except LineGuardError as exc:
        print(f"lineguard detect: {exc}", file=sys.stderr)
        return 2
    for hit in hits:
        if as_json:
            print(json.dumps({"time": round(hit.time_s, 3), "keyword": hit.keyword, "score": round(hit.score, 4)},
                             ensure_ascii=False))
        else:
            print(f"{hit.time_s:8.2f} s  {hit.keyword:<14} {hit.score:.2f}")
    if not hits and not as_json:
        print(f"{path}: no keywords detected")
    return 0
