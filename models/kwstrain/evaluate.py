"""Evaluate the shipped model on held-out voices: FRR, false accepts/hour, DET.

``python -m kwstrain.evaluate`` runs the streaming spotter (the runtime code,
int8 model) over the evaluation streams of each language, records its score
tracks once, then sweeps one threshold shared by all keywords to draw the DET
curve. The operating point is chosen on ``val`` only. Each way of choosing
thresholds (``THRESHOLD_METHODS``: one shared by all keywords or one per
language, the lowest with no false accept or at most 0.5 per hour of val
conversation; or one per keyword) is first checked two-fold inside val: chosen
on one half of the conversation (its sentences), false accepts counted on the
other. The way with the lowest FRR within 0.5 FA/h there picks the thresholds
on all of val; ``--write-threshold`` stores them in the model's ``.json``.
A box does not know which line it is on, so the thresholds are chosen to hold on
every line of ``--choose-on`` (default both, noisy and quiet): each line's val
chooses, and each keyword takes the highest of the lines' choices
(:func:`joint_thresholds`); the two-fold check counts each line on its own.
They are reported on ``test``, next to the shared threshold with at most
0.5 FA/h on val (the DET's dot). Where ``test_wide`` was synthesized (the wide
text pool's test share: dictionary usage examples and software help, read by
test voices), its false accepts are reported on their own: text of other kinds
than the conversation the thresholds were chosen on.

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

from kwstrain.channel import ChannelConfig, apply_channel, make_rirs
from kwstrain.streams import KeywordSpan, Stream, build_streams
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
# ways to choose thresholds on val, each checked two-fold inside val (:func:`cross_check`); "@b": at most b false
# accepts per hour of val conversation, "shared" alone: none at all
THRESHOLD_METHODS = ("shared", "shared@0.5", "per_language", "per_language@0.5", "per_keyword_floor_0.99")
BUDGET_FA_PER_HOUR = 0.5  # the target rate
THRESHOLD_GRID = tuple(float(v) for v in np.unique(np.round(np.concatenate(
    [np.arange(0.3, 0.9, 0.05), np.arange(0.9, 0.98, 0.01), [0.98, 0.985, 0.99, 0.993, 0.996, 0.998, 0.999, 0.9995, 0.9998, 0.9999,
     0.99995, 0.99998, 0.99999, 0.999995, 0.999998, 0.999999]]), 6)))
# the line the evaluation streams go through (``--line``): "noisy", the training channel (noise at 0-25 dB
# SNR on 85% of utterances, -60 dBFS floor); "quiet", a clean line (reverb, band-pass, level and codec,
# no added noise or clipping, a -75 dBFS floor), where a model that relies on noise between words fails
LINES = {"noisy": (ChannelConfig(), -60.0), "quiet": (ChannelConfig(noise_prob=0.0, clip_prob=0.0), -75.0)}


@dataclass(frozen=True)
class Track:
    stream: Stream
    times_s: np.ndarray
    smoothed: np.ndarray


def record_track(detector, stream: Stream, smooth_windows: int | None = None) -> Track:
    """Smoothed score track of ``stream`` (the model's smoothing unless ``smooth_windows``; 1 = raw)."""
    detector.reset()
    rows = []
    for start in range(0, stream.audio.size, CHUNK_SAMPLES):
        rows += detector.process_scores(stream.audio[start : start + CHUNK_SAMPLES])
    times = np.array([t for t, _ in rows])
    if not rows:
        return Track(stream, times, np.zeros((0, len(detector.rule.labels))))
    scores = np.stack([s for _, s in rows])
    return Track(stream, times, smooth(scores, smooth_windows or detector.rule.smooth_windows))


def within(detections: list[Detection], span: KeywordSpan) -> list[Detection]:
    """The detections that count for ``span``: between its start and ``HIT_AFTER_END_S`` after its end (the
    span is caught when one of them is its keyword; another keyword there is a confusion)."""
    return [d for d in detections if span.start_s <= d.time_s <= span.end_s + HIT_AFTER_END_S]


def match(detections: list[Detection], stream: Stream) -> dict:
    """Hits, misses, confusions and latency of detections against keyword spans."""
    hits, latencies, confusions, extra = 0, [], 0, 0
    used = set()
    for span in stream.spans:
        inside = within(detections, span)
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
    return rule_from(labels, dict.fromkeys(labels[1:], threshold), language)


def rule_from(labels: tuple[str, ...], thresholds: dict[str, float], language: str | None = None) -> ScoringRule:
    """Per-keyword thresholds (missing keywords, and other languages' with ``language``, disabled)."""
    values = tuple(2.0 if i == 0 or label not in thresholds or (language and not label.startswith(language + "_"))
                   else float(thresholds[label]) for i, label in enumerate(labels))
    return ScoringRule(labels, values, refractory_s=REFRACTORY_S)


def sweep(tracks: dict[str, Track], labels: tuple[str, ...], threshold: float, language: str | None = None) -> dict:
    return {"threshold": threshold, **score_rule(tracks, rule_for(labels, threshold, language))}


def score_rule(tracks: dict[str, Track], rule: ScoringRule) -> dict:
    """FRR, false accepts per hour, near misses and latency of one language's tracks under ``rule``."""
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
    return {**res, "frr_per_keyword": per_kw,
            "false_accepts": len(fa), "negative_hours": round(hours, 3),
            "fa_per_hour": len(fa) / max(hours, 1e-9),
            "fa_keywords": sorted({d.keyword for d in fa}),
            "near_miss_fa": len(near_fa), "near_miss_hours": round(near.stream.duration_s / 3600, 3),
            "latency_p50_s": float(np.nanpercentile(lat, 50)), "latency_p95_s": float(np.nanpercentile(lat, 95))}


def false_accepts(negatives: list[Track], rule: ScoringRule) -> int:
    return sum(len(detect_track(t.smoothed, t.times_s, rule)) for t in negatives)


def calibrate(negatives: list[Track], labels: tuple[str, ...], floor: float) -> dict[str, float]:
    """Per-keyword thresholds: for each keyword, the lowest grid threshold (not below
    ``floor``) at which that keyword alone fires nowhere in the ``negatives``
    (conversation of every language). With all keywords at their thresholds
    the negatives then hold no false accept either (each detection is some keyword's)."""
    chosen = {}
    for label in labels[1:]:
        grid = [t for t in THRESHOLD_GRID if t >= floor - 1e-12]
        chosen[label] = next((t for t in grid if false_accepts(negatives, rule_from(labels, {label: t})) == 0), grid[-1])
    return chosen


def half(track: Track, first: bool) -> Track:
    """The first or second half (by time) of a conversation track."""
    mid = track.stream.duration_s / 2
    keep = track.times_s < mid if first else track.times_s >= mid
    cut = track.stream.audio.size // 2
    audio = track.stream.audio[:cut] if first else track.stream.audio[cut:]
    return Track(Stream(track.stream.name, track.stream.language, audio, ()), track.times_s[keep], track.smoothed[keep])


def allowed(track: Track, budget_fa_per_hour: float) -> int:
    """False accepts a conversation track may hold under a budget (whole events, rounded down)."""
    return int(budget_fa_per_hour * track.stream.duration_s / 3600 + 1e-9)


def group_threshold(negatives: list[Track], labels: tuple[str, ...], prefix: str = "", budget: float = 0.0) -> float:
    """Lowest grid threshold for the keywords starting with ``prefix`` (all: "") at which they fire
    at most ``budget`` times per hour: in every conversation track (all keywords), or, for one
    language's keywords, over all tracks against the hours of that language's conversation."""
    group = [label for label in labels[1:] if label.startswith(prefix)]
    own = [t for t in negatives if prefix and t.stream.language + "_" == prefix]
    for t in THRESHOLD_GRID:
        rule = rule_from(labels, dict.fromkeys(group, t))
        if prefix and own:
            ok = false_accepts(negatives, rule) <= sum(allowed(n, budget) for n in own)
        else:
            ok = all(false_accepts([n], rule) <= allowed(n, budget) for n in negatives)
        if ok:
            return t
    return THRESHOLD_GRID[-1]


def thresholds_by(method: str, negatives: list[Track], labels: tuple[str, ...]) -> dict[str, float]:
    """Thresholds chosen on ``negatives`` by ``method``: ``shared@<b>`` (one for all keywords),
    ``per_language@<b>`` (one per language), both the lowest with at most ``b`` false accepts per
    hour (rounded down to whole events per track), or ``per_keyword_floor_<f>`` (:func:`calibrate`)."""
    name, _, budget = method.partition("@")
    if name == "shared":
        return dict.fromkeys(labels[1:], group_threshold(negatives, labels, "", float(budget or 0)))
    if name == "per_language":
        languages = sorted({label.split("_")[0] for label in labels[1:]})
        by_language = {lang: group_threshold(negatives, labels, lang + "_", float(budget or 0)) for lang in languages}
        return {label: by_language[label.split("_")[0]] for label in labels[1:]}
    if name.startswith("per_keyword_floor_"):
        return calibrate(negatives, labels, float(name.rsplit("_", 1)[1]))
    raise ValueError(f"unknown threshold method {method!r}")


def joint_thresholds(method: str, negatives_by_line: dict[str, list[Track]], labels: tuple[str, ...]) -> dict[str, float]:
    """Thresholds by ``method`` that hold on every line: chosen on each line's conversation alone, then per
    keyword the highest of the lines' choices. A box does not know which line it is on; false accepts only
    fall as a threshold rises (with the refractory period the detections are a greedy pick from the scores
    over threshold, and a smaller set never yields more), so the highest keeps every line within its budget."""
    chosen = [thresholds_by(method, negatives, labels) for negatives in negatives_by_line.values()]
    return {label: max(c[label] for c in chosen) for label in labels[1:]}


def cross_check(tracks_by_line: dict[str, dict[str, dict[str, Track]]], labels: tuple[str, ...],
                methods: tuple[str, ...]) -> dict:
    """Two-fold check of threshold methods within val: thresholds chosen on one half of every
    conversation stream of every line (:func:`joint_thresholds`), false accepts counted on the other
    half (and back); FRR on the positive streams. Shows how "no false accept where chosen" holds on
    conversation the thresholds were not chosen on, without touching test. ``held_out_fa_per_hour`` is
    the worst line's rate (the budget must hold on each); ``by_line`` has each line's counts and FRR,
    ``frr`` the mean over the lines."""
    out = {}
    for method in methods:
        held = {line: [0, 0.0] for line in tracks_by_line}
        frr = {line: {lang: [] for lang in tracks} for line, tracks in tracks_by_line.items()}
        for first in (True, False):
            chosen_on = {line: [half(t["negative"], first) for t in tracks.values()]
                         for line, tracks in tracks_by_line.items()}
            rule = rule_from(labels, joint_thresholds(method, chosen_on, labels))
            for line, tracks in tracks_by_line.items():
                held_out = [half(t["negative"], not first) for t in tracks.values()]
                held[line][0] += false_accepts(held_out, rule)
                held[line][1] += sum(t.stream.duration_s for t in held_out) / 3600
                for lang, t in tracks.items():
                    pos = t["positive"]
                    frr[line][lang].append(match(detect_track(pos.smoothed, pos.times_s, rule), pos.stream)["frr"])
        by_line = {line: {"held_out_false_accepts": fa, "held_out_hours": round(h, 3),
                          "held_out_fa_per_hour": round(fa / max(h, 1e-9), 3),
                          "frr": {lang: round(float(np.mean(v)), 4) for lang, v in frr[line].items()}}
                   for line, (fa, h) in held.items()}
        languages = sorted({lang for tracks in tracks_by_line.values() for lang in tracks})
        out[method] = {"held_out_false_accepts": sum(fa for fa, _ in held.values()),
                       "held_out_hours": round(sum(h for _, h in held.values()), 3),
                       "held_out_fa_per_hour": max(r["held_out_fa_per_hour"] for r in by_line.values()),
                       "frr": {lang: round(float(np.mean([r["frr"][lang] for r in by_line.values() if lang in r["frr"]])), 4)
                               for lang in languages},
                       "by_line": by_line}
    return out


def pick_method(cross: dict, budget_fa_per_hour: float = 0.5) -> str:
    """The method with the lowest mean two-fold FRR among those within the false-accept
    budget on held-out val conversation (on every line); ``shared`` when none is."""
    ok = {m: np.mean(list(r["frr"].values())) for m, r in cross.items() if r["held_out_fa_per_hour"] <= budget_fa_per_hour}
    return min(ok, key=ok.get) if ok else "shared"


def record_split(build: Path, split: str, model: Path, seed: int = 0, max_negative_s: float | None = None,
                 smooth_windows: int | None = None, line: str = "noisy") -> tuple[tuple[str, ...], dict[str, dict[str, Track]]]:
    """Model labels and, per language, the score tracks of its positive, negative and near-miss streams."""
    clips = load_split(build, split)
    keywords = load_keywords(MODELS_DIR / "keywords.toml")
    detector = build_detector(None, {}, model, REFRACTORY_S)
    tracks = {}
    channel, floor_dbfs = LINES[line]
    for language in sorted({k.language for k in keywords}):
        near_texts = {w for k in keywords if k.language == language for w in k.near_misses}
        streams = build_streams(clips, language, near_texts, seed=seed, max_negative_s=max_negative_s,
                                channel=channel, floor_dbfs=floor_dbfs)
        tracks[language] = {name: record_track(detector, s, smooth_windows) for name, s in streams.items()}
        LOG.info("%s %s: positive %.1f min (%d keywords), negative %.1f min, near-miss %.1f min", split,
                 language, streams["positive"].duration_s / 60, len(streams["positive"].spans),
                 streams["negative"].duration_s / 60, streams["near_miss"].duration_s / 60)
    return detector.rule.labels, tracks


CHOICE_BUDGETS = (0.5, 1.0, 5.0)  # false accepts per hour: the budgets a smoothing length and a model are chosen by


def best_at(rows: list[dict], budget: float) -> dict | None:
    """The DET row with the lowest FRR among those within ``budget`` false accepts per hour."""
    ok = [r for r in rows if r["fa_per_hour"] <= budget]
    return min(ok, key=lambda r: r["frr"]) if ok else None


def best_frr(det: dict[str, list[dict]], languages, budgets: tuple[float, ...] = CHOICE_BUDGETS) -> dict[str, float]:
    """Per language and budget (``"en <= 0.5"``), the best FRR along the DET within the budget; 1.0
    where no threshold meets it."""
    return {f"{lang} <= {b}": (best_at(det[lang], b) or {"frr": 1.0})["frr"] for lang in languages for b in budgets}


def sweep_smoothing(labels: tuple[str, ...], raw: dict[str, dict[str, Track]], windows: tuple[int, ...] = tuple(range(1, 17)),
                    budgets: tuple[float, ...] = CHOICE_BUDGETS) -> dict[int, dict]:
    """Per smoothing length: the best FRR along the DET within each false-accept budget, per
    language, and their mean (the number the model's ``smooth_windows`` is chosen by, on val)."""
    out = {}
    for k in windows:
        tracks = {lang: {name: Track(t.stream, t.times_s, smooth(t.smoothed, k)) for name, t in by_name.items()}
                  for lang, by_name in raw.items()}
        best = best_frr(det_rows(labels, tracks), raw, budgets)
        out[k] = {"best_frr": best, "mean": round(float(np.mean(list(best.values()))), 4)}
    return out


def det_rows(labels: tuple[str, ...], tracks: dict[str, dict[str, Track]]) -> dict[str, list[dict]]:
    """The shared-threshold sweep (DET) per language, all keywords and own language only."""
    results = {}
    for language, t in tracks.items():
        results[language] = [sweep(t, labels, th) for th in THRESHOLD_GRID]
        results[f"{language}-only"] = [sweep(t, labels, th, language) for th in THRESHOLD_GRID]
    return results


def out_of_domain(labels: tuple[str, ...], tracks: dict[str, dict[str, Track]], thresholds: dict[str, float],
                  shared: float) -> dict:
    """False accepts on the ``test_wide`` conversation (dictionary usage examples, software help pages,
    read by test voices): text of other kinds than the conversation the thresholds were chosen on,
    at the operating thresholds and at the single shared one, with the keywords that fired, and
    false accepts along the shared-threshold grid (``sweep``: threshold, count)."""
    out = {}
    for language, t in tracks.items():
        neg = t["negative"]
        hours = neg.stream.duration_s / 3600
        row = {"hours": round(hours, 3)}
        for name, rule in (("operating", rule_from(labels, thresholds)), ("shared", rule_for(labels, shared))):
            fired = detect_track(neg.smoothed, neg.times_s, rule)
            row[name] = {"false_accepts": len(fired), "fa_per_hour": round(len(fired) / max(hours, 1e-9), 3),
                         "fa_keywords": sorted({d.keyword for d in fired})}
        row["sweep"] = [(th, false_accepts([neg], rule_for(labels, th))) for th in THRESHOLD_GRID]
        out[language] = row
    return out


def fired_on(track: Track, rule: ScoringRule) -> list[dict]:
    """What each false accept on a conversation track fired on: the keyword, its smoothed score and the
    sentence last begun at that moment, with the seconds since its start and to its end (negative: in the
    pause after it; a detection comes ~0.2 s after the sound that set it off, so one in a sentence's
    first ~0.3 s was set off by the end of the sentence before)."""
    utterances = track.stream.utterances
    starts = np.array([u[0] for u in utterances])
    out = []
    for d in detect_track(track.smoothed, track.times_s, rule):
        row = {"time_s": round(d.time_s, 2), "keyword": d.keyword, "score": round(float(d.score), 4)}
        k = int(np.searchsorted(starts, d.time_s, side="right")) - 1
        if k >= 0:
            start, end, text = utterances[k]
            row.update(sentence=text, since_start_s=round(d.time_s - start, 2), to_end_s=round(end - d.time_s, 2))
            if k > 0 and d.time_s - start < 0.3:
                row["sentence_before"] = utterances[k - 1][2]
        out.append(row)
    return out


def operating_point(labels: tuple[str, ...], tracks: dict[str, dict[str, Track]], thresholds: dict[str, float]) -> dict:
    """Scores at the operating thresholds per language (all keywords enabled, and its own only), with the
    sentences the conversation's false accepts fired on (all keywords enabled)."""
    out = {}
    rule = rule_from(labels, thresholds)
    for language, t in tracks.items():
        out[language] = score_rule(t, rule)
        out[language]["false_accept_sentences"] = fired_on(t["negative"], rule)
        out[f"{language}-only"] = score_rule(t, rule_from(labels, thresholds, language))
    return out


def voice_group(voice_key: str, language: str) -> str:
    engine, name = voice_key.split(":")[:2]
    if engine == "espeak":
        return f"{language} espeak-ng {'stock variant' if '+' in name else 'random variant'}"
    if engine == "kokoro":
        voices = sorted(v.split("=")[0] for v in name.partition("|")[2].split(","))
        return f"{language} kokoro {' + '.join(voices) if len(voices) == 1 else 'mixture'}"
    return f"{language} {engine} {name}"


def breakdown_by_voice(build: Path, split: str, model: Path, thresholds: dict[str, float], seed: int = 0,
                       line: str = "noisy") -> dict:
    """Per voice group: share of keyword clips (alone, own channel) whose right keyword
    reaches its threshold (smoothed). Shows which unseen voices the model misses."""
    clips = load_split(build, split)
    detector = build_detector(None, {}, model, REFRACTORY_S)
    labels = detector.rule.labels
    rng, rirs = np.random.default_rng(seed), make_rirs(10, seed=seed + 5)
    channel, floor_dbfs = LINES[line]
    groups: dict[str, list[bool]] = {}
    for i in range(len(clips)):
        label = str(clips.labels[i])
        if label not in labels[1:]:
            continue
        audio = np.concatenate([np.zeros(4000, np.float32), clips.clip(i), np.zeros(8000, np.float32)])
        audio = (apply_channel(audio, rng, rirs, [], channel)
                 + rng.standard_normal(audio.size).astype(np.float32) * 10 ** (floor_dbfs / 20))
        detector.reset()
        scores = smooth(np.stack([s for _, s in detector.process_scores(audio)]), detector.rule.smooth_windows)
        hit = bool(scores[:, labels.index(label)].max() >= thresholds[label])
        groups.setdefault(voice_group(str(clips.voices[i]), str(clips.languages[i])), []).append(hit)
    return {g: {"clips": len(v), "detected": round(float(np.mean(v)), 3)} for g, v in sorted(groups.items())}


def plot_det(results: dict[str, list[dict]], chosen: float, operating: dict[str, dict], path: Path) -> None:
    """Shared-threshold DET per language; circle: the shared val threshold, star: the
    thresholds the model ships with (the same point when the shared rule won on val)."""
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
            star = operating[language]
            ax.scatter([max(star["fa_per_hour"], 0.05)], [100 * star["frr"]], s=140, marker="*", zorder=6,
                       color=line.get_color(), edgecolors="black", linewidths=0.6)
    ax.axvline(0.5, color="grey", ls="--", lw=0.8)
    ax.axhline(5, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour of conversation (0 plotted at 0.05)")
    ax.set_ylabel("false reject rate (%)")
    ax.set_title(f"LineGuard KWS DET, unseen voices, 8 kHz phone channel\n(dot: shared threshold {chosen}, "
                 "star: the shipped thresholds, both chosen on val)")
    ax.title.set_fontsize(9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)



def smoothing_of(model: Path) -> dict:
    """The smoothing the model's ``.json`` sets: its span, and the keywords' own (``kwstrain.spans``)."""
    meta = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    return {"smooth_windows": meta.get("smooth_windows"),
            "smooth_windows_by_keyword": meta.get("smooth_windows_by_keyword", {})}


def evaluate_line(args: argparse.Namespace, line: str, out: Path, labels, val_by_line: dict, thresholds: dict,
                  shared: float, method: str, cross: dict) -> dict:
    """Test (and report) the model on one line at the thresholds chosen on val; writes ``out``."""
    val_tracks = val_by_line[line]
    val = det_rows(labels, val_tracks)
    labels, test_tracks = record_split(args.build, "test", args.model, line=line)
    test = det_rows(labels, test_tracks)
    out.mkdir(parents=True, exist_ok=True)
    at = lambda rows_by_lang: {lang: next(r for r in rows if abs(r["threshold"] - shared) < 1e-9)  # noqa: E731
                               for lang, rows in rows_by_lang.items()}
    summary = {"line": line, "threshold": shared, "thresholds": thresholds, "threshold_method": method,
               "chosen_on": list(args.choose_on), "refractory_s": REFRACTORY_S, "hit_after_end_s": HIT_AFTER_END_S,
               "test": operating_point(labels, test_tracks, thresholds),
               "val": operating_point(labels, val_tracks, thresholds),
               "val_by_line": {name: operating_point(labels, t, thresholds) for name, t in val_by_line.items()},
               "test_shared_threshold": at(test), "val_cross_check": cross, **smoothing_of(args.model)}
    summary["test_by_voice"] = breakdown_by_voice(args.build, "test", args.model, thresholds, line=line)
    if (args.build / "clips_test3.npz").exists():  # the held-out neural voice alone (also inside "test")
        labels, neural_tracks = record_split(args.build, "test3", args.model, line=line)
        summary["test3"] = operating_point(labels, neural_tracks, thresholds)
        (out / "det_test3.json").write_text(json.dumps(det_rows(labels, neural_tracks), indent=1) + "\n")
    if (args.build / "clips_test_mbrola.npz").exists():  # MBROLA's held-out voice (us3), reported alone
        labels, mbrola_tracks = record_split(args.build, "test_mbrola", args.model, line=line)
        summary["test_mbrola"] = operating_point(labels, mbrola_tracks, thresholds)
    if (args.build / "clips_test_wide.npz").exists():  # other kinds of text, reported alone (not in "test")
        labels, wide_tracks = record_split(args.build, "test_wide", args.model, line=line)
        summary["test_wide"] = out_of_domain(labels, wide_tracks, thresholds, shared)
    real = find_clips()
    if real:   # operator-reviewed field clips, reported on their own (they also join training)
        detector = build_detector(None, thresholds, args.model, REFRACTORY_S)
        summary["real_clips"] = evaluate_real(real, detector)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "det_test.json").write_text(json.dumps(test, indent=1) + "\n")
    (out / "det_val.json").write_text(json.dumps(val, indent=1) + "\n")
    plot_det(test, shared, summary["test"], out / "det_curve.png")
    return summary


def log_summary(line: str, summary: dict, cross: dict, shared: float) -> None:
    for name, row in cross.items():
        for val_line, r in row["by_line"].items():
            LOG.info("val two-fold %s, %s line: held-out FA %d in %.2f h = %.2f/h, FRR %s", name, val_line,
                     r["held_out_false_accepts"], r["held_out_hours"], r["held_out_fa_per_hour"], r["frr"])
    method = summary["threshold_method"]
    for lang, row in summary["test"].items():
        LOG.info("%s line, test %s @%s: FRR %.1f%% (%d/%d), FA %d in %.2f h = %.2f/h, near-miss FA %d, "
                 "latency p50 %.2f s p95 %.2f s", line, lang, method, 100 * row["frr"], row["keywords"] - row["hits"],
                 row["keywords"], row["false_accepts"], row["negative_hours"], row["fa_per_hour"],
                 row["near_miss_fa"], row["latency_p50_s"], row["latency_p95_s"])
    for lang, row in summary.get("test_mbrola", {}).items():
        LOG.info("%s line, test_mbrola %s (MBROLA us3, alone): FRR %.1f%% (%d/%d), FA %d in %.2f h = %.2f/h", line,
                 lang, 100 * row["frr"], row["keywords"] - row["hits"], row["keywords"], row["false_accepts"],
                 row["negative_hours"], row["fa_per_hour"])
    for lang, row in summary.get("test_wide", {}).items():
        LOG.info("%s line, test_wide %s (other kinds of text): FA %d in %.2f h = %.2f/h at the operating thresholds "
                 "%s, %d at the shared %.4g", line, lang, row["operating"]["false_accepts"], row["hours"],
                 row["operating"]["fa_per_hour"], row["operating"]["fa_keywords"], row["shared"]["false_accepts"], shared)
    for lang, row in summary["test_shared_threshold"].items():
        LOG.info("%s line, test %s @shared %.4g: FRR %.1f%%, FA %d in %.2f h = %.2f/h", line, lang, shared,
                 100 * row["frr"], row["false_accepts"], row["negative_hours"], row["fa_per_hour"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.evaluate", description=__doc__)
    parser.add_argument("--build", type=Path, default=MODELS_DIR / "build")
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--out", type=Path, default=MODELS_DIR / "eval",
                        help="where the first --line's results go (default models/eval)")
    parser.add_argument("--line", nargs="+", choices=sorted(LINES), default=["noisy"], metavar="LINE",
                        help="the lines the evaluation audio goes through (see LINES); the first writes --out, "
                             "each other one --out/LINE; val is recorded once per line")
    parser.add_argument("--choose-on", nargs="+", choices=sorted(LINES), default=list(LINES), metavar="LINE",
                        help="the val lines the thresholds must hold the false-accept budget on (default: all; a box "
                             "does not know its line)")
    parser.add_argument("--sweep-smoothing", action="store_true",
                        help="only compare smoothing lengths on val, at the model's step, on the first --line "
                             "(writes smoothing_val.json)")
    parser.add_argument("--smoothing-windows", type=int, nargs="+", default=list(range(1, 17)), metavar="N",
                        help="the lengths --sweep-smoothing compares, in windows (default 1-16)")
    parser.add_argument("--write-threshold", action="store_true",
                        help="store the val-chosen per-keyword thresholds in the model .json")
    args = parser.parse_args(argv)
    args.line = list(dict.fromkeys(args.line))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.sweep_smoothing:
        labels, raw = record_split(args.build, "val", args.model, smooth_windows=1, line=args.line[0])
        result = sweep_smoothing(labels, raw, tuple(args.smoothing_windows))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "smoothing_val.json").write_text(json.dumps(result, indent=1) + "\n")
        for k, row in result.items():
            LOG.info("smoothing %d windows: mean best val FRR %.1f%% %s", k, 100 * row["mean"],
                     {name: round(100 * v, 1) for name, v in row["best_frr"].items()})
        return 0
    val_by_line = {}
    for line in dict.fromkeys([*args.choose_on, *args.line]):
        labels, val_by_line[line] = record_split(args.build, "val", args.model, line=line)
    chosen_on = {line: [t["negative"] for t in val_by_line[line].values()] for line in args.choose_on}
    shared = joint_thresholds(f"shared@{BUDGET_FA_PER_HOUR:g}", chosen_on, labels)[labels[1]]
    cross = cross_check({line: val_by_line[line] for line in args.choose_on}, labels, THRESHOLD_METHODS)
    method = pick_method(cross, BUDGET_FA_PER_HOUR)
    thresholds = joint_thresholds(method, chosen_on, labels)
    for i, line in enumerate(args.line):  # the same thresholds on every line: the box does not know its line
        out = args.out if i == 0 else args.out / line
        summary = evaluate_line(args, line, out, labels, val_by_line, thresholds, shared, method, cross)
        log_summary(line, summary, cross if i == 0 else {}, shared)
    if args.write_threshold:
        meta_path = args.model.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        meta["default_threshold"] = shared
        meta["thresholds"] = {k: v for k, v in thresholds.items() if v != shared}
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    LOG.info("thresholds by %s (chosen by the val two-fold check): %s", method, thresholds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
