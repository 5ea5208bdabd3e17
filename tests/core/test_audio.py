from __future__ import annotations

import types
import wave

import numpy as np
import pytest

from lineguard.audio.pyaudio_port import PyAudioPort, find_device
from lineguard.audio.resample import StreamingDecimator, to_rate
from lineguard.audio.wavio import read_wav, write_wav
from lineguard.clock import VirtualClock
from lineguard.errors import AudioFormatError, DeviceError


@pytest.mark.parametrize("factor", [1, 2, 6])
def test_streaming_decimator_is_chunk_size_independent(factor):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8000 * factor, 2)).astype(np.float32)
    whole = StreamingDecimator(8000 * factor, 8000, 2).process(x)
    for sizes in ([1, 7, 333, 4096], [960], [17]):
        dec = StreamingDecimator(8000 * factor, 8000, 2)
        parts, i, k = [], 0, 0
        while i < len(x):
            n = sizes[k % len(sizes)]
            parts.append(dec.process(x[i:i + n]))
            i, k = i + n, k + 1
        assert np.array_equal(np.concatenate(parts), whole)
    assert len(whole) == 8000


def test_decimator_removes_what_would_alias():
    t = np.arange(48000) / 48000
    high = np.sin(2 * np.pi * 6000 * t)[:, None]     # above 4 kHz: must not fold into the band
    low = np.sin(2 * np.pi * 1000 * t)[:, None]
    dec = StreamingDecimator(48000, 8000, 1)
    assert np.std(dec.process(high)[200:]) < 0.01
    dec = StreamingDecimator(48000, 8000, 1)
    assert np.std(StreamingDecimator(48000, 8000, 1).process(low)[200:]) > 0.6


def test_to_rate_keeps_duration():
    x = np.zeros(44100, np.float32)
    assert len(to_rate(x, 44100, 8000)) == 8000


def test_wav_round_trip(tmp_path):
    x = (0.5 * np.sin(np.linspace(0, 100, 16000))).astype(np.float32)
    write_wav(tmp_path / "a.wav", np.stack([x, -x], 1), 16000)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == 16000 and y.shape == (16000, 2) and np.allclose(y[:, 0], x, atol=1e-4)


def _write_raw(path, channels=1, width=2, rate=8000, frames=b"\x00\x00" * 100):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)


def test_bad_wavs_name_the_file_and_the_problem(tmp_path):
    empty = tmp_path / "empty.wav"
    _write_raw(empty, frames=b"")
    with pytest.raises(AudioFormatError, match=r"empty\.wav: contains no audio"):
        read_wav(empty)
    eight = tmp_path / "eight.wav"
    _write_raw(eight, width=1, frames=b"\x80" * 100)
    with pytest.raises(AudioFormatError, match=r"eight\.wav: sample format is 8-bit"):
        read_wav(eight)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00junkjunk")
    with pytest.raises(AudioFormatError, match=r"junk\.wav: not a valid WAV"):
        read_wav(junk)
    trunc = tmp_path / "trunc.wav"
    _write_raw(trunc, frames=b"\x01\x00" * 1000)
    trunc.write_bytes(trunc.read_bytes()[:-500])
    with pytest.raises(AudioFormatError, match=r"trunc\.wav: truncated"):
        read_wav(trunc)
    with pytest.raises(AudioFormatError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


class FakeStream:
    def __init__(self, owner, kwargs):
        self.owner, self.kwargs = owner, kwargs
        self.closed = False

    def read(self, frames, exception_on_overflow=True):
        channels = self.kwargs["channels"]
        block = np.full((frames, channels), 1000, "<i2")
        block[:, -1] = -1000
        return block.tobytes()

    def stop_stream(self):
        pass

    def close(self):
        self.closed = True


class FakePyAudio:
    devices = [
        {"name": "bcm2835 Headphones", "maxInputChannels": 0, "maxOutputChannels": 2},
        {"name": "USB Audio CODEC: Line (hw:1,0)", "maxInputChannels": 2, "maxOutputChannels": 2},
    ]

    def __init__(self):
        self.streams = []
        self.terminated = False

    def get_device_count(self):
        return len(self.devices)

    def get_device_info_by_index(self, i):
        return self.devices[i]

    def open(self, **kwargs):
        stream = FakeStream(self, kwargs)
        self.streams.append(stream)
        return stream

    def terminate(self):
        self.terminated = True


def fake_module():
    instances = []

    def factory():
        pa = FakePyAudio()
        instances.append(pa)
        return pa
    return types.SimpleNamespace(PyAudio=factory, paInt16=8, paContinue=0, instances=instances)


def test_pyaudio_port_reads_plays_and_closes():
    mod = fake_module()
    port = PyAudioPort(VirtualClock(), 48000, 2, input_device="usb audio", pyaudio_module=mod)
    port.open()
    pa = mod.instances[0]
    assert pa.streams[0].kwargs["input_device_index"] == 1 and pa.streams[0].kwargs["rate"] == 48000
    block = port.read(960)
    assert block.shape == (960, 2) and block[0, 0] == pytest.approx(1000 / 32768)
    port.play("warning", np.full(1000, 0.5, np.float32))
    assert port.is_playing()
    callback = pa.streams[1].kwargs["stream_callback"]
    data, _ = callback(None, 600, None, None)
    assert np.frombuffer(data, "<i2")[0] == 16384
    callback(None, 600, None, None)
    assert not port.is_playing()
    port.close()
    assert all(s.closed for s in pa.streams) and pa.terminated


def test_missing_audio_device_is_a_clear_error():
    mod = fake_module()
    port = PyAudioPort(VirtualClock(), 48000, 2, input_device="Focusrite", pyaudio_module=mod)
    with pytest.raises(DeviceError, match="no audio input device matching 'Focusrite'"):
        port.open()
    assert mod.instances[0].terminated
    with pytest.raises(DeviceError):
        find_device(FakePyAudio(), "Headphones", want_input=True)


def test_wav_blocks_read_a_file_piece_by_piece_with_the_same_checks(tmp_path):
    from lineguard.audio.wavio import wav_blocks

    x = (0.3 * np.sin(np.linspace(0, 300, 10001))).astype(np.float32)
    write_wav(tmp_path / "s.wav", np.stack([x, -x], 1), 8000)
    rate, channels, blocks = wav_blocks(tmp_path / "s.wav", 4000)
    parts = list(blocks)
    assert (rate, channels) == (8000, 2) and [len(b) for b in parts] == [4000, 4000, 2001]
    assert np.array_equal(np.concatenate(parts), read_wav(tmp_path / "s.wav")[0])
    # a truncated file gives what it holds, then says so
    trunc = tmp_path / "trunc.wav"
    _write_raw(trunc, frames=b"\x01\x00" * 10000)
    trunc.write_bytes(trunc.read_bytes()[:-5000])
    got = []
    with pytest.raises(AudioFormatError, match=r"trunc\.wav: truncated: header declares 10000 frames, file holds 7500"):
        for block in wav_blocks(trunc, 3000)[2]:
            got.append(len(block))
    assert got == [3000, 3000, 1500]
    # a header that counts no frames yet (a recording being written) has none to give
    part = tmp_path / "part.wav"
    _write_raw(part, frames=b"")
    part.write_bytes(part.read_bytes() + b"\x01\x00" * 50)
    with pytest.raises(AudioFormatError, match=r"part\.wav: contains no audio frames"):
        read_wav(part)
    with pytest.raises(AudioFormatError, match="sample format is 8-bit"):
        _write_raw(tmp_path / "e.wav", width=1, frames=b"\x80" * 10)
        wav_blocks(tmp_path / "e.wav", 100)
