"""How foreign a synthesis engine is to a model: the share of the engine's keyword clips the model catches.

Each keyword is spoken alone by ``--clips`` random voices of ``--engine`` (drawn as split ``--split`` draws
them), on clean audio (no channel), and run through the model at its own thresholds. A new training
engine that the current model hardly catches brings speech it has not learned; one it already catches
well adds little.

For each voice group it also prints the median peak of the right keyword's smoothed score and how often
the right keyword still leads the other keywords at its peak: a miss with a low peak where the right
keyword leads is a model that recognizes the word but is not sure enough against "no keyword" (a voice it
has not learned), a miss where another keyword leads is a confusion.

``--by form`` groups the same counts by keyword and spoken form instead of by voice (which words a model
misses, whoever says them), and with either grouping the median time the right keyword's *raw* window score
stays at 0.5 or above: a word the model answers for only a few windows loses its peak to the smoothing
(14 windows, 280 ms), so a short response is a miss even where the raw score reached 1.

    PYTHONPATH=edge:models python -m kwstrain.foreign --engine pico --split train21 --clips 24
    PYTHONPATH=edge:models python -m kwstrain.foreign --split train --clips 24 --by form
"""

from __future__ import annotations

import argparse
import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kwstrain import synthdata, tts
from lineguard.kws.factory import build_detector
from lineguard.kws.keywords import load_keywords
from lineguard.kws.scoring import detect_track, smooth

MODELS_DIR = Path(__file__).resolve().parents[1]

LOG = logging.getLogger("kwstrain.foreign")


@dataclass
class Tally:
    """Per (language, group): clips spoken, clips caught, the right keyword's peak smoothed score in each
    clip, the clips where the right keyword led the other keywords at its peak, and how long (s) in each clip
    the right keyword's raw window score was at least ``RESPONSE_SCORE``."""
    total: Counter = field(default_factory=Counter)
    hit: Counter = field(default_factory=Counter)
    peaks: defaultdict = field(default_factory=lambda: defaultdict(list))
    leads: Counter = field(default_factory=Counter)
    responses: defaultdict = field(default_factory=lambda: defaultdict(list))


RESPONSE_SCORE = 0.5
GROUPINGS = ("voice", "form")


def caught(detector, keywords, engine: str, split: str, clips: int, home: Path, seed: int = 5,
           by: str = "voice") -> Tally:
    """The :class:`Tally` of ``clips`` clips per keyword, grouped ``by`` voice (the first two ``|`` fields of
    the voice's name; for Pico, the voice and how it reads: ``text`` or a phoneme language) or by spoken form
    (``"<keyword id>: <form>"``)."""
    if by not in GROUPINGS:
        raise ValueError(f"group by {by!r}: one of {', '.join(GROUPINGS)}")
    rng = random.Random(seed)
    tally = Tally()
    labels = list(detector.meta.labels)
    for kw in keywords:
        for _ in range(clips):
            voice = synthdata.split_voice(rng, kw.language, split, engine)
            form = rng.choice(kw.spoken)
            try:
                speech = tts.synthesize(form, voice, home)
            except Exception as exc:  # one voice failing on one word must not stop the count
                LOG.warning("%s could not say %s: %s", voice.key, kw.id, exc)
                continue
            audio = np.concatenate([np.zeros(4000, np.float32), speech * (0.3 / max(float(np.abs(speech).max()), 1e-6)),
                                    np.zeros(6000, np.float32)])
            group = (kw.language, "|".join(voice.name.split("|")[:2]) if by == "voice" else f"{kw.id}: {form}")
            detector.reset()
            times, scores = zip(*detector.process_scores(audio))
            raw = np.array(scores)
            smoothed = smooth(raw, detector.rule.smooth_windows)
            tally.total[group] += 1
            tally.hit[group] += any(d.keyword == kw.id for d in detect_track(smoothed, np.array(times), detector.rule))
            right = labels.index(kw.id)
            step_s = times[1] - times[0] if len(times) > 1 else 0.0
            tally.responses[group].append(float(np.sum(raw[:, right] >= RESPONSE_SCORE)) * step_s)
            peak = int(smoothed[:, right].argmax())
            tally.peaks[group].append(float(smoothed[peak, right]))
            tally.leads[group] += int(smoothed[peak, 1:].argmax()) + 1 == right  # column 0 is "no keyword"
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.foreign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--build", type=Path, default=MODELS_DIR / "build")
    parser.add_argument("--engine", default="",
                        help="kokoro, piper, accent, accent2, gnuspeech, pico, pico-text, morph, mbrola ('' = the classic ones)")
    parser.add_argument("--split", default="train", help="whose voices: a train split for the training-only engines")
    parser.add_argument("--clips", type=int, default=24, help="clips per keyword")
    parser.add_argument("--by", choices=GROUPINGS, default="voice",
                        help="group the counts by voice (default) or by keyword and spoken form")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    keywords = load_keywords(MODELS_DIR / "keywords.toml")
    home = tts.prepare_espeak_home(args.build)
    if args.engine == "mbrola":
        from kwstrain import mbrola_voice

        mbrola_voice.prepare(home)
        roles = mbrola_voice.SPLIT_VOICES[synthdata._base(args.split)]
        keywords = tuple(k for k in keywords if roles[k.language])  # a language it has no voice of here
    tally = caught(build_detector(None, {}, args.model, 1.0), keywords, args.engine, args.split, args.clips,
                   home, by=args.by)
    for group in sorted(tally.total):
        n = tally.total[group]
        print(f"{group[0]} {group[1]}: {tally.hit[group]} of {n} caught ({100 * tally.hit[group] / n:.0f}%), "
              f"peak score median {np.median(tally.peaks[group]):.2f}, right keyword leads in "
              f"{100 * tally.leads[group] / n:.0f}%, raw score >= {RESPONSE_SCORE} for a median "
              f"{1000 * np.median(tally.responses[group]):.0f} ms")
    for language in ("ko", "en"):
        h = sum(v for g, v in tally.hit.items() if g[0] == language)
        t = sum(v for g, v in tally.total.items() if g[0] == language)
        print(f"{language}: {h} of {t} caught ({100 * h / max(t, 1):.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
