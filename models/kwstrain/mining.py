"""Hard-negative mining: find the training-set negative windows the model
confuses with keywords and train on them again.

Windows are taken densely (every ``hop_frames``: 4 frames, 40 ms; the runtime steps 20 ms) from
freshly channel-augmented *training* negative clips (sentences, near-misses,
non-speech); only training data is used, never val or test. Each clip is
scanned on its own (after 0.2-1 s of silence; the shipped rounds), or, with
``run_clips`` n >= 1, as the line carries them: n at a time, one after the other
with a pause of ``PAUSE_S`` after each, so windows that end in the pause after a
sentence's last word are mined too (a keyword window ends up to 220 ms after the
word; the synthesized clips end ~20-30 ms after their last sound, so a clip
scanned alone never shows that moment). Tried in round 8 (models/EXPERIMENTS.md).

Its mirror, optional (``TrainPlan.unsure_positives``): the training keyword windows the model scores below the
operating threshold, drawn and trained on again, so the keywords of voices it is unsure of count more.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.special import softmax

from kwstrain.channel import ChannelConfig, apply_channel, non_speech
from kwstrain.synthdata import NEGATIVE, ClipSet
from kwstrain.windows import WINDOW_FRAMES
from lineguard.kws.features import FeatureConfig, log_mel

LOG = logging.getLogger(__name__)
PAUSE_S = (0.15, 0.6)  # between sentences on the line (as in the evaluation streams)


def _dense_windows(feats: np.ndarray, hop_frames: int) -> np.ndarray:
    ends = np.arange(WINDOW_FRAMES, feats.shape[0] + 1, hop_frames)
    return np.stack([feats[e - WINDOW_FRAMES : e] for e in ends]) if ends.size else np.zeros((0, WINDOW_FRAMES, feats.shape[1]), np.float32)


def mine_hard_negatives(model, clips: ClipSet, rirs: list[np.ndarray], noise_bank: list[np.ndarray],
                        max_clips: int, score_floor: float, keep: int, seed: int,
                        hop_frames: int = 4, config: FeatureConfig = FeatureConfig(),
                        channel: ChannelConfig = ChannelConfig(), run_clips: int = 0) -> np.ndarray:
    """Up to ``keep`` negative windows (float16) whose top keyword score >= ``score_floor``, from
    ``max_clips`` negative clips scanned alone (``run_clips`` 0) or in runs of ``run_clips`` with pauses."""
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
        scores = softmax(model.predict(x, batch_size=512, verbose=0).astype(np.float64), axis=1)
        top = scores[:, 1:].max(axis=1)
        hard = top >= score_floor
        found_x.append(x[hard].astype(np.float16))
        found_s.append(top[hard])

    pending = 0
    rate = config.sample_rate_hz
    group = max(1, run_clips)
    for n, start in enumerate(range(0, len(chosen), group)):
        pieces = [np.zeros(int(rng.uniform(0.2, 1.0) * rate), np.float32)]
        for i in chosen[start : start + group]:
            pieces.append(clips.clip(int(i)))
            if run_clips:
                pieces.append(np.zeros(int(rng.uniform(*PAUSE_S) * rate), np.float32))
        if n % max(1, 10 // group) == 0:  # non-speech after about one clip in ten
            pieces.append(non_speech(rate, rng))
        audio = apply_channel(np.concatenate(pieces), rng, rirs, noise_bank, channel)
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


def unsure_positives(scores: np.ndarray, y: np.ndarray, keep: int, ceiling: float, seed: int) -> np.ndarray:
    """Indices of up to ``keep`` keyword windows (``y`` > 0) whose right keyword's softmax score (``scores``,
    ``(n, classes)``) is below ``ceiling``, drawn at random among them (``seed``), in ascending order. Drawn, not
    the lowest: the lowest are the windows no network could call (a keyword under 0 dB of noise, clipped away),
    while those just under the operating threshold are the keywords of voices the model is unsure of."""
    right = scores[np.arange(len(y)), y]
    unsure = np.flatnonzero((y > 0) & (right < ceiling))
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(unsure)[:keep])


def mine_unsure_positives(model, x: np.ndarray, y: np.ndarray, keep: int, ceiling: float, seed: int,
                          batch: int = 4096) -> np.ndarray:
    """The training keyword windows of ``x`` (labels ``y``) the model is unsure of: :func:`unsure_positives` of its
    scores (run without augmentation), as indices into ``x``."""
    rows = np.flatnonzero(y > 0)
    if not len(rows):
        return rows
    chunks = (x[rows[start : start + batch]].astype(np.float32) for start in range(0, len(rows), batch))
    scores = np.concatenate([softmax(model.predict(chunk, batch_size=512, verbose=0).astype(np.float64), axis=1)
                             for chunk in chunks])
    picked = unsure_positives(scores, y[rows], keep, ceiling, seed)
    below = int(np.sum(scores[np.arange(len(rows)), y[rows]] < ceiling))
    LOG.info("%d of %d keyword windows below %.2f; repeating %d of them", below, len(rows), ceiling, len(picked))
    return rows[picked]
