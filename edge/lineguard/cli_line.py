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
