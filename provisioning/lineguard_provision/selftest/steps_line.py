"""Self-test steps on the line side: audio interface, line, test call, loopback, relay."""

from __future__ import annotations

import numpy as np

from lineguard.audio.levels import SILENCE_DBFS
from lineguard.line.base import CAP_HOOK, CAP_LOOP
from lineguard_provision.selftest.context import Context
from lineguard_provision.selftest.report import Outcome, Status

DEFAULT_INTERFACE = "USB"
MAX_ECHO_DBFS = -3.0
GAIN_RANGE_DB = (-40.0, 20.0)


def check_audio_devices(ctx: Context) -> Outcome:
    a = ctx.settings.audio
    devices = ctx.rig.list_devices()
    listing = [f"{d.index}: {d.name} (in {d.input_channels}, out {d.output_channels})" for d in devices]
    if not devices:
        return Outcome(Status.FAIL, "no audio devices found",
                       "Plug in the USB audio interface and check `arecord -l` lists it.")
    want = a.input_device or DEFAULT_INTERFACE
    usable = [d for d in devices if want.lower() in d.name.lower()
              and d.input_channels >= a.channels and d.output_channels >= 1]
    data = {"devices": listing}
    if not usable:
        names = ", ".join(repr(d.name) for d in devices)
        return Outcome(Status.FAIL, f"no device matching {want!r} with {a.channels} input channels and an output",
                       f"Set audio.input_device to part of one of these names: {names}.", data)
    pick = usable[0]
    data["picked"] = pick.name
    if not a.input_device and len(usable) > 1:
        return Outcome(Status.WARN, f"{len(usable)} interfaces match {want!r}; using {pick.name!r}",
                       f'Set audio.input_device = "{pick.name}" to pin the right one.', data)
    return Outcome(Status.PASS, f"using {pick.name!r} ({len(devices)} device(s) found)", "", data)


def check_line_present(ctx: Context) -> Outcome:
    rig = ctx.rig
    rig.wait_until(lambda s: s.voltage is not None or s.rings > 0 or bool(s.loop_present), ctx.options.line_wait_s)
    state = rig.line
    if state.voltage is not None:
        volts = round(state.voltage.volts, 1)
        if state.voltage.present:
            return Outcome(Status.PASS, f"line voltage {volts} V", "", {"volts": volts})
        return Outcome(Status.FAIL, f"no line voltage ({volts} V)",
                       "Connect the LINE port to the wall socket; an idle line measures about 48 V.",
                       {"volts": volts})
    if state.rings or state.loop_present:
        return Outcome(Status.PASS, "line active (ring or loop current seen)")
    if ctx.settings.line.backend == "board":
        return Outcome(Status.FAIL, f"line-sense board reported no line voltage in {ctx.options.line_wait_s:g} s",
                       "Connect the LINE port to the wall socket; check the board's USB cable and "
                       f"line.port ({ctx.settings.line.port or 'unset'}).")
    return Outcome(Status.WARN, "this line sense cannot measure voltage; the test call checks the line",
                   "Run the ring step: call this line from a mobile phone.")


def check_ring_and_caller_id(ctx: Context) -> Outcome:
    rig, opts = ctx.rig, ctx.options
    if not rig.wait_until(lambda s: s.rings > 0, opts.ring_timeout_s):
        return Outcome(Status.FAIL, f"no ring within {opts.ring_timeout_s:g} s",
                       "Call this line from a mobile phone while the test runs; check the ring detector "
                       "and line.port, then rerun `lineguard selftest --only ring`.")
    caps = rig.open_monitor().capabilities
    rig.wait_until(lambda s: s.caller_id is not None or bool(s.off_hook) or bool(s.loop_present), 10.0)
    answered = None
    if caps & {CAP_HOOK, CAP_LOOP}:
        answered = rig.wait_until(lambda s: bool(s.off_hook) or bool(s.loop_present), opts.answer_timeout_s)
    cid = rig.line.caller_id
    data = {"rings": rig.line.rings, "caller_id": cid.number if cid else None, "answered": answered}
    if answered is False:
        return Outcome(Status.FAIL, "the line rang but no answer was seen",
                       "Answer the desk phone when it rings; check the PHONE port wiring (hook sense).", data)
    if cid is None:
        return Outcome(Status.WARN, f"rang {rig.line.rings}x, no caller ID received",
                       "The line may have no caller-ID service, or device.country names the wrong format.", data)
    shown = cid.number or cid.status
    return Outcome(Status.PASS, f"rang {rig.line.rings}x, caller ID {shown}" + (", answered" if answered else ""),
                   "", data)


def check_loopback(ctx: Context) -> Outcome:
    rig, opts, a = ctx.rig, ctx.options, ctx.settings.audio
    if not _off_hook(ctx):
        return Outcome(Status.FAIL, "the line is not off-hook",
                       "Make the test call and answer it (or lift the handset), then rerun "
                       "`lineguard selftest --only loopback`.")
    audio = rig.open_audio()
    channel = a.far_end_channel if audio.channels == 2 else 0
    noise = _tone_dbfs(rig.pump(0.3)[:, channel], opts.tone_hz, audio.sample_rate_hz)
    level_dbfs = a.prompt_level_dbfs + a.output_gain_db
    n = int(opts.tone_s * audio.sample_rate_hz)
    tone = (10 ** (level_dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * opts.tone_hz * np.arange(n)
                                                          / audio.sample_rate_hz)).astype(np.float32)
    audio.play("selftest_tone", np.clip(tone, -1.0, 1.0))
    try:
        heard = rig.pump(opts.tone_s)[:, channel]
    finally:
        audio.stop_playback()
    echo = _tone_dbfs(heard[len(heard) // 10:], opts.tone_hz, audio.sample_rate_hz)
    data = {"played_dbfs": round(level_dbfs, 1), "echo_dbfs": round(float(echo), 1),
            "noise_dbfs": round(float(noise), 1)}
    if echo < noise + opts.min_echo_over_noise_db:
        return Outcome(Status.FAIL, f"test tone not heard back (echo {echo:.1f} dBFS, noise {noise:.1f} dBFS)",
                       "Check audio.output_device, the transformer wiring to the line and the output volume "
                       "(`alsamixer`).", data)
    if echo > MAX_ECHO_DBFS:
        return Outcome(Status.FAIL, f"loopback clips ({echo:.1f} dBFS)",
                       "Lower the capture volume in `alsamixer` and audio.output_gain_db.", data)
    gain = float(np.clip(a.output_gain_db + opts.target_echo_dbfs - echo, *GAIN_RANGE_DB))
    data["output_gain_db"] = round(gain, 1)
    return Outcome(Status.PASS, f"echo {echo:.1f} dBFS over noise {noise:.1f} dBFS; "
                   f"set audio.output_gain_db = {gain:.1f}", "", data)


def check_relay(ctx: Context) -> Outcome:
    rig, opts = ctx.rig, ctx.options
    if CAP_LOOP not in rig.open_monitor().capabilities:
        relay = rig.open_relay()
        relay.energize(rig.clock.now())
        try:
            rig.pump(0.5)
        finally:
            relay.release()
        return Outcome(Status.WARN, "relay switched; this line sense cannot see loop current",
                       "Listen for the click, and check a call drops when the relay opens.")
    if not rig.wait_until(lambda s: bool(s.loop_present), opts.answer_timeout_s):
        return Outcome(Status.FAIL, "no loop current: the phone is on-hook",
                       "Lift the handset (or make the test call), then rerun `lineguard selftest --only relay`.")
    relay = rig.open_relay()
    opened_s = rig.clock.now()
    relay.energize(opened_s)
    try:
        dropped = rig.wait_until(lambda s: s.loop_present is False, opts.loop_drop_timeout_s, step_s=0.02)
        drop_ms = round((rig.clock.now() - opened_s) * 1000)
        rig.pump(max(0.0, rig.release_ms / 1000 - (rig.clock.now() - opened_s)))   # release the test call
    finally:
        relay.release()
    if not dropped:
        return Outcome(Status.FAIL, "relay switched but line sense saw no loop drop",
                       "Wire the relay's normally-closed contacts in series with the loop (LINE to PHONE); "
                       "check relay.pin and relay.active_high. You should hear a click.")
    return Outcome(Status.PASS, f"loop opened within {drop_ms} ms; held {rig.release_ms} ms to release the call",
                   "", {"drop_ms": drop_ms, "held_ms": rig.release_ms})


def _off_hook(ctx: Context) -> bool:
    caps = ctx.rig.open_monitor().capabilities
    if not caps & {CAP_HOOK, CAP_LOOP}:
        return True                                   # cannot tell: trust the installer
    return ctx.rig.wait_until(lambda s: bool(s.off_hook) or bool(s.loop_present), ctx.options.answer_timeout_s)


def _tone_dbfs(x: np.ndarray, freq_hz: float, rate_hz: int) -> float:
    """RMS level (dBFS) of the ``freq_hz`` component of ``x``."""
    if len(x) == 0:
        return SILENCE_DBFS
    n = np.arange(len(x))
    amplitude = 2.0 * abs(np.dot(x.astype(np.float64), np.exp(-2j * np.pi * freq_hz * n / rate_hz))) / len(x)
    rms = amplitude / np.sqrt(2)
    return max(SILENCE_DBFS, 20 * np.log10(rms)) if rms > 0 else SILENCE_DBFS
