"""Relay on a Raspberry Pi GPIO pin (RPi.GPIO API; rpi-lgpio provides it on Pi 5)."""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

from lineguard.errors import DeviceError

log = logging.getLogger(__name__)


def _gpio_module() -> ModuleType:
    try:
        return importlib.import_module("RPi.GPIO")
    except ImportError as exc:
        raise DeviceError(
            "relay.backend = 'gpio' needs RPi.GPIO (Pi 4) or rpi-lgpio (Pi 5): "
            f"pip install 'lineguard[pi]' ({exc})"
        ) from None


class GpioRelay:
    """Drives the relay coil; ``active_high`` is the level that energizes it."""

    def __init__(self, pin: int, active_high: bool = True, gpio: ModuleType | None = None) -> None:
        self.gpio = gpio or _gpio_module()
        self.pin = pin
        self._on = self.gpio.HIGH if active_high else self.gpio.LOW
        self._off = self.gpio.LOW if active_high else self.gpio.HIGH
        self._energized = False
        self.gpio.setwarnings(False)
        self.gpio.setmode(self.gpio.BCM)
        try:
            self.gpio.setup(pin, self.gpio.OUT, initial=self._off)
        except (RuntimeError, OSError) as exc:
            raise DeviceError(f"relay GPIO{pin}: cannot set up as output ({exc})") from None

    @property
    def energized(self) -> bool:
        return self._energized

    def energize(self) -> None:
        self.gpio.output(self.pin, self._on)
        self._energized = True

    def release(self) -> None:
        self.gpio.output(self.pin, self._off)
        self._energized = False

    def close(self) -> None:
        try:
            self.release()
        finally:
            self.gpio.cleanup(self.pin)
