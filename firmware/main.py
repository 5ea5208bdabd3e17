# LineGuard line-sense board (RP2040, MicroPython): entry point.
# Samples the line every millisecond, sends framed messages on UART0,
# answers commands. Pins and circuit: README.md. Protocol: PROTOCOL.md.

import struct

import machine
import utime

import lgproto as P
from linesense import LineSense

FIRMWARE_VERSION = "1.0.0"
BOARD_NAME = "lineguard-linesense-rp2040"

PIN_UART_TX = 0
PIN_UART_RX = 1
PIN_RING = 2            # ring opto output, active low, pull-up
PIN_LED = 25
ADC_LOOP = 26           # loop-current sense amplifier
ADC_LINE = 27           # isolated line-voltage amplifier, mid-scale = 0 V
ADC_PHONE = 28          # phone-side voltage (hook sense)
BAUDRATE = 115200
SAMPLE_HZ = 1000
WATCHDOG_MS = 2000
QUEUE_MAX = 64
ADC_RAIL_LOW = 64
ADC_RAIL_HIGH = 65535 - 64

# self-test failure bits
FAIL_LOOP_ADC = 0x01
FAIL_LINE_ADC = 0x02
FAIL_PHONE_ADC = 0x04
FAIL_RING_STUCK = 0x08
FAIL_QUEUE_OVERFLOW = 0x10


class Board:
    def __init__(self):
        self.uart = machine.UART(0, baudrate=BAUDRATE, tx=machine.Pin(PIN_UART_TX), rx=machine.Pin(PIN_UART_RX))
        self.ring_pin = machine.Pin(PIN_RING, machine.Pin.IN, machine.Pin.PULL_UP)
        self.led = machine.Pin(PIN_LED, machine.Pin.OUT)
        self.adc_loop = machine.ADC(ADC_LOOP)
        self.adc_line = machine.ADC(ADC_LINE)
        self.adc_phone = machine.ADC(ADC_PHONE)
        self.encoder = P.Encoder()
        self.parser = P.CommandParser()
        self.queue = []
        self.overflowed = False
        self._ticks = utime.ticks_ms()
        self.now_ms = 0
        self.sense = LineSense(self.now_ms)
        self.sense.prime(self.adc_loop.read_u16(), self.adc_line.read_u16(), self.adc_phone.read_u16())
        self.pending_ticks = 0
        self._send(P.MSG_HELLO, struct.pack(">IB", 0, machine.reset_cause()) + FIRMWARE_VERSION.encode())
        self._send(P.MSG_STATE, self.sense.state_payload(0))

    def start(self):
        self.timer = machine.Timer(-1)
        self.timer.init(freq=SAMPLE_HZ, mode=machine.Timer.PERIODIC, callback=self.on_timer)

    def on_timer(self, _timer):
        self.pending_ticks += 1

    def tick(self):
        """One sample of every input (normally 1 ms apart)."""
        now = utime.ticks_ms()
        self.now_ms += utime.ticks_diff(now, self._ticks)
        self._ticks = now
        messages = self.sense.sample(self.now_ms, self.ring_pin.value(), self.adc_loop.read_u16(),
                                     self.adc_line.read_u16(), self.adc_phone.read_u16())
        for msg_type, payload in messages:
            self._send(msg_type, payload)
        self.led.value(1 if self.sense.loop.value or self.sense.ring.active else 0)

    def service(self):
        """Run pending samples, answer commands, send queued frames."""
        while self.pending_ticks:
            self.pending_ticks -= 1
            self.tick()
        waiting = self.uart.any()
        if waiting:
            for version, cmd, payload in self.parser.feed(self.uart.read(waiting) or b""):
                self._command(version, cmd, payload)
        while self.queue:
            self.uart.write(self.queue.pop(0))

    def _send(self, msg_type, payload):
        if len(self.queue) >= QUEUE_MAX:
            self.queue.pop(0)
            self.overflowed = True
        self.queue.append(self.encoder.frame(msg_type, payload))

    def _command(self, version, cmd, payload):
        if version != P.VERSION:
            self._send(P.MSG_ERROR, bytes([P.ERR_BAD_VERSION]) + b"protocol version")
        elif cmd == P.CMD_GET_VERSION:
            self._send(P.MSG_VERSION, bytes([P.VERSION]) + (FIRMWARE_VERSION + " " + BOARD_NAME).encode())
        elif cmd == P.CMD_GET_STATE:
            self._send(P.MSG_STATE, self.sense.state_payload(self.now_ms))
        elif cmd == P.CMD_SELFTEST:
            failures = self.self_test()
            self._send(P.MSG_SELFTEST, struct.pack(">IBB", self.now_ms & 0xFFFFFFFF, failures == 0, failures))
        else:
            self._send(P.MSG_ERROR, bytes([P.ERR_UNKNOWN_COMMAND]) + b"unknown command")

    def self_test(self):
        failures = 0
        for adc, bit in ((self.adc_loop, FAIL_LOOP_ADC), (self.adc_phone, FAIL_PHONE_ADC)):
            if adc.read_u16() >= ADC_RAIL_HIGH:
                failures |= bit
        line = self.adc_line.read_u16()
        if line <= ADC_RAIL_LOW or line >= ADC_RAIL_HIGH:
            failures |= FAIL_LINE_ADC
        if self.ring_pin.value() == 0 and not self.sense.ring.active:
            failures |= FAIL_RING_STUCK
        if self.overflowed:
            failures |= FAIL_QUEUE_OVERFLOW
        return failures


def run():
    wdt = machine.WDT(timeout=WATCHDOG_MS)
    board = Board()
    board.start()
    while True:
        board.service()
        wdt.feed()
        utime.sleep_ms(2)


if __name__ == "__main__":
    run()
