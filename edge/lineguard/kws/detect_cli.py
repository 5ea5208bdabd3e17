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


def detect_file(path: Path, model_path: Path | None = None, detector=None) -> list:
    """All detections in a WAV file (channel 0, resampled to the detector rate)."""
    from lineguard.audio.wavio import read_wav
    from lineguard.kws.factory import build_detector

    samples, rate_hz = read_wav(path)
    if detector is None:
        detector = build_detector(None, {}, model_path)
    mono = one_channel(samples, rate_hz, 0, detector.sample_rate_hz)
    detector.reset()
    hits = []
    for start in range(0, mono.size, DETECT_CHUNK_SAMPLES):
        hits.extend(detector.process(mono[start : start + DETECT_CHUNK_SAMPLES]))
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
