"""A serial port that comes back: open, read without blocking, reconnect after a fault.

Both serial line backends (the line-sense board and the caller-ID modem) sit
on one of these. Unplugging the device makes the next read or write fail;
the link closes the port, reports a :class:`LineFault`, and tries to reopen
it every ``reconnect_delay_s``; when it succeeds it reports the fault as
recovered and counts a new connection so the backend can re-initialize.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from lineguard.line.base import LineFault

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 4096


class SerialPort(Protocol):
    def read(self, size: int) -> bytes: ...

    def write(self, data: bytes) -> Any: ...

    def close(self) -> None: ...


def open_pyserial(port: str, baudrate: int) -> SerialPort:
    import serial   # pyserial, imported lazily

    return serial.Serial(port, baudrate, timeout=0, write_timeout=1.0, exclusive=True)


class SerialLink:
    def __init__(self, port: str, baudrate: int, reconnect_delay_s: float, component: str,
                 opener: Callable[[str, int], SerialPort] = open_pyserial) -> None:
        self.port = port
        self.baudrate = baudrate
        self.reconnect_delay_s = reconnect_delay_s
        self.component = component
        self.opener = opener
        self.connections = 0            # successful opens so far
        self._serial: SerialPort | None = None
        self._retry_at_s = 0.0
        self._faulted = False
        self._events: list[LineFault] = []

    @property
    def connected(self) -> bool:
        return self._serial is not None

    def read(self, now_s: float) -> bytes:
        """Whatever bytes are waiting (maybe none); reconnects when it is time."""
        if self._serial is None:
            if now_s < self._retry_at_s or not self._connect(now_s):
                return b""
        assert self._serial is not None
        try:
            return self._serial.read(READ_CHUNK_BYTES) or b""
        except (OSError, ValueError) as exc:   # SerialException is an OSError
            self.drop(now_s, f"{self.component} on {self.port} lost: {exc}")
            return b""

    def write(self, data: bytes, now_s: float) -> None:
        if self._serial is None:
            return
        try:
            self._serial.write(data)
        except (OSError, ValueError) as exc:
            self.drop(now_s, f"{self.component} on {self.port}: write failed: {exc}")

    def drop(self, now_s: float, why: str) -> None:
        """Close the port, report the fault, retry after the delay."""
        log.warning("%s", why)
        self._close_port()
        self._report(LineFault(now_s, why))
        self._retry_at_s = now_s + self.reconnect_delay_s

    def take_events(self) -> list[LineFault]:
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        self._close_port()

    def _connect(self, now_s: float) -> bool:
        try:
            self._serial = self.opener(self.port, self.baudrate)
        except (OSError, ValueError) as exc:
            self._retry_at_s = now_s + self.reconnect_delay_s
            self._report(LineFault(now_s, f"{self.component} on {self.port}: cannot open: {exc}"))
            return False
        self.connections += 1
        log.info("%s connected on %s", self.component, self.port)
        if self._faulted:
            self._faulted = False
            self._events.append(LineFault(now_s, f"{self.component} on {self.port} reconnected", recovered=True))
        return True

    def _report(self, fault: LineFault) -> None:
        if not self._faulted:       # one fault per outage, not one per retry
            self._faulted = True
            self._events.append(fault)

    def _close_port(self) -> None:
        port, self._serial = self._serial, None
        if port is None:
            return
        try:
            port.close()
        except OSError as exc:       # the device is already gone; nothing more to release
            log.debug("closing %s: %s", self.port, exc)
