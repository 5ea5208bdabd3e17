"""Writing provisioning files: owner-only secrets, atomic writes, no rewrite when unchanged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lineguard_provision.errors import BundleError

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) owner-only; tighten it if it exists looser."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def write_private(path: Path, data: bytes) -> bool:
    return _write(path, data, PRIVATE_MODE)


def write_public(path: Path, data: bytes) -> bool:
    return _write(path, data, PUBLIC_MODE)


def _write(path: Path, data: bytes, mode: int) -> bool:
    """Write atomically with ``mode``; return False (and touch nothing) if identical already."""
    if path.is_symlink():
        raise BundleError(f"{path}: refusing to write through a symbolic link")
    if path.exists() and path.read_bytes() == data:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True
