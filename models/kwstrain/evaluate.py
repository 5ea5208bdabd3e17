"""Evaluate the shipped model on held-out voices: FRR, false accepts/hour, DET.

``python -m kwstrain.evaluate --split test`` runs the streaming spotter (the
runtime code, int8 model) over the evaluation streams of each language,
records its score tracks once, then sweeps one threshold shared by all
keywords to draw the DET curve. The operating threshold is chosen on the
``val`` split (``--choose-threshold``) and reported on ``test``.

Counting rule: all 18 keywords enabled; refractory 1.0 s after any
detection. A keyword is caught when a detection of the right keyword fires
between its start and 1.0 s after its end. False accepts: detections on the
conversational ``negative`` stream, per hour of that stream (speech, not
silence); near-miss detections are reported separately.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kwstrain.streams import Stream, build_streams
from kwstrain.synthdata import load_split
from lineguard.kws.base import Detection
from kwstrain.realclips import evaluate_real, find_clips
from lineguard.kws.factory import build_detector
from lineguard.kws.keywords import load_keywords
from lineguard.kws.scoring import ScoringRule, detect_track, smooth

LOG = logging.getLogger("kwstrain.evaluate")
MODELS_DIR = Path(__file__).resolve().parents[1]
HIT_AFTER_END_S = 1.0
REFRACTORY_S = 1.0
CHUNK_SAMPLES = 8000 * 30
THRESHOLD_GRID = tuple(float(v) for v in np.unique(np.round(np.concatenate(
    [np.arange(0.3, 0.9, 0.05), np.arange(0.9, 0.98, 0.01), [0.98, 0.985, 0.99, 0.993, 0.996, 0.998, 0.999, 0.9995, 0.9998, 0.9999,
     0.99995, 0.99998, 0.99999, 0.999995, 0.999998, 0.999999]]), 6)))


@dataclass(frozen=True)
class Track:
    stream: Stream
    times_s: np.ndarray
    smoothed: np.ndarray


def record_track(detector, stream: Stream) -> Track:
    detector.reset()
    rows = []
    for start in range(0, stream.audio.size, CHUNK_SAMPLES):
        rows += detector.process_scores(stream.audio[start : start + CHUNK_SAMPLES])
    times = np.array([t for t, _ in rows])
    if not rows:
        return Track(stream, times, np.zeros((0, len(detector.rule.labels))))
    scores = np.stack([s for _, s in rows])
    return Track(stream, times, smooth(scores, detector.rule.smooth_windows))


def match(detections: list[Detection], stream: Stream) -> dict:
    """Hits, misses, confusions and latency of detections against keyword spans."""
    hits, latencies, confusions, extra = 0, [], 0, 0
    used = set()
    for span in stream.spans:
        inside = [d for d in detections if span.start_s <= d.time_s <= span.end_s + HIT_AFTER_END_S]
        right = [d for d in inside if d.keyword == span.label]
        if right:
            hits += 1
            latencies.append(right[0].time_s - span.end_s)
        elif inside:
            confusions += 1
        used.update(id(d) for d in inside)
    extra = sum(1 for d in detections if id(d) not in used)
    n = max(1, len(stream.spans))
    return {"keywords": len(stream.spans), "hits": hits, "frr": 1 - hits / n, "confusions": confusions,
            "false_accepts_outside": extra, "latencies_s": latencies}


def rule_for(labels: tuple[str, ...], threshold: float, language: str | None = None) -> ScoringRule:
    """One threshold for all keywords (or only those of ``language``; others disabled)."""
    thresholds = tuple(2.0 if i == 0 or (language and not label.startswith(language + "_")) else threshold
                       for i, label in enumerate(labels))
    return ScoringRule(labels, thresholds, refractory_s=REFRACTORY_S)


def sweep(tracks: dict[str, Track], labels: tuple[str, ...], threshold: float, language: str | None = None) -> dict:
    rule = rule_for(labels, threshold, language)
    pos = tracks["positive"]
    pos_dets = detect_track(pos.smoothed, pos.times_s, rule)
    res = match(pos_dets, pos.stream)
    neg = tracks["negative"]
    fa = detect_track(neg.smoothed, neg.times_s, rule)
    hours = neg.stream.duration_s / 3600
    near = tracks["near_miss"]
    near_fa = detect_track(near.smoothed, near.times_s, rule)
    per_kw = {}
    for span_label in sorted({s.label for s in pos.stream.spans}):
        sub = Stream(pos.stream.name, pos.stream.language, pos.stream.audio,
                     tuple(s for s in pos.stream.spans if s.label == span_label))
        per_kw[span_label] = round(match(pos_dets, sub)["frr"], 4)
    lat = np.array(res.pop("latencies_s")) if res["hits"] else np.array([-1.0])
    return {"threshold": threshold, **res, "frr_per_keyword": per_kw,
            "false_accepts": len(fa), "negative_hours": round(hours, 3),
            "fa_per_hour": len(fa) / max(hours, 1e-9),
            "fa_keywords": sorted({d.keyword for d in fa}),
            "near_miss_fa": len(near_fa), "near_miss_hours": round(near.stream.duration_s / 3600, 3),
            "latency_p50_s": float(np.nanpercentile(lat, 50)), "latency_p95_s": float(np.nanpercentile(lat, 95))}


def evaluate_split(build: Path, split: str, model: Path, seed: int = 0,
                   max_negative_s: float | None = None) -> dict[str, list[dict]]:
    clips = load_split(build, split)
    keywords = load_keywords(MODELS_DIR / "keywords.toml")
    detector = build_detector(None, {}, model, REFRACTORY_S)
    results = {}
    for language in sorted({k.language for k in keywords}):
        near_texts = {w for k in keywords if k.language == language for w in k.near_misses}
        streams = build_streams(clips, language, near_texts, seed=seed, max_negative_s=max_negative_s)
        tracks = {name: record_track(detector, s) for name, s in streams.items()}
        LOG.info("%s %s: positive %.1f min (%d keywords), negative %.1f min, near-miss %.1f min", split,
                 language, streams["positive"].duration_s / 60, len(streams["positive"].spans),
                 streams["negative"].duration_s / 60, streams["near_miss"].duration_s / 60)
        results[language] = [sweep(tracks, detector.rule.labels, t) for t in THRESHOLD_GRID]
        results[f"{language}-only"] = [sweep(tracks, detector.rule.labels, t, language) for t in THRESHOLD_GRID]
    return results


def voice_group(voice_key: str, language: str) -> str:
    engine, name = voice_key.split(":")[:2]
    if engine == "espeak":
        return f"{language} espeak-ng {'stock variant' if '+' in name else 'random variant'}"
    if engine == "kokoro":
        voices = sorted(v.split("=")[0] for v in name.partition("|")[2].split(","))
        return f"{language} kokoro {' + '.join(voices) if len(voices) == 1 else 'mixture'}"
    return f"{language} {engine} {name}"


def breakdown_by_voice(build: Path, split: str, model: Path, threshold: float, seed: int = 0) -> dict:
    """Per voice group: share of keyword clips (alone, own channel) whose right keyword
    reaches ``threshold`` (smoothed). Shows which unseen voices the model misses."""
    from kwstrain.channel import apply_channel, make_rirs

    clips = load_split(build, split)
    detector = build_detector(None, {}, model, REFRACTORY_S)
    labels = detector.rule.labels
    rng, rirs = np.random.default_rng(seed), make_rirs(10, seed=seed + 5)
    groups: dict[str, list[bool]] = {}
    for i in range(len(clips)):
        label = str(clips.labels[i])
        if label not in labels[1:]:
            continue
        audio = np.concatenate([np.zeros(4000, np.float32), clips.clip(i), np.zeros(8000, np.float32)])
        audio = apply_channel(audio, rng, rirs, []) + rng.standard_normal(audio.size).astype(np.float32) * 1e-3
        detector.reset()
        scores = smooth(np.stack([s for _, s in detector.process_scores(audio)]), detector.rule.smooth_windows)
        hit = bool(scores[:, labels.index(label)].max() >= threshold)
        groups.setdefault(voice_group(str(clips.voices[i]), str(clips.languages[i])), []).append(hit)
    return {g: {"clips": len(v), "detected": round(float(np.mean(v)), 3)} for g, v in sorted(groups.items())}


def choose_threshold(val_results: dict[str, list[dict]]) -> float:
    """Lowest threshold where the val conversation of every language has no false accept
    (all keywords enabled). Near misses are reported, not used: they are built to confuse."""
    for i, threshold in enumerate(THRESHOLD_GRID):
        if all(rows[i]["false_accepts"] == 0 for name, rows in val_results.items() if "-only" not in name):
            return float(threshold)
    return float(THRESHOLD_GRID[-1])


def plot_det(results: dict[str, list[dict]], chosen: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=110)
    for language, rows in results.items():
        fa = [max(r["fa_per_hour"], 0.05) for r in rows]
        frr = [100 * r["frr"] for r in rows]
        only = language.endswith("-only")
        (line,) = ax.plot(fa, frr, marker=".", ls="--" if only else "-",
                          label=f"{language[:2]} (test, {'only its own keywords' if only else 'all 18 keywords'} enabled)")
        if not only:
            op = next(r for r in rows if abs(r["threshold"] - chosen) < 1e-9)
            ax.scatter([max(op["fa_per_hour"], 0.05)], [100 * op["frr"]], s=70, zorder=5, color=line.get_color())
    ax.axvline(0.5, color="grey", ls="--", lw=0.8)
    ax.axhline(5, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour of conversation (0 plotted at 0.05)")
    ax.set_ylabel("false reject rate (%)")
    ax.set_title(f"LineGuard KWS DET, unseen voices, 8 kHz phone channel (dot: threshold {chosen})")
    ax.title.set_fontsize(9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.evaluate", description=__doc__)
    parser.add_argument("--build", type=Path, default=MODELS_DIR / "build")
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--out", type=Path, default=MODELS_DIR / "eval")
    parser.add_argument("--write-threshold", action="store_true", help="store the val-chosen threshold in the model .json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    val = evaluate_split(args.build, "val", args.model)
    chosen = choose_threshold(val)
    test = evaluate_split(args.build, "test", args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"threshold": chosen, "refractory_s": REFRACTORY_S, "hit_after_end_s": HIT_AFTER_END_S,
               "test": {lang: next(r for r in rows if abs(r["threshold"] - chosen) < 1e-9) for lang, rows in test.items()},
               "val": {lang: next(r for r in rows if abs(r["threshold"] - chosen) < 1e-9) for lang, rows in val.items()}}
    summary["test_by_voice"] = breakdown_by_voice(args.build, "test", args.model, chosen)
    if (args.build / "clips_test3.npz").exists():  # the held-out neural voice alone (also inside "test")
        neural = evaluate_split(args.build, "test3", args.model)
        summary["test3"] = {lang: next(r for r in rows if abs(r["threshold"] - chosen) < 1e-9)
                            for lang, rows in neural.items()}
        (args.out / "det_test3.json").write_text(json.dumps(neural, indent=1) + "\n")
    real = find_clips()
    if real:   # operator-reviewed field clips, reported on their own (they also join training)
        detector = build_detector(None, {}, args.model, REFRACTORY_S)
        summary["real_clips"] = evaluate_real(real, detector)
    (args.out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / "det_test.json").write_text(json.dumps(test, indent=1) + "\n")
    (args.out / "det_val.json").write_text(json.dumps(val, indent=1) + "\n")
    plot_det(test, chosen, args.out / "det_curve.png")
    if args.write_threshold:
        meta_path = args.model.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        meta["default_threshold"] = chosen
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for lang, row in summary["test"].items():
        LOG.info("test %s @%.4g: FRR %.1f%% (%d/%d), FA %d in %.2f h = %.2f/h, near-miss FA %d, latency p50 %.2f s p95 %.2f s",
                 lang, chosen, 100 * row["frr"], row["keywords"] - row["hits"], row["keywords"], row["false_accepts"],
                 row["negative_hours"], row["fa_per_hour"], row["near_miss_fa"], row["latency_p50_s"], row["latency_p95_s"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
