"""Frames to messages for the line-sense board (protocol version 1).

Each board message is a frozen dataclass with ``decode`` from a payload;
commands to the board are encoded with :func:`encode_command`. Times are the
board's milliseconds since boot (``t_ms``). See ``firmware/PROTOCOL.md``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from lineguard.errors import ProtocolError
from lineguard.line.framing import Frame, encode_frame

PROTOCOL_VERSION = 1


class MsgType(IntEnum):
    HELLO = 0x01
    HEARTBEAT = 0x02
    RING = 0x10
    HOOK = 0x11
    LOOP = 0x12
    POLARITY = 0x13
    VOLTAGE = 0x14
    VERSION = 0x20
    SELFTEST = 0x21
    STATE = 0x22
    ERROR = 0x7F


class Command(IntEnum):
    GET_VERSION = 0x81
    SELFTEST = 0x82
    GET_STATE = 0x83


@dataclass(frozen=True)
class Hello:
    t_ms: int
    reset_cause: int
    firmware: str


@dataclass(frozen=True)
class Heartbeat:
    t_ms: int


@dataclass(frozen=True)
class RingMsg:
    t_ms: int
    active: bool
    pulse_hz: float         # ring-detector pulse rate (2 x ring frequency with a bidirectional opto)


@dataclass(frozen=True)
class HookMsg:
    t_ms: int
    off_hook: bool


@dataclass(frozen=True)
class LoopMsg:
    t_ms: int
    present: bool
    milliamps: int


@dataclass(frozen=True)
class PolarityMsg:
    t_ms: int
    reversed: bool


@dataclass(frozen=True)
class VoltageMsg:
    t_ms: int
    present: bool
    volts: float


@dataclass(frozen=True)
class VersionMsg:
    protocol: int
    firmware: str


@dataclass(frozen=True)
class SelfTestMsg:
    t_ms: int
    ok: bool
    failures: int


@dataclass(frozen=True)
class StateMsg:
    t_ms: int
    ringing: bool
    off_hook: bool
    loop: bool
    reversed: bool
    line_present: bool
    volts: float
    milliamps: int


@dataclass(frozen=True)
class ErrorMsg:
    code: int
    text: str


Message = (Hello | Heartbeat | RingMsg | HookMsg | LoopMsg | PolarityMsg | VoltageMsg | VersionMsg
           | SelfTestMsg | StateMsg | ErrorMsg)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _unpack(fmt: str, payload: bytes, name: str, exact: bool = True) -> tuple:
    size = struct.calcsize(fmt)
    if len(payload) < size or (exact and len(payload) != size):
        raise ProtocolError(f"{name}: payload of {len(payload)} bytes, expected {size}")
    return struct.unpack(fmt, payload[:size])


def _hello(p: bytes) -> Hello:
    t, cause = _unpack(">IB", p, "HELLO", exact=False)
    return Hello(t, cause, _text(p[5:]))


def _ring(p: bytes) -> RingMsg:
    t, active, freq = _unpack(">IBH", p, "RING")
    return RingMsg(t, bool(active), freq / 10.0)


def _hook(p: bytes) -> HookMsg:
    t, off_hook = _unpack(">IB", p, "HOOK")
    return HookMsg(t, bool(off_hook))


def _polarity(p: bytes) -> PolarityMsg:
    t, rev = _unpack(">IB", p, "POLARITY")
    return PolarityMsg(t, bool(rev))


def _loop(p: bytes) -> LoopMsg:
    t, present, ma = _unpack(">IBH", p, "LOOP")
    return LoopMsg(t, bool(present), ma)


def _voltage(p: bytes) -> VoltageMsg:
    t, present, dv = _unpack(">IBh", p, "VOLTAGE")
    return VoltageMsg(t, bool(present), dv / 10.0)


def _version(p: bytes) -> VersionMsg:
    (proto,) = _unpack(">B", p, "VERSION", exact=False)
    return VersionMsg(proto, _text(p[1:]))


def _selftest(p: bytes) -> SelfTestMsg:
    t, ok, failures = _unpack(">IBB", p, "SELFTEST")
    return SelfTestMsg(t, bool(ok), failures)


def _state(p: bytes) -> StateMsg:
    t, ring, hook, loop, rev, present, dv, ma = _unpack(">IBBBBBhH", p, "STATE")
    return StateMsg(t, bool(ring), bool(hook), bool(loop), bool(rev), bool(present), dv / 10.0, ma)


def _error(p: bytes) -> ErrorMsg:
    (code,) = _unpack(">B", p, "ERROR", exact=False)
    return ErrorMsg(code, _text(p[1:]))


_DECODERS = {
    MsgType.HELLO: _hello,
    MsgType.HEARTBEAT: lambda p: Heartbeat(*_unpack(">I", p, "HEARTBEAT")),
    MsgType.RING: _ring,
    MsgType.HOOK: _hook,
    MsgType.LOOP: _loop,
    MsgType.POLARITY: _polarity,
    MsgType.VOLTAGE: _voltage,
    MsgType.VERSION: _version,
    MsgType.SELFTEST: _selftest,
    MsgType.STATE: _state,
    MsgType.ERROR: _error,
}


def decode_message(frame: Frame) -> Message:
    """The message in a frame; ProtocolError for a version, type or payload we do not know."""
    if frame.version != PROTOCOL_VERSION:
        raise ProtocolError(f"board speaks protocol version {frame.version}; this gateway speaks "
                            f"{PROTOCOL_VERSION} (update the firmware or the gateway)")
    try:
        kind = MsgType(frame.msg_type)
    except ValueError:
        raise ProtocolError(f"unknown message type 0x{frame.msg_type:02x}") from None
    return _DECODERS[kind](frame.payload)


def encode_command(command: Command, seq: int) -> bytes:
    return encode_frame(Frame(PROTOCOL_VERSION, seq & 0xFF, int(command), b""))
