from __future__ import annotations

import types

import pytest

from lineguard.button import GpioButton
from lineguard.errors import DeviceError


class FakeGPIO(types.SimpleNamespace):
    BCM, IN, PUD_UP, FALLING = "BCM", "IN", "PUD_UP", "FALLING"

    def __init__(self, fail=False):
        super().__init__(mode=None, setups={}, detects={}, cleaned=[], fail=fail)

    def setmode(self, mode):
        self.mode = mode

    def setup(self, pin, direction, pull_up_down=None):
        if self.fail:
            raise RuntimeError("pin busy")
        self.setups[pin] = (direction, pull_up_down)

    def add_event_detect(self, pin, edge, callback, bouncetime):
        self.detects[pin] = (edge, callback, bouncetime)

    def remove_event_detect(self, pin):
        self.detects.pop(pin)

    def cleanup(self, pin):
        self.cleaned.append(pin)


def test_press_triggers_and_cleanup():
    gpio, presses = FakeGPIO(), []
    button = GpioButton(27, lambda: presses.append(1), gpio=gpio)
    assert gpio.mode == "BCM" and gpio.setups[27] == ("IN", "PUD_UP")
    edge, callback, bounce = gpio.detects[27]
    assert edge == "FALLING" and bounce >= 50
    callback(27)
    assert presses == [1]
    button.close()
    assert 27 not in gpio.detects and gpio.cleaned == [27]


def test_busy_pin_is_a_clear_error():
    with pytest.raises(DeviceError, match="GPIO27"):
        GpioButton(27, lambda: None, gpio=FakeGPIO(fail=True))
