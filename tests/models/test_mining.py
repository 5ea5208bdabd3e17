"""Hard-negative mining scans training sentences as the line carries them: with the pause after each one."""

import numpy as np

from kwstrain.channel import ChannelConfig
from kwstrain.mining import mine_hard_negatives, mine_unsure_positives, unsure_positives
from kwstrain.synthdata import NEGATIVE, ClipSet
from kwstrain.windows import WINDOW_FRAMES

RATE = 8000
CLEAN = ChannelConfig(reverb_prob=0.0, codec_probs=(1.0, 0.0, 0.0, 0.0), noise_prob=0.0, clip_prob=0.0)


def _sentences(count: int) -> ClipSet:
    """``count`` 'sentences': 1.2 s of sound, then 25 ms of silence (as synthesized clips end)."""
    t = np.arange(int(1.2 * RATE)) / RATE
    clip = np.concatenate([0.5 * np.sin(2 * np.pi * 500 * t), np.zeros(200)]).astype(np.float16)
    audio = np.tile(clip, count)
    offsets = np.arange(count + 1) * clip.size
    strings = lambda value: np.array([value] * count)  # noqa: E731
    return ClipSet(audio, offsets, strings(NEGATIVE), strings("en"), strings("espeak:x"), strings("t"),
                   np.full(count, -1), np.full(count, -1))


class WordJustEnded:
    """Stand-in scorer: 'keyword' for a window whose last 80 ms are quiet right after sound,
    the moment a keyword window is trained on (the word ended up to 220 ms before the window's end)."""

    def predict(self, x: np.ndarray, batch_size: int = 0, verbose: int = 0) -> np.ndarray:
        energy = x.astype(np.float64).mean(axis=2)
        loud = energy.max(axis=1, keepdims=True)
        ended = (energy[:, -8:].max(axis=1) < loud[:, 0] - 5) & (energy[:, -20:-8].max(axis=1) > loud[:, 0] - 1)
        return np.where(ended[:, None], [[0.0, 10.0]], [[10.0, 0.0]])


def test_mining_finds_the_moment_after_a_sentence_ends():
    clips = _sentences(12)
    found = mine_hard_negatives(WordJustEnded(), clips, [], [], max_clips=12, score_floor=0.5, keep=1000, seed=3,
                                channel=CLEAN, run_clips=3)
    # every sentence is followed by a pause of 150-600 ms: a window ending 80-200 ms into it (windows are 40 ms
    # apart) exists after each one; a sentence scanned on its own ends 25 ms after its sound and shows none
    assert len(found) >= len(clips)
    alone = mine_hard_negatives(WordJustEnded(), clips, [], [], max_clips=12, score_floor=0.5, keep=1000, seed=3,
                                channel=CLEAN)
    assert len(alone) < len(clips) // 2  # only non-speech with gaps in it (DTMF) could show that pattern there
    assert found.dtype == np.float16 and found.shape[1] == WINDOW_FRAMES
    energy = found.astype(np.float64).mean(axis=2)
    assert np.all(energy[:, -8:].max(axis=1) < energy.max(axis=1) - 5)


def test_mining_keeps_the_highest_scores_only():
    clips = _sentences(6)
    found = mine_hard_negatives(WordJustEnded(), clips, [], [], max_clips=6, score_floor=0.5, keep=4, seed=3,
                                channel=CLEAN, run_clips=2)
    assert len(found) == 4


def test_unsure_positives_are_keyword_windows_below_the_ceiling_drawn_at_random():
    y = np.array([0, 1, 2, 1, 2, 0, 1])
    right = np.array([0.10, 0.99, 0.50, 0.97, 0.20, 0.90, 0.60])  # the score of each window's own label
    scores = np.zeros((len(y), 3))
    scores[np.arange(len(y)), y] = right
    # keyword windows under 0.98: 2, 3, 4 and 6 (0 and 5 are negatives however low; 1 is sure)
    assert list(unsure_positives(scores, y, keep=10, ceiling=0.98, seed=0)) == [2, 3, 4, 6]
    draws = {tuple(unsure_positives(scores, y, keep=2, ceiling=0.98, seed=seed)) for seed in range(20)}
    assert all(len(d) == 2 and set(d) <= {2, 3, 4, 6} for d in draws)
    assert len(draws) > 1  # drawn, not the lowest two every time
    assert list(unsure_positives(scores, y, keep=10, ceiling=0.5, seed=0)) == [4]


class Fixed:
    """Stand-in scorer: keyword 1's logit is the window's first feature value; the other classes' stay at 0."""

    def __init__(self, classes: int):
        self.classes = classes

    def predict(self, x: np.ndarray, batch_size: int = 0, verbose: int = 0) -> np.ndarray:
        logits = np.zeros((len(x), self.classes))
        logits[:, 1] = x[:, 0, 0]  # keyword 1's logit; keyword 2 and _none stay at 0
        return logits


def test_mining_unsure_positives_scores_the_keyword_windows_only():
    y = np.array([0, 1, 1, 2, 1])
    x = np.zeros((len(y), WINDOW_FRAMES, 4), np.float16)
    x[:, 0, 0] = [9.0, 9.0, 1.0, 9.0, 2.0]  # window 0 (a negative) looks like keyword 1: not a positive to repeat
    # softmax of keyword 1 with logits (0, v, 0): v = 9 gives 0.9998, v = 1 0.58, v = 2 0.79; keyword 2's own
    # score under (0, 9, 0) is 1e-4: unsure
    picked = mine_unsure_positives(Fixed(3), x, y, keep=10, ceiling=0.98, seed=1, batch=2)
    assert list(picked) == [2, 3, 4]
    assert len(mine_unsure_positives(Fixed(3), x[:1], y[:1], keep=10, ceiling=0.98, seed=1)) == 0
