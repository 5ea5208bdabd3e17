"""Hard-negative mining scans training sentences as the line carries them: with the pause after each one."""

import numpy as np

from kwstrain.channel import ChannelConfig
from kwstrain.mining import mine_hard_negatives
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
