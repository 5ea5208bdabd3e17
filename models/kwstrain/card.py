"""Print the model card's result tables from ``eval/metrics.json`` (and a bench JSON).

``python -m kwstrain.card [--bench models/eval/bench.json]`` -> markdown on stdout;
``python -m kwstrain.card --compare DIR...`` -> candidate models side by side by the val rule.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kwstrain.evaluate import CHOICE_BUDGETS, best_at, best_frr

MODELS_DIR = Path(__file__).resolve().parents[1]
SPLIT_NAMES = {"test": "test", "test3": "test, Kokoro jf_nezumi only", "val": "val"}


def results_table(metrics: dict) -> str:
    method = metrics.get("threshold_method", "shared")
    lines_chosen = metrics.get("chosen_on")
    where = f" on the {' and '.join(lines_chosen)} lines' val at once" if lines_chosen else ""
    lines = [f"Operating thresholds chosen on val by **{method.replace('_', ' ')}**{where} (the single shared threshold "
             f"would be {metrics['threshold']}), refractory {metrics['refractory_s']} s, hit window keyword start … "
             f"end + {metrics['hit_after_end_s']} s.", "",
             "| split | language / keywords enabled | keywords | FRR | false accepts | conversation h | FA/h | near-miss FA | latency p50 / p95 |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for split in ("test", "test3", "val"):
        for name, row in metrics.get(split, {}).items():
            enabled = "own language only" if name.endswith("-only") else "all 18"
            lines.append(f"| {SPLIT_NAMES[split]} | {name[:2]} / {enabled} | {row['keywords']} | {100 * row['frr']:.1f}% | "
                         f"{row['false_accepts']} | {row['negative_hours']:.2f} | {row['fa_per_hour']:.2f} | "
                         f"{row['near_miss_fa']} | {row['latency_p50_s']:.2f} / {row['latency_p95_s']:.2f} s |")
    lines += ["", "Threshold and FRR per keyword (test, all enabled):", "", "| keyword | threshold | FRR |",
              "| --- | ---: | ---: |"]
    for name in ("ko", "en"):
        for kw, frr in metrics["test"][name]["frr_per_keyword"].items():
            lines.append(f"| {kw} | {metrics.get('thresholds', {}).get(kw, metrics['threshold'])} | {100 * frr:.0f}% |")
    shared = metrics.get("test_shared_threshold")
    if shared:
        lines += ["", f"Test at the single shared threshold {metrics['threshold']} instead:", "",
                  "| language | FRR | false accepts | FA/h |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {lang} | {100 * row['frr']:.1f}% | {row['false_accepts']} | {row['fa_per_hour']:.2f} |"
                  for lang, row in shared.items() if not lang.endswith("-only")]
    cross = metrics.get("val_cross_check")
    if cross:
        rows = [(m, line, r) for m, row in cross.items() for line, r in row.get("by_line", {"": row}).items()]
        by_line = any(line for _, line, _ in rows)
        lines += ["", "Two-fold check inside val (thresholds chosen on one half of the val conversation, "
                  "false accepts counted on the other half, and back):", "",
                  f"| method |{' line |' if by_line else ''} held-out false accepts | held-out h | FA/h | FRR ko | FRR en |",
                  f"| --- |{' --- |' if by_line else ''} ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {m.replace('_', ' ')} |{f' {line} |' if line else ''} {r['held_out_false_accepts']} | "
                  f"{r['held_out_hours']:.2f} | {r['held_out_fa_per_hour']:.2f} | "
                  f"{100 * r['frr'].get('ko', float('nan')):.1f}% | {100 * r['frr'].get('en', float('nan')):.1f}% |"
                  for m, line, r in rows]
    fired = [(lang, row) for lang in ("ko", "en") for row in metrics["test"][lang].get("false_accept_sentences", [])]
    if fired:
        lines += ["", "What the test conversation's false accepts at the operating thresholds fired on (the sentence "
                  "last begun; \"pause after\": in the pause after it; \"end of the one before\": in a sentence's first "
                  "0.3 s, set off by the end of the sentence before, shown in brackets):", "",
                  "| speech | keyword | score | where | sentence |", "| --- | --- | ---: | --- | --- |"]
        for lang, row in fired:
            where, text = where_fired(row), row.get("sentence", "")
            if "sentence_before" in row:
                text = f"[{row['sentence_before']}] {text}"
            lines.append(f"| {lang} | {row['keyword']} | {row['score']:.4f} | {where} | {text.replace('|', '/')} |")
    wide = metrics.get("test_wide")
    if wide:
        lines += ["", "False accepts on other kinds of text than conversation (`test_wide`: the wide text pool's test "
                  "share, WordNet usage examples and Korean LibreOffice help, each read once by a test voice; not part "
                  "of the test conversation above):", "",
                  "| language of the speech | hours | false accepts (FA/h) at the operating thresholds | "
                  f"keywords fired | at the shared {metrics['threshold']} |", "| --- | ---: | ---: | --- | ---: |"]
        for lang, row in wide.items():
            at, shared = row["operating"], row["shared"]
            lines.append(f"| {lang} | {row['hours']:.2f} | {at['false_accepts']} ({at['fa_per_hour']:.2f}) | "
                         f"{', '.join(at['fa_keywords']) or '—'} | {shared['false_accepts']} ({shared['fa_per_hour']:.2f}) |")
    lines += ["", "Keyword clips detected at the operating threshold, by test voice group:", "",
              "| voice group | clips | detected |", "| --- | ---: | ---: |"]
    for group, row in metrics.get("test_by_voice", {}).items():
        lines.append(f"| {group} | {row['clips']} | {100 * row['detected']:.0f}% |")
    return "\n".join(lines)


def where_fired(row: dict) -> str:
    """Where in its sentence a false accept fired (see ``evaluate.fired_on``)."""
    if "sentence" not in row:
        return "before the first sentence"
    if "sentence_before" in row:
        return "end of the one before"
    if row["to_end_s"] < 0:
        return "pause after"
    return f"{row['since_start_s']:.1f} s in, {row['to_end_s']:.1f} s before its end"


def det_table(det: dict, targets_fa_per_hour: tuple[float, ...] = (0.5, 1.0, 5.0, 20.0)) -> str:
    lines = ["Best FRR on the test DET at a false-accept budget (one shared threshold):", "",
             "| language / enabled | " + " | ".join(f"FA/h ≤ {t}" for t in targets_fa_per_hour) + " |",
             "| --- |" + " ---: |" * len(targets_fa_per_hour)]
    for name, rows in det.items():
        cells = []
        for budget in targets_fa_per_hour:
            best = best_at(rows, budget)
            cells.append(f"{100 * best['frr']:.1f}% @ {best['threshold']}" if best else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def choice_table(evals: list[Path], budgets: tuple[float, ...] = CHOICE_BUDGETS) -> str:
    """Candidate models side by side by the rule that picks the shipped one: on val, the best FRR within
    each budget (one shared threshold, all keywords enabled), averaged over both languages, both lines
    (``DIR`` noisy, ``DIR/quiet`` quiet) and the budgets; test the same way, for the record. A budget no
    threshold meets counts as 100% FRR."""
    lines = ["| model | " + " | ".join(f"{split} {line}" for split in ("val", "test") for line in ("noisy", "quiet"))
             + " | val mean | test mean |", "| --- |" + " ---: |" * 6]
    for path in evals:
        cells, means = [], []
        for split in ("val", "test"):
            per_line = []
            for line_dir in (path, path / "quiet"):
                found = line_dir / f"det_{split}.json"
                if not found.is_file():
                    raise FileNotFoundError(f"{found}: missing; evaluate the model on that line first "
                                            f"(python -m kwstrain.evaluate --out {path} --line noisy quiet)")
                det = json.loads(found.read_text())
                frrs = best_frr(det, ("en", "ko"), budgets).values()
                per_line.append(sum(frrs) / len(frrs))
            cells += [f"{100 * v:.1f}%" for v in per_line]
            means.append(f"**{100 * sum(per_line) / 2:.1f}%**")
        lines.append(f"| {path} | " + " | ".join(cells + means) + " |")
    return "\n".join(lines)


def bench_table(bench: dict) -> str:
    a, b = bench["lineguard"], bench["pocketsphinx"]
    return "\n".join([
        f"`make bench-kws` on one pinned core of this 2-core build machine, {bench['audio_s'] / 60:.1f} min of held-out "
        f"English phone audio ({bench['english_keywords']} keywords + {bench['negative_min']} min conversation):", "",
        "| | LineGuard | PocketSphinx kws (16 kHz) |", "| --- | ---: | ---: |",
        f"| FRR | {100 * a['frr']:.1f}% | {100 * b['frr']:.1f}% |",
        f"| false accepts (FA/h) | {a['false_accepts']} ({a['fa_per_hour']:.1f}) | {b['false_accepts']} ({b['fa_per_hour']:.1f}) |",
        f"| latency keyword end → detection p50 / p95 | {a['latency_p50_s']:.2f} / {a['latency_p95_s']:.2f} s | "
        f"{b['latency_p50_s']:.2f} / {b['latency_p95_s']:.2f} s |",
        f"| CPU per audio second | {1000 * bench['cpu_per_audio_s']:.2f} ms | {1000 * bench['pocketsphinx_cpu_per_audio_s']:.2f} ms |",
        "", f"Real-time factor {bench['rtf_cpu_x']:.0f}× by CPU time ({bench['rtf_x']:.0f}× by wall clock, which "
        f"drops when other jobs share the machine); PocketSphinx needs {bench['cpu_ratio_pocketsphinx_over_lineguard']:.1f}× "
        f"the CPU. Peak RSS of `lineguard detect` on an 8 kHz file {bench['peak_rss_mb']:.0f} MB; model "
        f"{bench['model_bytes']} bytes; compute per 40 ms chunk p50 {bench['compute_per_40ms_chunk_ms_p50']:.3f} ms, "
        f"p95 {bench['compute_per_40ms_chunk_ms_p95']:.3f} ms."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.card")
    parser.add_argument("--eval", type=Path, default=MODELS_DIR / "eval")
    parser.add_argument("--bench", type=Path, default=None)
    parser.add_argument("--compare", type=Path, nargs="+", default=None, metavar="EVAL_DIR",
                        help="instead of the card's tables: these evaluations (each DIR with its quiet line in "
                             "DIR/quiet) side by side by the val rule that picks the shipped model")
    args = parser.parse_args(argv)
    if args.compare:
        try:
            print(choice_table(args.compare))
        except FileNotFoundError as exc:
            parser.error(str(exc))
        return 0
    print(results_table(json.loads((args.eval / "metrics.json").read_text())))
    print()
    print(det_table(json.loads((args.eval / "det_test.json").read_text())))
    if (args.eval / "det_test3.json").exists():
        print()
        print(det_table(json.loads((args.eval / "det_test3.json").read_text())).replace(
            "test DET", "DET of the held-out Kokoro voice alone", 1))
    if args.bench and args.bench.exists():
        print()
        print(bench_table(json.loads(args.bench.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
