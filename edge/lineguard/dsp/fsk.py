"""FSK caller-ID demodulation: Bell 202 (1200/2200 Hz) and V.23 (1300/2100 Hz), 1200 baud.

Both put mark and space either side of 1700 Hz, so one demodulator serves
both: mix down by 1700 Hz, low-pass, and read the sign of the instantaneous
frequency (below 1700 = mark = 1). A carrier detector (in-band share of the
energy, and a floor) gates an asynchronous UART (start bit, 8 data bits LSB
first, stop bit). Bytes between idle gaps go to
:func:`lineguard.dsp.cid_message.parse_message`. Filter states carry
across chunks, so the result does not depend on the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from lineguard.dsp.cid_message import CallerIdMessage, parse_message

SAMPLE_RATE_HZ = 8000
CENTER_HZ = 1700.0
BAUD = 1200.0
LOWPASS_HZ = 1000.0
CARRIER_SHARE = 0.25          # in-band power / total power (a clean FSK tone gives 0.5)
CARRIER_FLOOR = 0.5 * 0.003 ** 2   # about -50 dBFS
ENVELOPE_MS = 4.0
IDLE_BITS_END = 12            # this much mark (or no carrier) after bytes ends a burst
MAX_BURST_BYTES = 300


@dataclass(frozen=True)
class FskMessage:
    time_s: float             # end of the message, seconds from the start of the stream
    message: CallerIdMessage


class _Uart:
    """Async serial framing over a per-sample bit stream (1 = mark)."""

    def __init__(self, samples_per_bit: float) -> None:
        self.spb = samples_per_bit
        self.start: float | None = None     # sample index of the current start bit
        self.bits: list[int] = []
        self.idle_samples = 0
        self.prev = 1

    def sample(self, n: int, bit: int, carrier: bool) -> int | None:
        """Feed sample ``n``; returns a byte when one completes."""
        if not carrier:
            self.start, self.prev = None, 1
            self.idle_samples += 1
            return None
        if self.start is None:
            if self.prev == 1 and bit == 0:
                self.start = n - 0.5
                self.bits = []
            else:
                self.idle_samples += 1
            self.prev = bit
            return None
        self.prev = bit
        k = len(self.bits)
        if n < self.start + self.spb * (k + 0.5):
            return None
        self.bits.append(bit)
        if k == 0 and bit != 0:
            self.start = None                 # a glitch, not a start bit
        elif k == 9:
            self.start = None
            self.idle_samples = 0
            if bit == 1:                      # stop bit: a good byte
                return sum(b << i for i, b in enumerate(self.bits[1:9]))
        return None


class FskDecoder:
    """Streaming: ``process(chunk) -> [FskMessage]``."""

    def __init__(self, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"FSK decoding runs at {SAMPLE_RATE_HZ} Hz, not {sample_rate_hz}")
        self.rate = sample_rate_hz
        self._n = 0
        self._sos = signal.butter(4, LOWPASS_HZ, fs=sample_rate_hz, output="sos")
        self._zi_re = np.zeros((self._sos.shape[0], 2))
        self._zi_im = np.zeros((self._sos.shape[0], 2))
        alpha = 1.0 - np.exp(-1000.0 / (ENVELOPE_MS * sample_rate_hz))
        self._env_b, self._env_a = [alpha], [1.0, alpha - 1.0]
        self._zi_env_in = np.zeros(1)
        self._zi_env_x = np.zeros(1)
        self._prev_z = 0j
        self._uart = _Uart(sample_rate_hz / BAUD)
        self._bytes = bytearray()
        self.framing_errors = 0

    def process(self, samples: np.ndarray) -> list[FskMessage]:
        x = np.asarray(samples, np.float64).ravel()
        if not len(x):
            return []
        n = self._n + np.arange(len(x))
        z = x * np.exp(-2j * np.pi * CENTER_HZ * n / self.rate)
        re, self._zi_re = signal.sosfilt(self._sos, z.real, zi=self._zi_re)
        im, self._zi_im = signal.sosfilt(self._sos, z.imag, zi=self._zi_im)
        zf = re + 1j * im
        prev = np.concatenate([[self._prev_z], zf[:-1]])
        self._prev_z = zf[-1]
        freq = np.angle(zf * np.conj(prev))          # > 0: above 1700 Hz (space)
        env_in, self._zi_env_in = signal.lfilter(self._env_b, self._env_a, np.abs(zf) ** 2, zi=self._zi_env_in)
        env_x, self._zi_env_x = signal.lfilter(self._env_b, self._env_a, x * x, zi=self._zi_env_x)
        carrier = (env_in >= CARRIER_SHARE * env_x) & (env_x >= CARRIER_FLOOR)
        bits = (freq < 0).astype(np.int8)
        out = self._run_uart(n, bits, carrier)
        self._n += len(x)
        return out

    def _run_uart(self, n: np.ndarray, bits: np.ndarray, carrier: np.ndarray) -> list[FskMessage]:
        out: list[FskMessage] = []
        if not carrier.any() and not self._bytes:
            self._uart.sample(int(n[-1]), 1, False)
            return out
        uart, end_samples = self._uart, IDLE_BITS_END * self._uart.spb
        for i in range(len(bits)):
            byte = uart.sample(int(n[i]), int(bits[i]), bool(carrier[i]))
            if byte is not None and len(self._bytes) < MAX_BURST_BYTES:
                self._bytes.append(byte)
            if self._bytes and uart.start is None and uart.idle_samples >= end_samples:
                message = parse_message(bytes(self._bytes))
                self._bytes.clear()
                if message is not None:
                    out.append(FskMessage(int(n[i]) / self.rate, message))
        return out
