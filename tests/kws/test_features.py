"""The one log-mel implementation: shapes, band limits, streaming == offline."""

from __future__ import annotations

import numpy as np
import pytest

from lineguard.kws.features import (BATCH_FRAMES, FeatureConfig, StreamingLogMel, frame_count, log_mel, mel_filterbank,
                                   mel_floor)


def _audio(seconds: float = 1.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 8000)) / 8000
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def test_frame_geometry_is_25ms_window_10ms_hop():
    cfg = FeatureConfig()
    assert (cfg.window_samples, cfg.hop_samples, cfg.sample_rate_hz) == (200, 80, 8000)
    assert frame_count(199) == 0
    assert frame_count(200) == 1
    assert frame_count(8000) == 98
    assert log_mel(np.zeros(8000, np.float32)).shape == (98, 40)


def test_filterbank_stays_inside_100_to_3800_hz():
    bank = mel_filterbank()
    freqs = np.arange(bank.shape[0]) * 8000 / 256
    active = freqs[bank.sum(axis=1) > 0]
    assert active.min() >= 100 and active.max() <= 3800
    assert np.all(bank.max(axis=0) > 0)  # no empty filter


def test_tone_energy_lands_in_the_right_mel_bin():
    feats = log_mel(_audio())
    bank = mel_filterbank()
    expected = int(np.argmax(bank[int(round(440 * 256 / 8000))]))
    assert int(np.argmax(feats.mean(axis=0))) == expected


@pytest.mark.parametrize("chunk", [1, 79, 80, 160, 333, 4000])
def test_streaming_equals_offline_blocks_bit_for_bit(chunk):
    audio = _audio()
    offline = log_mel(audio, block_frames=4)
    stream = StreamingLogMel(block_frames=4)
    blocks = [stream.process(audio[start : start + chunk]) for start in range(0, audio.size, chunk)]
    assert all(b.shape[1:] == (4, 40) for b in blocks)
    streamed = np.concatenate(blocks).reshape(-1, 40)
    assert streamed.shape == offline.shape
    assert np.array_equal(streamed, offline)


def test_long_chunks_go_in_batches_with_the_same_features():
    audio = _audio(seconds=23.7, seed=4)  # ~2,370 frames: more than two numpy batches of BATCH_FRAMES
    assert frame_count(audio.size) > 2 * BATCH_FRAMES
    offline = log_mel(audio, block_frames=4)
    whole = StreamingLogMel(block_frames=4).process(audio).reshape(-1, 40)
    one_by_one = StreamingLogMel(block_frames=4)
    blocks = [one_by_one.process(audio[start : start + 320]) for start in range(0, audio.size, 320)]
    assert np.array_equal(whole, offline)
    assert np.array_equal(np.concatenate(blocks).reshape(-1, 40), offline)


def test_streaming_buffer_is_bounded_and_reset_restarts():
    stream = StreamingLogMel(block_frames=4)
    for _ in range(50):
        stream.process(_audio(0.5))
    assert stream._buffer.size < 4 * 80 + 200
    stream.reset()
    assert stream.frames_emitted == 0


def test_block_frames_must_be_positive():
    with pytest.raises(ValueError):
        StreamingLogMel(block_frames=0)


def test_noise_floor_is_the_mel_power_of_white_noise_at_that_level():
    floored = FeatureConfig(floor_dbfs=-55.0)
    silence = log_mel(np.zeros(8000, np.float32), floored)
    assert np.array_equal(silence, np.broadcast_to(np.log(mel_floor(floored)).astype(np.float32), silence.shape))
    noise = (np.random.default_rng(3).standard_normal(8000 * 20) * 10 ** (-55 / 20)).astype(np.float32)
    measured = np.exp(log_mel(noise, FeatureConfig(floor_dbfs=None)).astype(np.float64)).mean(axis=0)
    expected = mel_floor(floored) - mel_floor(FeatureConfig(floor_dbfs=None))
    assert np.allclose(measured, expected, rtol=0.1)
    assert np.all(np.log(expected) > np.log(mel_floor(FeatureConfig(floor_dbfs=None))) + 5)  # far above LOG_FLOOR


def test_noise_floor_leaves_speech_level_audio_alone_and_streams_the_same():
    floored = FeatureConfig(floor_dbfs=-55.0)
    audio = _audio()  # tone at about -13 dBFS plus noise at -26 dBFS
    change = np.abs(log_mel(audio, floored) - log_mel(audio, FeatureConfig(floor_dbfs=None)))
    assert change.mean() < 0.005 and change.max() < 0.1  # 29 dB below the noise: a few dips of single bins move
    stream = StreamingLogMel(floored, block_frames=4)
    blocks = [stream.process(audio[start : start + 333]) for start in range(0, audio.size, 333)]
    assert np.array_equal(np.concatenate(blocks).reshape(-1, 40), log_mel(audio, floored, block_frames=4))


def test_noise_floor_round_trips_through_model_metadata():
    for floor in (None, -55.0):
        config = FeatureConfig(floor_dbfs=floor)
        assert FeatureConfig.from_dict(config.to_dict()) == config
    older = FeatureConfig(floor_dbfs=None).to_dict()  # models exported before the floor existed
    assert "floor_dbfs" not in older and FeatureConfig.from_dict(older).floor_dbfs is None
