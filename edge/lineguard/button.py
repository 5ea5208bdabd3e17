"""The worker's manual-trigger button on a GPIO pin (pull-up, pressed = low).

A press starts the warning / termination sequence for the current call,
like the handset code. The RPi.GPIO module is imported lazily and can be
passed in (tests pass a fake).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from types import ModuleType

from lineguard.errors import DeviceError

log = logging.getLogger(__name__)

DEBOUNCE_MS = 200


class GpioButton:
    def __init__(self, pin: int, on_press: Callable[[], None], gpio: ModuleType | None = None) -> None:
        if gpio is None:
            try:
                gpio = importlib.import_module("RPi.GPIO")
            except ImportError as exc:
                raise DeviceError(f"relay.button_pin needs RPi.GPIO or rpi-lgpio ({exc})") from None
        self.gpio = gpio
        self.pin = pin
        self.on_press = on_press
        gpio.setmode(gpio.BCM)
        try:
            gpio.setup(pin, gpio.IN, pull_up_down=gpio.PUD_UP)
            gpio.add_event_detect(pin, gpio.FALLING, callback=self._pressed, bouncetime=DEBOUNCE_MS)
        except (RuntimeError, OSError) as exc:
            raise DeviceError(f"button GPIO{pin}: cannot watch the pin ({exc})") from None

    def _pressed(self, channel: int) -> None:
        log.info("manual trigger button pressed (GPIO%d)", channel)
        self.on_press()

    def close(self) -> None:
        try:
            self.gpio.remove_event_detect(self.pin)
        finally:
            self.gpio.cleanup(self.pin)
