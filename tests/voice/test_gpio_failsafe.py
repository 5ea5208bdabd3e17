"""The GPIO relay through a fake RPi.GPIO, and every path that releases it."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lineguard.config import RelaySettings
from lineguard.errors import DeviceError
from lineguard.relay import failsafe
from lineguard.relay.base import GuardedRelay
from lineguard.relay.gpio import GpioRelay

FAKE_DIR = Path(__file__).parent / "fake_gpio"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gpio(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE_DIR))
    for name in ("RPi", "RPi.GPIO"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module("RPi.GPIO")
    module.reset()
    monkeypatch.setitem(sys.modules, "RPi.GPIO", module)
    yield module
    module.reset()


@pytest.mark.parametrize("active_high, on, off", [(True, 1, 0), (False, 0, 1)])
def test_pin_is_an_output_starting_released_at_the_right_levels(gpio, active_high, on, off):
    relay = GpioRelay(17, active_high=active_high)
    assert gpio.mode == gpio.BCM and gpio.pins[17] == {"function": gpio.OUT, "level": off}
    relay.energize()
    assert gpio.pins[17]["level"] == on and relay.energized
    relay.release()
    assert gpio.pins[17]["level"] == off and not relay.energized
    relay.energize()
    relay.close()
    assert ("output", 17, off) in gpio.history[-2:] and gpio.history[-1] == ("cleanup", 17)
    assert 17 not in gpio.pins


def test_busy_pin_is_a_device_error_naming_it(gpio):
    gpio.fail_setup.add(17)
    with pytest.raises(DeviceError, match="relay GPIO17: cannot set up as output"):
        GpioRelay(17)


def test_missing_gpio_library_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "RPi.GPIO", None)
    with pytest.raises(DeviceError, match="rpi-lgpio"):
        GpioRelay(17)


def test_guard_releases_a_stuck_relay_from_its_own_thread(gpio):
    guarded = GuardedRelay(GpioRelay(17), max_energized_ms=500)
    guarded.energize(0.0)
    assert gpio.pins[17]["level"] == 1
    deadline = time.monotonic() + 10
    while gpio.pins[17]["level"] == 1 and time.monotonic() < deadline:
        time.sleep(0.05)          # the loop is "stuck": only the watchdog thread can help
    assert gpio.pins[17]["level"] == 0 and guarded.forced_releases == 1


def test_signal_releases_then_hands_over_to_the_previous_handler(gpio):
    relay = GuardedRelay(GpioRelay(17), 8000)
    seen = []
    before = signal.signal(signal.SIGHUP, lambda signum, frame: seen.append(gpio.pins[17]["level"]))
    undo = failsafe.install(relay, signals=(signal.SIGHUP,))
    try:
        relay.energize(0.0)
        os.kill(os.getpid(), signal.SIGHUP)
        assert seen == [0]          # the daemon's handler ran after the relay was released
    finally:
        undo()
        signal.signal(signal.SIGHUP, before)
        relay.close()


def test_release_pin_command_for_exec_stop_post(gpio):
    GpioRelay(27, active_high=False).energize()       # a process died with the relay energized
    assert gpio.pins[27]["level"] == 0
    message = failsafe.release_pin(RelaySettings(backend="gpio", pin=27, active_high=False))
    assert ("output", 27, 1) in gpio.history and gpio.history[-1] == ("cleanup", 27)
    assert "GPIO27 released" in message


CHILD = textwrap.dedent("""
    import sys, time
    from lineguard.relay import failsafe
    from lineguard.relay.base import GuardedRelay
    from lineguard.relay.gpio import GpioRelay
    relay = GuardedRelay(GpioRelay(17), 8000)
    failsafe.install(relay)
    relay.energize(0.0)
    print("energized", flush=True)
    time.sleep(60)
""")


def run_child(tmp_path: Path, sig: int) -> list[str]:
    log = tmp_path / "gpio.log"
    env = {**os.environ, "FAKE_GPIO_LOG": str(log), "PYTHONPATH": f"{FAKE_DIR}{os.pathsep}{ROOT / 'edge'}"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "energized"       # type: ignore[union-attr]
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    return log.read_text().splitlines()


@pytest.mark.slow
def test_sigterm_releases_the_relay_in_a_real_process(tmp_path):
    lines = run_child(tmp_path, signal.SIGTERM)
    assert lines[-2:] == ["output 17 1", "output 17 0"]


@pytest.mark.slow
def test_after_kill_9_the_stop_command_releases_the_pin(tmp_path):
    lines = run_child(tmp_path, signal.SIGKILL)
    assert lines[-1] == "output 17 1"                          # nothing ran in the dead process
    config = tmp_path / "lineguard.toml"
    config.write_text('[relay]\nbackend = "gpio"\npin = 17\n')
    env = {**os.environ, "FAKE_GPIO_LOG": str(tmp_path / "gpio.log"),
           "PYTHONPATH": f"{FAKE_DIR}{os.pathsep}{ROOT / 'edge'}"}
    main = "import sys; from lineguard.cli import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run([sys.executable, "-c", main, "relay", "release", "--config", str(config)],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "gpio.log").read_text().splitlines()[-2:] == ["output 17 0", "cleanup 17"]
