"""``python -m kwstrain.bench``: speed, memory and latency of the spotter, and
the same English audio through PocketSphinx keyphrase spotting, side by side.

Audio: held-out test voices through the phone channel (``models/build``
from ``make data``): English keywords in context plus English conversational
speech. Both engines see the same samples (PocketSphinx upsampled to 16 kHz)
and are scored with the same rule (hit = right keyword between its start and
1 s after its end; refractory 1 s; false accepts counted on the
conversational part). Runs on one pinned CPU core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kwstrain.evaluate import HIT_AFTER_END_S, REFRACTORY_S, match
from kwstrain.streams import Stream, build_streams
from kwstrain.synthdata import load_clips
from lineguard.audio.resample import to_rate
from lineguard.audio.wavio import write_wav
from lineguard.kws.base import Detection
from lineguard.kws.detect_cli import DETECT_CHUNK_SAMPLES
from lineguard.kws.factory import build_detector
from lineguard.kws.keywords import load_keywords

MODELS_DIR = Path(__file__).resolve().parents[1]
CHUNK_S = 0.04
PS_CHUNK_SAMPLES_16K = 1600  # 0.1 s
PS_SHORT_THRESHOLD, PS_LONG_THRESHOLD = "1e-10", "1e-20"  # one-syllable words / longer phrases: usual starting points
PS_ONE_SYLLABLE = {"fuck", "shit", "bitch"}


def _pin_one_core() -> int:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def run_ours(detector, audio: np.ndarray, chunk: int) -> tuple[list[Detection], float, float, np.ndarray]:
    """Detections, CPU s, wall s, and compute time per chunk (s), feeding ``chunk`` samples at a time."""
    detector.reset()
    per_chunk = []
    hits: list[Detection] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, audio.size, chunk):
        t0 = time.perf_counter()
        hits += detector.process(audio[start : start + chunk])
        per_chunk.append(time.perf_counter() - t0)
    return hits, time.process_time() - cpu0, time.perf_counter() - wall0, np.array(per_chunk)


def run_pocketsphinx(audio_8k: np.ndarray, phrases: dict[str, str]) -> tuple[list[Detection], float]:
    from pocketsphinx import Decoder

    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        for phrase in phrases:
            f.write(f"{phrase} /{PS_SHORT_THRESHOLD if phrase in PS_ONE_SYLLABLE else PS_LONG_THRESHOLD}/\n")
        kws_path = f.name
    decoder = Decoder(kws=kws_path, loglevel="FATAL")
    pcm = (np.clip(to_rate(audio_8k, 8000, 16000), -1, 1) * 32767).astype("<i2").tobytes()
    step = PS_CHUNK_SAMPLES_16K * 2
    hits: list[Detection] = []
    last = -np.inf
    cpu0 = time.process_time()
    decoder.start_utt()
    for start in range(0, len(pcm), step):
        decoder.process_raw(pcm[start : start + step], False, False)
        hyp = decoder.hyp()
        if hyp is not None and hyp.hypstr.strip():
            t = (start + step) / 32000
            phrase = hyp.hypstr.strip().split("  ")[0].strip()
            if t - last >= REFRACTORY_S and phrase in phrases:
                hits.append(Detection(phrases[phrase], 1.0, t))
                last = t
            decoder.end_utt()
            decoder.start_utt()
    decoder.end_utt()
    os.unlink(kws_path)
    return hits, time.process_time() - cpu0


def peak_rss_mb(wav: Path, model: Path) -> float:
    """Peak RSS (VmHWM) of a fresh process running ``lineguard detect``'s code on ``wav``
    (ru_maxrss would count the forking parent's pages too)."""
    code = ("from pathlib import Path; from lineguard.kws.detect_cli import detect_file;"
            f"detect_file(Path({str(wav)!r}), Path({str(model)!r}));"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def summarize(name: str, hits: list[Detection], pos: Stream, neg: Stream, offset_s: float) -> dict:
    pos_hits = [d for d in hits if d.time_s < offset_s]
    neg_hits = [d for d in hits if d.time_s >= offset_s]
    res = match(pos_hits, pos)
    hours = neg.duration_s / 3600
    return {"engine": name, "keywords": res["keywords"], "frr": res["frr"], "false_accepts": len(neg_hits),
            "fa_per_hour": len(neg_hits) / hours, "latency_p50_s": float(np.median(res["latencies_s"] or [np.nan])),
            "latency_p95_s": float(np.percentile(res["latencies_s"] or [np.nan], 95))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.bench", description=__doc__)
    parser.add_argument("--build", type=Path, default=MODELS_DIR / "build")
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--positives", type=int, default=160)
    parser.add_argument("--negative-min", type=float, default=15.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    cpu = _pin_one_core()
    keywords = [k for k in load_keywords(MODELS_DIR / "keywords.toml") if k.language == "en"]
    if not (args.build / "clips_test.npz").exists():
        print(f"{args.build / 'clips_test.npz'} not found: run `make data` first", file=sys.stderr)
        return 2
    clips = load_clips(args.build / "clips_test.npz")
    near = {w for k in keywords for w in k.near_misses}
    streams = build_streams(clips, "en", near, seed=11, max_positives=args.positives,
                            max_negative_s=args.negative_min * 60)
    pos, neg = streams["positive"], streams["negative"]
    audio = np.concatenate([pos.audio, neg.audio])
    audio_s = audio.size / 8000
    detector = build_detector(None, {}, args.model, REFRACTORY_S)
    # `lineguard detect` (the target's measure): a file in DETECT_CHUNK_SAMPLES pieces; median of 3 runs
    runs = sorted((run_ours(detector, audio, DETECT_CHUNK_SAMPLES) for _ in range(3)), key=lambda r: r[1])
    ours, cpu_s, wall_s, _ = runs[1]
    # live: 40 ms at a time, as the gateway hands over call audio; per-chunk compute times
    live, live_cpu_s, live_wall_s, per_chunk = run_ours(detector, audio, int(CHUNK_S * detector.sample_rate_hz))
    if live != ours:
        raise RuntimeError("detections differ between 40 ms chunks and whole-file chunks")
    phrases = {s.lower().replace("i'll ", ""): k.id for k in keywords for s in k.spellings}
    ps_hits, ps_cpu_s = run_pocketsphinx(audio, phrases)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "bench.wav"
        write_wav(wav, neg.audio[: 8000 * 300], 8000)
        rss_mb = peak_rss_mb(wav, args.model)
    a = summarize("lineguard", ours, pos, neg, pos.duration_s)
    b = summarize("pocketsphinx", ps_hits, pos, neg, pos.duration_s)
    report = {
        "cpu_core": cpu, "audio_s": round(audio_s, 1), "english_keywords": a["keywords"],
        "negative_min": round(neg.duration_s / 60, 1),
        "rtf_x": audio_s / wall_s, "rtf_cpu_x": audio_s / cpu_s, "cpu_per_audio_s": cpu_s / audio_s,
        "detect_chunk_s": DETECT_CHUNK_SAMPLES / detector.sample_rate_hz,
        "live_rtf_x": audio_s / live_wall_s, "live_rtf_cpu_x": audio_s / live_cpu_s,
        "live_cpu_per_audio_s": live_cpu_s / audio_s, "live_chunk_s": CHUNK_S,
        "peak_rss_mb": rss_mb, "model_bytes": args.model.stat().st_size,
        "compute_per_40ms_chunk_ms_p50": 1000 * float(np.percentile(per_chunk, 50)),
        "compute_per_40ms_chunk_ms_p95": 1000 * float(np.percentile(per_chunk, 95)),
        "lineguard": a, "pocketsphinx": b,
        "pocketsphinx_cpu_per_audio_s": ps_cpu_s / audio_s,
        "cpu_ratio_pocketsphinx_over_lineguard": ps_cpu_s / cpu_s,
        "cpu_ratio_pocketsphinx_over_lineguard_live": ps_cpu_s / live_cpu_s,
        "hit_rule": f"right keyword between start and end + {HIT_AFTER_END_S} s; refractory {REFRACTORY_S} s",
    }
    print(f"keyword spotter bench (one core, cpu {cpu}); {audio_s / 60:.1f} min of held-out English phone audio")
    print(f"  real-time factor, detect {report['rtf_cpu_x']:7.0f} x   by CPU time "
          f"({1000 * report['cpu_per_audio_s']:.2f} ms per audio second, "
          f"{report['detect_chunk_s']:.0f} s chunks as `lineguard detect`, median of 3); "
          f"{report['rtf_x']:.0f} x by wall clock (lower when other jobs share the machine)")
    print(f"  real-time factor, live  {report['live_rtf_cpu_x']:8.0f} x   by CPU time "
          f"({1000 * report['live_cpu_per_audio_s']:.2f} ms per audio second, "
          f"{1000 * CHUNK_S:.0f} ms chunks as the gateway); same detections")
    print(f"  peak RSS (detect CLI)   {rss_mb:8.1f} MB")
    print(f"  model size              {report['model_bytes'] / 1024:8.1f} KiB")
    print(f"  compute per 40 ms chunk p50 {report['compute_per_40ms_chunk_ms_p50']:.3f} ms  "
          f"p95 {report['compute_per_40ms_chunk_ms_p95']:.3f} ms")
    print(f"  {'engine':<14}{'FRR':>8}{'FA':>6}{'FA/h':>8}{'lat p50':>9}{'lat p95':>9}{'CPU/audio-s':>13}")
    for row, cpu_per in ((a, report["cpu_per_audio_s"]), (b, report["pocketsphinx_cpu_per_audio_s"])):
        print(f"  {row['engine']:<14}{100 * row['frr']:7.1f}%{row['false_accepts']:6d}{row['fa_per_hour']:8.1f}"
              f"{row['latency_p50_s']:8.2f}s{row['latency_p95_s']:8.2f}s{1000 * cpu_per:10.2f} ms")
    print(f"  ratios pocketsphinx/lineguard: CPU {report['cpu_ratio_pocketsphinx_over_lineguard']:.1f}x "
          f"({report['cpu_ratio_pocketsphinx_over_lineguard_live']:.1f}x live), "
          f"FRR {b['frr'] / max(a['frr'], 1e-9):.1f}x, FA {b['false_accepts']}/{a['false_accepts']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
