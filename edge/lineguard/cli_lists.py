"""``lineguard list …`` (allow/block lists) and ``lineguard flags …`` (repeat abusers)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from lineguard.callers.flags import FlagStore
from lineguard.callers.lists import ListEntry, ListFile, ListName, MatchKind, parse_time, to_csv
from lineguard.callers.numbers import normalize
from lineguard.cli import _settings, command
from lineguard.errors import ConfigError


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="settings file (TOML)")
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add or replace an entry")
    add.add_argument("list", choices=[n.value for n in ListName])
    add.add_argument("value", help="number, prefix, or pattern (? one digit, * any digits)")
    add.add_argument("--kind", choices=[k.value for k in MatchKind], default="exact")
    add.add_argument("--note", default="")
    add.add_argument("--by", default="", help="who adds it")
    add.add_argument("--expires", default="", help="ISO 8601 date/time; empty = never")
    rm = sub.add_parser("remove", help="remove every entry with this value")
    rm.add_argument("value")
    sub.add_parser("show", help="print the list")
    imp = sub.add_parser("import", help="import a CSV file (all rows valid, or nothing changes)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--replace", action="store_true", help="replace the whole list")
    exp = sub.add_parser("export", help="write the list as CSV")
    exp.add_argument("file", type=Path, nargs="?", help="default: standard output")


@command("list", "manage the allow and block lists", _list_args)
def cmd_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    lists = ListFile(settings.callers.list_file, settings.device.country)
    if args.action == "add":
        kind = MatchKind(args.kind)
        value = args.value if kind is MatchKind.PATTERN else normalize(args.value, settings.device.country)
        try:
            expires = parse_time(args.expires)
        except ValueError as exc:
            raise ConfigError("--expires", [("--expires", str(exc))]) from None
        entry = ListEntry(ListName(args.list), kind, value, args.note, args.by, None, expires)
        lists.add(entry)
        print(f"added {entry.describe()}")
    elif args.action == "remove":
        print(f"removed {lists.remove(args.value)} entries")
    elif args.action == "show":
        now = datetime.now(timezone.utc)
        for e in lists.load():
            state = "" if e.active(now) else "  (expired)"
            print(f"{e.list.value:<6}{e.kind.value:<8}{e.value:<16}{e.note}{state}")
    elif args.action == "import":
        try:
            text = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(args.file), [("(file)", str(exc))]) from None
        print(f"imported {lists.import_csv(text, str(args.file), args.replace)} entries")
    elif args.action == "export":
        text = to_csv(lists.load())
        if args.file:
            args.file.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    return 0


def _flags_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="settings file (TOML)")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("show", help="list flagged numbers")
    rm = sub.add_parser("remove", help="clear a number's flag")
    rm.add_argument("number")


@command("flags", "show or clear repeat-abuser flags", _flags_args)
def cmd_flags(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = FlagStore(settings.callers.flags_db, settings.device.country)
    try:
        if args.action == "show":
            now = datetime.now(timezone.utc)
            for f in store.all():
                live = "live" if now < f.expires_at else "expired"
                print(f"{f.number:<16}{f.reason:<10}x{f.count:<4}{f.source:<8}until {f.expires_at:%Y-%m-%d} ({live})")
        else:
            print("removed" if store.remove(args.number) else "not flagged")
    finally:
        store.close()
    return 0


def _clips_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="settings file (TOML)")
    sub = p.add_subparsers(dest="action", required=True)
    exp = sub.add_parser("export", help="write clips as WAV files with a labels.csv to fill in")
    exp.add_argument("out", type=Path)
    exp.add_argument("--key-file", type=Path, help="recording key, to decrypt encrypted clips")


@command("clips", "export detection clips for review and retraining", _clips_args)
def cmd_clips(args: argparse.Namespace) -> int:
    from lineguard.callers.clips import clip_cipher, export_clips
    from lineguard.recording.crypto import load_key

    settings = _settings(args)
    decrypt = clip_cipher(load_key(args.key_file))[1] if args.key_file else None
    count = export_clips(settings.clips.dir, args.out, decrypt)
    print(f"exported {count} clips to {args.out} (fill in the label column: true/false)")
    return 0
