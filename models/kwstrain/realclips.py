"""Real clips from the field, reviewed by an operator, in training and evaluation.

Exports made with ``lineguard clips export DIR`` and labelled (``label`` =
true / false in ``labels.csv``) go under ``models/data/real_clips/<name>/``.
A true clip's keyword ends where the detection fired (``offset_s``); a false
clip is a false alarm and becomes a hard negative. Real clips are already
telephone audio, so no channel simulation is added. Results on them are
reported separately in the model card.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lineguard.audio.resample import to_rate
from lineguard.audio.wavio import read_wav
from lineguard.callers.clips import LabelledClip, read_labels
from lineguard.kws.features import FeatureConfig, log_mel

LOG = logging.getLogger(__name__)
WINDOW_FRAMES = 100
REAL_CLIPS_DIR = Path(__file__).resolve().parents[1] / "data" / "real_clips"
POS_JITTER_FRAMES = (-3, 12)
NEG_EVERY_FRAMES = 10
MATCH_TOLERANCE_S = 1.0


def find_clips(root: Path = REAL_CLIPS_DIR) -> list[LabelledClip]:
    """Every labelled clip of every export under ``root`` (none if it does not exist)."""
    if not root.is_dir():
        return []
    clips: list[LabelledClip] = []
    for labels in sorted(root.glob("*/labels.csv")):
        clips += read_labels(labels.parent)
    return clips


def _audio(clip: LabelledClip, rate_hz: int) -> np.ndarray:
    samples, rate = read_wav(clip.path)
    return to_rate(samples[:, 0], rate, rate_hz)


def real_windows(clips: list[LabelledClip], labels: list[str], repeat: int = 4, seed: int = 0,
                 config: FeatureConfig = FeatureConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Training windows ``(x float16 (n, 100, 40), y int32)``; clips of keywords not trained are skipped."""
    rng = np.random.default_rng(seed)
    index = {name: i for i, name in enumerate(labels)}
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for clip in clips:
        if clip.label and clip.keyword not in index:
            continue
        audio = _audio(clip, config.sample_rate_hz)
        pad = np.zeros(WINDOW_FRAMES * config.hop_samples, np.float32)
        feats = log_mel(np.concatenate([pad, audio]), config)
        n = feats.shape[0]
        if clip.label:
            end_f = WINDOW_FRAMES + int(clip.offset_s * config.sample_rate_hz) // config.hop_samples
            ends = rng.integers(end_f + POS_JITTER_FRAMES[0], end_f + POS_JITTER_FRAMES[1], size=repeat)
            y = index[clip.keyword]
        else:
            ends = np.repeat(np.arange(WINDOW_FRAMES, n + 1, NEG_EVERY_FRAMES), max(1, repeat // 2))
            y = 0
        for end in ends:
            if WINDOW_FRAMES <= end <= n:
                xs.append(feats[end - WINDOW_FRAMES:end].astype(np.float16))
                ys.append(y)
    if not xs:
        return np.zeros((0, WINDOW_FRAMES, config.mel_bins), np.float16), np.zeros(0, np.int32)
    LOG.info("real clips: %d windows (%d keyword)", len(ys), int(np.sum(np.asarray(ys) > 0)))
    return np.stack(xs), np.asarray(ys, dtype=np.int32)


def evaluate_real(clips: list[LabelledClip], detector) -> dict:
    """Hits on true clips (same keyword within 1 s of where it fired) and false alarms on false clips."""
    true_clips = [c for c in clips if c.label]
    false_clips = [c for c in clips if not c.label]
    hits = 0
    for clip in true_clips:
        detector.reset()
        found = detector.process(_audio(clip, detector.sample_rate_hz))
        hits += any(d.keyword == clip.keyword and abs(d.time_s - clip.offset_s) <= MATCH_TOLERANCE_S
                    for d in found)
    alarms = 0
    for clip in false_clips:
        detector.reset()
        alarms += bool(detector.process(_audio(clip, detector.sample_rate_hz)))
    return {
        "true_clips": len(true_clips), "hits": hits,
        "recall": round(hits / len(true_clips), 4) if true_clips else None,
        "false_clips": len(false_clips), "still_firing": alarms,
        "false_alarm_rate": round(alarms / len(false_clips), 4) if false_clips else None,
    }
