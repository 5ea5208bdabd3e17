"""End to end: firmware under CPython <-> pty pair <-> pyserial <-> BoardLineMonitor <-> CallTracker."""

from __future__ import annotations

import os

import pytest

from lineguard.events import Direction, EndedBy
from lineguard.line.base import Answered, Hook, LineFault, LoopCurrent, Ring
from lineguard.line.board import COMPONENT, BoardLineMonitor
from lineguard.line.calls import CallEnd, CallStart, RingingStarted, TrackState
from lineguard.line.serial_link import SerialLink
from tests.firmware.sim_machine import WDT_RESET
from tests.line.boardbench import PtyBench


@pytest.fixture
def bench(tmp_path):
    b = PtyBench(tmp_path)
    b.plug()
    yield b
    if b.master is not None:
        b.unplug()


def monitor_for(bench: PtyBench) -> BoardLineMonitor:
    return BoardLineMonitor(SerialLink(str(bench.port), 115200, 0.5, COMPONENT), silence_timeout_s=3.0)


def test_incoming_call_survives_unplug_and_replug(bench):
    mon = monitor_for(bench)
    mon.open()
    bench.run(mon, 400)
    assert bench.take() == [] and mon.firmware and "1.0.0" in mon.firmware
    bench.line.ring_hz = 20.0
    bench.run(mon, 1000)
    bench.line.ring_hz = 0.0
    bench.run(mon, 1000)
    assert [(type(e), e.active) for e in bench.take()] == [(Ring, True), (Ring, False)]
    assert mon.cadence.on_s == pytest.approx(1.0, abs=0.2) and mon.cadence.off_s is None
    bench.line.off_hook()
    bench.run(mon, 300)
    assert {type(e) for e in bench.take()} == {Hook, LoopCurrent}
    assert isinstance(bench.tracked[0], RingingStarted)
    start = bench.tracked[-1]
    assert isinstance(start, CallStart) and start.direction is Direction.INCOMING

    bench.unplug()                                 # USB cable pulled mid-call
    bench.run(mon, 1000)
    (fault,) = bench.take()
    assert isinstance(fault, LineFault) and not fault.recovered and "lost" in fault.message
    assert bench.tracker.state is TrackState.IN_CALL

    bench.plug(off_hook=True)                      # plugged back: the board boots again, call still up
    bench.run(mon, 1500)
    (back,) = bench.take()
    assert isinstance(back, LineFault) and back.recovered, bench.events
    assert bench.tracker.state is TrackState.IN_CALL and len(bench.tracked) == 2

    bench.line.idle()                              # the worker hangs up
    bench.run(mon, 300)
    assert bench.tracked[-1] == CallEnd(bench.tracked[-1].time_s, EndedBy.NEAR_END)
    assert mon.stats.protocol_errors == 0


def test_board_reset_mid_stream_is_a_recovered_fault_and_keeps_the_call(bench):
    mon = monitor_for(bench)
    bench.line.off_hook()
    bench.run(mon, 2000)                           # outgoing: off-hook, then the far end answers
    bench.line.line_v = -8.0
    bench.run(mon, 300)
    assert any(isinstance(e, Answered) for e in bench.take())
    assert isinstance(bench.tracked[-1], CallStart) and bench.tracked[-1].direction is Direction.OUTGOING
    os.write(bench.master, b"\xa5\x01\x07\x11\x05\x00")   # the board died halfway through a frame
    bench.power_on(WDT_RESET, off_hook=True, line_v=-8.0)   # ...and the watchdog restarted it
    bench.run(mon, 1000)
    faults = bench.take()
    assert len(faults) == 1 and faults[0].recovered and "restarted" in faults[0].message
    assert "reset cause 3" in faults[0].message and mon.stats.resets == 1
    assert bench.tracker.state is TrackState.IN_CALL


def test_a_silent_board_is_a_fault_and_is_reopened(bench):
    mon = monitor_for(bench)
    bench.run(mon, 500)
    bench.frozen = True                            # firmware hangs, the port stays open
    bench.run(mon, 3600)
    (fault,) = bench.take()
    assert not fault.recovered and "silent" in fault.message
    bench.frozen = False
    bench.run(mon, 1500)
    (back,) = bench.take()
    assert back.recovered


def test_a_board_that_is_not_there_at_start_is_a_fault_then_found(tmp_path):
    bench = PtyBench(tmp_path)
    mon = monitor_for(bench)
    bench.slave = os.open(os.devnull, os.O_RDONLY)
    bench.run(mon, 1000)
    os.close(bench.slave)
    (fault,) = bench.take()
    assert "cannot open" in fault.message
    bench.plug()
    bench.run(mon, 1000)
    assert [f.recovered for f in bench.take()] == [True]
    bench.unplug()


def test_self_test_and_version_on_request(bench):
    from lineguard.line.protocol import Command

    mon = monitor_for(bench)
    bench.run(mon, 200)
    mon.request(Command.SELFTEST, 0.2)
    bench.run(mon, 200)
    assert mon.last_selftest is not None and mon.last_selftest.ok and mon.last_selftest.failures == 0
    assert mon.firmware.startswith("1.0.0") and mon.stats.lost_frames == 0


def test_line_watch_shows_the_board_live_and_its_self_test(bench, tmp_path, capsys):
    import json
    import threading
    import time

    from lineguard.cli import main

    config = tmp_path / "site.toml"
    config.write_text(f'[line]\nbackend = "board"\nport = "{bench.port}"\n'
                      '[audio]\nbackend = "pyaudio"\n[relay]\nbackend = "gpio"\n')
    stop = threading.Event()

    def board_runs() -> None:
        t0 = time.monotonic()
        while not stop.is_set():
            bench.line.ring_hz = 20.0 if 0.3 < time.monotonic() - t0 < 0.9 else 0.0
            bench.advance_board(5, wait=False)
            time.sleep(0.005)

    runner = threading.Thread(target=board_runs, daemon=True)
    runner.start()
    try:
        code = main(["line-watch", "--config", str(config), "--seconds", "1.5", "--selftest", "--json"])
    finally:
        stop.set()
        runner.join()
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0, records
    assert [r["active"] for r in records if r["type"] == "ring"] == [True, False]
    assert records[-1]["type"] == "selftest" and records[-1]["ok"] and "1.0.0" in records[-1]["firmware"]
