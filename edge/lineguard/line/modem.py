"""LineMonitor for a stock caller-ID voice modem (Conexant CX93010 class).

Init: ``ATE0`` then ``AT+VCID=1`` (formatted caller ID), falling back to
``AT#CID=1`` when the modem answers ERROR or nothing. Then it reports RING
and the caller-ID block (DATE/TIME/NMBR/NAME; ``P`` = private, ``O`` =
unavailable). All without blocking: the init is a small state machine
driven by ``poll``.

What it cannot do: a modem in parallel on the line has no hook or
loop-current sense, so it cannot tell when a call is answered or ends;
it only gives ring and caller ID.
"""

from __future__ import annotations

import logging
import re
from enum import Enum

from lineguard.config import Settings
from lineguard.errors import ConfigError
from lineguard.line.base import CAP_CALLER_ID, CAP_RING, CallerId, LineEvent, LineFault, Ring
from lineguard.line.serial_link import SerialLink

log = logging.getLogger(__name__)

COMPONENT = "caller-ID modem"
COMMAND_TIMEOUT_S = 2.0
CID_SETTLE_S = 0.5          # flush a caller-ID block this long after its last field
MAX_LINE_BYTES = 256
INIT_COMMANDS = ("ATE0", "AT+VCID=1", "AT#CID=1")
_FIELD = re.compile(r"\b(DATE|TIME|NMBR|NAME|DDN_NMBR|MESG)\s*=\s*(.*?)\s*$")   # noise may precede it
_NUMBER = re.compile(r"^\+?[0-9*#\- ]{1,32}$")
_PRIVATE = {"P", "PRIVATE", "WITHHELD", "ANONYMOUS"}
_UNAVAILABLE = {"O", "OUT OF AREA", "UNAVAILABLE", "UNKNOWN"}


class ModemState(str, Enum):
    INIT = "init"          # waiting for the answer to INIT_COMMANDS[step]
    READY = "ready"
    NO_CID = "no_cid"      # ring only: the modem refused both caller-ID commands


class ModemLineMonitor:
    capabilities = frozenset({CAP_RING, CAP_CALLER_ID})

    def __init__(self, link: SerialLink) -> None:
        self.link = link
        self.state = ModemState.INIT
        self.cid_command: str | None = None
        self.garbled_lines = 0
        self._step = 0
        self._sent_s = 0.0
        self._seen_connections = 0
        self._buf = bytearray()
        self._cid: dict[str, str] = {}
        self._cid_s = 0.0

    def open(self) -> None:
        """Connects on the first poll (a missing modem is a fault, not a crash)."""

    def close(self) -> None:
        self.link.close()

    def poll(self, now_s: float) -> list[LineEvent]:
        data = self.link.read(now_s)
        if self.link.connections != self._seen_connections:
            self._seen_connections = self.link.connections
            self._buf.clear()
            self._send_step(0, now_s)
        events: list[LineEvent] = []
        for line in self._lines(data):
            events += self._on_line(line, now_s)
        if self.state is ModemState.INIT and now_s - self._sent_s > COMMAND_TIMEOUT_S:
            events += self._init_answer("TIMEOUT", now_s)
        if self._cid and now_s - self._cid_s >= CID_SETTLE_S:
            events += self._flush_cid()
        return list(self.link.take_events()) + events

    # -- bytes to lines ------------------------------------------------------------

    def _lines(self, data: bytes) -> list[str]:
        self._buf.extend(data)
        out: list[str] = []
        while True:
            cut = min((i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0), default=-1)
            if cut < 0:
                break
            raw = bytes(self._buf[:cut])
            del self._buf[:cut + 1]
            if raw.strip():
                out.append(raw.decode("ascii", errors="replace").strip())
        if len(self._buf) > MAX_LINE_BYTES:    # no line end in sight: garbage
            self.garbled_lines += 1
            self._buf.clear()
        return out

    # -- lines to events -------------------------------------------------------------

    def _on_line(self, line: str, now_s: float) -> list[LineEvent]:
        if self.state is ModemState.INIT and line in ("OK", "ERROR"):
            return self._init_answer(line, now_s)
        if line == "RING":
            return self._flush_cid() + [Ring(now_s, True), Ring(now_s, False)]
        match = _FIELD.search(line)
        if match:
            key, value = match.groups()
            if key == "NMBR" and not _readable_number(value):
                self.garbled_lines += 1
                log.warning("%s: garbled number %r ignored", COMPONENT, value)
                return []
            out = self._flush_cid() if key in self._cid else []
            self._cid[key] = value
            self._cid_s = now_s
            return out
        if not line.startswith("AT") and line not in ("OK", "ERROR"):
            self.garbled_lines += 1
            log.debug("%s: ignoring line %r", COMPONENT, line)
        return []

    def _send_step(self, step: int, now_s: float) -> None:
        self._step = step
        self.state = ModemState.INIT
        self._sent_s = now_s
        self.link.write(INIT_COMMANDS[step].encode() + b"\r", now_s)

    def _init_answer(self, answer: str, now_s: float) -> list[LineEvent]:
        command = INIT_COMMANDS[self._step]
        if answer == "OK" and self._step > 0:
            self.state = ModemState.READY
            self.cid_command = command
            log.info("%s ready (%s)", COMPONENT, command)
            return []
        if self._step + 1 < len(INIT_COMMANDS):
            if self._step > 0:
                log.info("%s: %s answered %s; trying the older form", COMPONENT, command, answer)
            self._send_step(self._step + 1, now_s)
            return []
        self.state = ModemState.NO_CID
        return [LineFault(now_s, f"{COMPONENT} on {self.link.port} refused {' and '.join(INIT_COMMANDS[1:])}: "
                                 "ring only, no caller ID")]

    def _flush_cid(self) -> list[LineEvent]:
        fields, self._cid = self._cid, {}
        if "NMBR" not in fields and "NAME" not in fields:
            return []
        number, status = _number(fields.get("NMBR", ""))
        name = fields.get("NAME") or None
        if name is not None and (name.upper() in _PRIVATE | _UNAVAILABLE or not name.isprintable()):
            name = None
        return [CallerId(self._cid_s, number, name, status)]


def _number(raw: str) -> tuple[str | None, str]:
    value = raw.strip().upper()
    if value in _PRIVATE:
        return None, "private"
    if value in _UNAVAILABLE or not value:
        return None, "unavailable"
    return value.replace(" ", "").replace("-", ""), "ok"


def _readable_number(raw: str) -> bool:
    value = raw.strip().upper()
    return value in _PRIVATE or value in _UNAVAILABLE or bool(_NUMBER.match(value))


def open_monitor(settings: Settings) -> ModemLineMonitor:
    line = settings.line
    if not line.port:
        raise ConfigError("settings", [("line.port", "the serial port of the modem is required (e.g. /dev/ttyACM0)")])
    return ModemLineMonitor(SerialLink(line.port, line.baudrate, line.reconnect_delay_s, COMPONENT))
