"""What `make -n TARGET` would run, for tests that check a heavy make target's plan without running it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_plan(target: str, tmp_path: Path, *assignments: str) -> list[str]:
    """The commands of ``make -n target`` with the build folder in ``tmp_path`` (written ``B``) and the venv's stamp
    there (touched, so the venv is not planned), one per line, continued lines joined, runs of blanks as one."""
    build = tmp_path / "build"
    (tmp_path / "stamp").touch()
    # run from `make test` too: a nested make would inherit its flags and name the directories it enters
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-n", target, f"KWS_BUILD={build}",
                             f"STAMP={tmp_path / 'stamp'}", *assignments], cwd=ROOT, capture_output=True, text=True,
                            check=True, env=env)
    return [" ".join(line.replace(str(build), "B").split()) for line in result.stdout.replace("\\\n", " ").splitlines()]
