"""AudioPort on a USB audio/line interface through PyAudio.

Input: a blocking stereo (or mono) stream at the device rate. Output: a
callback stream that plays the current prompt and silence otherwise, so
``play`` never blocks the listening loop. The ``pyaudio`` module is
imported lazily and can be passed in (tests pass a fake).
"""

from __future__ import annotations

import importlib
import logging
import threading
from types import ModuleType
from typing import Any

import numpy as np

from lineguard.audio.port import Playback
from lineguard.audio.wavio import pcm16_samples
from lineguard.clock import Clock
from lineguard.errors import DeviceError

log = logging.getLogger(__name__)


def _pyaudio_module() -> ModuleType:
    try:
        return importlib.import_module("pyaudio")
    except ImportError as exc:
        raise DeviceError(f"audio.backend = 'pyaudio' needs PyAudio (apt install python3-pyaudio): {exc}") from None


def find_device(pa: Any, name: str, want_input: bool) -> int | None:
    """Index of the first device whose name contains ``name`` (case-insensitive)."""
    if not name:
        return None
    key = "maxInputChannels" if want_input else "maxOutputChannels"
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        if name.lower() in str(info.get("name", "")).lower() and int(info.get(key, 0)) > 0:
            return index
    kind = "input" if want_input else "output"
    raise DeviceError(f"no audio {kind} device matching {name!r}; run `lineguard selftest` to list devices")


class PyAudioPort:
    def __init__(self, clock: Clock, sample_rate_hz: int, channels: int, input_device: str = "",
                 output_device: str = "", pyaudio_module: ModuleType | None = None) -> None:
        self.clock = clock
        self.sample_rate_hz = sample_rate_hz
        self.channels = channels
        self._input_name = input_device
        self._output_name = output_device
        self._mod = pyaudio_module
        self._pa: Any = None
        self._in: Any = None
        self._out: Any = None
        self._lock = threading.Lock()
        self._buffer = np.zeros(0, np.float32)
        self._current: Playback | None = None
        self.overflows = 0

    def open(self) -> None:
        mod = self._mod or _pyaudio_module()
        self._pa = mod.PyAudio()
        try:
            in_index = find_device(self._pa, self._input_name, want_input=True)
            out_index = find_device(self._pa, self._output_name or self._input_name, want_input=False)
            self._in = self._pa.open(format=mod.paInt16, channels=self.channels, rate=self.sample_rate_hz,
                                     input=True, input_device_index=in_index,
                                     frames_per_buffer=self.sample_rate_hz // 50)
            self._out = self._pa.open(format=mod.paInt16, channels=1, rate=self.sample_rate_hz, output=True,
                                      output_device_index=out_index, stream_callback=self._fill)
        except DeviceError:
            self.close()
            raise
        except (OSError, ValueError) as exc:
            self.close()
            raise DeviceError(f"cannot open audio interface at {self.sample_rate_hz} Hz: {exc}") from None

    def close(self) -> None:
        for stream in (self._in, self._out):
            if stream is not None:
                try:
                    stream.stop_stream()
                    stream.close()
                except OSError as exc:
                    log.warning("closing audio stream: %s", exc)
        self._in = self._out = None
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None

    def read(self, frames: int) -> np.ndarray:
        if self._in is None:
            raise DeviceError("audio interface is not open")
        try:
            raw = self._in.read(frames, exception_on_overflow=False)
        except OSError as exc:
            raise DeviceError(f"audio input failed: {exc}") from None
        return pcm16_samples(raw, self.channels)

    def play(self, prompt_id: str, samples: np.ndarray) -> Playback:
        with self._lock:
            self._buffer = np.asarray(samples, np.float32).copy()
            self._current = Playback(prompt_id, self.clock.now(), len(samples) / self.sample_rate_hz)
            return self._current

    def stop_playback(self) -> None:
        with self._lock:
            self._buffer = np.zeros(0, np.float32)

    def is_playing(self) -> bool:
        with self._lock:
            return len(self._buffer) > 0

    def _fill(self, _in_data: Any, frame_count: int, _time_info: Any, _status: Any) -> tuple[bytes, int]:
        with self._lock:
            chunk, self._buffer = self._buffer[:frame_count], self._buffer[frame_count:]
        out = np.zeros(frame_count, np.float32)
        out[:len(chunk)] = chunk
        pcm = np.clip(np.round(out * 32767.0), -32768, 32767).astype("<i2")
        mod = self._mod or _pyaudio_module()
        return pcm.tobytes(), mod.paContinue
