"""``lineguard relay release``: put the line back, from outside the gateway process."""

from __future__ import annotations

import argparse
from pathlib import Path

from lineguard.cli import command


def _relay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["release"],
                   help="release: drive the relay pin to its inactive level (systemd ExecStopPost=)")
    p.add_argument("--config", type=Path, help="settings file (TOML)")


@command("relay", "release the hang-up relay (run after the service stops, whatever the cause)", _relay_args)
def cmd_relay(args: argparse.Namespace) -> int:
    from lineguard.config import load_settings
    from lineguard.relay.failsafe import release_pin

    print(release_pin(load_settings(args.config).relay))
    return 0
