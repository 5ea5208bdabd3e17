"""Bytes to frames for the line-sense board's serial protocol.

Frame (``firmware/PROTOCOL.md``)::

    SOF(0xA5) VER SEQ TYPE LEN PAYLOAD[LEN] CRC16_HI CRC16_LO

CRC-16/CCITT-FALSE over VER..PAYLOAD. The framer keeps a bounded buffer,
accepts any split of the byte stream, and resynchronizes on garbage: a
candidate frame that fails its length or CRC check costs one byte and the
scan resumes at the next SOF.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

SOF = 0xA5
HEADER_LEN = 5
CRC_LEN = 2
MAX_PAYLOAD = 64
MAX_FRAME_LEN = HEADER_LEN + MAX_PAYLOAD + CRC_LEN


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out)."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)


@dataclass(frozen=True)
class Frame:
    version: int
    seq: int
    msg_type: int
    payload: bytes


@dataclass
class FramerStats:
    frames: int = 0
    crc_errors: int = 0
    length_errors: int = 0
    skipped_bytes: int = 0


def encode_frame(frame: Frame) -> bytes:
    if len(frame.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(frame.payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes([frame.version & 0xFF, frame.seq & 0xFF, frame.msg_type & 0xFF, len(frame.payload)]) + frame.payload
    return bytes([SOF]) + body + crc16(body).to_bytes(2, "big")


class Framer:
    """Streaming decoder: ``feed(bytes) -> [Frame]``; never raises on input."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = FramerStats()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf.extend(data)
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def reset(self) -> None:
        self._buf.clear()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _next(self) -> Frame | None:
        buf = self._buf
        while True:
            start = buf.find(SOF)
            if start < 0:
                self.stats.skipped_bytes += len(buf)
                buf.clear()
                return None
            if start:
                self.stats.skipped_bytes += start
                del buf[:start]
            if len(buf) < HEADER_LEN:
                return None
            length = buf[4]
            if length > MAX_PAYLOAD:
                self._skip_one(length_error=True)
                continue
            end = HEADER_LEN + length + CRC_LEN
            if len(buf) < end:
                return self._complete_frame_further_on()
            if not _valid_at(buf, 0):
                self._skip_one(length_error=False)
                continue
            return self._take(0)

    def _complete_frame_further_on(self) -> Frame | None:
        """The frame at the start is still incomplete. If a complete, valid frame
        starts later in the buffer, the start was a false SOF (noise claiming a
        long payload): skip to that frame now instead of waiting for bytes."""
        buf = self._buf
        start = buf.find(SOF, 1)
        while start > 0:
            if _valid_at(buf, start):
                self.stats.crc_errors += 1
                self.stats.skipped_bytes += start
                return self._take(start)
            start = buf.find(SOF, start + 1)
        return None

    def _take(self, start: int) -> Frame:
        buf = self._buf
        length = buf[start + 4]
        frame = Frame(buf[start + 1], buf[start + 2], buf[start + 3],
                      bytes(buf[start + HEADER_LEN:start + HEADER_LEN + length]))
        del buf[:start + HEADER_LEN + length + CRC_LEN]
        self.stats.frames += 1
        return frame

    def _skip_one(self, length_error: bool) -> None:
        if length_error:
            self.stats.length_errors += 1
        else:
            self.stats.crc_errors += 1
        self.stats.skipped_bytes += 1
        del self._buf[:1]


def _valid_at(buf: bytearray, start: int) -> bool:
    """A complete frame with a good length and CRC starts at ``start``."""
    if len(buf) - start < HEADER_LEN:
        return False
    length = buf[start + 4]
    end = start + HEADER_LEN + length + CRC_LEN
    if length > MAX_PAYLOAD or len(buf) < end:
        return False
    return crc16(buf[start + 1:end - CRC_LEN]) == int.from_bytes(buf[end - CRC_LEN:end], "big")
