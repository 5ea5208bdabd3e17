"""``lineguard threshold-check``: how often this site's own calls would set the spotter off.

The shipped thresholds were chosen on synthetic speech over two simulated
lines (``models/MODEL_CARD.md``). A site's line, handsets and callers are its
own, so the false-alarm rate there is measured, not assumed: record ordinary
calls (no abuse in them: WAV files, or the box's encrypted recordings with the site's key),
and this tool runs the site's spotter over them once, keeps every call's
smoothed score track, and counts the detections each shared threshold would
give — all of them false alarms, since the calls held no abuse — per hour of
call audio and per keyword. Each count gets a one-sided upper confidence
bound (Poisson): a handful of hours cannot show a rate of 0.5 per hour, and
the report says how many hours could.

It changes nothing without evidence: it says *raise* only when the calls
show the current thresholds over the budget (the rate's lower confidence
bound is above it), and then the lowest threshold from which on no higher one
is over the budget; it says *lower* only when they show a lower threshold
within the budget (its upper bound and every one between it and the current
thresholds); otherwise *keep*. With reviewed
clips (``lineguard clips export``, ``label`` filled in) it also shows how
many of the really abusive ones each threshold still catches, and how many of
the false alarms still fire: what a lower or higher threshold buys here.

The spotter is the site's own (``[detector]`` of ``--config``: model,
languages, keywords, refractory period) and listens to the channel the
gateway listens to (``audio.far_end_channel`` of a stereo recording).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from lineguard.errors import LineGuardError
from lineguard.kws.scoring import ScoringRule, detect_track, smooth

GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 0.998, 0.999)


@dataclass(frozen=True)
class ScoredAudio:
    """One file's smoothed score track: rows of per-label scores at ``times_s`` (only the rows where some
    live keyword reaches the lowest threshold asked about: the others fire at none, so hours of calls
    stay small in memory and the detections are the same)."""

    name: str
    duration_s: float
    times_s: np.ndarray
    smoothed: np.ndarray


@dataclass
class Row:
    threshold: float
    false_alarms: int
    per_hour: float
    upper_per_hour: float
    keywords: dict[str, int] = field(default_factory=dict)
    true_caught: int | None = None
    false_firing: int | None = None


def audio_files(paths: list[Path], encrypted: bool = False) -> list[Path]:
    """The files named, and the WAV files under the folders named (sorted, recursively), with the
    encrypted recordings (``.lgrec``) among them when ``encrypted``."""
    suffixes = {".wav", ".lgrec"} if encrypted else {".wav"}
    out = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes))
        else:
            out.append(path)
    return out


def recording_chunks(path: Path, key: bytes | None, channel: int, to_hz: int):
    """``channel`` of the box's encrypted recording at ``to_hz``, decrypted a record at a time and handed on a
    minute at a time (read whole only when it needs resampling: :func:`lineguard.kws.detect_cli.channel_chunks`)."""
    from lineguard.errors import AudioFormatError
    from lineguard.kws.detect_cli import channel_chunks
    from lineguard.recording.crypto import EncryptedReader

    if key is None:
        raise AudioFormatError(f"{path}: an encrypted recording; give the site's --key-file")
    with EncryptedReader(Path(path), key) as reader:
        if reader.content != "pcm":
            raise AudioFormatError(f"{path}: not a call recording (an encrypted {reader.content})")
        yield from channel_chunks(_minute_blocks(reader, path), reader.sample_rate_hz, channel, to_hz)


def _minute_blocks(reader, path: Path):
    """The frames of an open :class:`~lineguard.recording.crypto.EncryptedReader` as float32 ``(n, channels)``
    blocks of about a minute (a record need not end on a whole frame)."""
    from lineguard.audio.wavio import pcm16_samples
    from lineguard.errors import AudioFormatError
    from lineguard.kws.detect_cli import DETECT_CHUNK_SAMPLES

    frame = 2 * reader.channels
    pending: list[np.ndarray] = []
    held, frames, rest = 0, 0, b""
    for plain in reader.records():
        raw = rest + plain
        usable = len(raw) - len(raw) % frame
        raw, rest = raw[:usable], raw[usable:]
        if raw:
            pending.append(pcm16_samples(raw, reader.channels))
            held += len(pending[-1])
            frames += len(pending[-1])
        if held >= DETECT_CHUNK_SAMPLES:
            yield np.concatenate(pending)
            pending, held = [], 0
    if not frames:
        raise AudioFormatError(f"{path}: contains no audio frames")
    if pending:
        yield np.concatenate(pending)


def score_file(path: Path, detector, channel: int = 0, floor: float = 0.0, key: bytes | None = None) -> ScoredAudio:
    """Run the spotter over one recording (``channel`` of a stereo file, channel 0 of a mono one); keep the
    rows where a live keyword's smoothed score reaches ``floor``."""
    from lineguard.kws.detect_cli import wav_chunks

    to_hz = detector.sample_rate_hz
    if Path(path).suffix.lower() == ".lgrec":
        chunks = recording_chunks(Path(path), key, channel, to_hz)
    else:
        chunks = wav_chunks(Path(path), channel, to_hz)
    detector.reset()
    times, rows, samples_seen = [], [], 0
    for chunk in chunks:
        samples_seen += chunk.size
        scored = detector.process_scores(chunk)
        if scored:
            times.extend(t for t, _ in scored)
            rows.append(np.vstack([s for _, s in scored]))
    rule = detector.rule
    raw = np.vstack(rows) if rows else np.zeros((0, len(rule.labels)))
    smoothed = smooth(raw, rule.smooth_windows)
    live = live_labels(rule)
    keep = smoothed[:, live].max(axis=1) >= floor if live else np.zeros(len(smoothed), bool)
    return ScoredAudio(str(path), samples_seen / to_hz, np.asarray(times)[keep], smoothed[keep])


def live_labels(rule: ScoringRule) -> list[int]:
    """Indices of the keywords ``rule`` lets fire (a disabled one's threshold is above any score)."""
    return [i for i, t in enumerate(rule.thresholds) if i and t <= 1.0]


def live_thresholds(rule: ScoringRule) -> list[float]:
    """The distinct thresholds of the keywords ``rule`` lets fire, lowest first."""
    return sorted({rule.thresholds[i] for i in live_labels(rule)})


def at_threshold(rule: ScoringRule, threshold: float) -> ScoringRule:
    """``rule`` with every enabled keyword at one threshold (disabled ones stay disabled)."""
    live = set(live_labels(rule))
    return replace(rule, thresholds=tuple(threshold if i in live else t for i, t in enumerate(rule.thresholds)))


def detections(tracks: list[ScoredAudio], rule: ScoringRule) -> list[tuple[str, object]]:
    return [(t.name, d) for t in tracks for d in detect_track(t.smoothed, t.times_s, rule)]


def upper_rate(count: int, hours: float, confidence: float) -> float:
    """One-sided upper confidence bound of a Poisson rate, per hour."""
    from scipy.stats import chi2

    return float(chi2.ppf(confidence, 2 * count + 2) / 2 / hours) if hours > 0 else float("inf")


def lower_rate(count: int, hours: float, confidence: float) -> float:
    """One-sided lower confidence bound of a Poisson rate, per hour."""
    from scipy.stats import chi2

    return float(chi2.ppf(1 - confidence, 2 * count) / 2 / hours) if count and hours > 0 else 0.0


def hours_needed(budget: float, confidence: float) -> float:
    """Hours of calls with no false alarm at all that show a rate within ``budget``."""
    return upper_rate(0, 1.0, confidence) / budget


def sweep(calls: list[ScoredAudio], rule: ScoringRule, grid, confidence: float,
          true_clips: list[ScoredAudio] | None = None, false_clips: list[ScoredAudio] | None = None) -> list[Row]:
    hours = sum(c.duration_s for c in calls) / 3600
    rows = []
    for threshold in sorted(set(grid)):
        r = at_threshold(rule, threshold)
        hits = detections(calls, r)
        row = Row(threshold, len(hits), len(hits) / hours if hours else float("inf"),
                  upper_rate(len(hits), hours, confidence), dict(Counter(d.keyword for _, d in hits).most_common()))
        if true_clips is not None:
            row.true_caught = sum(bool(detect_track(c.smoothed, c.times_s, r)) for c in true_clips)
        if false_clips is not None:
            row.false_firing = sum(bool(detect_track(c.smoothed, c.times_s, r)) for c in false_clips)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Decision:
    verdict: str            # "raise", "lower" or "keep"
    threshold: float | None  # the suggested default_threshold (None: keep the current ones)
    why: str


def decide(rows: list[Row], current_count: int, current_level: float, hours: float, budget: float,
           confidence: float) -> Decision:
    """What the calls justify, given the false alarms at the site's current thresholds (``current_level``
    is the highest of them): raise, lower or keep; see the module docstring."""
    conf = f"{100 * confidence:g}%"
    low = lower_rate(current_count, hours, confidence)
    by_t = sorted(rows, key=lambda r: r.threshold)
    if low > budget:
        best = None
        for row in reversed(by_t):
            if row.per_hour > budget:
                break
            best = row.threshold
        if best is None:
            return Decision("raise", None, f"the current thresholds give more than {budget:g} false alarms per hour "
                                           f"(at least {low:.2f}/h at {conf} confidence), and so does every "
                                           "threshold here: listen to the alarms listed")
        return Decision("raise", best, f"the current thresholds give more than {budget:g} false alarms per hour "
                                       f"(at least {low:.2f}/h at {conf} confidence); from {best:g} up none does")
    best = None
    for row in reversed([r for r in by_t if r.threshold <= current_level]):
        if row.upper_per_hour > budget:
            break
        best = row.threshold
    if best is not None and best < current_level:
        return Decision("lower", best, f"the calls show {best:g} and every threshold above it within {budget:g} "
                                       f"false alarms per hour at {conf} confidence: it catches more")
    need = hours_needed(budget, confidence)
    return Decision("keep", None, f"the calls neither show the current thresholds over {budget:g} false alarms per "
                                  f"hour nor a lower one within it (that takes at least {need:.1f} h of calls "
                                  f"with no false alarm; these are {hours:.2f} h)")


def assess(calls: list[ScoredAudio], rule: ScoringRule, budget: float, confidence: float, grid=GRID,
           true_clips: list[ScoredAudio] | None = None,
           false_clips: list[ScoredAudio] | None = None) -> tuple[list[Row], list, Decision]:
    """The sweep over ``grid`` and the rule's own thresholds, the alarms at the rule's thresholds, and what
    the calls justify (:func:`decide`, from the highest of those thresholds)."""
    live = live_thresholds(rule)
    hours = sum(c.duration_s for c in calls) / 3600
    rows = sweep(calls, rule, [*grid, *live], confidence, true_clips, false_clips)
    current = detections(calls, rule)
    return rows, current, decide(rows, len(current), max(live, default=1.0), hours, budget, confidence)


def check(call_paths: list[Path], settings, *, clips_dir: Path | None = None, budget: float = 0.5,
          confidence: float = 0.9, grid=GRID, model_path: Path | None = None,
          key: bytes | None = None) -> tuple[dict, list[str]]:
    """The report (a JSON-ready dict) and the files that could not be read, each with why."""
    from lineguard.app import build_detector

    if model_path is not None:
        settings = settings.model_copy(update={"detector": settings.detector.model_copy(update={"model_path": model_path})})
    detector = build_detector(settings)
    rule = detector.rule
    channel = settings.audio.far_end_channel if settings.audio.channels == 2 else 0
    live = live_thresholds(rule)
    floor = min([*grid, *live])
    skipped, calls = [], []
    for path in audio_files(call_paths, encrypted=key is not None):
        try:
            calls.append(score_file(path, detector, channel, floor, key))
        except LineGuardError as exc:
            skipped.append(str(exc))
    true_clips = false_clips = None
    if clips_dir is not None:
        from lineguard.callers.clips import read_labels
        from lineguard.errors import ConfigError

        if not (Path(clips_dir) / "labels.csv").is_file():
            raise ConfigError(str(clips_dir), [("labels.csv", "missing: give a `lineguard clips export` folder")])
        true_clips, false_clips = [], []
        for clip in read_labels(clips_dir):
            try:
                (true_clips if clip.label else false_clips).append(score_file(clip.path, detector, 0, floor))
            except LineGuardError as exc:
                skipped.append(str(exc))
    hours = sum(c.duration_s for c in calls) / 3600
    rows, current, decision = assess(calls, rule, budget, confidence, grid, true_clips, false_clips)
    if not calls:
        decision = None
    report = {
        "calls": len(calls), "hours": round(hours, 4), "channel": channel, "budget_per_hour": budget,
        "confidence": confidence, "smooth_windows": _smoothing(rule), "refractory_s": rule.refractory_s,
        "enabled_keywords": [rule.labels[i] for i in live_labels(rule)],
        "current": {"thresholds": live, "false_alarms": len(current),
                    "per_hour": len(current) / hours if hours else None,
                    "upper_per_hour": upper_rate(len(current), hours, confidence) if hours else None,
                    "lower_per_hour": lower_rate(len(current), hours, confidence) if hours else None,
                    "detections": [{"file": name, "time_s": round(d.time_s, 2), "keyword": d.keyword,
                                    "score": round(d.score, 4)} for name, d in current]},
        "rows": [vars(r) for r in rows],
        "verdict": decision and decision.verdict,
        "suggested_threshold": decision and decision.threshold,
        "why": decision and decision.why,
        "hours_needed": round(hours_needed(budget, confidence), 2),
        "true_clips": None if true_clips is None else len(true_clips),
        "false_clips": None if false_clips is None else len(false_clips),
        "skipped": skipped,
    }
    return report, skipped


def _smoothing(rule: ScoringRule) -> str:
    """``"14"``, or ``"14 (en_fuck 5, en_shit 7)"`` where live keywords have spans of their own."""
    common = max(set(rule.spans), key=rule.spans.count)
    own = [f"{rule.labels[i]} {rule.spans[i]}" for i in live_labels(rule) if rule.spans[i] != common]
    return f"{common}" + (f" ({', '.join(own)})" if own else "")


def render(report: dict) -> str:
    rows = report["rows"]
    with_clips = report["true_clips"] is not None
    conf = f"{100 * report['confidence']:g}%"
    lines = [f"{report['calls']} calls, {report['hours']:.2f} h of call audio (channel {report['channel']}); "
             f"{len(report['enabled_keywords'])} keywords live; smoothing {report['smooth_windows']} windows, "
             f"refractory {report['refractory_s']:g} s",
             "Every detection in these calls counts as a false alarm: give calls that held no abuse.", ""]
    head = f"{'threshold':>9}  {'false alarms':>12}  {'per hour':>8}  {conf + ' bound':>10}"
    if with_clips:
        head += f"  {'abusive clips caught':>20}  {'false clips firing':>18}"
    head += "     most frequent"
    lines += [head, "-" * len(head)]
    now = set(report["current"]["thresholds"])
    for r in rows:
        mark = ("*" if r["threshold"] == report["suggested_threshold"] else " ") + ("<" if r["threshold"] in now else " ")
        line = f"{r['threshold']:>9.4g}  {r['false_alarms']:>12}  {r['per_hour']:>8.2f}  {r['upper_per_hour']:>10.2f}"
        if with_clips:
            line += (f"  {r['true_caught']:>9} of {report['true_clips']:<8}"
                     f"  {r['false_firing']:>7} of {report['false_clips']:<8}")
        top = ", ".join(f"{k} {n}" for k, n in list(r["keywords"].items())[:3])
        lines.append(f"{line} {mark} {top}")
    cur = report["current"]
    lines += ["", "< the site's current thresholds; * the suggested one", ""]
    if report["hours"]:
        lines.append(f"Now: {cur['false_alarms']} false alarm{'' if cur['false_alarms'] == 1 else 's'} in "
                     f"{report['hours']:.2f} h ({cur['per_hour']:.2f}/h; {cur['lower_per_hour']:.2f} to "
                     f"{cur['upper_per_hour']:.2f}/h at {conf} confidence each way).")
    for d in cur["detections"][:20]:
        lines.append(f"  {d['file']}  {d['time_s']:.2f} s  {d['keyword']}  {d['score']:.2f}")
    if len(cur["detections"]) > 20:
        lines.append(f"  ... {len(cur['detections']) - 20} more (--json lists them all)")
    budget = report["budget_per_hour"]
    if report["suggested_threshold"] is None:
        lines.append(f"{report['verdict'].capitalize()}: {report['why']}.")
    else:
        lines.append(f"{report['verdict'].capitalize()}: [detector] default_threshold = "
                     f"{report['suggested_threshold']:g}: {report['why']}. Per-keyword [detector] thresholds still "
                     "override it.")
    return "\n".join(lines)


def check_main(paths: list[Path], settings, *, clips_dir: Path | None, budget: float, confidence: float,
               model_path: Path | None, as_json: bool, key: bytes | None = None) -> int:
    """CLI entry: print the report; exit status 0, 1 when some files were skipped, 2 when nothing could be read."""
    report, skipped = check(paths, settings, clips_dir=clips_dir, budget=budget, confidence=confidence,
                            model_path=model_path, key=key)
    if not report["calls"]:
        for why in skipped:
            print(f"lineguard threshold-check: {why}", file=sys.stderr)
        print("lineguard threshold-check: error: no call audio could be read from "
              + ", ".join(str(p) for p in paths), file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False) if as_json else render(report))
    for why in skipped:
        print(f"lineguard threshold-check: skipped {why}", file=sys.stderr)
    return 1 if skipped else 0
