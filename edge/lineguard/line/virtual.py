"""The simulated line: an exchange, a far end, and a desk phone.

It models ring cadence and caller ID, the worker answering, the far end's
audio, the far end hanging up, dialing on outgoing calls, what the far end
hears (our prompts), and that the exchange releases the call when the
loop stays open longer than its release time.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

import numpy as np

from lineguard.audio.resample import to_rate
from lineguard.clock import Clock
from lineguard.events import Direction
from lineguard.line.base import (
    CAP_CALLER_ID, CAP_HOOK, CAP_LOOP, CAP_RING, CAP_SEIZE,
    Answered, CallerId, Dtmf, Hook, LineEvent, LoopCurrent, Ring, Tone,
)
from lineguard.line.profiles import CountryProfile

CID_AFTER_FIRST_RING_S = 0.5
DIGIT_INTERVAL_S = 0.4
RINGBACK_S = 4.0
DIAL_TONE_AFTER_S = 0.2         # re-closed loop after the exchange released the call


@dataclass(frozen=True)
class FarEndScript:
    """What happens on the line during one simulated call."""

    far_audio: np.ndarray                      # mono float32
    sample_rate_hz: int
    near_audio: np.ndarray | None = None       # what the worker says, same rate
    direction: Direction = Direction.INCOMING
    rings: int = 0                             # rings before answer; 0: connected at t=0
    caller_number: str | None = None
    caller_name: str | None = None
    dialed: str = ""                           # outgoing: digits the worker dials
    far_hangs_up: bool = True                  # when its audio ends
    tail_s: float = 0.5                        # silence after the far audio before hanging up
    near_hangup_after_s: float = 1.5           # worker hangs up this long after the call is gone
    exchange_release_ms: int = 1500            # loop open this long releases the call
    far_leak: float = 0.1                      # far end heard on the phone-side channel
    near_leak: float = 0.3                     # worker heard on the line-side channel
    prompt_echo: float = 0.5                   # our prompt heard back on the line-side channel
    extra_events: tuple[LineEvent, ...] = ()   # e.g. DTMF keyed by the worker during the call
    seizable: bool = False                     # the interface can answer the line itself

    @classmethod
    def from_capture(cls, samples: np.ndarray, sample_rate_hz: int, **options) -> FarEndScript:
        """Channel 0 the far end (line side), channel 1 if present the worker (phone side)."""
        near = samples[:, 1] if samples.shape[1] == 2 else None
        return cls(far_audio=samples[:, 0], sample_rate_hz=sample_rate_hz, near_audio=near, **options)


@dataclass
class _Injected:
    start_s: float
    samples: np.ndarray


class VirtualLine:
    """Exchange + far end + desk phone, driven by a clock."""

    def __init__(self, clock: Clock, script: FarEndScript, profile: CountryProfile,
                 port_rate_hz: int) -> None:
        self.clock = clock
        self.script = script
        self.rate_hz = port_rate_hz
        self._far = to_rate(script.far_audio, script.sample_rate_hz, port_rate_hz)
        near = script.near_audio if script.near_audio is not None else np.zeros(0, np.float32)
        self._near = to_rate(near, script.sample_rate_hz, port_rate_hz)
        self._queue: list[tuple[float, int, LineEvent]] = []
        self._seq = itertools.count()
        self.relay_open = False
        self._open_since_s: float | None = None
        self.released_s: float | None = None         # exchange released the call (loop open)
        self.far_gone_s: float | None = None         # far end hung up
        self.phone_off_hook = False
        self.far_heard: list[_Injected] = []        # our prompts, as the far end hears them
        self.seized_s: float | None = None           # the box answered the line itself
        self.unanswered = False                      # the phone never picked up
        self.idle_after_s: float | None = None       # nothing more happens on the line after this
        self.answer_s = self._schedule_setup(profile)
        for event in script.extra_events:
            self._at(event.time_s, event)
        self._far_end_s = self.answer_s + len(self._far) / port_rate_hz + script.tail_s

    # -- timeline ---------------------------------------------------------

    def _at(self, time_s: float, event: LineEvent) -> None:
        heapq.heappush(self._queue, (time_s, next(self._seq), event))

    def _schedule_setup(self, profile: CountryProfile) -> float:
        s = self.script
        if s.direction is Direction.OUTGOING:
            self._at(0.0, Hook(0.0, True))
            self._at(0.0, LoopCurrent(0.0, True))
            t = 1.0 if s.dialed else 0.0
            for digit in s.dialed:
                self._at(t, Dtmf(t, digit))
                t += DIGIT_INTERVAL_S
            answer = t + RINGBACK_S if s.dialed else 0.0
            self._at(answer, Answered(answer))
            return answer
        if s.rings == 0:   # it rang before t=0 and is answered at t=0
            self._at(0.0, Ring(0.0, True))
            self._at(0.0, Ring(0.0, False))
            self._at(0.0, Hook(0.0, True))
            self._at(0.0, LoopCurrent(0.0, True))
            return 0.0
        on_s, off_s = profile.ring_cadence_s
        for n in range(s.rings):
            start = n * (on_s + off_s)
            self._at(start, Ring(start, True))
            self._at(start + on_s, Ring(start + on_s, False))
            if n == 0 and (s.caller_number or s.caller_name):
                t = start + on_s + CID_AFTER_FIRST_RING_S
                self._at(t, CallerId(t, s.caller_number, s.caller_name))
        answer = s.rings * (on_s + off_s) - off_s / 2
        self._at(answer, Hook(answer, True))
        self._at(answer, LoopCurrent(answer, True))
        return answer

    def poll(self, now_s: float) -> list[LineEvent]:
        self._update(now_s)
        out: list[LineEvent] = []
        while self._queue and self._queue[0][0] <= now_s:
            _, _, event = heapq.heappop(self._queue)
            if self._unheard(event):
                continue
            if isinstance(event, Hook):
                self.phone_off_hook = event.off_hook
            out.append(event)
        return out

    def _unheard(self, event: LineEvent) -> bool:
        """Events that do not happen: rings after the box answered, the answer of a silenced phone."""
        if self.seized_s is not None and isinstance(event, Ring) and event.time_s >= self.seized_s:
            return True
        is_answer = (self.script.direction is Direction.INCOMING and self.script.rings > 0
                     and isinstance(event, (Hook, LoopCurrent)) and event.time_s == self.answer_s
                     and getattr(event, "off_hook", getattr(event, "present", False)))
        if is_answer and (self.relay_open or self.seized_s is not None):
            # the phone was disconnected (or the box answered): the worker never picks up
            self.unanswered = True
            self.idle_after_s = self.answer_s + 10.0
            return True
        return False

    def seize(self, now_s: float, off_hook: bool) -> None:
        """The box itself answers (True) or releases (False) the line; the caller then hangs up."""
        if off_hook:
            self.seized_s = now_s
        else:
            self.idle_after_s = now_s + 1.0

    def _update(self, now_s: float) -> None:
        connected = self.released_s is None and self.far_gone_s is None
        if connected and self._open_since_s is not None:
            release_at = self._open_since_s + self.script.exchange_release_ms / 1000.0
            if now_s >= release_at and now_s >= self.answer_s:
                self.released_s = release_at
                self._at(release_at + self.script.near_hangup_after_s,
                         Hook(release_at + self.script.near_hangup_after_s, False))
        connected = self.released_s is None and self.far_gone_s is None
        if connected and self.script.far_hangs_up and now_s >= self._far_end_s:
            t = self._far_end_s
            self.far_gone_s = t
            if not self.relay_open:
                self._at(t, LoopCurrent(t, False))        # disconnect clear
                self._at(t + 0.6, LoopCurrent(t + 0.6, True))
            self._at(t + 0.8, Tone(t + 0.8, "reorder"))
            self._at(t + self.script.near_hangup_after_s, Hook(t + self.script.near_hangup_after_s, False))

    # -- relay ------------------------------------------------------------

    def set_relay(self, now_s: float, loop_open: bool) -> None:
        if loop_open == self.relay_open:
            return
        self._update(now_s)
        self.relay_open = loop_open
        self._open_since_s = now_s if loop_open else None
        if self.phone_off_hook:
            self._at(now_s, LoopCurrent(now_s, not loop_open))
            if not loop_open and self.released_s is not None:   # a new seizure: the exchange gives dial tone
                self._at(now_s + DIAL_TONE_AFTER_S, Tone(now_s + DIAL_TONE_AFTER_S, "dial"))

    # -- audio --------------------------------------------------------------

    def connected_at(self, time_s: float) -> bool:
        if time_s < self.answer_s:
            return False
        for gone in (self.released_s, self.far_gone_s):
            if gone is not None and time_s >= gone:
                return False
        return not (self.relay_open and self._open_since_s is not None and time_s >= self._open_since_s)

    def capture(self, start_s: float, frames: int, channels: int) -> np.ndarray:
        """What the interface hears for ``frames`` frames from ``start_s``."""
        self._update(start_s)
        line = np.zeros(frames, np.float32)
        phone = np.zeros(frames, np.float32)
        if self.connected_at(start_s):
            far = _window(self._far, (start_s - self.answer_s) * self.rate_hz, frames)
            near = _window(self._near, (start_s - self.answer_s) * self.rate_hz, frames)
            line += far + self.script.near_leak * near
            phone += near + self.script.far_leak * far
        for inj in self.far_heard:
            line += self.script.prompt_echo * _window(inj.samples, (start_s - inj.start_s) * self.rate_hz, frames)
        if channels == 1:
            return line[:, None]
        return np.stack([line, phone], axis=1)

    def inject(self, start_s: float, samples: np.ndarray) -> None:
        """Our prompt goes onto the line; the far end hears it while connected."""
        self.far_heard.append(_Injected(start_s, np.asarray(samples, np.float32)))

    def truncate_injected(self, at_s: float) -> None:
        if self.far_heard:
            last = self.far_heard[-1]
            keep = max(0, int(round((at_s - last.start_s) * self.rate_hz)))
            last.samples = last.samples[:keep]


def _window(source: np.ndarray, start_frame: float, frames: int) -> np.ndarray:
    start = int(round(start_frame))
    out = np.zeros(frames, np.float32)
    lo, hi = max(start, 0), min(start + frames, len(source))
    if hi > lo:
        out[lo - start:hi - start] = source[lo:hi]
    return out


class SimulatedLineMonitor:
    """LineMonitor over a :class:`VirtualLine` (ring, hook, loop, caller ID)."""

    def __init__(self, line: VirtualLine) -> None:
        self.line = line
        self.history: list[LineEvent] = []
        caps = {CAP_RING, CAP_HOOK, CAP_LOOP, CAP_CALLER_ID} | ({CAP_SEIZE} if line.script.seizable else set())
        self.capabilities = frozenset(caps)
        self.seizes: list[tuple[float, bool]] = []

    def seize(self, now_s: float, off_hook: bool) -> None:
        self.seizes.append((now_s, off_hook))
        self.line.seize(now_s, off_hook)

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def poll(self, now_s: float) -> list[LineEvent]:
        events = self.line.poll(now_s)
        self.history.extend(events)
        return events
