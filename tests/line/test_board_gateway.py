"""The whole gateway on the line-sense board: firmware <-> pty <-> pyserial <-> BoardLineMonitor <-> Gateway."""

from __future__ import annotations

import numpy as np

from lineguard.app import build_simulated
from lineguard.clock import VirtualClock
from lineguard.config import parse_settings
from lineguard.line.board import COMPONENT, BoardLineMonitor
from lineguard.line.serial_link import SerialLink
from lineguard.line.virtual import FarEndScript
from lineguard.sinks import MemorySink
from tests.fakes import MarkerDetector
from tests.line.boardbench import PtyBench


def test_unplugged_board_is_a_fault_event_and_the_call_goes_on(tmp_path):
    bench = PtyBench(tmp_path)
    bench.plug()
    sink = MemorySink()
    script = FarEndScript(np.zeros(8000 * 12, np.float32), 8000, rings=0, far_hangs_up=False)
    rig = build_simulated(parse_settings({}), script, VirtualClock(), detector=MarkerDetector({}), sinks=[sink])
    # the line-sense board replaces the virtual line's own monitor (audio still comes from the virtual line)
    rig.gateway.line = BoardLineMonitor(SerialLink(str(bench.port), 115200, 0.5, COMPONENT), silence_timeout_s=3.0)
    script_steps = [
        (0.5, lambda: setattr(bench.line, "ring_hz", 20.0)),
        (1.5, lambda: setattr(bench.line, "ring_hz", 0.0)),
        (3.0, bench.line.off_hook),
        (4.0, bench.unplug),
        (6.0, lambda: bench.plug(off_hook=True)),
        (9.0, lambda: bench.line.idle()),
    ]

    def until(gw) -> bool:
        now_ms = int(rig.clock.now() * 1000)
        while script_steps and now_ms >= script_steps[0][0] * 1000:
            script_steps.pop(0)[1]()
        if now_ms > bench.now_ms:
            bench.advance_board((now_ms - bench.now_ms) // 5 * 5)
        return rig.clock.now() > 10.0

    try:
        rig.gateway.run(until)
    finally:
        if bench.master is not None:
            bench.unplug()
    events = [e for e in sink.events if e.TYPE != "status" or e.state == "ringing"]
    assert [e.TYPE for e in events] == ["status", "call_started", "fault", "fault", "call_ended"]
    ringing, started, lost, back, ended = events
    assert 0.5 <= ringing.time < 0.8 and started.direction.value == "incoming" and 3.0 <= started.time < 3.2
    assert lost.component == "line" and not lost.recovered and 4.0 <= lost.time < 4.2
    assert back.recovered and 6.0 <= back.time < 6.6
    assert lost.call_id == back.call_id == started.call_id == ended.call_id
    assert ended.ended_by.value == "near_end" and 9.0 <= ended.time < 9.2
