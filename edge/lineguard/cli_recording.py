"""``lineguard recording decrypt`` and ``lineguard evidence verify``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lineguard.cli import command


def _decrypt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["decrypt"], help="decrypt: export an encrypted recording as WAV")
    p.add_argument("file", type=Path, help="an encrypted recording (.lgrec)")
    p.add_argument("--key-file", type=Path, required=True, help="the site's recording key (32 bytes)")
    p.add_argument("-o", "--output", type=Path, help="WAV to write (default: FILE with .wav)")


@command("recording", "authorized export of encrypted recordings", _decrypt_args)
def cmd_recording(args: argparse.Namespace) -> int:
    from lineguard.recording.crypto import decrypt_file, load_key
    from lineguard.recording.segments import wav_header

    result = decrypt_file(args.file, load_key(args.key_file))
    out = args.output or args.file.with_suffix(".wav")
    if out.exists():
        print(f"lineguard recording: {out} exists; not overwritten", file=sys.stderr)
        return 1
    out.write_bytes(wav_header(result.sample_rate_hz, result.channels, len(result.pcm)) + result.pcm)
    seconds = len(result.pcm) / (2 * result.channels * result.sample_rate_hz)
    note = "" if result.complete else " (cut off by a crash: everything up to the last whole segment)"
    print(f"{out}: {seconds:.1f} s, {result.channels} channel(s), {result.sample_rate_hz} Hz{note}")
    return 0


def _evidence_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["verify"], help="verify: check hashes and the chain")
    p.add_argument("dir", type=Path, help="the evidence folder (all bundles) or one bundle")


@command("evidence", "verify evidence bundles and their hash chain", _evidence_args)
def cmd_evidence(args: argparse.Namespace) -> int:
    from lineguard.recording.evidence import MANIFEST, verify_bundle, verify_chain

    folder: Path = args.dir
    if (folder / MANIFEST).exists():
        manifest = verify_bundle(folder)
        print(f"{folder}: OK, {len(manifest['files'])} files match the manifest (seq {manifest['seq']}; "
              f"verify the whole folder to check the chain)")
        return 0
    root = folder / "evidence" if (folder / "evidence").is_dir() else folder
    for line in verify_chain(root):
        print(line)
    print(f"{root}: chain OK")
    return 0
