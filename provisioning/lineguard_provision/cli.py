"""``lineguard provision …`` and ``lineguard selftest``.

Each provisioning step is its own subcommand and can be rerun alone;
running one twice changes nothing. Output names files and fingerprints,
never a secret.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lineguard.cli import _settings, command

DEFAULT_FLEET = Path(os.environ.get("LINEGUARD_FLEET_DIR", "fleet"))


def _fleet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fleet-dir", type=Path, default=DEFAULT_FLEET,
                   help="fleet CA, keys, registry and device bundles (env LINEGUARD_FLEET_DIR; default ./fleet)")


def _seed_options(seed: argparse.ArgumentParser) -> None:
    seed.add_argument("--out", type=Path, help="seed directory (default: <fleet>/devices/<id>/seed)")
    seed.add_argument("--broker-url", default="mqtts://mqtt.lineguard.example:8883")
    seed.add_argument("--package", default="lineguard[pi]", help="pip requirement to install on the Pi")
    seed.add_argument("--index-url", default="", help="pip index URL (default: pip's own)")
    seed.add_argument("--country", default="KR", choices=["KR", "US", "DE"])
    seed.add_argument("--language", default="ko", choices=["ko", "en"])
    seed.add_argument("--audio-device", default="USB", help="part of the USB interface's name")
    seed.add_argument("--line-backend", default="board", choices=["board", "modem"])
    seed.add_argument("--line-port", default="/dev/ttyACM0")
    seed.add_argument("--timezone", default="Asia/Seoul")
    _fleet(seed)


def _provision_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="step", required=True)
    ident = sub.add_parser("identity", help="create or complete a device identity bundle")
    ident.add_argument("device_id", nargs="?", help="e.g. clinic-042 (default: a new lg-xxxxxxxx)")
    ident.add_argument("--site", default="")
    ident.add_argument("--installer", default="")
    _fleet(ident)
    seed = sub.add_parser("seed", help="write cloud-init user-data/meta-data for the SD card's boot partition")
    seed.add_argument("device_id")
    _seed_options(seed)
    reg = sub.add_parser("register", help="add the device to the fleet registry and the broker's files")
    reg.add_argument("device_id")
    _fleet(reg)
    device = sub.add_parser("device", help="identity, register and seed in one go (each step idempotent)")
    device.add_argument("device_id")
    device.add_argument("--site", default="")
    device.add_argument("--installer", default="")
    _seed_options(device)
    lst = sub.add_parser("list", help="list the fleet registry")
    _fleet(lst)
    broker = sub.add_parser("broker-cert", help="issue the central broker's TLS certificate from the fleet CA")
    broker.add_argument("hostnames", nargs="+")
    broker.add_argument("--out", type=Path, help="default: <fleet>/broker")
    _fleet(broker)
    svc = sub.add_parser("install-service", help="install (and enable) the systemd unit on the Pi")
    svc.add_argument("--root", type=Path, default=Path("/"), help="write under this root instead of /")
    svc.add_argument("--no-enable", action="store_true", help="write the unit only")
    svc.add_argument("--exec", dest="exec_path", type=Path, help="lineguard executable (default: the venv's)")
    svc.add_argument("--config", dest="config_path", type=Path, help="default /etc/lineguard/config.toml")
    svc.add_argument("--watchdog-s", type=int, default=30)


@command("provision", "installer tools: device identity, SD-card seed, fleet registry, systemd service",
         _provision_args)
def cmd_provision(args: argparse.Namespace) -> int:
    return _PROVISION[args.step](args)


def _identity(args: argparse.Namespace) -> int:
    from lineguard_provision.identity import ensure_identity, new_device_id

    ident = ensure_identity(args.fleet_dir, args.device_id or new_device_id(), args.site, args.installer)
    print(f"device {ident.device_id}: bundle {ident.bundle_dir}")
    print(f"  client certificate SHA-256 {ident.cert_sha256}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from lineguard_provision.identity import bundle_dir_for, load_identity
    from lineguard_provision.seed import SeedOptions, write_seed

    ident = load_identity(bundle_dir_for(args.fleet_dir, args.device_id))
    opts = SeedOptions(args.broker_url, args.package, args.index_url, args.country, args.language,
                       args.audio_device, args.line_backend, args.line_port, args.timezone)
    out = args.out or ident.bundle_dir / "seed"
    changed = write_seed(ident, out, opts)
    print(f"seed for {ident.device_id} in {out} ({'updated' if changed else 'unchanged'}): "
          "copy user-data and meta-data to the SD card's boot partition "
          "(or run firstboot.sh once as root on an image without cloud-init)")
    return 0


def _register(args: argparse.Namespace) -> int:
    from lineguard_provision.identity import bundle_dir_for, load_identity
    from lineguard_provision.registry import register

    ident = load_identity(bundle_dir_for(args.fleet_dir, args.device_id))
    changed = register(args.fleet_dir, ident)
    print(f"{ident.device_id} {'registered' if changed else 'already registered'} in {args.fleet_dir}; "
          "reload the broker to pick up mosquitto.passwd / mosquitto.acl")
    return 0


def _list(args: argparse.Namespace) -> int:
    from lineguard_provision.registry import list_devices

    for e in list_devices(args.fleet_dir):
        print(f"{e.device_id}\t{e.site}\t{e.installer}\t{e.provisioned}")
    return 0


def _broker_cert(args: argparse.Namespace) -> int:
    from lineguard_provision.files import ensure_private_dir
    from lineguard_provision.pki import ensure_ca, fingerprint_sha256, issue_server_cert

    out = ensure_private_dir(args.out or args.fleet_dir / "broker")
    cert = issue_server_cert(ensure_ca(args.fleet_dir), args.hostnames, out / "server.crt", out / "server.key")
    print(f"broker certificate {out / 'server.crt'} (SHA-256 {fingerprint_sha256(cert)})")
    return 0


def _install_service(args: argparse.Namespace) -> int:
    from lineguard_provision.systemd import ServiceOptions, install_service

    defaults = ServiceOptions()
    opts = ServiceOptions(exec_path=args.exec_path or defaults.exec_path,
                          config_path=args.config_path or defaults.config_path, watchdog_s=args.watchdog_s)
    changed = install_service(args.root, opts, enable=not args.no_enable)
    print(f"lineguard.service {'installed' if changed else 'unchanged'} under {args.root}")
    return 0


def _device(args: argparse.Namespace) -> int:
    for step in (_identity, _register, _seed):
        step(args)
    return 0


_PROVISION = {"device": _device, "identity": _identity, "seed": _seed, "register": _register, "list": _list,
              "broker-cert": _broker_cert, "install-service": _install_service}


def _selftest_args(p: argparse.ArgumentParser) -> None:
    from lineguard_provision.selftest.runner import STEP_NAMES

    p.add_argument("--config", type=Path, help="settings file (TOML)")
    p.add_argument("--json", action="store_true", help="print the machine-readable report")
    p.add_argument("--only", action="append", default=[], metavar="STEP",
                   help=f"run only these steps (repeat or comma-separate): {', '.join(STEP_NAMES)}")
    p.add_argument("--apply-gain", action="store_true",
                   help="write the output gain the loopback step measured into the --config file")


@command("selftest", "prove on site that audio, line, relay, MQTT, model, clock and disk work", _selftest_args)
def cmd_selftest(args: argparse.Namespace) -> int:
    from lineguard_provision.selftest.context import Context
    from lineguard_provision.selftest.display import RichProgress, summary_line
    from lineguard_provision.selftest.rig import build_rig
    from lineguard_provision.selftest.runner import run_selftest, select_steps

    settings = _settings(args)
    only = [name for value in args.only for name in value.split(",") if name]
    select_steps(only)                                        # reject unknown names before touching hardware
    ctx = Context(settings, build_rig(settings))
    if args.json:
        report = run_selftest(ctx, only)
        print(report.to_json())
    else:
        with RichProgress() as progress:
            report = run_selftest(ctx, only, progress)
        progress.console.print(summary_line(report))
        published = ctx.shared.get("published")
        if published is not None:
            progress.console.print(f"report {'published' if published else 'NOT published'} over MQTT")
    _apply_gain(args, report)
    sys.stdout.flush()
    return 0 if report.passed else 1


def _apply_gain(args: argparse.Namespace, report) -> None:
    from lineguard.errors import ConfigError
    from lineguard_provision.selftest.calibration import set_output_gain

    if not args.apply_gain:
        return
    if args.config is None:
        raise ConfigError("selftest", [("--apply-gain", "needs --config: the file to write the gain into")])
    gain = next((s.outcome.data.get("output_gain_db") for s in report.steps if s.name == "loopback"), None)
    if gain is None:
        print("loopback did not pass: gain not changed", file=sys.stderr)
        return
    changed = set_output_gain(args.config, gain)
    print(f"audio.output_gain_db = {gain:.1f} {'written to' if changed else 'already in'} {args.config}",
          file=sys.stderr)
