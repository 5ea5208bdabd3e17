"""Signed model and prompt updates.

An update is a manifest signed with Ed25519 plus the files it names (inline,
base64, or by URL). The box checks the signature against its trusted public
key and every file's size and SHA-256 *before* writing anything; then writes
each file atomically (temp, fsync, rename) into a new version folder, points
``current`` at it (keeping ``previous``), runs a self-check (a model must load
and run on audio; a prompt must decode) and rolls back when it fails.

Layout under ``<state_dir>/updates/<kind>/``: ``<version>/…``, ``current`` and
``previous`` (symlinks).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from lineguard.errors import LineGuardError, ProtocolError

log = logging.getLogger(__name__)

KINDS = ("model", "prompts")
NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
VERSION = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
MAX_FILE_BYTES = 32 * 1024 * 1024
URL_TIMEOUT_S = 30.0

SelfCheck = Callable[[str, Path], None]   # (kind, version folder); raises when the update is unusable


class UpdateRejected(ProtocolError):
    """The update is unsigned, wrongly signed, malformed or fails its self-check; nothing changed."""


@dataclass(frozen=True)
class FileSpec:
    name: str
    sha256: str
    size: int
    url: str | None = None


@dataclass(frozen=True)
class Manifest:
    kind: str
    version: str
    files: tuple[FileSpec, ...]

    @classmethod
    def from_wire(cls, data: Any) -> Manifest:
        if not isinstance(data, dict):
            raise UpdateRejected("manifest must be an object")
        extra = set(data) - {"kind", "version", "files", "created"}
        if extra:
            raise UpdateRejected(f"manifest: unknown keys {sorted(extra)}")
        kind, version, files = data.get("kind"), data.get("version"), data.get("files")
        if kind not in KINDS:
            raise UpdateRejected(f"manifest.kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(version, str) or not VERSION.match(version):
            raise UpdateRejected(f"manifest.version {version!r}: 1-64 of A-Z a-z 0-9 . _ -")
        if not isinstance(files, list) or not files:
            raise UpdateRejected("manifest.files must be a non-empty list")
        return cls(kind, version, tuple(_file_spec(i, f) for i, f in enumerate(files)))


def _file_spec(index: int, data: Any) -> FileSpec:
    where = f"manifest.files[{index}]"
    if not isinstance(data, dict) or set(data) - {"name", "sha256", "size", "url"}:
        raise UpdateRejected(f"{where}: must be an object with name, sha256, size (and url)")
    name, digest, size, url = data.get("name"), data.get("sha256"), data.get("size"), data.get("url")
    if not isinstance(name, str) or not NAME.match(name):
        raise UpdateRejected(f"{where}.name {name!r}: a plain file name")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise UpdateRejected(f"{where}.sha256: 64 lowercase hex digits")
    if type(size) is not int or not 0 <= size <= MAX_FILE_BYTES:
        raise UpdateRejected(f"{where}.size: an integer 0..{MAX_FILE_BYTES}")
    if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://", "file://"))):
        raise UpdateRejected(f"{where}.url: https://, http:// or file://")
    return FileSpec(name, digest, size, url)


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_bundle(private_key: Ed25519PrivateKey, manifest: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """The update message the central side sends (files inline)."""
    return {"manifest": manifest, "signature": base64.b64encode(private_key.sign(canonical(manifest))).decode(),
            "files": {name: base64.b64encode(data).decode() for name, data in files.items()}}


def manifest_for(kind: str, version: str, files: dict[str, bytes]) -> dict[str, Any]:
    return {"kind": kind, "version": version,
            "files": [{"name": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()]}


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise UpdateRejected(f"{path}: cannot read the update public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UpdateRejected(f"{path}: not an Ed25519 public key")
    return key


def verify(bundle: dict[str, Any], public_key: Ed25519PublicKey) -> tuple[Manifest, dict[str, bytes]]:
    """Check the signature, then fetch and check every file; nothing is written."""
    raw_manifest, signature = bundle.get("manifest"), bundle.get("signature")
    if not isinstance(raw_manifest, dict) or not isinstance(signature, str):
        raise UpdateRejected("unsigned update: manifest and signature are required")
    try:
        public_key.verify(base64.b64decode(signature, validate=True), canonical(raw_manifest))
    except (InvalidSignature, binascii.Error, ValueError):
        raise UpdateRejected("bad signature: the manifest is not signed by the trusted key") from None
    manifest = Manifest.from_wire(raw_manifest)
    inline = bundle.get("files") or {}
    if not isinstance(inline, dict):
        raise UpdateRejected("files must be an object of name -> base64")
    return manifest, {spec.name: _fetch(spec, inline.get(spec.name)) for spec in manifest.files}


def _fetch(spec: FileSpec, inline: Any) -> bytes:
    if inline is not None:
        try:
            data = base64.b64decode(inline, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise UpdateRejected(f"{spec.name}: inline content is not base64") from None
    elif spec.url is not None:
        try:
            with urllib.request.urlopen(spec.url, timeout=URL_TIMEOUT_S) as response:  # noqa: S310 (checked scheme)
                data = response.read(spec.size + 1)
        except OSError as exc:
            raise UpdateRejected(f"{spec.name}: cannot fetch {spec.url}: {exc}") from None
    else:
        raise UpdateRejected(f"{spec.name}: neither inline content nor url")
    if len(data) != spec.size or hashlib.sha256(data).hexdigest() != spec.sha256:
        raise UpdateRejected(f"{spec.name}: size or sha256 does not match the signed manifest")
    return data


class UpdateInstaller:
    """Installs verified updates with atomic writes, keeps the previous version, rolls back."""

    def __init__(self, root: Path, public_key: Ed25519PublicKey, self_check: SelfCheck) -> None:
        self.root = Path(root)
        self.public_key = public_key
        self.self_check = self_check

    def current(self, kind: str) -> Path | None:
        link = self.root / kind / "current"
        return link.resolve() if link.exists() else None

    def install(self, bundle: dict[str, Any]) -> dict[str, Any]:
        manifest, files = verify(bundle, self.public_key)
        base = self.root / manifest.kind
        target = base / manifest.version
        if self.current(manifest.kind) == target.resolve():
            return {"kind": manifest.kind, "version": manifest.version, "installed": False, "note": "already current"}
        _write_version(base, manifest.version, files)
        previous = self.current(manifest.kind)
        _point(base / "current", target)
        try:
            self.self_check(manifest.kind, target)
        except Exception as exc:
            self._roll_back(base, previous, target)
            raise UpdateRejected(f"{manifest.kind} {manifest.version} failed its self-check ({exc}); "
                                 f"rolled back to {previous.name if previous else 'the shipped version'}") from exc
        if previous is not None:
            _point(base / "previous", previous)
        log.info("installed %s %s", manifest.kind, manifest.version)
        return {"kind": manifest.kind, "version": manifest.version, "installed": True, "path": str(target),
                "previous": previous.name if previous else None}

    def _roll_back(self, base: Path, previous: Path | None, failed: Path) -> None:
        if previous is not None:
            _point(base / "current", previous)
        else:
            (base / "current").unlink(missing_ok=True)
        shutil.rmtree(failed, ignore_errors=True)


def _write_version(base: Path, version: str, files: dict[str, bytes]) -> None:
    staging = base / f".staging-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, data in files.items():
        tmp = staging / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, staging / name)
    _fsync_dir(staging)
    target = base / version
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    _fsync_dir(base)


def _point(link: Path, target: Path) -> None:
    """Atomically make ``link`` a symlink to ``target`` (new link, then rename over the old)."""
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target.name, tmp)
    os.replace(tmp, link)
    _fsync_dir(link.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class UpdateError(LineGuardError, RuntimeError):
    """The update machinery itself cannot run (no key configured)."""
