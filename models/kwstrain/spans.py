"""A smoothing span per keyword, chosen on val.

The spotter averages each keyword's window scores over its last N windows before the threshold. One N for
every keyword (14 windows, 280 ms) suits the long Korean keywords, which the model answers for 400-750 ms,
and costs the short English words, which it answers for 60-300 ms (``kwstrain.foreign --by form``): a
brief answer loses its peak to a long average. This module records each model's raw (unsmoothed) val
tracks once per line, then chooses every keyword's span from ``--candidates`` by coordinate descent on the
number models are chosen by — the mean over lines, languages and the false-accept budgets 0.5 / 1 / 5 per
hour of the FRR at the one threshold that keeps every line within the budget
(:func:`kwstrain.significance.choice_number` with ``joint``) — starting from the model's span, a keyword at a
time, keeping a change only when it lowers that number. ``--two-fold`` also chooses on each half of val and
scores on the other: on v51 the choice on all of val gained 1.7 points there and lost 0.2 on test, the choice
fitting val's noise (EXPERIMENTS.md, "A smoothing span per keyword"). ``--write`` runs that check and stores the
spans that differ from the model's in its ``.json`` (``smooth_windows_by_keyword``, which the runtime reads) only
when they hold on the halves they were not chosen on.

    PYTHONPATH=edge:models python -m kwstrain.spans --model models/lineguard_kws.tflite [--write]
    PYTHONPATH=edge:models python -m kwstrain.spans --check test --spans models/eval/spans_val.json

(``--check SPLIT`` scores spans already chosen on another split: each line's val-chosen spans against the
single span, by the same number, on SPLIT: the held-out view of what the choice on val is worth.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kwstrain import evaluate as ev
from kwstrain import significance as sig
from lineguard.kws.scoring import smooth

LOG = logging.getLogger("kwstrain.spans")
CANDIDATES = (3, 5, 7, 10, 14, 20)


@dataclass(frozen=True)
class Spans:
    """What :func:`kwstrain.significance.units` reads of a stream: its keyword spans and its length."""
    spans: tuple
    duration_s: float


def record_raw(job: tuple[Path, str, Path, str]) -> tuple[tuple[str, ...], dict[str, dict[str, ev.Track]]]:
    """Raw score tracks of one split on one line, the audio dropped (only spans and length kept)."""
    build, split, model, line = job
    labels, tracks = ev.record_split(build, split, model, smooth_windows=1, line=line)
    light = {language: {name: ev.Track(Spans(tuple(t.stream.spans), t.stream.duration_s), t.times_s,
                                       t.smoothed.astype(np.float32))
                        for name, t in by_name.items() if name in ("positive", "negative")}
             for language, by_name in tracks.items()}
    return labels, light


def smoothed_units(labels: tuple[str, ...], raw: dict[str, dict[str, ev.Track]], spans: tuple[int, ...]):
    """Per language, the :class:`~kwstrain.significance.Units` of the raw tracks smoothed with ``spans``.
    Rows where no keyword reaches the lowest grid threshold are dropped first: they never fire, and the
    refractory period starts only at a detection, so the units are the same."""
    floor = min(ev.THRESHOLD_GRID)
    out = {}
    for language, by_name in raw.items():
        tracks = {}
        for name, t in by_name.items():
            s = smooth(t.smoothed, spans)
            keep = s[:, 1:].max(axis=1) >= floor
            tracks[name] = ev.Track(t.stream, t.times_s[keep], s[keep])
        out[language] = sig.units(labels, tracks)
    return out


def choice(labels: tuple[str, ...], raw_by_line: list[dict], spans: tuple[int, ...]) -> float:
    """The joint choice number (lower is better) of ``spans`` on the recorded lines."""
    return sig.choice_number([smoothed_units(labels, raw, spans) for raw in raw_by_line], joint=True)


def choose(labels: tuple[str, ...], raw_by_line: list[dict], start: int, candidates=CANDIDATES,
           passes: int = 2, by: str = "keyword") -> tuple[tuple[int, ...], list[dict]]:
    """Coordinate descent from ``start`` for every keyword (``by="language"``: one span shared by each
    language's keywords): per keyword or language, the candidate span with the lowest :func:`choice` (a change
    only when strictly lower), up to ``passes`` rounds or until none changes."""
    if by == "keyword":
        groups = {label: [i] for i, label in enumerate(labels) if i}
    elif by == "language":
        groups = {}
        for i, label in enumerate(labels[1:], 1):
            groups.setdefault(label.split("_", 1)[0], []).append(i)
    else:
        raise ValueError(f"by={by!r}: keyword or language")
    spans = [start] * len(labels)
    best = choice(labels, raw_by_line, tuple(spans))
    log = [{"step": "start", "spans": start, "choice": best}]
    LOG.info("start: %d windows for every keyword, %.2f%%", start, 100 * best)
    for rnd in range(passes):
        changed = False
        for name, members in groups.items():
            now = spans[members[0]]
            for k in candidates:
                if k == now:
                    continue
                trial = list(spans)
                for i in members:
                    trial[i] = k
                value = choice(labels, raw_by_line, tuple(trial))
                if value < best - 1e-12:
                    LOG.info("pass %d: %s %d -> %d windows: %.2f%% -> %.2f%%", rnd + 1, name, now, k, 100 * best,
                             100 * value)
                    log.append({"step": f"pass {rnd + 1}", "keyword": name, "from": now, "to": k, "choice": value})
                    spans, best, now, changed = trial, value, k, True
        if not changed:
            break
    return tuple(spans), log


def half(raw: dict[str, dict[str, ev.Track]], first: bool) -> dict[str, dict[str, ev.Track]]:
    """The first or second half (by time) of every track: its rows, its keyword spans that start there, half
    its length. The conversation is ordered by a hash of the text, so the halves hold different sentences."""
    out = {}
    for language, by_name in raw.items():
        out[language] = {}
        for name, t in by_name.items():
            mid = t.stream.duration_s / 2
            keep = t.times_s < mid if first else t.times_s >= mid
            spans = tuple(s for s in t.stream.spans if (s.start_s < mid) == first)
            out[language][name] = ev.Track(Spans(spans, mid if first else t.stream.duration_s - mid),
                                           t.times_s[keep], t.smoothed[keep])
    return out


def two_fold(labels: tuple[str, ...], raw_by_line: list[dict], start: int, candidates=CANDIDATES, passes: int = 2,
             by: str = "keyword") -> dict:
    """Spans chosen on one half of val (every line) and scored on the other, and back: the held-out choice
    number of the chosen spans and of ``start`` for all, per fold and their mean difference (negative: the
    choice holds on speech it was not made on)."""
    folds = []
    for first in (True, False):
        chosen, _ = choose(labels, [half(raw, first) for raw in raw_by_line], start, candidates, passes, by)
        held_out = [half(raw, not first) for raw in raw_by_line]
        single, own = choice(labels, held_out, (start,) * len(labels)), choice(labels, held_out, chosen)
        folds.append({"chosen_on": "first half" if first else "second half",
                      "by_keyword": {label: k for label, k in zip(labels[1:], chosen[1:]) if k != start},
                      "held_out_single": single, "held_out_chosen": own})
        LOG.info("chosen on the %s: held out %.2f%% (one span %.2f%%)", folds[-1]["chosen_on"], 100 * own, 100 * single)
    return {"folds": folds, "held_out_difference": float(np.mean([f["held_out_chosen"] - f["held_out_single"]
                                                                   for f in folds]))}


def _record_all(build: Path, split: str, model: Path, lines: list[str], workers: int, cache: Path | None = None):
    """Labels and, per line, the raw tracks of ``split`` (kept in ``cache``, keyed by the model file's digest,
    split and line, when given)."""
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    paths = {line: cache / f"raw-{digest}-{split}-{line}.pkl" for line in lines} if cache else {}
    todo = [line for line in lines if not (cache and paths[line].exists())]
    jobs = [(build, split, model, line) for line in todo]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            done = dict(zip(todo, pool.map(record_raw, jobs)))
    else:
        done = {line: record_raw(job) for line, job in zip(todo, jobs)}
    for line in lines:
        if line in done and cache:
            cache.mkdir(parents=True, exist_ok=True)
            paths[line].write_bytes(pickle.dumps(done[line], protocol=pickle.HIGHEST_PROTOCOL))
        elif line not in done:
            done[line] = pickle.loads(paths[line].read_bytes())
    return done[lines[0]][0], [done[line][1] for line in lines]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.spans", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ev.MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--build", type=Path, default=ev.MODELS_DIR / "build")
    parser.add_argument("--lines", nargs="+", choices=sorted(ev.LINES), default=["noisy", "quiet"])
    parser.add_argument("--candidates", type=int, nargs="+", default=list(CANDIDATES))
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--by", choices=["keyword", "language"], default="keyword",
                        help="a span per keyword, or one per language")
    parser.add_argument("--cache", type=Path, default=None, help="keep the raw tracks here (a model recorded once)")
    parser.add_argument("--out", type=Path, default=ev.MODELS_DIR / "eval" / "spans_val.json",
                        help="where the choice and its steps are written")
    parser.add_argument("--write", action="store_true",
                        help="store the chosen spans in the model's .json (smooth_windows_by_keyword) if the two-fold "
                             "check inside val holds (runs it)")
    parser.add_argument("--two-fold", action="store_true",
                        help="also choose on each half of val and score on the other (~2x the time)")
    parser.add_argument("--check", metavar="SPLIT", default=None,
                        help="score the spans of --spans on SPLIT against the model's single span")
    parser.add_argument("--spans", type=Path, default=None, help="--check: a file --out wrote")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.model.is_file():
        parser.error(f"{args.model}: no such model file")
    if any(k < 1 for k in args.candidates):
        parser.error("--candidates: spans are whole numbers of windows >= 1")
    split = args.check or "val"
    if not (args.build / f"clips_{split}.npz").is_file():
        parser.error(f"{args.build}: no clip set for {split} (clips_{split}.npz): run `make data`")
    meta_path = args.model.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    start = int(meta["smooth_windows"])
    if args.check:
        if args.spans is None:
            parser.error("--check needs --spans FILE (written by a choice on val)")
        chosen = json.loads(args.spans.read_text(encoding="utf-8"))
        labels, raw_by_line = _record_all(args.build, args.check, args.model, args.lines, args.workers, args.cache)
        spans = tuple(chosen["by_keyword"].get(label, start) for label in labels)
        single, own = choice(labels, raw_by_line, (start,) * len(labels)), choice(labels, raw_by_line, spans)
        print(f"{args.check}, lines {' + '.join(args.lines)}: {start} windows for every keyword {100 * single:.2f}%, "
              f"the spans chosen on {chosen['split']} {100 * own:.2f}% ({100 * (own - single):+.2f} points)")
        return 0
    labels, raw_by_line = _record_all(args.build, "val", args.model, args.lines, args.workers, args.cache)
    spans, steps = choose(labels, raw_by_line, start, tuple(args.candidates), args.passes, args.by)
    by_keyword = {label: k for label, k in zip(labels[1:], spans[1:]) if k != start}
    result = {"model": str(args.model), "split": "val", "lines": args.lines, "by": args.by, "start": start,
              "candidates": args.candidates, "by_keyword": by_keyword, "choice_start": steps[0]["choice"],
              "choice": steps[-1]["choice"], "steps": steps}
    if args.two_fold or args.write:
        result["two_fold"] = two_fold(labels, raw_by_line, start, tuple(args.candidates), args.passes, args.by)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"val, lines {' + '.join(args.lines)}: {start} windows for every keyword {100 * result['choice_start']:.2f}%, "
          f"spans per {args.by} {100 * result['choice']:.2f}%: {by_keyword or 'none changed'}")
    if "two_fold" in result:
        for fold in result["two_fold"]["folds"]:
            print(f"  chosen on val's {fold['chosen_on']} ({fold['by_keyword'] or 'none changed'}): on the other half "
                  f"{100 * fold['held_out_chosen']:.2f}% against {100 * fold['held_out_single']:.2f}% for one span")
        print(f"  two-fold: {100 * result['two_fold']['held_out_difference']:+.2f} points on the halves not chosen on")
    if args.write:
        if result["two_fold"]["held_out_difference"] < 0 and by_keyword:
            meta["smooth_windows_by_keyword"] = by_keyword
            print(f"{meta_path}: smooth_windows_by_keyword written")
        else:
            meta.pop("smooth_windows_by_keyword", None)
            print(f"{meta_path}: one span for every keyword (the choice did not hold on the halves of val it was "
                  f"not made on)")
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
