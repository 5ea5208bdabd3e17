# LineGuard line-sense board: what the line is doing, from pins and ADCs.
# Pure logic, no hardware imports: fed one sample set per millisecond.
# MicroPython and CPython. Pins and circuit: README.md.

import struct

import lgproto as P

# ring detector (opto output goes low on each ring half-cycle)
RING_MIN_PERIOD_MS = 14      # faster edges are contact bounce / noise (> ~70 Hz)
RING_MAX_PERIOD_MS = 100     # slower than 10 Hz is not ringing
RING_EDGES_ON = 3            # consecutive in-band edges before "ring on"
RING_OFF_MS = 150            # no edge for this long: the burst ended
RING_SETTLE_MS = 500         # voltage readings are meaningless this long after a burst

# loop current (mA), with hysteresis and debounce
LOOP_ON_MA = 15
LOOP_OFF_MA = 10
LOOP_DEBOUNCE_MS = 30
LOOP_DROP_MS = 120           # longer than the hook debounce: a hang-up reads as hook-on first

# line voltage (V, signed: negative = reversed polarity)
POLARITY_MIN_V = 3.0
POLARITY_DEBOUNCE_MS = 50
LINE_PRESENT_V = 3.0
LINE_DEAD_MS = 2000

# phone-side voltage (V): off-hook between these, no feed below HOOK_NO_FEED_V
HOOK_NO_FEED_V = 1.0
HOOK_OFF_MAX_V = 20.0
HOOK_ON_MIN_V = 25.0
HOOK_DEBOUNCE_MS = 50

HEARTBEAT_MS = 1000

# ADC scaling (16-bit reads, see README.md)
LOOP_MA_PER_COUNT = 150.0 / 65535          # 0..150 mA full scale
LINE_V_PER_COUNT = 300.0 / 65535           # -150..+150 V, mid-scale = 0 V
PHONE_V_PER_COUNT = 150.0 / 65535          # 0..150 V


class Debounced:
    """A boolean that changes only after the raw value held for ``hold_ms``
    (``release_ms`` for a change to False, if given)."""

    def __init__(self, value, hold_ms, release_ms=None):
        self.value = value
        self.hold_ms = hold_ms
        self.release_ms = hold_ms if release_ms is None else release_ms
        self._candidate = value
        self._since = 0

    def update(self, raw, now_ms):
        if raw == self.value:
            self._candidate = raw
            return False
        if raw != self._candidate:
            self._candidate = raw
            self._since = now_ms
            return False
        if now_ms - self._since >= (self.hold_ms if raw else self.release_ms):
            self.value = raw
            return True
        return False


class RingDetector:
    def __init__(self):
        self.active = False
        self.freq_dhz = 0
        self._last_pin = 1
        self._last_edge = None
        self._edges = 0
        self._period_sum = 0

    def update(self, pin, now_ms):
        """Returns True when ``active`` changed."""
        falling = self._last_pin == 1 and pin == 0
        self._last_pin = pin
        if falling:
            self._edge(now_ms)
        if self.active and self._last_edge is not None and now_ms - self._last_edge > RING_OFF_MS:
            self.active = False
            self._edges = 0
            return True
        if not self.active and self._edges >= RING_EDGES_ON:
            self.active = True
            self.freq_dhz = int(10000 * (self._edges - 1) / max(1, self._period_sum))
            return True
        return False

    def _edge(self, now_ms):
        if self._last_edge is None:
            self._last_edge = now_ms
            self._edges = 1
            self._period_sum = 0
            return
        period = now_ms - self._last_edge
        if period < RING_MIN_PERIOD_MS:
            return                      # bounce: keep the earlier edge
        self._last_edge = now_ms
        if period > RING_MAX_PERIOD_MS:
            self._edges = 1
            self._period_sum = 0
        else:
            self._edges += 1
            self._period_sum += period


class LineSense:
    """Turns samples into protocol messages ``(type, payload)``."""

    def __init__(self, now_ms):
        self.ring = RingDetector()
        self.loop = Debounced(False, LOOP_DEBOUNCE_MS, LOOP_DROP_MS)
        self.reversed = Debounced(False, POLARITY_DEBOUNCE_MS)
        self.off_hook = Debounced(False, HOOK_DEBOUNCE_MS)
        self.line_present = True
        self.loop_ma = 0.0
        self.line_v = 0.0
        self.phone_v = 0.0
        self._line_seen_ms = now_ms
        self._ring_end_ms = now_ms - RING_SETTLE_MS
        self._heartbeat_ms = now_ms

    def prime(self, loop_raw, line_raw, phone_raw):
        """Take the state at boot as it is, without debouncing, so the first STATE is true."""
        self._scale(loop_raw, line_raw, phone_raw)
        self.loop.value = self.loop._candidate = self.loop_ma >= LOOP_ON_MA
        self.reversed.value = self.reversed._candidate = self.line_v <= -POLARITY_MIN_V
        off = HOOK_NO_FEED_V <= self.phone_v <= HOOK_OFF_MAX_V
        self.off_hook.value = self.off_hook._candidate = off

    def _scale(self, loop_raw, line_raw, phone_raw):
        self.loop_ma = loop_raw * LOOP_MA_PER_COUNT
        self.line_v = (line_raw - 32768) * LINE_V_PER_COUNT
        self.phone_v = phone_raw * PHONE_V_PER_COUNT

    def sample(self, now_ms, ring_pin, loop_raw, line_raw, phone_raw):
        self._scale(loop_raw, line_raw, phone_raw)
        out = []
        self._ring(now_ms, ring_pin, out)
        self._loop(now_ms, out)
        if now_ms - self._ring_end_ms >= RING_SETTLE_MS and not self.ring.active:
            self._voltage(now_ms, out)
            self._hook(now_ms, out)
        if now_ms - self._heartbeat_ms >= HEARTBEAT_MS:
            self._heartbeat_ms = now_ms
            out.append((P.MSG_HEARTBEAT, struct.pack(">I", now_ms & 0xFFFFFFFF)))
        return out

    def _ring(self, now_ms, pin, out):
        if self.ring.update(pin, now_ms):
            if not self.ring.active:
                self._ring_end_ms = now_ms
            out.append((P.MSG_RING, struct.pack(">IBH", now_ms & 0xFFFFFFFF, self.ring.active, self.ring.freq_dhz)))

    def _loop(self, now_ms, out):
        threshold = LOOP_OFF_MA if self.loop.value else LOOP_ON_MA
        if self.loop.update(self.loop_ma >= threshold, now_ms):
            out.append((P.MSG_LOOP, struct.pack(">IBH", now_ms & 0xFFFFFFFF, self.loop.value, int(self.loop_ma))))

    def _voltage(self, now_ms, out):
        v = self.line_v
        if abs(v) >= POLARITY_MIN_V and self.reversed.update(v < 0, now_ms):
            out.append((P.MSG_POLARITY, struct.pack(">IB", now_ms & 0xFFFFFFFF, self.reversed.value)))
        alive = abs(v) >= LINE_PRESENT_V or self.loop.value
        if alive:
            self._line_seen_ms = now_ms
        present = alive or now_ms - self._line_seen_ms < LINE_DEAD_MS
        if present != self.line_present:
            self.line_present = present
            out.append((P.MSG_VOLTAGE, struct.pack(">IBh", now_ms & 0xFFFFFFFF, present, int(v * 10))))

    def _hook(self, now_ms, out):
        v = self.phone_v
        if v < HOOK_NO_FEED_V:
            return                      # no feed (relay open, line dead): hook unknown, keep it
        if v <= HOOK_OFF_MAX_V:
            raw = True
        elif v >= HOOK_ON_MIN_V:
            raw = False
        else:
            return
        if self.off_hook.update(raw, now_ms):
            out.append((P.MSG_HOOK, struct.pack(">IB", now_ms & 0xFFFFFFFF, self.off_hook.value)))

    def state_payload(self, now_ms):
        return struct.pack(">IBBBBBhH", now_ms & 0xFFFFFFFF, self.ring.active, self.off_hook.value,
                           self.loop.value, self.reversed.value, self.line_present,
                           int(self.line_v * 10), int(self.loop_ma))
