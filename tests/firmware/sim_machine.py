"""A simulated MicroPython ``machine`` + ``utime`` for running the firmware under CPython.

The test owns a :class:`SimWorld`: it sets pin levels and ADC readings,
advances time (timers fire as it passes), and reads what the firmware wrote
to the UART (or connects the UART to a file descriptor, e.g. a pty).
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
PWRON_RESET = 1
WDT_RESET = 3


class SimWorld:
    def __init__(self, reset_cause: int = PWRON_RESET) -> None:
        self.now_ms = 0
        self.pins: dict[int, int] = {}
        self.adc: dict[int, int] = {26: 0, 27: 32768, 28: 0}
        self.timers: list[SimTimer] = []
        self.uart_tx = bytearray()     # what the firmware wrote (when no fd)
        self.uart_rx = bytearray()     # what the firmware will read (when no fd)
        self.uart_fd: int | None = None
        self.reset_cause = reset_cause
        self.wdt_feeds = 0
        self.uart_written = 0          # bytes the firmware wrote so far
        self.hooks: list = []          # called every ms before the timers: the line model

    def advance(self, ms: int) -> None:
        for _ in range(ms):
            self.now_ms += 1
            for hook in self.hooks:
                hook(self.now_ms)
            for timer in list(self.timers):
                timer.maybe_fire(self.now_ms)


_world = SimWorld()


def world() -> SimWorld:
    return _world


class Pin:
    IN, OUT = 0, 1
    PULL_UP, PULL_DOWN = 1, 2

    def __init__(self, pin_id, mode=IN, pull=None):
        self.id = pin_id
        if pull == Pin.PULL_UP:
            _world.pins.setdefault(pin_id, 1)
        _world.pins.setdefault(pin_id, 0)

    def value(self, v=None):
        if v is None:
            return _world.pins[self.id]
        _world.pins[self.id] = 1 if v else 0
        return None


class ADC:
    def __init__(self, channel):
        self.channel = channel

    def read_u16(self):
        return int(_world.adc[self.channel]) & 0xFFFF


class SimTimer:
    PERIODIC, ONE_SHOT = 1, 0

    def __init__(self, timer_id=-1):
        self.period_ms = 0
        self.callback = None
        self.next_ms = 0

    def init(self, freq=None, period=None, mode=PERIODIC, callback=None):
        self.period_ms = int(period if period is not None else 1000 // freq)
        self.callback = callback
        self.next_ms = _world.now_ms + self.period_ms
        _world.timers.append(self)

    def deinit(self):
        if self in _world.timers:
            _world.timers.remove(self)

    def maybe_fire(self, now_ms):
        while self.callback is not None and now_ms >= self.next_ms:
            self.next_ms += self.period_ms
            self.callback(self)


class UART:
    def __init__(self, uart_id, baudrate=115200, tx=None, rx=None):
        self.baudrate = baudrate

    def any(self):
        if _world.uart_fd is not None:
            return 4096 if _readable(_world.uart_fd) else 0
        return len(_world.uart_rx)

    def read(self, n=-1):
        if _world.uart_fd is not None:
            try:
                return os.read(_world.uart_fd, n)
            except BlockingIOError:
                return None
        data = bytes(_world.uart_rx[:n] if n >= 0 else _world.uart_rx)
        del _world.uart_rx[:len(data)]
        return data or None

    def write(self, data):
        _world.uart_written += len(data)
        if _world.uart_fd is not None:
            view = memoryview(bytes(data))
            while view:
                view = view[os.write(_world.uart_fd, view):]
        else:
            _world.uart_tx.extend(data)
        return len(data)


class WDT:
    def __init__(self, timeout=1000):
        self.timeout = timeout

    def feed(self):
        _world.wdt_feeds += 1


def _readable(fd: int) -> bool:
    import select
    return bool(select.select([fd], [], [], 0)[0])


def _machine_module() -> types.ModuleType:
    mod = types.ModuleType("machine")
    mod.Pin, mod.ADC, mod.Timer, mod.UART, mod.WDT = Pin, ADC, SimTimer, UART, WDT
    mod.PWRON_RESET, mod.WDT_RESET = PWRON_RESET, WDT_RESET
    mod.reset_cause = lambda: _world.reset_cause
    return mod


def _utime_module() -> types.ModuleType:
    mod = types.ModuleType("utime")
    mod.ticks_ms = lambda: _world.now_ms & 0x3FFFFFFF
    mod.ticks_diff = lambda a, b: ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000
    mod.ticks_add = lambda a, b: (a + b) & 0x3FFFFFFF
    mod.sleep_ms = lambda ms: _world.advance(ms)
    return mod


def boot(new_world: SimWorld | None = None) -> tuple[SimWorld, types.ModuleType]:
    """Power the simulated board up: fresh world, firmware modules imported anew.

    Returns the world and the firmware's ``main`` module; ``main.Board()``
    is the running firmware.
    """
    global _world
    _world = new_world or SimWorld()
    sys.modules["machine"] = _machine_module()
    sys.modules["utime"] = _utime_module()
    if str(FIRMWARE_DIR) not in sys.path:
        sys.path.insert(0, str(FIRMWARE_DIR))
    for name in ("lgproto", "linesense", "main"):
        sys.modules.pop(name, None)
    return _world, importlib.import_module("main")


class SimLine:
    """The analog side as the board's inputs see it, applied every millisecond."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.ring_hz = 0.0             # > 0: ringing at this frequency
        self.loop_ma = 0.0
        self.line_v = 48.0             # exchange side, signed
        self.phone_v = 48.0            # phone side, magnitude
        world.hooks.append(self.apply)
        self.apply(world.now_ms)

    def idle(self) -> None:
        self.ring_hz, self.loop_ma, self.line_v, self.phone_v = 0.0, 0.0, 48.0, 48.0

    def off_hook(self) -> None:
        self.ring_hz, self.loop_ma, self.line_v, self.phone_v = 0.0, 35.0, 8.0, 8.0

    def apply(self, now_ms: int) -> None:
        pin = 1
        if self.ring_hz > 0:
            pin = 0 if (now_ms * self.ring_hz / 1000.0) % 1.0 < 0.5 else 1
        self.world.pins[2] = pin
        self.world.adc[26] = min(65535, int(self.loop_ma / 150.0 * 65535))
        self.world.adc[27] = max(0, min(65535, int(32768 + self.line_v / 300.0 * 65535)))
        self.world.adc[28] = min(65535, int(abs(self.phone_v) / 150.0 * 65535))


def run_board(world: SimWorld, board, ms: int, step_ms: int = 5) -> None:
    """Advance time, letting the firmware's main loop run every ``step_ms``."""
    for _ in range(0, ms, step_ms):
        world.advance(step_ms)
        board.service()
