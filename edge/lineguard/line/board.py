"""LineMonitor for the RP2040 line-sense board on a serial port.

Layers: :class:`~lineguard.line.serial_link.SerialLink` (bytes, reconnect)
-> :class:`~lineguard.line.framing.Framer` (frames) ->
:func:`~lineguard.line.protocol.decode_message` (messages) -> line
observations here. The monitor keeps the last known line state and reports
changes only, so a reconnect or a board reset, after which the board sends
its full state, does not lose or duplicate the call in progress.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from lineguard.config import Settings
from lineguard.errors import ConfigError, ProtocolError
from lineguard.line.base import (
    CAP_HOOK, CAP_LOOP, CAP_RING, Answered, Hook, LineEvent, LineFault, LineVoltage, LoopCurrent, Ring,
)
from lineguard.line.framing import Frame, Framer
from lineguard.line.protocol import (
    Command, ErrorMsg, Heartbeat, Hello, HookMsg, LoopMsg, Message, PolarityMsg, RingMsg, SelfTestMsg, StateMsg,
    VersionMsg, VoltageMsg, decode_message, encode_command,
)
from lineguard.line.serial_link import SerialLink

log = logging.getLogger(__name__)

COMPONENT = "line-sense board"


@dataclass(frozen=True)
class LineState:
    ringing: bool = False
    off_hook: bool = False
    loop: bool = False
    reversed: bool = False
    line_present: bool = True


@dataclass
class BoardStats:
    frames: int = 0
    lost_frames: int = 0
    resets: int = 0
    protocol_errors: int = 0


class RingCadence:
    """Ring on/off times measured on the board's clock (for the installer: the country profile's
    ``ring_on_s``/``ring_off_s``, unknown for Korea)."""

    def __init__(self) -> None:
        self.on_s: float | None = None
        self.off_s: float | None = None
        self._since_ms: int | None = None
        self._active = False

    def observe(self, msg: RingMsg) -> None:
        if msg.active == self._active:
            return
        if self._since_ms is not None:
            span_s = ((msg.t_ms - self._since_ms) & 0xFFFFFFFF) / 1000.0
            if msg.active:
                self.off_s = span_s
            else:
                self.on_s = span_s
                log.info("ring burst %.2f s on, %s s off (pulses at %.1f Hz)", span_s,
                         f"{self.off_s:.2f}" if self.off_s is not None else "?", msg.pulse_hz)
        self._active, self._since_ms = msg.active, msg.t_ms


class BoardLineMonitor:
    capabilities = frozenset({CAP_RING, CAP_HOOK, CAP_LOOP})

    def __init__(self, link: SerialLink, silence_timeout_s: float = 3.0) -> None:
        self.link = link
        self.silence_timeout_s = silence_timeout_s
        self.framer = Framer()
        self.state = LineState()
        self.stats = BoardStats()
        self.firmware: str | None = None
        self.last_selftest: SelfTestMsg | None = None
        self.cadence = RingCadence()
        self._seen_connections = 0
        self._expected_seq: int | None = None
        self._last_frame_s = 0.0
        self._cmd_seq = 0
        self._version_fault = False
        self._down = False
        self._frames_since_connect = 0

    def open(self) -> None:
        """Connects on the first poll (a missing board is a fault, not a crash)."""

    def close(self) -> None:
        self.link.close()

    def request(self, command: Command, now_s: float) -> None:
        self.link.write(encode_command(command, self._cmd_seq), now_s)
        self._cmd_seq = (self._cmd_seq + 1) & 0xFF

    def poll(self, now_s: float) -> list[LineEvent]:
        data = self.link.read(now_s)
        if self.link.connections != self._seen_connections:
            self._on_connected(now_s)
        events = self._link_faults()
        frames = self.framer.feed(data)
        if frames and self._down:
            self._down = False
            events.append(LineFault(now_s, f"{COMPONENT} on {self.link.port} is back", recovered=True))
        for frame in frames:
            events += self._on_frame(frame, now_s)
        if self.link.connected and now_s - self._last_frame_s > self.silence_timeout_s:
            self.link.drop(now_s, f"{COMPONENT} on {self.link.port} silent for {self.silence_timeout_s:g} s")
            events += self._link_faults()
        return events

    def _link_faults(self) -> list[LineEvent]:
        """One fault per outage; it is over when frames flow again, not when the port opens."""
        out: list[LineEvent] = []
        for fault in self.link.take_events():
            if not fault.recovered and not self._down:
                self._down = True
                out.append(fault)
        return out

    def _on_connected(self, now_s: float) -> None:
        self._seen_connections = self.link.connections
        self.framer.reset()
        self._expected_seq = None
        self._frames_since_connect = 0
        self._last_frame_s = now_s
        self.request(Command.GET_VERSION, now_s)
        self.request(Command.GET_STATE, now_s)

    def _on_frame(self, frame: Frame, now_s: float) -> list[LineEvent]:
        self._last_frame_s = now_s
        self.stats.frames += 1
        self._frames_since_connect += 1
        try:
            msg = decode_message(frame)
        except ProtocolError as exc:
            return self._protocol_error(exc, now_s)
        if isinstance(msg, Hello):
            return self._on_hello(msg, frame, now_s)
        self._check_seq(frame.seq, now_s)
        return self._on_message(msg, now_s)

    def _protocol_error(self, exc: ProtocolError, now_s: float) -> list[LineEvent]:
        self.stats.protocol_errors += 1
        log.warning("%s: %s", COMPONENT, exc)
        if "version" in str(exc) and not self._version_fault:
            self._version_fault = True
            return [LineFault(now_s, f"{COMPONENT}: {exc}")]
        return []

    def _on_hello(self, msg: Hello, frame: Frame, now_s: float) -> list[LineEvent]:
        self.firmware = msg.firmware
        self._expected_seq = (frame.seq + 1) & 0xFF
        if self._frames_since_connect == 1:
            return []                      # the board's first words after we connected
        self.stats.resets += 1
        self.request(Command.GET_STATE, now_s)
        return [LineFault(now_s, f"{COMPONENT} restarted (firmware {msg.firmware}, reset cause {msg.reset_cause})",
                          recovered=True)]

    def _check_seq(self, seq: int, now_s: float) -> None:
        expected, self._expected_seq = self._expected_seq, (seq + 1) & 0xFF
        if expected is not None and seq != expected:
            self.stats.lost_frames += (seq - expected) & 0xFF
            log.warning("%s: frames lost (seq %d, expected %d): asking for the state", COMPONENT, seq, expected)
            self.request(Command.GET_STATE, now_s)

    def _on_message(self, msg: Message, now_s: float) -> list[LineEvent]:
        if isinstance(msg, RingMsg):
            self.cadence.observe(msg)
            return self._update(now_s, replace(self.state, ringing=msg.active))
        if isinstance(msg, HookMsg):
            return self._update(now_s, replace(self.state, off_hook=msg.off_hook))
        if isinstance(msg, LoopMsg):
            return self._update(now_s, replace(self.state, loop=msg.present))
        if isinstance(msg, PolarityMsg):
            return self._update(now_s, replace(self.state, reversed=msg.reversed), answer=True)
        if isinstance(msg, VoltageMsg):
            return self._update(now_s, replace(self.state, line_present=msg.present), volts=msg.volts)
        if isinstance(msg, StateMsg):
            new = LineState(msg.ringing, msg.off_hook, msg.loop, msg.reversed, msg.line_present)
            return self._update(now_s, new, volts=msg.volts)
        if isinstance(msg, VersionMsg):
            self.firmware = msg.firmware
        elif isinstance(msg, SelfTestMsg):
            self.last_selftest = msg
        elif isinstance(msg, ErrorMsg):
            log.warning("%s reports error %d: %s", COMPONENT, msg.code, msg.text)
        elif not isinstance(msg, Heartbeat):
            log.debug("%s: ignoring %r", COMPONENT, msg)
        return []

    def _update(self, now_s: float, new: LineState, answer: bool = False, volts: float = 0.0) -> list[LineEvent]:
        old, self.state = self.state, new
        out: list[LineEvent] = []
        if new.line_present != old.line_present:
            out.append(LineVoltage(now_s, volts, new.line_present))
            message = f"{COMPONENT}: line voltage " + ("back" if new.line_present else "lost (line dead)")
            out.append(LineFault(now_s, message, recovered=new.line_present))
        if new.ringing != old.ringing:
            out.append(Ring(now_s, new.ringing))
        if new.off_hook != old.off_hook:
            out.append(Hook(now_s, new.off_hook))
        if new.loop != old.loop:
            out.append(LoopCurrent(now_s, new.loop))
        if answer and new.reversed != old.reversed and new.off_hook:
            out.append(Answered(now_s))   # polarity reversal = answer supervision
        return out


def open_monitor(settings: Settings) -> BoardLineMonitor:
    line = settings.line
    if not line.port:
        raise ConfigError("settings", [("line.port", "the serial port of the line-sense board is required "
                                                     "(e.g. /dev/ttyACM0 or /dev/serial0)")])
    link = SerialLink(line.port, line.baudrate, line.reconnect_delay_s, COMPONENT)
    return BoardLineMonitor(link, line.silence_timeout_s)
