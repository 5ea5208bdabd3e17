"""``lineguard recording decrypt`` and ``lineguard evidence verify``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lineguard.cli import command


def _decrypt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["decrypt"], help="decrypt: export an encrypted recording as WAV")
    p.add_argument("file", type=Path, help="an encrypted recording or evidence file (.lgrec)")
    p.add_argument("--key-file", type=Path, required=True, help="the site's recording key (32 bytes)")
    p.add_argument("-o", "--output", type=Path,
                   help="file to write (default: FOLDER-NAME.wav, or FOLDER-NAME for events, in the current folder)")


@command("recording", "authorized export of encrypted recordings", _decrypt_args)
def cmd_recording(args: argparse.Namespace) -> int:
    from lineguard.recording.crypto import EncryptedReader, load_key
    from lineguard.recording.segments import wav_header

    with EncryptedReader(args.file, load_key(args.key_file)) as reader:
        is_audio = reader.content == "pcm"
        # default: the current folder, never inside an evidence bundle (an extra file there fails verification)
        plain = args.file.with_suffix(".wav" if is_audio else "").name
        out = args.output or Path(f"{args.file.resolve().parent.name}-{plain}")
        if out.exists():
            print(f"lineguard recording: {out} exists; not overwritten", file=sys.stderr)
            return 1
        size = 0
        f = open(out, "xb")                # noqa: SIM115 - closed below; written a record at a time
        try:
            with f:
                if is_audio:
                    f.write(wav_header(reader.sample_rate_hz, reader.channels, 0))
                for record in reader.records():
                    f.write(record)
                    size += len(record)
                if is_audio:
                    f.seek(0)
                    f.write(wav_header(reader.sample_rate_hz, reader.channels, size))
        except BaseException:
            out.unlink(missing_ok=True)    # no half-written export left behind
            raise
        if not is_audio:
            print(f"{out}: {size} bytes")
            return 0
        seconds = size / (2 * reader.channels * reader.sample_rate_hz)
        note = "" if reader.complete else " (cut off by a crash: everything up to the last whole segment)"
        print(f"{out}: {seconds:.1f} s, {reader.channels} channel(s), {reader.sample_rate_hz} Hz{note}")
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
