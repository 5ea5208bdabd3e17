"""Segmented WAV and encrypted recording files: valid at every segment, authenticated."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lineguard.audio.wavio import read_wav
from lineguard.recording.crypto import MAGIC, CryptoError, EncryptedSegmentFile, decrypt_file, load_key
from lineguard.recording.segments import WavSegmentFile, repair_wav

KEY = bytes(range(32))


def pcm(seconds: float, rate: int = 8000, channels: int = 2, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(-20000, 20000, (int(seconds * rate), channels)).astype("<i2").tobytes()


def test_wav_is_valid_after_every_segment(tmp_path):
    path = tmp_path / "a.wav"
    f = WavSegmentFile(path, 8000, 2)
    data = b""
    for i in range(3):
        seg = pcm(1.0, seed=i)
        f.append(seg)
        data += seg
        samples, rate = read_wav(path)          # strict reader: header must match the data
        assert rate == 8000 and samples.shape == (8000 * (i + 1), 2)
    f.close()
    assert path.read_bytes()[44:] == data and f.duration_s == pytest.approx(3.0)


def test_repair_counts_samples_written_after_the_last_header(tmp_path):
    path = tmp_path / "a.wav"
    f = WavSegmentFile(path, 8000, 1, fsync=False)
    f.append(pcm(1.0, channels=1))
    f.close()
    with open(path, "ab") as raw:
        raw.write(pcm(0.5, channels=1) + b"\x01")     # half a second and half a frame the header never saw
    assert read_wav(path)[0].shape[0] == 8000
    assert repair_wav(path) == pytest.approx(1.5)
    assert read_wav(path)[0].shape[0] == 12000


def test_encrypted_round_trip_and_integrity(tmp_path):
    path = tmp_path / "a.lgrec"
    f = EncryptedSegmentFile(path, KEY, 8000, 2)
    segs = [pcm(1.0, seed=i) for i in range(3)]
    for seg in segs:
        f.append(seg)
    f.close()
    assert b"".join(segs)[:64] not in path.read_bytes()
    out = decrypt_file(path, KEY)
    assert out.pcm == b"".join(segs) and out.complete and (out.sample_rate_hz, out.channels) == (8000, 2)
    with pytest.raises(CryptoError, match="another key"):
        decrypt_file(path, bytes(32))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(CryptoError, match="fails authentication"):
        decrypt_file(path, KEY)


def test_cut_off_encrypted_file_decrypts_up_to_its_last_whole_record(tmp_path):
    path = tmp_path / "a.lgrec"
    f = EncryptedSegmentFile(path, KEY, 8000, 1)
    f.append(pcm(1.0, channels=1, seed=1))
    f.append(pcm(1.0, channels=1, seed=2))
    size = path.stat().st_size
    os.truncate(path, size - 100)       # the second record is cut mid-way
    out = decrypt_file(path, KEY)
    assert out.pcm == pcm(1.0, channels=1, seed=1) and not out.complete


def test_dropping_a_record_from_the_middle_is_detected(tmp_path):
    path = tmp_path / "a.lgrec"
    f = EncryptedSegmentFile(path, KEY, 8000, 1, fsync=False)
    sizes = []
    for i in range(3):
        f.append(pcm(0.5, channels=1, seed=i))
        sizes.append(path.stat().st_size)
    f.close()
    raw = path.read_bytes()
    path.write_bytes(raw[:sizes[0]] + raw[sizes[1]:])
    with pytest.raises(CryptoError):
        decrypt_file(path, KEY)


@pytest.mark.parametrize("form", ["raw", "hex", "base64"])
def test_key_file_forms(tmp_path, form):
    import base64
    text = {"raw": KEY, "hex": KEY.hex().encode() + b"\n", "base64": base64.b64encode(KEY) + b"\n"}[form]
    (tmp_path / "k").write_bytes(text)
    assert load_key(tmp_path / "k") == KEY


def test_bad_key_file_is_named(tmp_path):
    (tmp_path / "k").write_text("not a key")
    with pytest.raises(CryptoError, match="not a 32-byte key"):
        load_key(tmp_path / "k")
    with pytest.raises(CryptoError, match="cannot read"):
        load_key(tmp_path / "missing")


class _StuckFile:
    """A SegmentFile whose disk never answers until released."""

    def __init__(self, path):
        import threading
        self.path = path
        self.gate = threading.Event()
        self.appended = []
        self.closed = False

    def append(self, pcm: bytes) -> None:
        self.gate.wait()
        self.appended.append(pcm)

    def close(self) -> None:
        self.closed = True


def test_a_disk_that_cannot_keep_up_is_reported_once_and_never_blocks(tmp_path):
    from lineguard.recording.writer import SegmentWriter, WriterError
    stuck = _StuckFile(tmp_path / "x.wav")
    writer = SegmentWriter(stuck, max_queued=2)
    writer.submit(b"a")               # the thread takes it and hangs in append (or is about to)
    reported = 0
    for _ in range(5):
        try:
            writer.submit(b"b")
        except WriterError as exc:
            reported += 1
            assert "too slow" in str(exc)
    assert reported == 1 and writer.failed
    stuck.gate.set()
    assert writer.close() is None and stuck.closed     # already reported
    assert stuck.appended in ([], [b"a"])          # nothing after the failure is written


def test_reader_streams_the_records_and_checks_what_decrypt_file_checks(tmp_path):
    from lineguard.recording.crypto import EncryptedReader

    path = tmp_path / "a.lgrec"
    f = EncryptedSegmentFile(path, KEY, 16000, 1, fsync=False)
    segs = [pcm(0.3, rate=16000, channels=1, seed=i) for i in range(4)]
    for seg in segs:
        f.append(seg)
    f.close()
    with EncryptedReader(path, KEY) as reader:
        assert (reader.sample_rate_hz, reader.channels, reader.content) == (16000, 1, "pcm")
        records = reader.records()
        assert next(records) == segs[0] and not reader.complete     # one record at a time
        assert list(records) == [*segs[1:], b""] and reader.complete  # the final record is empty
    raw = path.read_bytes()
    path.write_bytes(raw + b"\x00")
    with pytest.raises(CryptoError, match="data after the final record"):
        decrypt_file(path, KEY)
    # a length field gone wild is a cut-off file, not a read of gigabytes
    first_record = len(MAGIC) + 4 + int.from_bytes(raw[len(MAGIC):len(MAGIC) + 4], "big")
    path.write_bytes(raw[:first_record] + b"\xff\xff\xff\xf0" + raw[first_record + 4:])
    out = decrypt_file(path, KEY)
    assert out.pcm == b"" and not out.complete


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:20], "damaged header"),                                   # cut inside the header
    (lambda raw: raw.replace(b'"nonce_prefix"', b'"nonce_prefiX"'), "damaged header"),
    (lambda raw: b"RIFF" + raw[4:], "not an encrypted LineGuard recording"),
    (lambda raw: b"", "not an encrypted LineGuard recording"),
])
def test_damaged_start_of_an_encrypted_file_is_named(tmp_path, damage, message):
    path = tmp_path / "a.lgrec"
    f = EncryptedSegmentFile(path, KEY, 8000, 1, fsync=False)
    f.append(pcm(0.1, channels=1))
    f.close()
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CryptoError, match=f"a.lgrec: {message}"):
        decrypt_file(path, KEY)


def test_decrypt_export_is_the_recording_or_nothing(tmp_path, capsys):
    from lineguard.cli import main

    (tmp_path / "key").write_bytes(KEY)
    path = tmp_path / "call.lgrec"
    f = EncryptedSegmentFile(path, KEY, 8000, 2, fsync=False)
    segs = [pcm(0.5, seed=i) for i in range(3)]
    for seg in segs:
        f.append(seg)                                # cut off: never closed
    out = tmp_path / "call.wav"
    assert main(["recording", "decrypt", str(path), "--key-file", str(tmp_path / "key"), "-o", str(out)]) == 0
    assert "1.5 s, 2 channel(s), 8000 Hz (cut off by a crash" in capsys.readouterr().out
    samples, rate = read_wav(out)
    assert rate == 8000 and (samples * 32768).round().astype("<i2").tobytes() == b"".join(segs)
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 1                                    # the last record tampered
    path.write_bytes(bytes(raw))
    out.unlink()
    assert main(["recording", "decrypt", str(path), "--key-file", str(tmp_path / "key"), "-o", str(out)]) == 2
    assert "call.lgrec: record 2 fails authentication" in capsys.readouterr().err
    assert not out.exists()                          # no half export that looks like the whole call
