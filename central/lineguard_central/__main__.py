"""``lineguard-central``: serve the console, manage users, run the demo."""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys
from pathlib import Path

from lineguard.errors import LineGuardError
from lineguard_central.config import load_central_settings


def _serve(args: argparse.Namespace) -> int:
    from lineguard_central.server import CentralServer
    CentralServer(load_central_settings(args.config)).serve_forever()
    return 0


def _user(args: argparse.Namespace) -> int:
    from lineguard_central.server import add_user
    from lineguard_central.store import open_database
    settings = load_central_settings(args.config)
    password = args.password or getpass.getpass(f"password for {args.username}: ")
    db = open_database(settings.database.url)
    add_user(db, args.username, args.role, password)
    print(f"user {args.username} ({args.role}) saved")
    return 0


def _prune(args: argparse.Namespace) -> int:
    import time
    from lineguard_central.store import Writer, open_database
    settings = load_central_settings(args.config)
    removed = Writer(open_database(settings.database.url)).prune_events(time.time() - args.days * 86400.0)
    print(f"removed {removed} events older than {args.days} days (per-day counts kept)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from lineguard_central.demo import run_demo
    run_demo(args.db, args.port, speed=args.speed)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lineguard-central", description="LineGuard fleet console")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the ingester and the web console")
    p.add_argument("--config", type=Path, help="central settings (TOML); defaults otherwise")
    p.set_defaults(func=_serve)
    p = sub.add_parser("user", help="add a user or change a password/role")
    p.add_argument("username")
    p.add_argument("--role", choices=["operator", "viewer"], default="viewer")
    p.add_argument("--password", help="(prompted when left out)")
    p.add_argument("--config", type=Path)
    p.set_defaults(func=_user)
    p = sub.add_parser("prune", help="delete events older than N days (run daily, e.g. from a systemd timer)")
    p.add_argument("--days", type=int, required=True)
    p.add_argument("--config", type=Path)
    p.set_defaults(func=_prune)
    p = sub.add_parser("demo", help="local broker + simulated gateways + console")
    p.add_argument("--db", type=Path, default=Path("var/central/demo.db"))
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--speed", type=float, default=8.0, help="how much faster than real time calls play")
    p.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)     # stop like Ctrl-C: broker and gateways shut down cleanly
    try:
        return args.func(args)
    except LineGuardError as exc:
        print(f"lineguard-central: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
