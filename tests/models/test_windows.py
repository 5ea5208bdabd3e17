"""Training windows built in worker processes are the windows one process would build, part by part."""

from dataclasses import replace

import numpy as np

from kwstrain.synthdata import NEGATIVE, ClipSet
from kwstrain.windows import WindowPlan, build_windows, build_windows_parallel

RATE = 8000


def _clips(count: int) -> ClipSet:
    """Tone 'keywords' (``en_idiot``) inside noise, alternating with noise-only negatives."""
    rng = np.random.default_rng(5)
    audio, offsets, labels, kw_start, kw_end = [], [0], [], [], []
    for i in range(count):
        clip = (0.05 * rng.standard_normal(int(1.6 * RATE))).astype(np.float32)
        if i % 2:
            t = np.arange(int(0.4 * RATE)) / RATE
            clip[RATE // 2 : RATE // 2 + t.size] += 0.4 * np.sin(2 * np.pi * (300 + 50 * i) * t)
        audio.append(clip.astype(np.float16))
        offsets.append(offsets[-1] + clip.size)
        labels.append("en_idiot" if i % 2 else NEGATIVE)
        kw_start.append(RATE // 2 if i % 2 else -1)
        kw_end.append(RATE // 2 + int(0.4 * RATE) if i % 2 else -1)
    strings = lambda value: np.array([value] * count)  # noqa: E731
    return ClipSet(np.concatenate(audio), np.array(offsets), np.array(labels), strings("en"), strings("espeak:x"),
                   strings("t"), np.array(kw_start), np.array(kw_end))


def test_windows_from_two_worker_processes_equal_each_part_built_here():
    clips, labels = _clips(8), ["_none", "en_idiot"]
    plan = WindowPlan(non_speech_clips=4, seed=7)
    x, y = build_windows_parallel(clips, labels, [], [], plan, workers=2)
    parts = [build_windows(clips.take(np.arange(8)[p::2]), labels, [], [],
                           replace(plan, seed=plan.seed * 1000 + p, non_speech_clips=2)) for p in range(2)]
    assert np.array_equal(x, np.concatenate([px for px, _ in parts]))
    assert np.array_equal(y, np.concatenate([py for _, py in parts]))
    assert (y == 1).sum() >= 4 and (y == 0).sum() >= 4 and x.dtype == np.float16


def test_later_keyword_windows_end_later_and_keep_the_keyword_whole():
    """positive_end_late_frames: keyword windows end up to that many frames after the keyword's last frame
    (the clip is padded for them); the default plan keeps the 220 ms of POS_END_LATE and its padding."""
    from kwstrain import windows

    rng = np.random.default_rng(0)
    feats = np.zeros((200, 40), np.float32)
    late = WindowPlan(positive_windows=400, positive_end_late_frames=40)
    ends = [end for end, y in windows._windows_from_clip(feats, 1, (60, 120), late, rng) if y == 1]
    assert min(ends) >= 120 - windows.POS_END_EARLY and max(ends) <= 160
    assert max(ends) > 120 + windows.POS_END_LATE  # later than the default allows
    assert all(end - windows.WINDOW_FRAMES <= 60 for end in ends)  # the keyword's first frame is in every window
    default = WindowPlan()
    assert default.positive_end_late_frames == windows.POS_END_LATE and default.post_pad_s == windows.POST_PAD_S
    assert late.post_pad_s >= 0.4 + 0.18 - 1e-9
    # built end to end, every keyword window of the later plan still fits its padded clip
    clips, labels = _clips(4), ["_none", "en_idiot"]
    x, y = build_windows(clips, labels, [], [], replace(late, positive_windows=2, non_speech_clips=0, seed=3))
    assert (y == 1).sum() == 2 * 2 * late.augment_copies
