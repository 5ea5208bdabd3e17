"""Is a candidate model really ahead of the shipped one on val? A paired bootstrap of the number models
are chosen by.

Models are chosen on val by the mean, over both languages and the false-accept budgets 0.5 / 1 / 5 per
hour, of the best FRR along the shared-threshold DET (:func:`kwstrain.evaluate.best_frr`), and over the
lines (noisy, quiet). Val holds a few hundred keyword clips per language and some hours of conversation,
in which a handful of false accepts decide the tightest budget; two models a point apart can swap places on
another draw of the same kinds of speech. This module measures how far that goes.

Both models' score tracks are reduced to *units* once: per threshold of the grid, whether each keyword span
was caught, and how many false accepts fell in each ``BLOCK_S`` block of the conversation stream (a block
holds a few sentences, each read by several voices, so sentences that fire together stay together). A
bootstrap replicate draws the spans and the blocks with replacement, the *same* draw for both models (a
paired comparison: the clips both miss cancel), and recomputes the choice number of each. The report: both
models' numbers on val as it is, the 90% interval of the difference over the replicates, and the share of
replicates where the candidate is ahead. Lines are resampled independently of each other.

    PYTHONPATH=edge:models python -m kwstrain.significance models/lineguard_kws.tflite \
        models/build/<candidate>/lineguard_kws.tflite --cache models/build/units

(records the val tracks of each model on each line, ~6 min per model and line on one core; ``--cache DIR``
keeps the units, keyed by the model file's digest, split and line, so a model is recorded once.)

A candidate written ``A.tflite+B.tflite+B.tflite`` is an output ensemble: per window, the mean of its members'
smoothed keyword probabilities (a member named twice weighs twice; the smoothing is a moving mean, so this is
also the smoothed mean of their raw answers), thresholded as one model. It measures what a set of differently
trained copies would give together — the ceiling a network distilled from them (``kwstrain.pipeline continue
--teachers``) can aim at — not something the box runs.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import pickle
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kwstrain import evaluate as ev
from lineguard.kws.scoring import detect_track

LOG = logging.getLogger("kwstrain.significance")
BLOCK_S = 120.0
LANGUAGES = ("en", "ko")


@dataclass(frozen=True)
class Units:
    """One language's val on one line, reduced for resampling: ``hits[t, s]`` keyword span ``s`` caught at
    threshold ``THRESHOLD_GRID[t]``; ``false_accepts[t, b]`` false accepts in conversation block ``b``;
    ``hours[b]`` the block's length."""
    hits: np.ndarray
    false_accepts: np.ndarray
    hours: np.ndarray


def units(labels: tuple[str, ...], tracks: dict[str, ev.Track], block_s: float = BLOCK_S,
          grid: tuple[float, ...] = ev.THRESHOLD_GRID) -> Units:
    """The :class:`Units` of one language's ``positive`` and ``negative`` tracks, every keyword enabled (as
    the DET models are chosen on: :func:`kwstrain.evaluate.det_rows`)."""
    pos, neg = tracks["positive"], tracks["negative"]
    spans = pos.stream.spans
    duration = neg.stream.duration_s
    blocks = max(1, int(np.ceil(duration / block_s)))
    hours = np.full(blocks, block_s / 3600)
    hours[-1] = (duration - block_s * (blocks - 1)) / 3600
    hits = np.zeros((len(grid), len(spans)), bool)
    fa = np.zeros((len(grid), blocks), np.int32)
    for t, threshold in enumerate(grid):
        rule = ev.rule_for(labels, threshold)
        found = detect_track(pos.smoothed, pos.times_s, rule)
        for s, span in enumerate(spans):
            hits[t, s] = any(d.keyword == span.label for d in ev.within(found, span))
        times = np.array([d.time_s for d in detect_track(neg.smoothed, neg.times_s, rule)])
        fa[t] = np.bincount(np.minimum((times // block_s).astype(int), blocks - 1), minlength=blocks)
    return Units(hits, fa, hours)


def _frr_and_rate(u: Units, spans: np.ndarray | None, blocks: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per grid threshold, the FRR over the spans drawn and the false accepts per hour over the blocks drawn
    (all of them where None)."""
    hits = u.hits if spans is None else u.hits[:, spans]
    fa = u.false_accepts if blocks is None else u.false_accepts[:, blocks]
    hours = u.hours if blocks is None else u.hours[blocks]
    return 1.0 - hits.mean(axis=1), fa.sum(axis=1) / hours.sum()


def best_frr(u: Units, budgets: tuple[float, ...] = ev.CHOICE_BUDGETS, spans: np.ndarray | None = None,
             blocks: np.ndarray | None = None) -> np.ndarray:
    """Per budget, the lowest FRR along the DET within it (1.0 where no threshold is), on the spans and
    blocks drawn (all of them by default): :func:`kwstrain.evaluate.best_frr` from units."""
    frr, rate = _frr_and_rate(u, spans, blocks)
    return np.array([frr[rate <= b].min() if np.any(rate <= b) else 1.0 for b in budgets])


def joint_frr(per_line: list[Units], budgets: tuple[float, ...] = ev.CHOICE_BUDGETS,
              draws: list[tuple] | None = None) -> np.ndarray:
    """``(lines, budgets)``: each line's FRR at the one threshold that keeps every line within the budget (per
    budget, each line's lowest grid threshold within it, then the highest of those: how the shipped thresholds
    are chosen, :func:`kwstrain.evaluate.joint_thresholds`); 1.0 where some line has none."""
    frr, first = [], []
    for i, u in enumerate(per_line):
        line_frr, rate = _frr_and_rate(u, *(draws[i] if draws else (None, None)))
        frr.append(line_frr)
        first.append([int(np.argmax(rate <= b)) if np.any(rate <= b) else -1 for b in budgets])
    out = np.ones((len(per_line), len(budgets)))
    for j in range(len(budgets)):
        if all(f[j] >= 0 for f in first):
            t = max(f[j] for f in first)
            out[:, j] = [line_frr[t] for line_frr in frr]
    return out


def line_frr(per_line: list[dict[str, Units]], draws: list[dict[str, tuple]] | None = None,
             joint: bool = False) -> dict[str, np.ndarray]:
    """Per language, ``(lines, budgets)``: each line's best FRR within each budget (``draws``: per line and
    language, the span and block indices of one replicate; None = val as it is). ``joint``: each line's FRR at
    the threshold that holds the budget on every line (:func:`joint_frr`) instead of at its own line's best."""
    out = {}
    for language in per_line[0]:
        line_draws = [d[language] for d in draws] if draws else None
        if joint:
            out[language] = joint_frr([by_language[language] for by_language in per_line], draws=line_draws)
        else:
            spans_blocks = line_draws or [(None, None)] * len(per_line)
            out[language] = np.array([best_frr(by_language[language], spans=spans, blocks=blocks)
                                      for by_language, (spans, blocks) in zip(per_line, spans_blocks)])
    return out


def choice_number(per_line: list[dict[str, Units]], draws: list[dict[str, tuple]] | None = None,
                  joint: bool = False) -> float:
    """The mean of :func:`line_frr` over languages, lines and budgets: the number models are chosen by."""
    return float(np.mean(list(line_frr(per_line, draws, joint).values())))


def paired_bootstrap(a: list[dict[str, Units]], b: list[dict[str, Units]], replicates: int = 1000,
                     seed: int = 0, joint: bool = False) -> dict:
    """Both models' choice numbers, and the distribution of ``b - a`` over paired replicates (negative: ``b``
    is ahead). ``a`` and ``b`` are per line, per language, on the same streams."""
    rng = np.random.default_rng(seed)
    diffs = np.empty(replicates)
    for r in range(replicates):
        draws = []
        for by_language in a:
            draws.append({lang: (rng.integers(0, u.hits.shape[1], u.hits.shape[1]),
                                 rng.integers(0, u.hours.size, u.hours.size)) for lang, u in by_language.items()})
        diffs[r] = choice_number(b, draws, joint) - choice_number(a, draws, joint)
    low, high = np.percentile(diffs, [5, 95])
    # the observed difference, and the replicates' spread around it (their mean is not reported: a best FRR
    # within a budget is a minimum, and resampled minima are biased low)
    return {"a": choice_number(a, joint=joint), "b": choice_number(b, joint=joint),
            "interval_90": (float(low), float(high)), "b_ahead_share": float(np.mean(diffs < 0)),
            "replicates": replicates}


def members(spec: str) -> tuple[Path, ...]:
    """The model files of a candidate: one ``.tflite``, or an output ensemble ``A.tflite+B.tflite+…``."""
    return tuple(Path(part) for part in spec.split("+"))


def ensemble_tracks(build: Path, split: str, models: tuple[Path, ...], line: str):
    """Labels and per-language tracks of ``models`` together: each window's smoothed scores averaged over the
    members (recorded one after the other on the same streams; their labels must agree). A member named twice
    counts twice but is recorded once."""
    weights = Counter(models)
    first = models[0]
    labels, tracks = ev.record_split(build, split, first, line=line)
    total = {language: {name: ev.Track(t.stream, t.times_s, weights[first] * t.smoothed) for name, t in by_name.items()}
             for language, by_name in tracks.items()}
    for model in list(weights)[1:]:
        found, tracks = ev.record_split(build, split, model, line=line)
        if found != labels:
            raise ValueError(f"{model}: its labels {list(found)} are not {first}'s {list(labels)}")
        for language, by_name in tracks.items():
            for name, track in by_name.items():
                into = total[language][name]
                if not np.array_equal(into.times_s, track.times_s):
                    raise ValueError(f"{model}: its {language} {name} track is not timed as {first}'s")
                total[language][name] = ev.Track(into.stream, into.times_s, into.smoothed + weights[model] * track.smoothed)
    if len(models) > 1:
        total = {language: {name: ev.Track(t.stream, t.times_s, t.smoothed / len(models)) for name, t in by_name.items()}
                 for language, by_name in total.items()}
    return labels, total


def line_table(per_line: list[dict[str, Units]], lines: list[str], joint: bool = False) -> str:
    """:func:`line_frr` on one line of text: ``en noisy 48.4 / 46.8 / 33.5%, en quiet …``."""
    return ", ".join(f"{language} {line} " + " / ".join(f"{100 * v:.1f}" for v in row) + "%"
                     for language, rows in line_frr(per_line, joint=joint).items() for line, row in zip(lines, rows))


def _record(job: tuple[Path, str, str, str, Path | None]) -> dict[str, Units]:
    build, spec, split, line, cache = job
    models = members(spec)
    # plain arrays in the cache (a pickled Units would name the module that wrote it, ``__main__`` under the CLI,
    # and only the CLI could read it back); an ensemble is keyed by its members' digests in order
    digest = "+".join(hashlib.sha256(m.read_bytes()).hexdigest()[:16] for m in models)
    if len(models) > 1:
        digest = "ens-" + hashlib.sha256(digest.encode()).hexdigest()[:16]
    key = f"{digest}-{split}-{line}-{BLOCK_S:g}-arrays.pkl"
    if cache and (cache / key).exists():
        return {language: Units(**fields) for language, fields in pickle.loads((cache / key).read_bytes()).items()}
    labels, tracks = ensemble_tracks(build, split, models, line)
    out = {language: units(labels, tracks[language]) for language in LANGUAGES if language in tracks}
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / key).write_bytes(pickle.dumps({language: vars(u) for language, u in out.items()}))
    LOG.info("%s on %s, %s line: recorded", spec, split, line)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.significance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", help="the model to beat (.tflite)")
    parser.add_argument("candidates", nargs="+",
                        help="models compared with it (.tflite; A.tflite+B.tflite: the two as an output ensemble)")
    parser.add_argument("--build", type=Path, default=ev.MODELS_DIR / "build")
    parser.add_argument("--split", default="val")
    parser.add_argument("--lines", nargs="+", choices=sorted(ev.LINES), default=["noisy", "quiet"])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--cache", type=Path, default=None, help="keep each model's units here")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--joint", action="store_true",
                        help="each line's FRR at the threshold that holds the budget on every line (how the shipped "
                             "thresholds are chosen) instead of at its own line's best")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    models = [args.baseline, *args.candidates]
    for model in (m for spec in models for m in members(spec)):
        if not model.is_file():
            parser.error(f"{model}: no such model file")
    jobs = [(args.build, model, args.split, line, args.cache) for model in models for line in args.lines]
    if args.workers > 1:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            done = list(pool.map(_record, jobs))
    else:
        done = [_record(job) for job in jobs]
    per_model = [done[i * len(args.lines):(i + 1) * len(args.lines)] for i in range(len(models))]
    what = "FRR at the threshold holding every line within" if args.joint else "best FRR within"
    print(f"{args.split}, lines {' + '.join(args.lines)}: mean {what} {'/'.join(map(str, ev.CHOICE_BUDGETS))} "
          f"FA/h over {', '.join(LANGUAGES)}; {args.replicates} paired replicates (keyword clips and "
          f"{BLOCK_S:g} s blocks of conversation drawn with replacement)")
    print(f"{args.baseline}: {100 * choice_number(per_model[0], joint=args.joint):.1f}%")
    print(f"  {line_table(per_model[0], args.lines, args.joint)}")
    for model, candidate in zip(args.candidates, per_model[1:]):
        r = paired_bootstrap(per_model[0], candidate, args.replicates, joint=args.joint)
        low, high = r["interval_90"]
        print(f"{model}: {100 * r['b']:.1f}%; difference {100 * (r['b'] - r['a']):+.1f} points, "
              f"replicates' 90% interval {100 * low:+.1f} .. {100 * high:+.1f}; "
              f"ahead in {100 * r['b_ahead_share']:.0f}% of replicates")
        print(f"  {line_table(candidate, args.lines, args.joint)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
