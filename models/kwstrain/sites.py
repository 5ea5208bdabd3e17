"""Simulated sites for ``lineguard threshold-check``: does its decision hold on speech it never saw?

Each line's val conversation stands for a site's ordinary calls — one language's, or both (a bilingual
site) — and the tool's rule (``lineguard.kws.site_check``: raise / lower / keep by Poisson bounds) decides
from it, starting at the model's own thresholds. The threshold it leads to is then scored on that line's
test: FRR and false accepts per hour per language, next to the model's own thresholds.

``python -m kwstrain.sites [--model M] [--line noisy quiet] [--hours 2]`` (~25 min for both lines:
val and test recorded once per line). ``--hours`` also decides on the first hours of each site alone.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from kwstrain.evaluate import LINES, MODELS_DIR, REFRACTORY_S, Track, record_split, rule_from, score_rule
from lineguard.kws import site_check
from lineguard.kws.factory import build_detector

LOG = logging.getLogger(__name__)
SITES = {"ko": ("ko",), "en": ("en",), "ko+en": ("ko", "en")}


def as_calls(track: Track, hours: float | None = None) -> site_check.ScoredAudio:
    """A val conversation track as a site's calls (its first ``hours`` only, when given)."""
    end = track.stream.duration_s if hours is None else min(hours * 3600, track.stream.duration_s)
    keep = track.times_s <= end
    return site_check.ScoredAudio(track.stream.name, end, track.times_s[keep], track.smoothed[keep])


def decide_site(calls: list[site_check.ScoredAudio], rule, budget: float, confidence: float) -> dict:
    """The tool's decision on ``calls`` from the model's own thresholds (``rule``)."""
    _, current, d = site_check.assess(calls, rule, budget, confidence)
    return {"hours": round(sum(c.duration_s for c in calls) / 3600, 2), "false_alarms_now": len(current),
            "verdict": d.verdict, "threshold": d.threshold, "why": d.why}


def simulate(val: dict[str, dict[str, Track]], test: dict[str, dict[str, Track]], rule, labels,
             budget: float = 0.5, confidence: float = 0.9, hours: list[float] = ()) -> dict:
    """Per simulated site: the decision (on all of val, and on its first ``hours``) and, per language, the
    test at the model's thresholds and at the suggested one."""
    own = {labels[i]: rule.thresholds[i] for i in site_check.live_labels(rule)}
    out = {}
    for site, languages in SITES.items():
        row = {"decision": decide_site([as_calls(val[lang]["negative"]) for lang in languages], rule, budget,
                                       confidence)}
        for h in hours:
            row[f"decision_first_{h:g}h"] = decide_site(
                [as_calls(val[lang]["negative"], h / len(languages)) for lang in languages], rule, budget, confidence)
        suggested = row["decision"]["threshold"]
        for lang in languages:
            for name, thresholds in (("model", own), ("suggested", {k: suggested for k in own})):
                if name == "suggested" and suggested is None:
                    continue
                r = score_rule(test[lang], rule_from(labels, thresholds))
                row[f"test_{lang}_{name}"] = {"frr": round(r["frr"], 4), "false_accepts": r["false_accepts"],
                                              "hours": r["negative_hours"], "fa_per_hour": round(r["fa_per_hour"], 3)}
        out[site] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.sites", description=__doc__)
    parser.add_argument("--build", type=Path, default=MODELS_DIR / "build")
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--line", nargs="+", choices=sorted(LINES), default=list(LINES), metavar="LINE")
    parser.add_argument("--hours", type=float, nargs="*", default=[2.0], help="also decide on a site's first hours")
    parser.add_argument("--budget", type=float, default=0.5)
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    rule = build_detector(None, {}, args.model, REFRACTORY_S).rule
    result = {}
    for line in args.line:
        labels, val = record_split(args.build, "val", args.model, line=line)
        labels, test = record_split(args.build, "test", args.model, line=line)
        result[line] = simulate(val, test, rule, labels, args.budget, args.confidence, args.hours)
        del val, test
        for site, row in result[line].items():
            d = row["decision"]
            LOG.info("%s line, site %s: %.2f h, %d false alarms now: %s %s", line, site, d["hours"],
                     d["false_alarms_now"], d["verdict"], d["threshold"] or "")
            for key, r in row.items():
                if key.startswith("test_"):
                    LOG.info("  %s: FRR %.1f%%, FA %d in %.2f h = %.2f/h", key, 100 * r["frr"], r["false_accepts"],
                             r["hours"], r["fa_per_hour"])
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
