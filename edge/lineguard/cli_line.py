"""``lineguard line-decode``: caller ID, DTMF digits and call-progress tones in a recording of line audio."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lineguard.cli import command
from lineguard.config import load_settings


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("audio", type=Path, help="16-bit PCM WAV of line audio (any rate; resampled to 8 kHz)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--config", type=Path, help="settings file: its country and line.profile overrides")
    p.add_argument("--country", choices=["KR", "US", "DE"], help="country profile (default: the config's)")
    p.add_argument("--channel", type=int, default=0, help="channel holding the line (default 0)")


@command("line-decode", "find caller ID, DTMF digits and call-progress tones in line audio", _args)
def cmd_line_decode(args: argparse.Namespace) -> int:
    from lineguard.audio.resample import to_rate
    from lineguard.audio.wavio import read_wav
    from lineguard.dsp.decoder import SAMPLE_RATE_HZ, LineAudioDecoder
    from lineguard.errors import AudioFormatError
    from lineguard.line.profiles import site_profile

    settings = load_settings(args.config)
    if args.country:
        settings = settings.model_copy(update={"device": settings.device.model_copy(update={"country": args.country})})
    samples, rate = read_wav(args.audio)
    if not 0 <= args.channel < samples.shape[1]:
        raise AudioFormatError(f"{args.audio}: has {samples.shape[1]} channel(s); --channel {args.channel} "
                               "does not exist")
    line = to_rate(samples[:, args.channel], rate, SAMPLE_RATE_HZ)
    decoder = LineAudioDecoder(site_profile(settings))
    for event in decoder.process(line, 0.0):
        record = to_record(event)
        print(json.dumps(record, ensure_ascii=False) if args.json else _human(record), flush=True)
    return 0


def to_record(event) -> dict:
    from lineguard.line.base import CallerId, Dtmf, Tone

    time_s = round(event.time_s, 3)
    if isinstance(event, CallerId):
        return {"type": "caller_id", "time": time_s, "number": event.number, "name": event.name,
                "status": event.status}
    if isinstance(event, Dtmf):
        return {"type": "dtmf", "time": time_s, "digit": event.digit}
    if isinstance(event, Tone):
        return {"type": "tone", "time": time_s, "tone": event.tone}
    raise TypeError(f"not a line-audio observation: {event!r}")


def _human(record: dict) -> str:
    kind = record["type"]
    if kind == "caller_id":
        who = record["number"] or record["status"]
        detail = f"{who}" + (f" ({record['name']})" if record["name"] else "")
    else:
        detail = record["digit"] if kind == "dtmf" else record["tone"]
    return f"{record['time']:9.3f}s  {kind:<9} {detail}"


# ---- line-watch ------------------------------------------------------------------

POLL_INTERVAL_S = 0.02


def _watch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="settings file naming line.backend and line.port")
    p.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--selftest", action="store_true", help="board: ask for its self-test and show the result")
    p.add_argument("--json", action="store_true", help="one JSON object per line")


@command("line-watch", "show live what the line-sense board or caller-ID modem reports", _watch_args)
def cmd_line_watch(args: argparse.Namespace) -> int:
    from lineguard.app import build_line_monitor
    from lineguard.clock import RealClock
    from lineguard.errors import ConfigError

    settings = load_settings(args.config)
    if settings.line.backend == "simulated":
        raise ConfigError(str(args.config), [("line.backend", "line-watch needs 'board' or 'modem'")])
    if args.selftest and settings.line.backend != "board":
        raise ConfigError(str(args.config), [("line.backend", "--selftest: only the line-sense board has one")])
    monitor, clock = build_line_monitor(settings), RealClock()
    start_s, asked = clock.now(), False
    monitor.open()
    try:
        while args.seconds is None or clock.now() - start_s < args.seconds:
            now_s = clock.now()
            for event in monitor.poll(now_s):
                _show(_watch_record(event, now_s - start_s), args.json)
            if args.selftest and not asked and getattr(monitor, "firmware", None):
                from lineguard.line.protocol import Command
                monitor.request(Command.SELFTEST, now_s)
                asked = True
            clock.sleep(POLL_INTERVAL_S)
    finally:
        monitor.close()
    return _selftest_verdict(monitor, args) if args.selftest else 0


def _watch_record(event, elapsed_s: float) -> dict:
    import dataclasses

    fields = {k: v for k, v in dataclasses.asdict(event).items() if k != "time_s"}
    return {"type": type(event).__name__.lower(), "time": round(elapsed_s, 3), **fields}


def _show(record: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(record, ensure_ascii=False), flush=True)
    else:
        rest = " ".join(f"{k}={v}" for k, v in record.items() if k not in ("type", "time"))
        print(f"{record['time']:9.3f}s  {record['type']:<12} {rest}", flush=True)


def _selftest_verdict(monitor, args: argparse.Namespace) -> int:
    result = getattr(monitor, "last_selftest", None)
    firmware = getattr(monitor, "firmware", None)
    record = {"type": "selftest", "firmware": firmware, "ok": bool(result and result.ok),
              "failures": result.failures if result else None}
    _show({"time": 0.0, **record}, args.json)
    return 0 if record["ok"] else 1
