"""No byte sequence crashes the serial backends (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from lineguard.line.base import LineEvent
from lineguard.line.board import COMPONENT, BoardLineMonitor
from lineguard.line.framing import Frame, encode_frame
from lineguard.line.modem import ModemLineMonitor
from lineguard.line.serial_link import SerialLink


class ScriptedPort:
    """An in-memory serial port that hands out prepared chunks, then nothing."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.written = bytearray()

    def read(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def write(self, data: bytes) -> int:
        self.written.extend(data)
        return len(data)

    def close(self) -> None:
        pass


frames = st.builds(lambda v, s, t, p: encode_frame(Frame(v, s, t, p)),
                   st.sampled_from([1, 1, 1, 2]), st.integers(0, 255),
                   st.sampled_from([0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x20, 0x21, 0x22, 0x7F, 0x55]),
                   st.binary(max_size=16))
pieces = st.lists(st.one_of(frames, st.binary(max_size=30)), max_size=25)


@settings(max_examples=150, deadline=None)
@given(pieces, st.integers(1, 40))
def test_board_monitor_survives_any_stream(parts, chunk):
    stream = b"".join(parts)
    port = ScriptedPort([stream[i:i + chunk] for i in range(0, len(stream), chunk)])
    mon = BoardLineMonitor(SerialLink("/dev/fake", 115200, 1.0, COMPONENT, opener=lambda p, b: port),
                           silence_timeout_s=3.0)
    events = []
    for step in range(len(port.chunks) + 1):
        events += mon.poll(step * 0.01)
    assert all(isinstance(e, LineEvent.__args__) for e in events)
    assert port.written                      # it asked for version and state


modem_lines = st.lists(st.one_of(
    st.sampled_from([b"RING", b"OK", b"ERROR", b"NMBR = 5551234", b"NAME = KIM", b"NMBR = P", b"DATE = 0101",
                     b"NMBR=", b"NAME = \xff\xfe", b"NMBR = 12\x0034"]),
    st.binary(max_size=40)), max_size=30)


@settings(max_examples=150, deadline=None)
@given(modem_lines, st.sampled_from([b"\r\n", b"\r", b"\n", b""]), st.integers(1, 30))
def test_modem_monitor_survives_any_stream(lines, sep, chunk):
    stream = sep.join(lines)
    port = ScriptedPort([stream[i:i + chunk] for i in range(0, len(stream), chunk)])
    mon = ModemLineMonitor(SerialLink("/dev/fake", 115200, 1.0, "modem", opener=lambda p, b: port))
    for step in range(len(port.chunks) + 60):
        for event in mon.poll(step * 0.05):
            if hasattr(event, "number") and event.number is not None:
                assert event.number.replace("+", "").replace("*", "").replace("#", "").isdigit()
