"""Line-audio DSP on generated signals: FSK caller ID, DTMF, DTMF caller ID, call-progress tones."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lineguard.cli import main
from lineguard.audio.wavio import write_wav
from lineguard.dsp.cid_message import CallerIdMessage, parse_message
from lineguard.dsp.decoder import LineAudioDecoder
from lineguard.dsp.dtmf import DtmfDetector
from lineguard.dsp.fsk import FskDecoder
from lineguard.dsp.tones import ToneDetector
from lineguard.line.base import CallerId, Dtmf, Tone
from lineguard.line.profiles import PROFILES, with_overrides
from tests.line.signals import (
    BELL202, V23, cadence, checksum, cid_burst, dtmf, mdmf, noise, sdmf, silence, tone,
)

US, DE, KR = PROFILES["US"], PROFILES["DE"], PROFILES["KR"]
MDMF = mdmf([(0x01, b"03211405"), (0x02, b"0212345678"), (0x07, b"KIM MINSU")])


def chunked(process, x: np.ndarray, size: int) -> list:
    out = []
    for i in range(0, len(x), size):
        out += process(x[i:i + size])
    return out


# -- caller-ID messages -------------------------------------------------------------

def test_sdmf_and_mdmf_parse_with_their_checksum():
    assert parse_message(sdmf("03211405", "5551234")) == CallerIdMessage("5551234", None, "ok", "03211405", "sdmf")
    assert parse_message(sdmf("03211405", "P")).status == "private"
    assert parse_message(MDMF) == CallerIdMessage("0212345678", "KIM MINSU", "ok", "03211405", "mdmf")
    assert parse_message(mdmf([(0x04, b"O"), (0x08, b"O")])).status == "unavailable"
    bad = bytearray(MDMF)
    bad[5] ^= 1
    assert parse_message(bytes(bad)) is None
    assert parse_message(b"\x55\xaa\x12" + MDMF + b"\xff") is not None      # found after seizure garbage
    assert parse_message(bytes([0x80, 3, 0x02, 9, 0x31]) + checksum(bytes([0x80, 3, 0x02, 9, 0x31]))) is None


# -- FSK ----------------------------------------------------------------------------

@pytest.mark.parametrize("mark_space", [BELL202, V23], ids=["bell202", "v23"])
def test_fsk_caller_id_at_any_chunk_size(mark_space):
    x = np.concatenate([silence(0.4), cid_burst(MDMF, mark_space), silence(0.4)])
    whole = FskDecoder().process(x)
    assert len(whole) == 1 and whole[0].message.number == "0212345678" and whole[0].message.name == "KIM MINSU"
    burst_end = (len(x) - len(silence(0.4))) / 8000
    assert burst_end - 0.02 < whole[0].time_s < burst_end + 0.03
    for size in (7, 160, 4096):
        assert chunked(FskDecoder().process, x, size) == whole


def test_fsk_survives_noise_and_a_weak_signal():
    x = np.concatenate([silence(0.3), cid_burst(sdmf("01010101", "5551234"), BELL202, amplitude=0.05),
                        silence(0.3)])
    x = x + noise(len(x) / 8000, 0.01, seed=3)[:len(x)]        # ~11 dB SNR over the whole band
    (m,) = FskDecoder().process(x)
    assert m.message.number == "5551234"


def test_fsk_corrupted_message_and_plain_noise_give_nothing():
    bad = bytearray(sdmf("01010101", "5551234"))
    bad[-1] ^= 0x10                                            # wrong checksum
    x = np.concatenate([silence(0.2), cid_burst(bytes(bad)), silence(0.2), noise(5, 0.1)])
    assert FskDecoder().process(x) == []


# -- DTMF ---------------------------------------------------------------------------

def test_every_key_in_order_at_any_chunk_size():
    x = np.concatenate([silence(0.1), dtmf("0123456789*#ABCD"), silence(0.1)])
    hits = DtmfDetector().process(x)
    assert "".join(h.digit for h in hits) == "0123456789*#ABCD"
    assert hits[0].time_s == pytest.approx(0.1, abs=0.015)
    for size in (1, 101, 205, 999):
        assert chunked(DtmfDetector().process, x, size) == hits


def test_repeated_key_needs_a_pause_and_short_blips_do_not_count():
    assert "".join(h.digit for h in DtmfDetector().process(dtmf("1122", 0.06, 0.05))) == "1122"
    assert DtmfDetector().process(dtmf("5", on_s=0.02)) == []            # < 40 ms
    long_press = np.concatenate([dtmf("7", on_s=1.5)])
    assert [h.digit for h in DtmfDetector().process(long_press)] == ["7"]


@pytest.mark.parametrize("twist_db,ok", [(-3, True), (6, True), (-6, False), (11, False)])
def test_twist_limits(twist_db, ok):
    hits = DtmfDetector().process(dtmf("5", on_s=0.1, twist_db=twist_db))
    assert bool(hits) is ok


def test_speech_like_sound_and_noise_are_not_digits():
    t = np.arange(5 * 8000) / 8000
    voiced = 0.2 * np.sin(2 * np.pi * (300 + 200 * np.sin(2 * np.pi * 3 * t)) * t) * (1 + np.sin(2 * np.pi * 5 * t))
    assert DtmfDetector().process(voiced) == [] and DtmfDetector().process(noise(5, 0.2)) == []


def test_dtmf_caller_id_for_a_dtmf_country():
    profile = with_overrides(DE, {"caller_id": "dtmf"})
    x = np.concatenate([silence(0.2), dtmf("A0301234567C"), silence(0.5), dtmf("B10C"), silence(0.2)])
    cids = [e for e in LineAudioDecoder(profile).process(x) if isinstance(e, CallerId)]
    assert [(c.number, c.status) for c in cids] == [("0301234567", "ok"), (None, "private")]


# -- call-progress tones -------------------------------------------------------------

@pytest.mark.parametrize("profile,freqs,on_off,name", [
    (US, (480, 620), (0.5, 0.5), "busy"), (US, (480, 620), (0.25, 0.25), "reorder"),
    (US, (440, 480), (2.0, 4.0), "ringback"), (DE, (425,), (0.48, 0.48), "busy"),
    (DE, (425,), (0.24, 0.24), "reorder"), (DE, (425,), (1.0, 4.0), "ringback"),
])
def test_cadenced_tones_by_country(profile, freqs, on_off, name):
    x = np.concatenate([silence(0.5), cadence(freqs, *on_off, total_s=2 * sum(on_off) + 0.1)])
    x = x + noise(len(x) / 8000, 0.005)[:len(x)]
    hits = ToneDetector(profile).process(x)
    assert [(h.tone, round(h.time_s, 2)) for h in hits] == [(name, 0.5)]


def test_dial_tone_and_chunk_size_independence():
    x = np.concatenate([silence(0.3), tone((350, 440), 2.0), silence(0.5), cadence((480, 620), 0.5, 0.5, 3.0)])
    whole = ToneDetector(US).process(x)
    assert [h.tone for h in whole] == ["dial", "busy"]
    for size in (1, 160, 333):
        assert chunked(ToneDetector(US).process, x, size) == whole


def test_korea_looks_only_for_what_it_knows_until_configured():
    busy = np.concatenate([silence(0.3), cadence((480, 620), 0.5, 0.5, 3.0)])
    assert ToneDetector(KR).process(busy) == []
    measured = with_overrides(KR, {"busy_hz": (480.0, 620.0), "busy_on_off_s": (0.5, 0.5)})
    assert [h.tone for h in ToneDetector(measured).process(busy)] == ["busy"]


# -- the decoder and the CLI ------------------------------------------------------------

def line_recording() -> np.ndarray:
    """Ring-time FSK caller ID, then the worker keys digits, then the far end's busy tone."""
    return np.concatenate([silence(0.5), cid_burst(MDMF), silence(1.0), dtmf("*9"), silence(1.0),
                           cadence((480, 620), 0.5, 0.5, 3.0), silence(0.5)])


def test_decoder_gives_line_events_in_time_order():
    events = LineAudioDecoder(US).process(line_recording(), start_s=100.0)
    kinds = [type(e) for e in events]
    assert kinds == [CallerId, Dtmf, Dtmf, Tone]
    assert events[0].number == "0212345678" and events[-1].tone == "busy"
    assert [e.digit for e in events if isinstance(e, Dtmf)] == ["*", "9"]
    assert all(100.0 < e.time_s < 110.0 for e in events)


def test_line_decode_cli_json(tmp_path, capsys):
    path = tmp_path / "line.wav"
    stereo = np.stack([line_recording(), np.zeros_like(line_recording())], axis=1)
    write_wav(path, np.repeat(stereo, 6, axis=0), 48000)                  # 48 kHz: resampled inside
    assert main(["line-decode", str(path), "--json", "--country", "US"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["type"] for r in records] == ["caller_id", "dtmf", "dtmf", "tone"]
    assert records[0] == {"type": "caller_id", "time": records[0]["time"], "number": "0212345678",
                          "name": "KIM MINSU", "status": "ok"}
    assert [r["digit"] for r in records[1:3]] == ["*", "9"] and records[3]["tone"] == "busy"
    assert 1.1 < records[0]["time"] < 1.3          # the end of the burst


def test_line_decode_cli_errors(tmp_path, capsys):
    path = tmp_path / "line.wav"
    write_wav(path, silence(0.5), 8000)
    assert main(["line-decode", str(path), "--channel", "1"]) == 2
    assert "channel" in capsys.readouterr().err
    assert main(["line-decode", str(tmp_path / "missing.wav")]) == 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0, allow_nan=False, width=32), min_size=0, max_size=3000),
       st.integers(1, 700), st.sampled_from(["US", "DE", "KR"]))
def test_any_audio_is_decoded_without_error(values, chunk, country):
    x = np.asarray(values, np.float32)
    decoder = LineAudioDecoder(PROFILES[country])
    for i in range(0, len(x), chunk):
        for event in decoder.process(x[i:i + chunk], i / 8000):
            assert isinstance(event, (CallerId, Dtmf, Tone))
    decoder.process(np.ones(5000, np.float32))            # DC and clipping too
