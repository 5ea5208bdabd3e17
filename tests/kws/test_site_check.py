"""``lineguard threshold-check``: false alarms on a site's own calls, threshold by threshold."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lineguard.audio.wavio import write_wav
from lineguard.cli import main
from lineguard.config import load_settings
from lineguard.kws import site_check as sc
from lineguard.kws.scoring import ScoringRule
from tests.kws.conftest import needs_espeak, speak

LABELS = ("_none", "ko_a", "en_b", "en_off")
RULE = ScoringRule(LABELS, (2.0, 0.98, 0.98, 2.0), smooth_windows=1, refractory_s=1.0)
STEP_S = 0.02


def track(duration_s: float, peaks: dict[str, list[tuple[float, float]]], name: str = "call") -> sc.ScoredAudio:
    times = np.arange(1, int(duration_s / STEP_S) + 1) * STEP_S
    scores = np.zeros((times.size, len(LABELS)))
    scores[:, 0] = 1.0
    for label, at in peaks.items():
        for t, value in at:
            scores[int(round(t / STEP_S)) - 1, LABELS.index(label)] = value
    return sc.ScoredAudio(name, duration_s, times, scores)


def test_upper_bound_is_the_poisson_one():
    # no false alarm in 4.6 h is not yet proof of <= 0.5/h at 90% (-ln 0.1 = 2.303 expected in 4.6 h)
    assert sc.upper_rate(0, 4.6, 0.9) == pytest.approx(np.log(10) / 4.6)
    assert sc.hours_needed(0.5, 0.9) == pytest.approx(2 * np.log(10))
    assert sc.upper_rate(3, 10.0, 0.9) > 0.3 > sc.upper_rate(0, 10.0, 0.9)


def test_sweep_counts_each_threshold_with_refractory_and_disabled_keywords():
    hour = 3600.0
    calls = [track(5 * hour, {"ko_a": [(100.0, 0.93), (100.5, 0.97)],     # one utterance, one alarm (refractory)
                              "en_b": [(2000.0, 0.955)],
                              "en_off": [(3000.0, 1.0)]}),                  # disabled: never counts
             track(5 * hour, {"en_b": [(10.0, 0.991)]}, name="call2")]
    rows = {r.threshold: r for r in sc.sweep(calls, RULE, (0.9, 0.95, 0.96, 0.98, 0.995), 0.9)}
    assert [rows[t].false_alarms for t in (0.9, 0.95, 0.96, 0.98, 0.995)] == [3, 3, 2, 1, 0]
    assert rows[0.9].keywords == {"ko_a": 1, "en_b": 2}
    assert rows[0.98].per_hour == pytest.approx(0.1)
    # bound within 0.5/h from 0.96 up (2 in 10 h: 0.53/h is over; 1 in 10 h: 0.39/h within)
    assert rows[0.96].upper_per_hour > 0.5 >= rows[0.98].upper_per_hour


def _row(t: float, count: int, hours: float) -> sc.Row:
    return sc.Row(t, count, count / hours, sc.upper_rate(count, hours, 0.9))


def test_lowers_only_where_the_calls_show_the_lower_threshold_within_budget():
    # 40 h of calls: 0.95 shows within 0.5/h (6 in 40 h: bound 0.26/h), 0.9 does not (20 in 40 h)
    rows = [_row(0.9, 20, 40.0), _row(0.95, 6, 40.0), _row(0.97, 3, 40.0), _row(0.98, 1, 40.0), _row(0.99, 0, 40.0)]
    d = sc.decide(rows, 1, 0.98, 40.0, 0.5, 0.9)
    assert (d.verdict, d.threshold) == ("lower", 0.95)
    # every threshold between the suggestion and the current one must hold: 0.97 over the bound blocks 0.95
    rows[2] = _row(0.97, 14, 40.0)
    assert sc.decide(rows, 1, 0.98, 40.0, 0.5, 0.9).verdict == "keep"


def test_keeps_the_thresholds_when_the_calls_show_nothing_either_way():
    # 1 false alarm in 5.75 h at 0.98: not proof of <= 0.5/h (bound 0.68/h), nor of more (lower bound 0.02/h)
    rows = [_row(0.95, 4, 5.75), _row(0.98, 1, 5.75), _row(0.99, 0, 5.75)]
    d = sc.decide(rows, 1, 0.98, 5.75, 0.5, 0.9)
    assert (d.verdict, d.threshold) == ("keep", None)
    assert "4.6 h" in d.why


def test_raises_only_where_the_calls_show_the_current_rate_over_budget():
    # 12 in 10 h at 0.98 (lower bound 0.79/h): raise to the lowest threshold from which none is over 0.5/h
    rows = [_row(0.98, 12, 10.0), _row(0.99, 6, 10.0), _row(0.995, 4, 10.0), _row(0.998, 1, 10.0)]
    d = sc.decide(rows, 12, 0.98, 10.0, 0.5, 0.9)
    assert (d.verdict, d.threshold) == ("raise", 0.995)
    assert sc.decide([_row(0.98, 12, 10.0), _row(0.999, 9, 10.0)], 12, 0.98, 10.0, 0.5, 0.9).threshold is None
    # 3 in 4 h is over 0.5/h as a count, but not shown to be: keep
    assert sc.decide([_row(0.98, 3, 4.0), _row(0.99, 1, 4.0)], 3, 0.98, 4.0, 0.5, 0.9).verdict == "keep"


def _wav(path: Path, audio: np.ndarray, rate: int = 8000) -> Path:
    write_wav(path, audio, rate)
    return path


@needs_espeak
def test_cli_reports_the_sites_calls_names_each_alarm_and_skips_a_broken_file(tmp_path: Path, capsys):
    calls = tmp_path / "calls"
    calls.mkdir()
    _wav(calls / "a.wav", speak(tmp_path, "hello I would like to book an appointment for tomorrow", "en-us"))
    # a call in another folder level, at 16 kHz: resampled like the gateway's input
    (calls / "day2").mkdir()
    ko = speak(tmp_path, "안녕하세요 예약 확인하려고 전화드렸어요", "ko")
    _wav(calls / "day2" / "b.wav", np.interp(np.arange(2 * ko.size) / 2, np.arange(ko.size), ko).astype(np.float32),
         16000)
    _wav(calls / "c.wav", speak(tmp_path, "개새끼", "ko"))   # counts as a false alarm: calls must hold no abuse
    (calls / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVE")
    assert main(["threshold-check", str(calls), "--json"]) == 1  # report printed, one file skipped
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["calls"] == 3 and report["channel"] == 0
    assert [d["file"] for d in report["current"]["detections"]] == [str(calls / "c.wav")]
    assert report["current"]["detections"][0]["keyword"] == "ko_gaesaekki"
    assert report["current"]["thresholds"] == [0.98]          # the shipped model's own
    # one alarm in seconds of audio: over the budget beyond doubt, at every threshold here
    assert report["verdict"] == "raise" and report["suggested_threshold"] is None
    assert report["hours_needed"] == pytest.approx(4.61, abs=0.01)
    assert "broken.wav: not a valid WAV file" in out.err
    by_t = {r["threshold"]: r for r in report["rows"]}
    assert by_t[0.98]["false_alarms"] == 1 and by_t[0.98]["keywords"] == {"ko_gaesaekki": 1}
    assert main(["threshold-check", str(calls / "a.wav")]) == 0
    text = capsys.readouterr().out
    assert "1 calls" in text and "Now: 0 false alarms" in text and "Keep: the calls neither show" in text
    assert main(["threshold-check", str(calls / "broken.wav")]) == 2
    assert "no call audio could be read" in capsys.readouterr().err


@needs_espeak
def test_listens_to_the_far_end_channel_of_the_sites_recordings(tmp_path: Path, capsys):
    keyword = speak(tmp_path, "개새끼", "ko")
    # a stereo recording whose line side is channel 1: the keyword is there, channel 0 is quiet
    stereo = np.stack([np.zeros_like(keyword), keyword], axis=1)
    path = _wav(tmp_path / "call.wav", stereo)
    config = tmp_path / "site.toml"
    config.write_text("[audio]\nchannels = 2\nfar_end_channel = 1\nnear_end_channel = 0\n")
    report, skipped = sc.check([path], load_settings(config))
    assert not skipped and report["channel"] == 1 and report["current"]["false_alarms"] == 1
    report, _ = sc.check([path], load_settings(None))      # a one-channel site listens to channel 0
    assert report["channel"] == 0 and report["current"]["false_alarms"] == 0
    # languages the site switched off do not fire
    config.write_text('[audio]\nchannels = 2\nfar_end_channel = 1\nnear_end_channel = 0\n[detector]\nlanguages = ["en"]\n')
    report, _ = sc.check([path], load_settings(config))
    assert report["current"]["false_alarms"] == 0 and "ko_gaesaekki" not in report["enabled_keywords"]


@needs_espeak
def test_reviewed_clips_show_what_each_threshold_catches(tmp_path: Path):
    export = tmp_path / "export"
    (export / "audio").mkdir(parents=True)
    _wav(export / "audio" / "t.wav", speak(tmp_path, "개새끼", "ko"))
    _wav(export / "audio" / "f.wav", speak(tmp_path, "hello I would like to book an appointment", "en-us"))
    _wav(export / "audio" / "u.wav", speak(tmp_path, "미친놈", "ko"))
    with open(export / "labels.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["clip_id", "file", "keyword", "score", "side", "kind", "call_id", "time_s", "offset_s", "label"])
        w.writerow(["1", "audio/t.wav", "ko_gaesaekki", "0.99", "far", "detection", "c1", "3.0", "1.0", "true"])
        w.writerow(["2", "audio/f.wav", "en_idiot", "0.98", "far", "detection", "c2", "9.0", "1.0", "false"])
        w.writerow(["3", "audio/u.wav", "ko_michinnom", "0.99", "far", "detection", "c3", "4.0", "1.0", ""])  # not reviewed
    call = _wav(tmp_path / "call.wav", speak(tmp_path, "hello I would like to book an appointment", "en-us"))
    report, _ = sc.check([call], load_settings(None), clips_dir=export)
    assert report["true_clips"] == 1 and report["false_clips"] == 1
    by_t = {r["threshold"]: r for r in report["rows"]}
    assert by_t[0.5]["true_caught"] == 1 and by_t[0.98]["false_firing"] == 0
    text = sc.render(report)
    assert "abusive clips caught" in text and "1 of 1" in text


def test_a_clips_folder_without_labels_is_named(tmp_path: Path):
    from lineguard.errors import ConfigError

    call = _wav(tmp_path / "call.wav", np.zeros(8000, np.float32))
    with pytest.raises(ConfigError, match="labels.csv"):
        sc.check([call], load_settings(None), clips_dir=tmp_path / "nothing")


@needs_espeak
def test_keeping_only_rows_that_can_fire_changes_no_count(tmp_path: Path):
    from lineguard.app import build_detector

    audio = np.concatenate([speak(tmp_path, "개새끼", "ko"), speak(tmp_path, "hello there how are you", "en-us"),
                            speak(tmp_path, "you bastard", "en-us")])
    path = _wav(tmp_path / "call.wav", audio)
    detector = build_detector(load_settings(None))
    full = sc.score_file(path, detector)
    kept = sc.score_file(path, detector, floor=0.9)
    assert len(kept.times_s) < len(full.times_s) / 4
    for t in (0.9, 0.95, 0.98, 0.99):
        rule = sc.at_threshold(detector.rule, t)
        assert [(d.keyword, d.time_s) for _, d in sc.detections([kept], rule)] == \
               [(d.keyword, d.time_s) for _, d in sc.detections([full], rule)]
    assert len(sc.detections([full], sc.at_threshold(detector.rule, 0.9))) == 2


@needs_espeak
def test_reads_the_boxs_encrypted_recordings_with_the_site_key(tmp_path: Path, capsys):
    from lineguard.recording.crypto import EncryptedSegmentFile, seal_bytes

    key = bytes(range(32))
    (tmp_path / "site.key").write_bytes(key)
    rec = tmp_path / "recordings"
    rec.mkdir()
    keyword = speak(tmp_path, "개새끼", "ko")
    pcm = (np.stack([keyword, np.zeros_like(keyword)], axis=1) * 32767).astype("<i2").tobytes()
    f = EncryptedSegmentFile(rec / "call1.lgrec", key, 8000, 2, fsync=False)
    f.append(pcm)
    f.close()
    seal_bytes(rec / "events.jsonl.lgrec", key, b'{"event": "call_started"}\n')
    assert main(["threshold-check", str(rec), "--key-file", str(tmp_path / "site.key"), "--json"]) == 1
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["calls"] == 1 and report["current"]["false_alarms"] == 1
    assert report["current"]["detections"][0]["file"] == str(rec / "call1.lgrec")
    assert "events.jsonl.lgrec: not a call recording" in out.err
    # without the key a folder's encrypted recordings are not looked at, and one named is refused by name
    assert main(["threshold-check", str(rec / "call1.lgrec")]) == 2
    assert "call1.lgrec: an encrypted recording; give the site's --key-file" in capsys.readouterr().err
    (tmp_path / "wrong.key").write_bytes(bytes(32))
    assert main(["threshold-check", str(rec / "call1.lgrec"), "--key-file", str(tmp_path / "wrong.key")]) == 2
    assert "call1.lgrec" in capsys.readouterr().err


@pytest.mark.parametrize("rate_hz", [8000, 16000])
def test_encrypted_recording_is_read_a_record_at_a_time(tmp_path: Path, rate_hz: int):
    from lineguard.audio.wavio import pcm16_samples
    from lineguard.kws.detect_cli import DETECT_CHUNK_SAMPLES, one_channel
    from lineguard.recording.crypto import CryptoError, EncryptedSegmentFile, decrypt_file

    key = bytes(range(32))
    rng = np.random.default_rng(3)
    pcm = rng.integers(-20000, 20000, (int(150 * rate_hz), 2)).astype("<i2").tobytes()
    f = EncryptedSegmentFile(tmp_path / "call.lgrec", key, rate_hz, 2, fsync=False)
    cuts = list(range(0, len(pcm), 8001)) + [len(pcm)]        # records that end inside a frame
    for a, b in zip(cuts, cuts[1:]):
        f.append(pcm[a:b])
    f.close()
    chunks = list(sc.recording_chunks(tmp_path / "call.lgrec", key, 1, 8000))
    whole = decrypt_file(tmp_path / "call.lgrec", key)
    expected = one_channel(pcm16_samples(whole.pcm, 2), rate_hz, 1, 8000)
    np.testing.assert_array_equal(np.concatenate(chunks), expected)
    assert len(chunks) == 3 and max(c.size for c in chunks) < DETECT_CHUNK_SAMPLES + 8000
    if rate_hz == 8000:
        # at the detector's rate nothing waits for the end of the file: a record damaged near the end is found
        # only after the first minute has been handed on
        raw = bytearray((tmp_path / "call.lgrec").read_bytes())
        raw[-100] ^= 1
        (tmp_path / "call.lgrec").write_bytes(bytes(raw))
        stream = sc.recording_chunks(tmp_path / "call.lgrec", key, 1, 8000)
        np.testing.assert_array_equal(next(stream), chunks[0])
        with pytest.raises(CryptoError, match="fails authentication"):
            list(stream)


def test_the_report_names_live_keywords_with_spans_of_their_own():
    assert sc._smoothing(RULE) == "1"
    rule = ScoringRule(LABELS, (2.0, 0.98, 0.98, 2.0), smooth_windows=(14, 14, 5, 3), refractory_s=1.0)
    assert sc._smoothing(rule) == "14 (en_b 5)"  # en_off is disabled: not reported
