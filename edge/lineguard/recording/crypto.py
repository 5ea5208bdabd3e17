"""Recordings encrypted at rest: AES-256-GCM, one authenticated record per segment.

File layout (``.lgrec``)::

    b"LGREC1\\n"  u32 header length  header (JSON: format, rate, channels, key id, nonce prefix)
    then records:  u32 length  ciphertext+tag

Record ``n`` uses the nonce ``prefix(8) || n (u32, big-endian)`` and the
associated data ``header || n || final flag``, so records cannot be
reordered, dropped from the middle, moved to another file, or the header
changed, without the tag failing. The last record of a finished file has
the final flag; a file without one was cut off (crash, power cut) and
decrypts to everything up to its last whole record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lineguard.errors import LineGuardError

MAGIC = b"LGREC1\n"
KEY_BYTES = 32
FORMAT = "lineguard-recording/1"


class CryptoError(LineGuardError, ValueError):
    """A key or an encrypted recording is unusable, or was tampered with."""


def load_key(path: Path) -> bytes:
    """A 32-byte key from a file: raw bytes, hex or base64 text."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CryptoError(f"{path}: cannot read the recording key ({exc.strerror or exc})") from None
    if len(raw) == KEY_BYTES:
        return raw
    text = raw.strip()
    for decode in (binascii.unhexlify, lambda t: base64.b64decode(t, validate=True)):
        try:
            key = decode(text)
        except (binascii.Error, ValueError):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise CryptoError(f"{path}: not a 32-byte key (raw, 64 hex digits or base64)")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"lineguard-recording-key" + key).hexdigest()[:16]


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">IB", index, 1 if final else 0)


class EncryptedSegmentFile:
    """Writes PCM segments as AES-GCM records; crash-safe like the WAV writer."""

    def __init__(self, path: Path, key: bytes, sample_rate_hz: int, channels: int, fsync: bool = True,
                 content: str = "pcm") -> None:
        self.path = Path(path)
        self.sample_rate_hz = sample_rate_hz
        self.channels = channels
        self.fsync = fsync
        self.data_bytes = 0
        self._aes = AESGCM(key)
        self._prefix = os.urandom(8)
        self._index = 0
        self._header = json.dumps({"format": FORMAT, "content": content,
                                   "sample_rate_hz": sample_rate_hz, "channels": channels,
                                   "key_id": key_id(key), "nonce_prefix": self._prefix.hex()},
                                  sort_keys=True).encode()
        self._f: BinaryIO | None = open(self.path, "xb")   # noqa: SIM115 - closed in close()
        self._f.write(MAGIC + struct.pack(">I", len(self._header)) + self._header)
        self._sync()

    def append(self, pcm: bytes) -> None:
        self._record(pcm, final=False)
        self.data_bytes += len(pcm)

    def close(self) -> None:
        if self._f is not None:
            self._record(b"", final=True)
            f, self._f = self._f, None
            f.close()

    @property
    def duration_s(self) -> float:
        return self.data_bytes / (self.channels * 2 * self.sample_rate_hz)

    def _record(self, plain: bytes, final: bool) -> None:
        if self._f is None:
            raise ValueError(f"{self.path}: already closed")
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aes.encrypt(nonce, plain, _aad(self._header, self._index, final))
        self._f.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1
        self._sync()

    def _sync(self) -> None:
        assert self._f is not None
        self._f.flush()
        if self.fsync:
            os.fsync(self._f.fileno())


def seal_bytes(path: Path, key: bytes, data: bytes) -> None:
    """Write a small file (e.g. a call's events) encrypted, in the same format."""
    f = EncryptedSegmentFile(path, key, 0, 0, content="file")
    f.append(data)
    f.close()


@dataclass(frozen=True)
class Decrypted:
    pcm: bytes
    sample_rate_hz: int
    channels: int
    complete: bool          # the final record was there: the file was closed normally
    content: str = "pcm"    # "pcm": 16-bit audio; "file": the bytes of a file (events, detections)


class EncryptedReader:
    """A ``.lgrec`` read one record at a time: the magic, header and key are checked on opening, each record is
    authenticated as it is read, so a call of hours never sits in memory whole.

    ``records()`` yields the plaintext records in order; a file cut off (no final record) ends after its last
    whole record with ``complete`` False, as :func:`decrypt_file` does."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = Path(path)
        self.complete = False
        try:
            self._f: BinaryIO = open(self.path, "rb")   # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise CryptoError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        try:
            self._size = os.fstat(self._f.fileno()).st_size
            start = self._f.read(len(MAGIC) + 4)
            if not start.startswith(MAGIC) or len(start) < len(MAGIC) + 4:
                raise CryptoError(f"{self.path}: not an encrypted LineGuard recording")
            (hlen,) = struct.unpack(">I", start[len(MAGIC):])
            self._header = self._f.read(min(hlen, self._size))
            try:
                header = json.loads(self._header)
                self.sample_rate_hz = int(header["sample_rate_hz"])
                self.channels = int(header["channels"])
                self.content = str(header.get("content", "pcm"))
                prefix = bytes.fromhex(header["nonce_prefix"])
            except (ValueError, TypeError, KeyError):
                raise CryptoError(f"{self.path}: damaged header") from None
            if header.get("key_id") != key_id(key):
                raise CryptoError(f"{self.path}: encrypted with another key (key id {header.get('key_id')})")
        except BaseException:
            self._f.close()
            raise
        self._aes, self._prefix = AESGCM(key), prefix

    def records(self) -> Iterator[bytes]:
        index = 0
        while not self.complete:
            length = self._f.read(4)
            if len(length) < 4:
                return                                   # cut off between records
            (n,) = struct.unpack(">I", length)
            if n > self._size - self._f.tell():
                return                                   # cut off mid-record: keep what came before
            sealed = self._f.read(n)
            nonce = self._prefix + struct.pack(">I", index)
            plain, self.complete = _open(self._aes, nonce, sealed, self._header, index, self.path)
            index += 1
            yield plain
        if self._f.read(1):
            raise CryptoError(f"{self.path}: data after the final record (tampered)")

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> EncryptedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decrypt_file(path: Path, key: bytes) -> Decrypted:
    """Authenticate and decrypt a ``.lgrec`` file, whole (:class:`EncryptedReader` reads it a record at a
    time)."""
    with EncryptedReader(path, key) as reader:
        pcm = b"".join(reader.records())
        return Decrypted(pcm, reader.sample_rate_hz, reader.channels, reader.complete, reader.content)


def _open(aes: AESGCM, nonce: bytes, sealed: bytes, header: bytes, index: int,
          path: Path) -> tuple[bytes, bool]:
    """(plaintext, is the final record)."""
    for final in (False, True):
        try:
            return aes.decrypt(nonce, sealed, _aad(header, index, final)), final
        except InvalidTag:
            continue
    raise CryptoError(f"{path}: record {index} fails authentication (wrong key or tampered)")
