"""``lineguard``: the one command-line entry point."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from lineguard import __version__
from lineguard.config import Settings, load_settings
from lineguard.errors import LineGuardError

log = logging.getLogger("lineguard")

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register a subcommand: ``configure`` adds its arguments."""
    def wrap(func: Command) -> Command:
        COMMANDS[name] = (func, configure, help_text)
        return func
    return wrap


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


# ---- run ----------------------------------------------------------------------

def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="settings file (TOML)")
    p.add_argument("--fast", action="store_true", help="simulated line: do not pace at real time")
    p.add_argument("--json", action="store_true", help="print events as JSON lines")


@command("run", "run the gateway (simulated line unless the config names hardware)", _run_args)
def cmd_run(args: argparse.Namespace) -> int:
    from lineguard.daemon import run_daemon
    return run_daemon(_settings(args), fast=args.fast, as_json=args.json)


# ---- replay -------------------------------------------------------------------

def _replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("audio", type=Path, help="16-bit PCM WAV: channel 0 line (far end), channel 1 phone")
    p.add_argument("--config", type=Path, help="settings file (TOML)")
    p.add_argument("--json", action="store_true", help="one JSON object per line per event")
    p.add_argument("--direction", choices=["incoming", "outgoing"], default="incoming")
    p.add_argument("--realtime", action="store_true", help="pace at real time")
    p.add_argument("--record-dir", type=Path, help="record the call (and evidence) here")
    p.add_argument("--mqtt", metavar="URL", help="also publish the events to this broker (mqtt[s]://HOST:PORT) "
                                                 "as the device would; credentials from --config [mqtt]")
    p.add_argument("--device-id", help="device id to publish as (default: device.id of the settings)")


@command("replay", "run the full gateway over a WAV file on a virtual clock", _replay_args)
def cmd_replay(args: argparse.Namespace) -> int:
    from lineguard.events import Direction
    from lineguard.recording.recorder import Recorder
    from lineguard.replay import build_replay, run_rig
    from lineguard.sinks import ConsoleSink, JsonLinesSink

    settings = _settings(args)
    sink = JsonLinesSink() if args.json else ConsoleSink()
    recorder = None
    if args.record_dir:
        recording = settings.recording.model_copy(update={"dir": args.record_dir})
        recorder = Recorder(recording, device_id=settings.device.id)
    mqtt_sinks = []
    if args.mqtt:
        from lineguard.mqtt.wiring import finish_replay, replay_agent
        mqtt_sinks = [replay_agent(settings, args.mqtt, args.device_id or settings.device.id).start()]
    from lineguard.callers.clips import clip_capture_from_settings
    clips = clip_capture_from_settings(settings)
    extra = [s for s in (recorder, clips) if s is not None]
    rig = build_replay(args.audio, settings, Direction(args.direction), args.realtime,
                       sinks=[sink, *extra, *mqtt_sinks], audio_sinks=extra)
    run_rig(rig)
    for agent in mqtt_sinks:
        finish_replay(agent)   # every event acknowledged by the broker, or an error
    return 0


# ---- detect -------------------------------------------------------------------

def _detect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("audio", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--model", type=Path, help="a .tflite model (default: the shipped one)")


@command("detect", "spot keywords in a WAV file", _detect_args)
def cmd_detect(args: argparse.Namespace) -> int:
    from lineguard.kws.detect_cli import detect_main
    return detect_main(args.audio, args.json, args.model)


# ---- threshold-check ------------------------------------------------------------


def _threshold_check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("calls", type=Path, nargs="+",
                   help="recordings of ordinary calls (no abuse): WAV files, or folders of them")
    p.add_argument("--key-file", type=Path,
                   help="the site's recording key: also read encrypted recordings (.lgrec) in the folders")
    p.add_argument("--config", type=Path, help="settings file (TOML): the site's model, keywords and channels")
    p.add_argument("--clips", type=Path, metavar="DIR",
                   help="a reviewed `lineguard clips export` folder: how many abusive clips each threshold catches")
    p.add_argument("--budget", type=float, default=0.5, help="false alarms per hour the site accepts (default 0.5)")
    p.add_argument("--confidence", type=float, default=0.9,
                   help="confidence of the upper bound on the false-alarm rate (default 0.9)")
    p.add_argument("--model", type=Path, help="a .tflite model (default: the site's)")
    p.add_argument("--json", action="store_true", help="one JSON object")


@command("threshold-check", "false alarms per hour on this site's own calls at each threshold, and a suggestion",
         _threshold_check_args)
def cmd_threshold_check(args: argparse.Namespace) -> int:
    from lineguard.kws.site_check import check_main

    if args.budget <= 0:
        raise LineGuardError(f"--budget must be above 0, got {args.budget:g}")
    if not 0.5 <= args.confidence < 1:
        raise LineGuardError(f"--confidence must be in [0.5, 1), got {args.confidence:g}")
    key = None
    if args.key_file is not None:
        from lineguard.recording.crypto import load_key

        key = load_key(args.key_file)
    return check_main(args.calls, _settings(args), clips_dir=args.clips, budget=args.budget,
                      confidence=args.confidence, model_path=args.model, as_json=args.json, key=key)


# ---- check-config ---------------------------------------------------------------

def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path)


@command("check-config", "validate a settings file and list every problem", _check_args)
def cmd_check_config(args: argparse.Namespace) -> int:
    from lineguard.prompts import PromptLibrary

    settings = load_settings(args.file)
    PromptLibrary.from_settings(settings, settings.audio.sample_rate_hz, str(args.file)).load_all()  # prompts
    print(f"{args.file}: OK")
    return 0


# ---- main ---------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="lineguard", description="LineGuard call protection")
    parser.add_argument("--version", action="version", version=f"lineguard {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_func, configure, help_text) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


PLUGIN_MODULES = (
    "lineguard.cli_line",        # line-decode
    "lineguard.cli_recording",   # recording / evidence
    "lineguard.relay.cli",       # relay release (systemd ExecStopPost=)
    "lineguard.cli_mqtt",        # mqtt tools
    "lineguard.cli_lists",       # caller lists, clips
    "lineguard_provision.cli",   # provision, selftest
)


def _load_plugins() -> None:
    """Subcommands that live with their feature register themselves on import."""
    import importlib
    for name in PLUGIN_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise   # the plugin exists but something it imports is missing


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    func = COMMANDS[args.command][0]
    try:
        return func(args)
    except LineGuardError as exc:
        print(f"lineguard {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
