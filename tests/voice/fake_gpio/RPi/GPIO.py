"""A fake ``RPi.GPIO``: same names and rules as the real module, records every call.

In-process tests put it into ``sys.modules``; subprocess tests put this
folder on PYTHONPATH and read the log named by ``FAKE_GPIO_LOG``.
"""

from __future__ import annotations

import os

BCM = 11
BOARD = 10
OUT = 0
IN = 1
HIGH = 1
LOW = 0
PUD_OFF = 20

mode: int | None = None
pins: dict[int, dict] = {}           # pin -> {"function": OUT/IN, "level": 0/1}
history: list[tuple] = []            # every call, in order
fail_setup: set[int] = set()         # pins whose setup raises (a pin in use)


def _log(*entry) -> None:
    history.append(entry)
    path = os.environ.get("FAKE_GPIO_LOG")
    if path:
        with open(path, "a") as f:
            f.write(" ".join(str(x) for x in entry) + "\n")
            f.flush()
            os.fsync(f.fileno())


def reset() -> None:
    global mode
    mode = None
    pins.clear()
    history.clear()
    fail_setup.clear()


def setwarnings(flag: bool) -> None:
    _log("setwarnings", flag)


def setmode(new_mode: int) -> None:
    global mode
    if mode is not None and mode != new_mode:
        raise ValueError("A different mode has already been set!")
    mode = new_mode
    _log("setmode", new_mode)


def setup(pin: int, function: int, pull_up_down: int = PUD_OFF, initial: int = -1) -> None:
    if mode is None:
        raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)")
    if pin in fail_setup:
        raise RuntimeError(f"GPIO {pin} is busy")
    level = initial if initial in (HIGH, LOW) else LOW
    pins[pin] = {"function": function, "level": level}
    _log("setup", pin, "OUT" if function == OUT else "IN", level)


def output(pin: int, value: int) -> None:
    if pins.get(pin, {}).get("function") != OUT:
        raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
    pins[pin]["level"] = int(bool(value))
    _log("output", pin, int(bool(value)))


def input(pin: int) -> int:  # noqa: A001 - the real module's name
    return pins[pin]["level"]


def cleanup(pin: int | None = None) -> None:
    for p in ([pin] if pin is not None else list(pins)):
        pins.pop(p, None)
    _log("cleanup", pin)
