"""Training windows: channel-augmented clips -> log-mel windows with labels.

A window is ``WINDOW_FRAMES`` frames (1 s) of log-mel features. A keyword
window ends between ``POS_END_EARLY`` frames before and ``POS_END_LATE``
frames after the keyword's last frame, so the model learns "a keyword just
ended" (the streaming spotter then fires right after the word). Windows that
hold only part of a keyword are not used; windows before the keyword or
after it has left the window are negatives.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from kwstrain.channel import ChannelConfig, apply_channel, non_speech
from kwstrain.synthdata import NEGATIVE, ClipSet
from lineguard.kws.features import FeatureConfig, log_mel

LOG = logging.getLogger(__name__)
WINDOW_FRAMES = 100
POS_END_EARLY = 3
POS_END_LATE = 22
PRE_PAD_S = (0.2, 1.0)
POST_PAD_S = 0.4


@dataclass(frozen=True)
class WindowPlan:
    augment_copies: int = 2
    positive_windows: int = 2
    negative_window_every_frames: int = 60
    non_speech_clips: int = 600
    seed: int = 0
    # speed perturbation by resampling (moves pitch and formants together, like a
    # smaller or larger speaker): wider for the few natural-sounding English voices
    espeak_rate_range: tuple[float, float] = (0.88, 1.15)
    other_rate_range: tuple[float, float] = (0.8, 1.32)
    # the neural voice is the most natural-sounding and has the fewest clips: each of its
    # clips is channel-augmented this many times more often than the others
    neural_copies: int = 1
    # the telephone channel every clip goes through (noise, reverb, codecs, level, clipping)
    channel: ChannelConfig = ChannelConfig()
    # a keyword window ends up to this many 10 ms frames after the keyword's last frame (POS_END_LATE: 220 ms).
    # The spotter averages the window scores of the last 280 ms, so a model that answers only where it was
    # trained to (POS_END_EARLY + this frames: 250 ms at the default) keeps at most ~250/280 of its score after
    # smoothing; a later end trains a longer answer
    positive_end_late_frames: int = POS_END_LATE

    @property
    def post_pad_s(self) -> float:
        """Silence after a clip's speech (s): room for the latest keyword window (POST_PAD_S at the default)."""
        return POST_PAD_S + max(0, self.positive_end_late_frames - POS_END_LATE) / 100


def _perturb_rate(audio: np.ndarray, rate: float) -> np.ndarray:
    """Play ``audio`` ``rate`` times faster (higher pitch and formants, shorter)."""
    frac = Fraction(rate).limit_denominator(24)
    if frac == 1:
        return audio
    return resample_poly(audio, frac.denominator, frac.numerator).astype(np.float32)


def _noise_floor(n: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal(n) * 10 ** (rng.uniform(-70, -45) / 20)).astype(np.float32)


def _windows_from_clip(feats: np.ndarray, label_index: int, kw_frames: tuple[int, int] | None,
                       plan: WindowPlan, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(window end frame, label index) pairs for one augmented clip."""
    n = feats.shape[0]
    out: list[tuple[int, int]] = []
    if kw_frames is not None:
        start_f, end_f = kw_frames
        for _ in range(plan.positive_windows):
            end = int(rng.integers(end_f - POS_END_EARLY, end_f + plan.positive_end_late_frames + 1))
            if WINDOW_FRAMES <= end <= n:
                out.append((end, label_index))
        end = int(rng.integers(WINDOW_FRAMES, max(WINDOW_FRAMES + 1, start_f + 4)))
        if end <= start_f + 4 and end <= n:
            out.append((end, 0))
        if n >= end_f + WINDOW_FRAMES + 2:
            out.append((int(rng.integers(end_f + WINDOW_FRAMES, n + 1)), 0))
        return out
    count = max(1, (n - WINDOW_FRAMES) // plan.negative_window_every_frames)
    for end in rng.integers(WINDOW_FRAMES, n + 1, size=count):
        out.append((int(end), 0))
    return out


def build_windows(clips: ClipSet, labels: list[str], rirs: list[np.ndarray], noise_bank: list[np.ndarray],
                  plan: WindowPlan, config: FeatureConfig = FeatureConfig()) -> tuple[np.ndarray, np.ndarray]:
    """All windows of a clip set, ``(x float16 (n, 100, 40), y int32 (n,))``; class 0 = none."""
    rng = np.random.default_rng(plan.seed)
    index = {name: i for i, name in enumerate(labels)}
    hop = config.hop_samples
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for i in range(len(clips)):
        label = str(clips.labels[i])
        if label != NEGATIVE and label not in index:
            continue
        engine = str(clips.voices[i]).split(":", 1)[0]
        copies = plan.augment_copies if label != NEGATIVE else max(1, plan.augment_copies // 2)
        if engine == "kokoro":
            copies *= plan.neural_copies
        for _ in range(copies):
            pre = int(rng.uniform(*PRE_PAD_S) * config.sample_rate_hz)
            if label == NEGATIVE:
                pre = WINDOW_FRAMES * hop
            low, high = plan.espeak_rate_range if engine == "espeak" else plan.other_rate_range
            rate = float(Fraction(rng.uniform(low, high)).limit_denominator(24))
            speech = _perturb_rate(clips.clip(i), rate)
            audio = np.concatenate([np.zeros(pre, np.float32), speech,
                                    np.zeros(int(plan.post_pad_s * config.sample_rate_hz), np.float32)])
            audio = apply_channel(audio, rng, rirs, noise_bank, plan.channel) + _noise_floor(audio.size, rng)
            feats = log_mel(audio, config)
            kw = None
            if label != NEGATIVE:
                kw = (int(pre + clips.kw_start[i] / rate) // hop, int(pre + clips.kw_end[i] / rate) // hop)
            for end, y in _windows_from_clip(feats, index.get(label, 0), kw, plan, rng):
                xs.append(feats[end - WINDOW_FRAMES : end].astype(np.float16))
                ys.append(y)
    for _ in range(plan.non_speech_clips):
        n = int(rng.uniform(1.2, 3.0) * config.sample_rate_hz)
        audio = apply_channel(non_speech(n, rng), rng, rirs, noise_bank, plan.channel) + _noise_floor(n, rng)
        feats = log_mel(audio, config)
        for end, y in _windows_from_clip(feats, 0, None, plan, rng):
            xs.append(feats[end - WINDOW_FRAMES : end].astype(np.float16))
            ys.append(y)
    LOG.info("built %d windows (%d keyword)", len(ys), int(np.sum(np.asarray(ys) > 0)))
    return np.stack(xs), np.asarray(ys, dtype=np.int32)


_SHARED: dict = {}


def _init_part(audio_path: str, clips: ClipSet, labels: list[str], rirs: list[np.ndarray],
               noise: list[np.ndarray], plan: WindowPlan) -> None:
    """Worker set-up: the clips' audio is read from a memory-mapped file, not copied."""
    audio = np.load(audio_path, mmap_mode="r")
    _SHARED.update(clips=replace(clips, audio=audio), labels=labels, rirs=rirs, noise=noise, plan=plan)


def _build_part(args: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    part, parts = args
    clips, labels, rirs, noise, plan = (_SHARED[k] for k in ("clips", "labels", "rirs", "noise", "plan"))
    keep = np.arange(len(clips))[part::parts]
    subset = clips.take(keep)
    sub_plan = replace(plan, seed=plan.seed * 1000 + part, non_speech_clips=plan.non_speech_clips // parts)
    return build_windows(subset, labels, rirs, noise, sub_plan)


def build_windows_parallel(clips: ClipSet, labels: list[str], rirs: list[np.ndarray], noise_bank: list[np.ndarray],
                           plan: WindowPlan, workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """:func:`build_windows` split over ``workers`` processes (clips interleaved).

    The workers are spawned, not forked: a fork taken after TensorFlow has started its
    thread pools (training, then ``continue`` in one process) can hang in the child.
    The audio reaches them through a temporary memory-mapped ``.npy`` file.
    """
    if workers <= 1:
        return build_windows(clips, labels, rirs, noise_bank, plan)
    with tempfile.TemporaryDirectory(prefix="lineguard-windows-") as tmp:
        audio_path = str(Path(tmp) / "audio.npy")
        np.save(audio_path, clips.audio)
        init = (audio_path, replace(clips, audio=clips.audio[:0]), labels, rirs, noise_bank, plan)
        with get_context("spawn").Pool(workers, initializer=_init_part, initargs=init) as pool:
            parts = pool.map(_build_part, [(p, workers) for p in range(workers)])
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def babble_bank(clips: ClipSet, count: int, seconds: float, seed: int) -> list[np.ndarray]:
    """Background 'babble' tracks from several negative clips mixed together."""
    rng = np.random.default_rng(seed)
    negatives = [i for i in range(len(clips)) if clips.labels[i] == NEGATIVE]
    n = int(seconds * 8000)
    bank = []
    for _ in range(count):
        track = np.zeros(n, np.float32)
        for _ in range(3):
            pos = 0
            while pos < n and negatives:
                x = clips.clip(int(rng.choice(negatives)))
                take = min(x.size, n - pos)
                track[pos : pos + take] += x[:take]
                pos += take
        bank.append(track)
    return bank
