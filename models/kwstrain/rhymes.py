"""Everyday words that rhyme with a keyword, and how often a model fires on them.

The keyword near misses of ``keywords.toml`` mostly share a keyword's *first*
syllables (시발점, 병실, 미치다); the test false accepts of v49 are mostly words that
share its *last* ones (던져버린다 for 죽여버린다, 후라이 for 또라이, *beach* for *bitch*).
``RHYMES`` lists such words per keyword to measure with; ``TRAIN_RHYMES`` other
ones, spoken as near misses by the training split ``train20`` (models/EXPERIMENTS.md, rounds 8 and 9). ``python -m kwstrain.rhymes`` speaks
each rhyme and each near miss in ``voices`` random *test* voices, alone with
pauses around it, through the noisy telephone line, and counts the clips the
model fires on at its shipped thresholds.
"""

from __future__ import annotations

import argparse
import logging
import random
from pathlib import Path

import numpy as np

from kwstrain import synthdata, tts
from kwstrain.channel import apply_channel, make_rirs
from kwstrain.evaluate import LINES
from lineguard.kws.factory import build_detector
from lineguard.kws.keywords import Keyword, load_keywords

LOG = logging.getLogger("kwstrain.rhymes")
MODELS_DIR = Path(__file__).resolve().parents[1]
RHYMES: dict[str, tuple[str, ...]] = {
    "ko_ssibal": ("이발", "기발", "출발", "폭발"),
    "ko_gaesaekki": ("세 끼", "매 끼", "한 끼", "두 끼"),
    "ko_byeongsin": ("정신", "혁신", "경신", "송신"),
    "ko_michinnom": ("지친 놈", "비친", "지친", "미친 듯"),
    "ko_jiral": ("하랄", "이랄까", "비랄", "기랄"),
    "ko_dakchyeo": ("받쳐", "바쳐", "덮쳐", "막혀"),
    "ko_kkeojyeo": ("터져", "펴져", "써져", "부서져"),
    "ko_jugyeo": ("던져버린다", "지워버린다", "줄여버린다", "구워버린다"),
    "ko_ttorai": ("후라이", "오라이", "모라이", "보라 이"),
    "ko_jotgatne": ("똑같네", "꼭 같네", "다 같네", "똑같네요"),
    "en_fuck": ("truck", "stuck", "tuck", "muck"),
    "en_shit": ("hit", "kit", "spit", "lit"),
    "en_bitch": ("ditch", "rich", "stitch", "switch"),
    "en_asshole": ("glass bowl", "mass hole", "pass whole", "brass pole"),
    "en_bastard": ("plastered", "mastered", "faster", "pastor"),
    "en_shutup": ("cut up", "what's up", "but up", "put up"),
    "en_killyou": ("thank you", "feel you", "tell you", "fill you"),
    "en_idiot": ("did it", "pilot", "idle", "eat it"),
}
# other rhymes, for training (split ``train20``): never the words ``RHYMES`` measures with, so that measurement
# stays on words the model was not trained against
TRAIN_RHYMES: dict[str, tuple[str, ...]] = {
    "ko_ssibal": ("가발", "단발", "장발", "개발", "재발", "유발"),
    "ko_gaesaekki": ("네 끼", "다섯 끼", "끼니", "새끼줄", "아침 한 끼"),
    "ko_byeongsin": ("당신", "자신", "귀신", "통신", "대신", "점신"),
    "ko_michinnom": ("비친다", "지친다", "건진 놈", "친한 놈", "그 친구 놈"),
    "ko_jiral": ("자랄", "지날", "지를", "바랄", "기다랄"),
    "ko_dakchyeo": ("부딪쳐", "외쳐", "가르쳐", "넘쳐", "고쳐", "합쳐"),
    "ko_kkeojyeo": ("떨어져", "멀어져", "찢어져", "흩어져", "엎어져", "넘어져"),
    "ko_jugyeo": ("숨겨 버린다", "끊어 버린다", "부어 버린다", "묶어 버린다", "누워 버린다"),
    "ko_ttorai": ("드라이", "나라 이", "소라 이", "크라이"),
    "ko_jotgatne": ("꽃 같네", "옷 같네", "못 갔네", "곧 가네", "돋았네"),
    "en_fuck": ("puck", "chuck", "pluck", "struck", "cluck"),
    "en_shit": ("fit", "quit", "knit", "split", "grit"),
    "en_bitch": ("twitch", "glitch", "hitch", "witch", "stitched"),
    "en_asshole": ("last hole", "fast goal", "class role", "gas bowl"),
    "en_bastard": ("custard", "blasted", "lasted", "master", "disaster"),
    "en_shutup": ("buttercup", "hiccup", "pick up", "shook up"),
    "en_killyou": ("still you", "spill you", "steal you", "till you", "chill you"),
    "en_idiot": ("hid it", "rid it", "lid it", "did he"),
}


def firing_rate(detector, words: list[str], language: str, home: Path, rirs: list[np.ndarray], voices: int,
                seed: int) -> tuple[int, int, dict]:
    """(clips fired on, clips, fired clips per word) for ``words`` in ``voices`` test voices each (the
    same voices for any list of equal length), through the noisy line (``evaluate.LINES``)."""
    channel, floor_dbfs = LINES["noisy"]
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    fired, total, per_word = 0, 0, {}
    for word in words:
        for _ in range(voices):
            voice = synthdata.split_voice(rng, language, "test")
            try:
                speech = tts.synthesize(word, voice, home)
            except Exception as exc:  # one engine failing on one word must not stop the count
                LOG.warning("%s could not say %r: %s", voice.key, word, exc)
                continue
            audio = np.concatenate([np.zeros(4000, np.float32), speech, np.zeros(6000, np.float32)])
            audio = apply_channel(audio, nrng, rirs, [], channel)
            audio = audio + (nrng.standard_normal(audio.size) * 10 ** (floor_dbfs / 20)).astype(np.float32)
            detector.reset()
            total += 1
            if detector.process(audio):
                fired += 1
                per_word[word] = per_word.get(word, 0) + 1
    return fired, total, per_word


def word_lists(keywords: tuple[Keyword, ...], language: str) -> dict[str, list[str]]:
    return {"rhymes": [w for k in keywords if k.language == language for w in RHYMES.get(k.id, ())],
            "near misses": [w for k in keywords if k.language == language for w in k.near_misses]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kwstrain.rhymes", description=__doc__)
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "lineguard_kws.tflite")
    parser.add_argument("--build", type=Path, default=MODELS_DIR / "build")
    parser.add_argument("--voices", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    keywords = load_keywords(MODELS_DIR / "keywords.toml")
    detector = build_detector(None, {}, args.model, 1.0)
    home = tts.prepare_espeak_home(args.build)
    rirs = make_rirs(10, seed=args.seed + 91)
    for language in ("ko", "en"):
        for kind, words in word_lists(keywords, language).items():
            fired, total, per_word = firing_rate(detector, words, language, home, rirs, args.voices, args.seed)
            print(f"{language} {kind}: fires on {fired} of {total} clips ({100 * fired / max(total, 1):.1f}%) "
                  f"{per_word}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
