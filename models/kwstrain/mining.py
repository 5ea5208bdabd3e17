"""Hard-negative mining: find the training-set negative windows the model
confuses with keywords and train on them again.

Windows are taken densely (every ``hop_frames``: 4 frames, 40 ms; the runtime steps 20 ms) from
freshly channel-augmented *training* negative clips (sentences, near-misses,
non-speech); only training data is used, never val or test.
"""

from __future__ import annotations

import logging

import numpy as np

from kwstrain.channel import ChannelConfig, apply_channel, non_speech
from kwstrain.synthdata import NEGATIVE, ClipSet
from kwstrain.windows import WINDOW_FRAMES
from lineguard.kws.features import FeatureConfig, log_mel

LOG = logging.getLogger(__name__)


def _dense_windows(feats: np.ndarray, hop_frames: int) -> np.ndarray:
    ends = np.arange(WINDOW_FRAMES, feats.shape[0] + 1, hop_frames)
    return np.stack([feats[e - WINDOW_FRAMES : e] for e in ends]) if ends.size else np.zeros((0, WINDOW_FRAMES, feats.shape[1]), np.float32)


def mine_hard_negatives(model, clips: ClipSet, rirs: list[np.ndarray], noise_bank: list[np.ndarray],
                        max_clips: int, score_floor: float, keep: int, seed: int,
                        hop_frames: int = 4, config: FeatureConfig = FeatureConfig(),
                        channel: ChannelConfig = ChannelConfig()) -> np.ndarray:
    """Up to ``keep`` negative windows (float16) whose top keyword score >= ``score_floor``."""
    rng = np.random.default_rng(seed)
    negatives = [i for i in range(len(clips)) if clips.labels[i] == NEGATIVE]
    chosen = rng.permutation(negatives)[:max_clips]
    found_x: list[np.ndarray] = []
    found_s: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        if not batch:
            return
        x = np.concatenate(batch)
        batch.clear()
        logits = model.predict(x, batch_size=512, verbose=0).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        top = scores[:, 1:].max(axis=1)
        hard = top >= score_floor
        found_x.append(x[hard].astype(np.float16))
        found_s.append(top[hard])

    pending = 0
    for n, i in enumerate(chosen):
        pre = np.zeros(int(rng.uniform(0.2, 1.0) * config.sample_rate_hz), np.float32)
        audio = np.concatenate([pre, clips.clip(int(i))])
        if n % 10 == 0:
            audio = np.concatenate([audio, non_speech(config.sample_rate_hz, rng)])
        audio = apply_channel(audio, rng, rirs, noise_bank, channel)
        windows = _dense_windows(log_mel(audio, config), hop_frames)
        batch.append(windows)
        pending += len(windows)
        if pending >= 4096:
            flush()
            pending = 0
    flush()
    x = np.concatenate(found_x) if found_x else np.zeros((0, WINDOW_FRAMES, config.mel_bins), np.float16)
    s = np.concatenate(found_s) if found_s else np.zeros(0)
    order = np.argsort(-s)[:keep]
    LOG.info("mined %d hard negatives (of %d above %.2f) from %d clips", len(order), len(s), score_floor, len(chosen))
    return x[order]
