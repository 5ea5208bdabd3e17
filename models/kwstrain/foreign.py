"""How foreign a synthesis engine is to a model: the share of the engine's keyword clips the model catches.

Each keyword is spoken alone by ``--clips`` random voices of ``--engine`` (drawn as split ``--split`` draws
them), on clean audio (no channel), and run through the model at its own thresholds. A new training
engine that the current model hardly catches brings speech it has not learned; one it already catches
well adds little.

    PYTHONPATH=edge:models python -m kwstrain.foreign --engine pico --split train21 --clips 24
"""

from __future__ import annotations

import argparse
import logging
import random
from collections import Counter
from pathlib import Path

import numpy as np

from kwstrain import synthdata, tts
from lineguard.kws.factory import build_detector
from lineguard.kws.keywords import load_keywords

MODELS_DIR = Path(__file__).resolve().parents[1]

LOG = logging.getLogger("kwstrain.foreign")


def caught(detector, keywords, engine: str, split: str, clips: int, home: Path, seed: int = 5) -> tuple[Counter, Counter]:
    """(caught, spoken) per (language, voice group): the voice group is the first two ``|`` fields of the
    voice's name (for Pico, the voice and how it reads: ``text`` or a phoneme language)."""
    rng = random.Random(seed)
    hit, total = Counter(), Counter()
    for kw in keywords:
        for _ in range(clips):
            voice = synthdata.split_voice(rng, kw.language, split, engine)
            try:
                speech = tts.synthesize(rng.choice(kw.spoken), voice, home)
            except Exception as exc:  # one voice failing on one word must not stop the count
                LOG.warning("%s could not say %s: %s", voice.key, kw.id, exc)
                continue
            audio = np.concatenate([np.zeros(4000, np.float32), speech * (0.3 / max(float(np.abs(speech).max()), 1e-6)),
                                    np.zeros(6000, np.float32)])
            detector.reset()
            group = (kw.language, "|".join(voice.name.split("|")[:2]))
            total[group] += 1
            hit[group] += any(d.keyword == kw.id for d in detector.process(audio))
    return hit, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.foreign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--build", type=Path, default=MODELS_DIR / "build")
    parser.add_argument("--engine", default="", help="kokoro, piper, accent, gnuspeech, pico, pico-text ('' = the classic ones)")
    parser.add_argument("--split", default="train", help="whose voices: a train split for the training-only engines")
    parser.add_argument("--clips", type=int, default=24, help="clips per keyword")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    keywords = load_keywords(MODELS_DIR / "keywords.toml")
    hit, total = caught(build_detector(None, {}, args.model, 1.0), keywords, args.engine, args.split, args.clips,
                        tts.prepare_espeak_home(args.build))
    for group in sorted(total):
        print(f"{group[0]} {group[1]}: {hit[group]} of {total[group]} caught ({100 * hit[group] / total[group]:.0f}%)")
    for language in ("ko", "en"):
        h = sum(v for g, v in hit.items() if g[0] == language)
        t = sum(v for g, v in total.items() if g[0] == language)
        print(f"{language}: {h} of {t} caught ({100 * h / max(t, 1):.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
