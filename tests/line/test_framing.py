"""Framer and protocol: split frames, garbage, noise, resets; byte by byte and fuzzed."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st

from lineguard.errors import ProtocolError
from lineguard.line.framing import MAX_FRAME_LEN, SOF, Frame, Framer, crc16, encode_frame
from lineguard.line.protocol import (
    Command, Hello, HookMsg, MsgType, RingMsg, StateMsg, decode_message, encode_command,
)

frames_st = st.builds(Frame, st.just(1), st.integers(0, 255), st.integers(0, 255), st.binary(max_size=64))
garbage_no_sof = st.binary(max_size=40).map(lambda b: b.replace(bytes([SOF]), b"\x00"))


def hook(seq: int, off: bool) -> Frame:
    return Frame(1, seq, MsgType.HOOK, struct.pack(">IB", 1000 + seq, off))


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1


def test_byte_by_byte_gives_the_same_frames():
    frames = [hook(i, i % 2 == 0) for i in range(5)]
    stream = b"".join(encode_frame(f) for f in frames)
    framer = Framer()
    out = []
    for byte in stream:
        out += framer.feed(bytes([byte]))
    assert out == frames and framer.buffered == 0


def test_garbage_with_sof_bytes_and_corrupted_frames_is_skipped():
    good = [hook(1, True), hook(2, False), hook(3, True)]
    bad = bytearray(encode_frame(hook(9, True)))
    bad[6] ^= 0x40                                          # line noise flips a bit
    stream = (b"\xa5\xa5\x01\xff" + encode_frame(good[0]) + bytes(bad) + b"\xa5\x01\x00\x11\x30"
              + encode_frame(good[1]) + b"\xa5" + encode_frame(good[2]))
    framer = Framer()
    assert framer.feed(stream) == good
    assert framer.stats.crc_errors >= 1 and framer.stats.length_errors >= 1


def test_board_reset_mid_frame_resyncs_on_the_hello():
    hello = Frame(1, 0, MsgType.HELLO, struct.pack(">IB", 0, 1) + b"1.0.0")
    cut = encode_frame(hook(7, True))[:6]                  # the board reset while sending this
    framer = Framer()
    out = framer.feed(encode_frame(hook(6, True)) + cut + encode_frame(hello) + encode_frame(hook(1, False)))
    assert out == [hook(6, True), hello, hook(1, False)]
    assert isinstance(decode_message(out[1]), Hello)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(garbage_no_sof, frames_st), max_size=8), st.lists(st.integers(1, 50), max_size=30))
def test_fuzz_any_split_and_sof_free_garbage_keep_every_frame(parts, cuts):
    stream = b"".join(g + encode_frame(f) for g, f in parts)
    framer = Framer()
    out, pos = [], 0
    for cut in cuts:
        out += framer.feed(stream[pos:pos + cut])
        pos += cut
    out += framer.feed(stream[pos:])
    assert out == [f for _, f in parts]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_fuzz_arbitrary_bytes_never_crash_and_the_buffer_stays_bounded(data, chunk):
    framer = Framer()
    for i in range(0, len(data), chunk):
        for frame in framer.feed(data[i:i + chunk]):
            try:
                decode_message(frame)
            except ProtocolError:
                pass
        assert framer.buffered < MAX_FRAME_LEN
    after = framer.feed(b"\x00" * MAX_FRAME_LEN + encode_frame(hook(5, True)))
    assert after[-1] == hook(5, True)                      # and it still hears the board afterwards


def test_messages_decode_and_bad_payloads_are_protocol_errors():
    assert decode_message(hook(0, True)) == HookMsg(1000, True)
    ring = decode_message(Frame(1, 0, MsgType.RING, struct.pack(">IBH", 5, 1, 205)))
    assert ring == RingMsg(5, True, 20.5)
    state = decode_message(Frame(1, 0, MsgType.STATE, struct.pack(">IBBBBBhH", 9, 0, 1, 1, 0, 1, -80, 30)))
    assert state == StateMsg(9, False, True, True, False, True, -8.0, 30)
    with pytest.raises(ProtocolError, match="HOOK: payload of 2 bytes"):
        decode_message(Frame(1, 0, MsgType.HOOK, b"\x00\x01"))
    with pytest.raises(ProtocolError, match="unknown message type 0x55"):
        decode_message(Frame(1, 0, 0x55, b""))
    with pytest.raises(ProtocolError, match="protocol version 2"):
        decode_message(Frame(2, 0, MsgType.HOOK, b""))


def test_commands_are_frames_the_firmware_parser_accepts():
    from tests.firmware.sim_machine import boot
    boot()
    import lgproto
    parser = lgproto.CommandParser()
    data = b"\xa5\x00" + encode_command(Command.GET_STATE, 7) + b"\xff" + encode_command(Command.SELFTEST, 8)
    got = []
    for byte in data:
        got += parser.feed(bytes([byte]))
    assert got == [(1, Command.GET_STATE, b""), (1, Command.SELFTEST, b"")]


def test_ring_cadence_is_measured_on_the_board_clock():
    from lineguard.line.board import RingCadence

    cadence = RingCadence()
    for t_ms, active in ((1000, True), (3000, False), (7000, True), (9000, False)):
        cadence.observe(RingMsg(t_ms, active, 20.0))
    assert (cadence.on_s, cadence.off_s) == (2.0, 4.0)
