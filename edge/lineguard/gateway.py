"""The gateway: line, audio, detector, policy and relay wired together.

One loop, paced by the audio port: each block, poll the line, track the
call, feed the spotter with the far end's audio at 8 kHz, feed the policy,
and carry out its actions. Everything that happens becomes an event handed
to the sinks (terminal, JSON, recorder, MQTT outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lineguard.audio.port import AudioPort, Playback
from lineguard.audio.resample import StreamingDecimator
from lineguard.clock import Clock, rfc3339
from lineguard.config import DETECTOR_RATE_HZ, Settings
from lineguard.errors import LineGuardError, SafetyError
from lineguard.events import (
    CallEnded, CallStarted, CallTerminated, EndedBy, Event, Fault, KeywordDetected, Side, Status,
    WarningFinished, WarningStarted, new_id,
)
from lineguard.kws.base import Detection, KeywordDetector
from lineguard.line.base import CAP_LOOP, LineAudioObserver, LineEvent, LineFault, LineMonitor
from lineguard.line.calls import (
    CallEnd, CallStart, CallTracker, DigitInCall, RingingStarted, RingingStopped, TrackOutput,
)
from lineguard.activity import SpeechActivity
from lineguard.nearend import SideAttributor
from lineguard.policy import (
    CallBegan, CallOver, Extend, HangUp, Heard, ManualTrigger, Observation, Play, Policy,
    PromptDone, Tick,
)
from lineguard.prompts import PromptLibrary
from lineguard.relay.base import GuardedRelay
from lineguard.callers.guard import CallerGuard
from lineguard.callers.memory import CallerMemory
from lineguard.relay.hangup import Energize, Finished, HangupSequence, Release, plan_from_settings

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def handle(self, event: Event) -> None: ...


class CallAudioSink(Protocol):
    def start(self, call_id: str, sample_rate_hz: int, channels: int, time_s: float) -> None: ...

    def write(self, frames: np.ndarray) -> None: ...

    def finish(self, call_id: str, time_s: float) -> list[Event]: ...


@dataclass
class _Call:
    call_id: str
    start_s: float
    caller_id: str | None = None
    digits: str = ""
    playing: Playback | None = None
    playing_level: str = ""


@dataclass
class _Hangup:
    reason: HangUp
    call_id: str
    sequence: HangupSequence


class Gateway:
    """Runs the protected-call loop over whatever backends it is given."""

    def __init__(self, settings: Settings, clock: Clock, audio: AudioPort, relay: GuardedRelay,
                 line: LineMonitor, detector: KeywordDetector, prompts: PromptLibrary,
                 severities: dict[str, str], release_ms: int,
                 sinks: Iterable[EventSink] = (), audio_sinks: Iterable[CallAudioSink] = (),
                 memory: CallerMemory | None = None) -> None:
        self.settings = settings
        self.callers = CallerGuard(memory, self) if memory is not None else None
        self.clock = clock
        self.audio = audio
        self.relay = relay
        self.line = line
        self.detector = detector
        self.prompts = prompts
        self.severities = dict(severities)
        self.release_ms = release_ms
        self.hangup_plan = plan_from_settings(settings.relay, settings.device.country, release_ms,
                                              line_sense=CAP_LOOP in line.capabilities)
        self.hangup: _Hangup | None = None
        self.sinks = list(sinks)
        self.audio_sinks = list(audio_sinks)
        self.policy = Policy(settings.policy)
        self.state = self.policy.initial()
        self.tracker = CallTracker()
        self.call: _Call | None = None
        a = settings.audio
        self.block_frames = a.sample_rate_hz * a.block_ms // 1000
        self.decimator = StreamingDecimator(a.sample_rate_hz, DETECTOR_RATE_HZ, audio.channels)
        self.sides = SideAttributor(settings.detector.near_end_margin_db, two_channels=audio.channels == 2,
                                    far_channel=a.far_end_channel, near_channel=a.near_end_channel)
        self.mute_until_s = 0.0
        talkers = {"far": a.far_end_channel, "near": a.near_end_channel} if audio.channels == 2 else {"far": 0}
        self.activity = SpeechActivity(talkers)
        self.pending_manual = False
        self.line_audio_observers: list[LineAudioObserver] = []   # DSP on the 8 kHz line channel
        self.pending_settings: tuple[Settings, KeywordDetector | None, dict[str, str] | None] | None = None

    # -- public ---------------------------------------------------------------

    def run(self, until: Callable[[Gateway], bool]) -> None:
        """Process blocks until ``until(self)`` is true. The relay is always released after."""
        self.audio.open()
        self.line.open()
        try:
            self.emit(Status(time=self.clock.now(), state="online"))
            while not until(self):
                self.step()
        finally:
            self.shutdown()

    def manual_trigger(self) -> None:
        """The worker pressed the button (taken on the next block)."""
        self.pending_manual = True

    def apply_settings(self, settings: Settings, detector: KeywordDetector | None = None,
                       severities: dict[str, str] | None = None) -> None:
        """New policy/detector settings (and optionally a new detector and severities), from any
        thread: taken at the next block when the line is idle, else when the call ends."""
        self.pending_settings = (settings, detector, severities)

    def _take_settings(self) -> None:
        (settings, detector, severities), self.pending_settings = self.pending_settings, None
        self.settings = settings
        self.policy = Policy(settings.policy)
        self.state = self.policy.initial()
        if detector is not None:
            self.detector = detector
        if severities is not None:
            self.severities = dict(severities)
        log.info("new settings taken")

    def shutdown(self) -> None:
        try:
            self.relay.release()
            self.audio.stop_playback()
        finally:
            self.relay.close()
            self.audio.close()
            self.line.close()

    @property
    def idle(self) -> bool:
        return self.call is None

    # -- one block ------------------------------------------------------------

    def step(self) -> None:
        if self.pending_settings is not None and self.call is None:
            self._take_settings()
        now = self.clock.now()
        for event in self.line.poll(now):
            self._on_line(event)
        for out in self.tracker.tick(now):
            self._on_track(out)
        block = self.audio.read(self.block_frames)
        low = self.decimator.process(block)
        now = self.clock.now()
        self._observe_line_audio(low, now)
        if self.call is not None:
            self._on_audio(block, low, now)
        if self.pending_manual:
            self.pending_manual = False
            self._observe(ManualTrigger(now))
        self._check_prompt(now)
        if self.callers is not None:
            self.callers.check(now)
        if self.call is not None:
            self._observe(Tick(now))
        self._check_hangup(now)

    # -- line -----------------------------------------------------------------

    def _observe_line_audio(self, low: np.ndarray, now: float) -> None:
        """Caller ID, DTMF and tones decoded from the line channel become line observations."""
        if not self.line_audio_observers:
            return
        line = low[:, self.settings.audio.far_end_channel if self.audio.channels == 2 else 0]
        start_s = now - len(line) / DETECTOR_RATE_HZ
        for observer in self.line_audio_observers:
            for event in observer.process(line, start_s):
                self._on_line(event)

    def _on_line(self, event: LineEvent) -> None:
        if isinstance(event, LineFault):
            self.emit(Fault(time=event.time_s, call_id=self.call.call_id if self.call else None,
                            component="line", message=event.message, recovered=event.recovered))
            return
        if self.callers is not None and self.call is None:
            self.callers.on_line(event)
        if self.hangup is not None:
            self.hangup.sequence.observe(event)
        for out in self.tracker.feed(event):
            self._on_track(out)

    def _on_track(self, out: TrackOutput) -> None:
        if isinstance(out, RingingStarted):
            self.emit(Status(time=out.time_s, state="ringing"))
        elif isinstance(out, RingingStopped):
            if self.callers is not None:
                self.callers.ringing_over(out.time_s)
            self.emit(Status(time=out.time_s, state="idle", detail="unanswered"))
        elif isinstance(out, CallStart):
            if self.callers is not None:
                self.callers.ringing_over(out.time_s)
            self._start_call(out)
        elif isinstance(out, CallEnd):
            self._end_call(out)
        elif isinstance(out, DigitInCall) and self.call is not None:
            self._on_digit(out)

    def _start_call(self, start: CallStart) -> None:
        call = _Call(call_id=new_id(), start_s=start.time_s)
        self.call = call
        self.detector.reset()
        self.sides.reset()
        self.activity.reset()
        self.emit(CallStarted(time=start.time_s, call_id=call.call_id, direction=start.direction,
                              caller_id=start.caller_id, caller_name=start.caller_name,
                              dialed_number=start.dialed_number))
        for sink in self.audio_sinks:
            self._guard_sink(start.time_s, sink.start, call.call_id, DETECTOR_RATE_HZ, self.audio.channels,
                             start.time_s)
        treat = self.callers.treatment(start.caller_id) if self.callers is not None else None
        call.caller_id = start.caller_id
        self._observe(CallBegan(start.time_s, start.direction, announce=bool(treat and treat.announce),
                                strict=bool(treat and treat.strict)))

    def _end_call(self, end: CallEnd) -> None:
        call = self.call
        if call is None:
            return
        if self.audio.is_playing():
            self.audio.stop_playback()
            self._finish_prompt(end.time_s, interrupted=True)
        ended_by = end.ended_by
        if self.hangup is not None:   # the call ended under the hang-up (e.g. handset put down)
            self._run_hangup(self.hangup.sequence.abort(end.time_s), end_call=False)
            ended_by = EndedBy.GATEWAY
        self._observe(CallOver(end.time_s))
        self.emit(CallEnded(time=end.time_s, call_id=call.call_id,
                            duration_s=end.time_s - call.start_s, ended_by=ended_by))
        for sink in self.audio_sinks:
            for event in self._guard_sink(end.time_s, sink.finish, call.call_id, end.time_s) or []:
                self.emit(event)
        self.call = None
        if self.callers is not None:
            self.callers.call_done()
        self.emit(Status(time=end.time_s, state="idle"))

    def _on_digit(self, out: DigitInCall) -> None:
        assert self.call is not None
        self.call.digits = (self.call.digits + out.digit)[-8:]
        p = self.settings.policy
        if self.call.digits.endswith(p.manual_dtmf_code):
            self.call.digits = ""
            self._observe(ManualTrigger(out.time_s))
        elif self.call.digits.endswith(p.extend_dtmf_code):
            self.call.digits = ""
            self._observe(Extend(out.time_s))

    # -- audio ------------------------------------------------------------------

    def _on_audio(self, block: np.ndarray, low: np.ndarray, now: float) -> None:
        assert self.call is not None
        for sink in self.audio_sinks:
            self._guard_sink(now, sink.write, low)
        far = low[:, self.settings.audio.far_end_channel if self.audio.channels == 2 else 0]
        block_start_s = now - len(block) / self.audio.sample_rate_hz
        self.sides.add(low, block_start_s)
        for talk in self.activity.update(low, block_start_s):
            for sink in self.sinks:
                if hasattr(sink, "speech"):
                    sink.speech(talk.time_s, talk.side, talk.active)
        if self.audio.is_playing() or now < self.mute_until_s:
            far = np.zeros_like(far)       # never let our own prompt reach the spotter
        for det in self.detector.process(far):
            self._on_detection(det)

    def _on_detection(self, det: Detection) -> None:
        assert self.call is not None
        time_s = self.call.start_s + det.time_s
        severity = self.severities.get(det.keyword, "abuse")
        side = self.sides.attribute(time_s)
        acted = side is not Side.NEAR and severity != "ignore"
        self.emit(KeywordDetected(time=time_s, call_id=self.call.call_id, keyword=det.keyword,
                                  score=round(det.score, 4), side=side, severity=severity, acted_on=acted))
        if acted:
            self._observe(Heard(time_s, det.keyword, severity, side))

    # -- policy and actions --------------------------------------------------------

    def _observe(self, obs: Observation) -> None:
        step = self.policy.step(self.state, obs)
        self.state = step.state
        for action in step.actions:
            if isinstance(action, Play):
                self._play(action, obs.time_s)
            elif isinstance(action, HangUp):
                self._start_hangup(action, obs.time_s)

    def _play(self, action: Play, time_s: float) -> None:
        assert self.call is not None
        try:
            samples = self.prompts.get(action.prompt_id)
        except LineGuardError as exc:
            self.emit(Fault(time=time_s, call_id=self.call.call_id, component="prompts", message=str(exc)))
            samples = np.zeros(self.audio.sample_rate_hz // 2, np.float32)   # keep the sequence going
        playback = self.audio.play(action.prompt_id, samples)
        self.call.playing = playback
        self.call.playing_level = action.level
        self.emit(WarningStarted(time=playback.start_s, call_id=self.call.call_id, level=action.level,
                                 prompt_id=action.prompt_id, language=self.prompts.language))

    def _check_prompt(self, now: float) -> None:
        if self.call is not None and self.call.playing is not None and not self.audio.is_playing():
            self._finish_prompt(now, interrupted=False)

    def _finish_prompt(self, now: float, interrupted: bool) -> None:
        call = self.call
        if call is None or call.playing is None:
            return
        playback, call.playing = call.playing, None
        end_s = now if interrupted else min(now, playback.end_s)
        self.mute_until_s = end_s + self.settings.policy.ignore_after_prompt_s
        self.emit(WarningFinished(time=end_s, call_id=call.call_id, level=call.playing_level,
                                  prompt_id=playback.prompt_id, duration_s=end_s - playback.start_s,
                                  interrupted=interrupted))
        if not interrupted:
            self._observe(PromptDone(end_s, playback.prompt_id))

    def _start_hangup(self, action: HangUp, time_s: float) -> None:
        assert self.call is not None
        self.tracker.gateway_opening()
        sequence = HangupSequence(self.hangup_plan)
        self.hangup = _Hangup(action, self.call.call_id, sequence)
        self._run_hangup(sequence.start(self.clock.now()))

    def _check_hangup(self, now: float) -> None:
        try:
            self.relay.check(now)
        except SafetyError as exc:
            self.emit(Fault(time=now, component="relay", message=str(exc), recovered=True))
        if self.hangup is not None:
            self._run_hangup(self.hangup.sequence.tick(now))

    def _run_hangup(self, commands: list, end_call: bool = True) -> None:
        """Carry out the hang-up sequence's relay commands; report when it is over."""
        hangup = self.hangup
        assert hangup is not None
        for cmd in commands:
            if isinstance(cmd, Energize):
                self.relay.energize(cmd.time_s)
            elif isinstance(cmd, Release):
                self.relay.release()
            elif isinstance(cmd, Finished):
                self.hangup = None
                self.emit(CallTerminated(time=cmd.time_s, call_id=hangup.call_id, reason=hangup.reason.reason,
                                         keyword=hangup.reason.keyword, verified=cmd.verified,
                                         attempts=cmd.attempts))
                if self.callers is not None and self.call is not None and self.call.call_id == hangup.call_id:
                    self.callers.terminated(self.call.caller_id, hangup.reason.reason, hangup.call_id, cmd.time_s)
                if not end_call or cmd.verified is False or self.hangup_plan.flash_ms:
                    self.tracker.gateway_holding = False   # the call may go on: the line tells when it ends
                    continue
                for out in self.tracker.gateway_released(cmd.time_s):
                    self._on_track(out)

    def _guard_sink(self, time_s: float, method: Callable, *args):
        """Call an audio sink; its failure (e.g. disk full) becomes a fault, never stops protection."""
        try:
            return method(*args)
        except Exception as exc:   # noqa: BLE001 - reported as a fault event, the call stays protected
            log.warning("call-audio sink %r failed: %s", method, exc, exc_info=not isinstance(exc, LineGuardError))
            call_id = self.call.call_id if self.call is not None else None
            self.emit(Fault(time=time_s, call_id=call_id, component="recorder", message=str(exc), recovered=True))
            return None

    # -- events -----------------------------------------------------------------

    def emit(self, event: Event) -> None:
        if event.ts is None:
            event = event.replace(ts=rfc3339(self.clock.utc()))
        for sink in self.sinks:
            try:
                sink.handle(event)
            except Exception:   # a broken sink must never stop call protection
                log.exception("event sink %r failed on %s", sink, event.TYPE)
