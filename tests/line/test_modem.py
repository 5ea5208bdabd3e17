"""Caller-ID modem backend against a scripted fake CX93010 on a pseudo-terminal."""

from __future__ import annotations

import os
import select
import tty

import pytest

from lineguard.config import parse_settings
from lineguard.errors import ConfigError
from lineguard.line.base import CallerId, LineFault, Ring
from lineguard.line.modem import COMPONENT, ModemLineMonitor, ModemState, open_monitor
from lineguard.line.serial_link import SerialLink


class FakeModem:
    """Answers AT commands like a Conexant modem; the test scripts what the line does."""

    def __init__(self, accepts: set[str], echo: bool = True, silent: bool = False) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self.accepts = accepts
        self.echo = echo
        self.silent = silent
        self.received: list[str] = []
        self._buf = b""
        self.sent = False

    def service(self) -> None:
        try:
            self._buf += os.read(self.master, 4096)
        except BlockingIOError:
            return
        while b"\r" in self._buf:
            line, self._buf = self._buf.split(b"\r", 1)
            command = line.decode().strip()
            self.received.append(command)
            if self.silent:
                continue
            if command == "ATE0":
                self.echo = False
                self.send(("ATE0\r" if self.echo else "") + "\r\nOK\r\n")
            else:
                self.send(("" if not self.echo else command + "\r") +
                          ("\r\nOK\r\n" if command in self.accepts else "\r\nERROR\r\n"))

    def send(self, text: str | bytes) -> None:
        self.sent = True
        os.write(self.master, text.encode() if isinstance(text, str) else text)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


class Bench:
    def __init__(self, modem: FakeModem) -> None:
        self.modem = modem
        self.mon = ModemLineMonitor(SerialLink(modem.port, 115200, 0.5, COMPONENT))
        self.now_s = 0.0
        self.events: list = []

    def run(self, seconds: float, step_s: float = 0.05) -> list:
        out = []
        for _ in range(round(seconds / step_s)):
            self.now_s += step_s
            self.modem.service()
            if self.modem.sent:                    # let the kernel hand the bytes over
                self.modem.sent = False
                select.select([self.modem.slave], [], [], 0.2)
            out += self.mon.poll(self.now_s)
        self.events += out
        return out


@pytest.fixture
def vcid_modem():
    modem = FakeModem({"AT+VCID=1"})
    yield modem
    modem.close()


def test_init_with_vcid_then_ring_and_caller_id(vcid_modem):
    bench = Bench(vcid_modem)
    assert bench.run(0.5) == []
    assert bench.mon.state is ModemState.READY and bench.mon.cid_command == "AT+VCID=1"
    assert vcid_modem.received == ["ATE0", "AT+VCID=1"]
    vcid_modem.send("\r\nRING\r\n")
    assert bench.run(0.1) == [Ring(pytest.approx(0.55), True), Ring(pytest.approx(0.55), False)]
    vcid_modem.send("\r\nDATE = 0321\r\nTIME = 1405\r\nNMBR = 0212345678\r\nNAME = KIM MINSU\r\n\r\n")
    out = bench.run(1.0)
    assert len(out) == 1 and out[0].number == "0212345678" and out[0].name == "KIM MINSU"
    assert out[0].status == "ok"


def test_falls_back_to_the_older_cid_command(tmp_path):
    modem = FakeModem({"AT#CID=1"})
    try:
        bench = Bench(modem)
        bench.run(0.5)
        assert modem.received == ["ATE0", "AT+VCID=1", "AT#CID=1"]
        assert bench.mon.state is ModemState.READY and bench.mon.cid_command == "AT#CID=1"
        modem.send("RING\r\nNMBR=P\r\nRING\r\n")
        out = bench.run(0.2)
        assert [type(e) for e in out] == [Ring, Ring, CallerId, Ring, Ring]
        assert out[2].number is None and out[2].status == "private"
    finally:
        modem.close()


def test_a_modem_with_no_caller_id_is_a_fault_but_still_rings():
    modem = FakeModem(set())
    try:
        bench = Bench(modem)
        out = bench.run(0.5)
        assert len(out) == 1 and isinstance(out[0], LineFault) and "no caller ID" in out[0].message
        assert bench.mon.state is ModemState.NO_CID
        modem.send("RING\r\n")
        assert [type(e) for e in bench.run(0.1)] == [Ring, Ring]
    finally:
        modem.close()


def test_a_silent_modem_times_out_into_the_fallback():
    modem = FakeModem(set(), silent=True)
    try:
        bench = Bench(modem)
        out = bench.run(7.0, step_s=0.1)
        assert modem.received == ["ATE0", "AT+VCID=1", "AT#CID=1"]
        assert len(out) == 1 and isinstance(out[0], LineFault)
    finally:
        modem.close()


def test_partial_garbled_and_unavailable_lines(vcid_modem):
    bench = Bench(vcid_modem)
    bench.run(0.3)
    vcid_modem.send(b"\x00\xff\xfeNM")                # noise, then a field split across reads
    bench.run(0.1)
    vcid_modem.send(b"BR = 555")
    bench.run(0.1)
    vcid_modem.send(b"1234\r\nNAME = O\r\n")
    out = bench.run(1.0)
    assert [(e.number, e.name, e.status) for e in out] == [("5551234", None, "ok")]
    vcid_modem.send(b"NMBR = O\r\n+VCID: \x8f\x8f garbage\r\n" + b"x" * 400 + b"\r\nNMBR = 55\xff12\r\n")
    out = bench.run(1.0)
    assert [(e.number, e.status) for e in out] == [(None, "unavailable")]
    assert bench.mon.garbled_lines >= 2


def test_unplug_and_replug_reinitializes(tmp_path):
    link = tmp_path / "ttyMODEM"
    modem = FakeModem({"AT+VCID=1"})
    link.symlink_to(modem.port)
    mon = ModemLineMonitor(SerialLink(str(link), 115200, 0.5, COMPONENT))
    bench = Bench(modem)
    bench.mon = mon
    bench.run(0.3)
    modem.close()
    out = []
    for _ in range(5):
        bench.now_s += 0.1
        out += mon.poll(bench.now_s)
    assert len(out) == 1 and not out[0].recovered
    modem2 = FakeModem({"AT+VCID=1"})
    try:
        link.unlink()
        link.symlink_to(modem2.port)
        bench.modem = modem2
        back = bench.run(1.0)
        assert [f.recovered for f in back] == [True]
        assert modem2.received == ["ATE0", "AT+VCID=1"] and mon.state is ModemState.READY
    finally:
        modem2.close()


def test_open_monitor_needs_a_port():
    with pytest.raises(ConfigError, match="line.port"):
        open_monitor(parse_settings({"line": {"backend": "modem"}}))
