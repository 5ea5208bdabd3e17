"""Synthesize the raw clip sets (train / val / test) from the keyword file.

Speakers are split: every split draws its own random espeak-ng variants
(different seeds) and its own stock espeak variants; flite ``rms`` and
festival ``ked_diphone`` are test-only (festival ``ked_diphone`` also
validates). val has no flite voice: its flite share is read by espeak-ng
variants of its own. (It once had ``awb_time``, flite's talking clock: a
limited-domain voice that says almost nothing for any other text, so a quarter
of val's English keyword clips held no keyword; :func:`run_job` now drops a
clip with too little audio for its text.) The only female
natural-sounding voice (``slt``, flite and festival HTS) is kept for
training: without it the model missed almost every female voice. Texts are split by hash (``corpus.split_of``).

The neural splits (``train3``, ``val3``, ``test3``: Kokoro-82M, :mod:`kwstrain.neural`)
split its five bundled voices: training speakers are random mixtures of four
of them, ``jf_nezumi`` is heard only in val (mixed half-and-half or more with a
training voice) and in test (alone). A split named ``<base><digit>`` adds clips
to ``<base>``: :func:`load_split` merges them (evaluation); training names the
sets it learns from (:func:`load_splits`). ``train7`` is Piper's one English
voice (:mod:`kwstrain.piper_voice`) reading both languages, for training only;
``train11`` festival's diphone voices: eight Czech, Finnish and Italian speakers
reading both languages with an accent (:mod:`kwstrain.accent`) and, for English,
the native ``kal_diphone`` — also for training only; ``train12`` GnuSpeech, an
articulatory synthesizer with a new random vocal tract per utterance, reading both
languages (:mod:`kwstrain.gnuspeech_voice`), for training only; ``train21`` SVOX
Pico's six voices (:mod:`kwstrain.pico_voice`), for training only, and ``train22``
the same with English read as text by its two English voices only. A split named
``<base>_<name>`` (``test_wide``) draws the voices and texts of ``<base>`` but is
not merged into it: the evaluation reports it on its own.

A clip is one utterance; positives record where the keyword starts and ends
(segments are synthesized separately with the same voice and joined), so
training windows and evaluation hits are aligned exactly.
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from kwstrain import accent, corpus, tts
from lineguard.kws.keywords import Keyword

LOG = logging.getLogger(__name__)
NEGATIVE = "_none"
SPLIT_SEEDS = {"train": 1000, "val": 2000, "test": 3000, "train2": 1500,  # train2: more train-voice positives
               "train3": 1700, "val3": 2700, "test3": 3700,  # *3: the neural engine
               "train4": 1800, "train5": 1900, "train6": 1600,
               "train7": 1650, "train8": 1750, "train9": 1850, "train10": 1950, "val2": 2500,  # train4-6, 8: more neural speakers; train7: piper; train9-10: extrapolated Kokoro speakers; val2: more val conversation
               "val4": 2800, "test4": 3800,  # val4, test4: more conversation, for thresholds and false accepts/hour
               "train11": 1150,  # train11: accented diphone speakers (Czech, Finnish, Italian) and kal_diphone
               "train12": 1250,  # train12: GnuSpeech (articulatory synthesis)
               "train13": 1350,  # train13: more conversation texts (negatives only, classic engines)
               "train14": 1450, "train15": 1550,  # the more-pool texts train13 leaves: classic engines, Piper
               "train16": 1460, "train17": 1560,  # the wide pool (other kinds of text): classic engines, Piper
               "train18": 1660, "train19": 1670,  # more of the wide pool, classic engines
               "train20": 1680,  # rhymes of the keywords as near misses
               "train21": 1690,  # SVOX Pico's six voices
               "train22": 1720,  # SVOX Pico, English as text only
               "train23": 1730,  # festival's Russian and Hindi men, accented
               "train24": 1740,  # new speakers morphed from the recorded training voices (kwstrain.morph)
               "train25": 1760, "val_mbrola": 2950, "test_mbrola": 3960,  # MBROLA's recorded diphone voices (kwstrain.mbrola_voice)
               "train26": 1770,  # MBROLA again: fewer keyword clips, every training sentence
               "val5": 2900, "test5": 3950,  # the more pool's val / test texts in three voices of their split each
               "test_wide": 3900}  # the wide pool's test texts in test voices: false accepts on other kinds of text
# flite has no voice to spare for val (awb_time is a talking clock: it speaks only times of day)
SPLIT_FLITE = {"train": ("kal", "awb", "slt", "kal16"), "val": (), "test": ("rms",)}
SPLIT_FESTIVAL = {"train": ("kal_diphone", "cmu_us_slt_arctic_hts"), "val": ("ked_diphone",), "test": ("ked_diphone",)}
KOKORO_TRAIN = ("jf_alpha", "jf_gongitsune", "jf_tebukuro", "jm_kumo")
KOKORO_HELD_OUT = "jf_nezumi"


@dataclass(frozen=True)
class ClipJob:
    label: str  # keyword id or NEGATIVE
    language: str
    parts: tuple[str, ...]  # text segments, synthesized one by one
    keyword_part: int  # index of the keyword segment, -1 for none
    voice: tts.Voice
    seed: int


@dataclass(frozen=True)
class SplitPlan:
    positives_per_keyword: int
    negative_sentences_per_language: int  # 0 = all sentences of the split
    voices_per_sentence: int = 1
    near_miss_voices: int = 4
    carrier_prob: float = 0.5
    # "kokoro", "piper", "accent", "accent2", "gnuspeech" or "pico": every voice from that engine ("" = the classic
    # engines); "pico-text": Pico with English read as text by its two English voices only (no accented English).
    # "accent" is festival's foreign diphone voices (and, for English, a quarter kal_diphone), "accent2" its Russian
    # and Hindi men (kwstrain.accent.GROUPS), "gnuspeech" the articulatory synthesizer: not neural, but train-only
    # too; "morph": new speakers made from the recorded training voices (kwstrain.morph), train-only as well;
    # "mbrola": MBROLA's diphone voices recorded from people (kwstrain.mbrola_voice), English en1 for val, us3
    # for test, the others and Korean hn1 for training
    neural: str = ""
    # Kokoro training speakers beyond the mixtures: the mixed style is pushed away from one training
    # voice by up to this factor (0 = convex mixtures only)
    style_spread: float = 0.0
    # the pool of conversation texts (corpus.POOLS): "base" (every split's), "more" (texts the base pool leaves
    # out) or "wide" (WordNet usage examples, Korean LibreOffice help); "more" and "wide" train, the more pool's
    # val and test shares join val and test (val5, test5), and the wide pool's test share is the out-of-domain
    # false-accept check (split test_wide, reported on its own)
    texts: str = "base"
    # leave out the conversation texts these other splits read (their plans in the same preset)
    skip_texts_of: tuple[str, ...] = ()
    # "keywords": the near misses of keywords.toml; "rhymes": everyday words that rhyme with each keyword
    # (kwstrain.rhymes.TRAIN_RHYMES), without conversation
    near_misses: str = "keywords"
    # only these languages' keywords and sentences (empty: every language of the keyword file); a split whose
    # engine has no held-out voice in a language leaves that language out
    languages: tuple[str, ...] = ()


def _base(split: str) -> str:
    """The role of ``split`` (train, val or test), whose voices and texts it draws: ``train16`` -> ``train``,
    ``test_wide`` -> ``test``."""
    return re.match(r"[a-z]*", split).group()


def kokoro_voice(rng: random.Random, language: str, split: str, style_spread: float = 0.0) -> tts.Voice:
    """A Kokoro speaker of ``split``: train mixes 1–3 training voices; val mixes the
    held-out voice (weight ≥ 0.5) with one training voice; test is the held-out voice.

    With ``style_spread`` > 0 a training speaker leaves the hull of the four voices: the
    mixture m is extrapolated away from a training voice v outside it to m + t·(m − v),
    t from 0.2 up to ``style_spread`` (weights still sum to 1, v's is negative)."""
    split = _base(split)
    if split == "train":
        chosen = rng.sample(KOKORO_TRAIN, rng.randint(1, 3))
        weights = {v: rng.uniform(0.2, 1.0) for v in chosen}
        if style_spread > 0:
            total = sum(weights.values())
            t = rng.uniform(0.2, style_spread)
            weights = {v: (1 + t) * w / total for v, w in weights.items()}
            weights[rng.choice([v for v in KOKORO_TRAIN if v not in chosen])] = -t
    elif split == "val":
        weights = {KOKORO_HELD_OUT: rng.uniform(0.5, 1.0), rng.choice(KOKORO_TRAIN): 0.5}
    else:
        weights = {KOKORO_HELD_OUT: 1.0}
    espeak_language = "ko" if language == "ko" else rng.choice(("en-us", "en-gb"))
    from kwstrain.neural import mix_name

    return tts.Voice("kokoro", mix_name(espeak_language, weights), language, speed_wpm=rng.randint(80, 125),
                     rate_factor=rng.uniform(0.88, 1.15))


def _stock_for(split: str) -> list[str]:
    split = _base(split)
    stock = tts.stock_variants()
    index = {"train": (0, 1, 2), "val": (3,), "test": (4,)}[split]
    return [v for i, v in enumerate(stock) if i % 5 in index]


def piper_voice(rng: random.Random, language: str, split: str) -> tts.Voice:
    """A setting of Piper's one voice (joe): training splits only, it has no unheard twin."""
    if _base(split) != "train":
        raise ValueError(f"split {split}: the piper engine has one voice and trains only")
    from kwstrain.piper_voice import random_name

    name, length_percent = random_name(rng, language)
    return tts.Voice("piper", name, language, speed_wpm=length_percent, rate_factor=rng.uniform(0.88, 1.15))


def accent_voice(rng: random.Random, language: str, split: str, group: str = "accent") -> tts.Voice:
    """An accented speaker of ``group`` (:data:`kwstrain.accent.GROUPS`; in the first group, a quarter of
    English is festival's native ``kal_diphone``): training splits only, these voices have no unheard twins."""
    if _base(split) != "train":
        raise ValueError(f"split {split}: the {group} engine's voices train only")
    rate_factor = rng.uniform(0.88, 1.15)
    if (group == "accent" and language == "en" and rng.random() < 0.25
            and "kal_diphone" in tts.festival_voices_installed()):
        return tts.Voice("festival", "kal_diphone", language, rate_factor=rate_factor)
    name, stretch = accent.random_name(rng, language, group)
    return tts.Voice("accent", name, language, speed_wpm=stretch, rate_factor=rate_factor)


def gnuspeech_voice(rng: random.Random, language: str, split: str) -> tts.Voice:
    """A random GnuSpeech vocal tract: training splits only (no held-out twin)."""
    if _base(split) != "train":
        raise ValueError(f"split {split}: the gnuspeech engine trains only")
    from kwstrain.gnuspeech_voice import random_name

    name, tempo = random_name(rng, language)
    return tts.Voice("gnuspeech", name, language, speed_wpm=tempo, rate_factor=rng.uniform(0.88, 1.15))


def pico_voice(rng: random.Random, language: str, split: str, accented_english: bool = True) -> tts.Voice:
    """A SVOX Pico speaker: training splits only (no held-out twin). Without ``accented_english`` only the
    two English voices speak English, reading the text."""
    if _base(split) != "train":
        raise ValueError(f"split {split}: the pico engine trains only")
    from kwstrain.pico_voice import random_name

    name, speed = random_name(rng, language, accented_english)
    return tts.Voice("pico", name, language, speed_wpm=speed, rate_factor=rng.uniform(0.82, 1.15))


def morph_voice(rng: random.Random, language: str, split: str) -> tts.Voice:
    """A new speaker (:mod:`kwstrain.morph`) made from a recorded training voice: English from flite's and
    festival's training voices and Piper's joe, Korean from Piper (accented) and espeak-ng's Korean voice.
    Training splits only."""
    from kwstrain import morph

    if _base(split) != "train":
        raise ValueError(f"split {split}: the morph engine makes speakers from training voices and trains only")
    if language == "en":
        installed = set(tts.festival_voices_installed())
        bases = ([f"flite:{v}" for v in SPLIT_FLITE["train"]] + ["piper", "piper"]
                 + [f"festival:{v}" for v in SPLIT_FESTIVAL["train"] if v in installed])
    else:
        bases = ["piper", "espeak"]
    base = rng.choice(bases)
    if base == "piper":
        voice = piper_voice(rng, language, split)
    elif base == "espeak":
        voice = tts.random_voice(rng, language, ("espeak",), _stock_for("train"))
    else:
        engine, name = base.split(":")
        voice = tts.Voice(engine, name, language, rate_factor=rng.uniform(0.94, 1.06))
    return replace(voice, morph=morph.random_morph(rng, morph.BASE_SEX.get(base, "")))


def mbrola_voice(rng: random.Random, language: str, split: str) -> tts.Voice:
    """An MBROLA speaker of ``split``'s role (:data:`kwstrain.mbrola_voice.SPLIT_VOICES`: English ``en1`` is
    val's, ``us3`` test's, the rest and Korean ``hn1`` train)."""
    from kwstrain import mbrola_voice as mb

    name, speed, pitch = mb.random_name(rng, language, _base(split))
    return tts.Voice("mbrola", name, language, speed, pitch, rate_factor=rng.uniform(0.9, 1.1))


def split_voice(rng: random.Random, language: str, split: str, neural: str = "", style_spread: float = 0.0) -> tts.Voice:
    if neural == "mbrola":
        return mbrola_voice(rng, language, split)
    if neural == "morph":
        return morph_voice(rng, language, split)
    if neural in ("pico", "pico-text"):
        return pico_voice(rng, language, split, accented_english=neural == "pico")
    if neural == "gnuspeech":
        return gnuspeech_voice(rng, language, split)
    if neural in accent.GROUPS:
        return accent_voice(rng, language, split, neural)
    if neural == "kokoro":
        return kokoro_voice(rng, language, split, style_spread)
    if neural == "piper":
        return piper_voice(rng, language, split)
    if neural:
        raise ValueError(f"unknown engine {neural!r} (kokoro, piper, accent, accent2, gnuspeech, pico, pico-text, morph "
                         "or mbrola)")
    engines = tts.available_engines(language)
    weights = {"espeak": 6, "flite": 3, "festival": 1 if _base(split) == "train" else 3}
    split = _base(split)
    engine = rng.choices(engines, [weights[e] for e in engines])[0]
    voice = tts.random_voice(rng, language, (engine,), _stock_for(split))
    if engine == "flite":
        if not SPLIT_FLITE[split]:  # a split without a flite voice of its own reads that share with espeak-ng
            return tts.random_voice(rng, language, ("espeak",), _stock_for(split))
        voice = replace(voice, name=rng.choice(SPLIT_FLITE[split]))
    elif engine == "festival":
        installed = set(tts.festival_voices_installed())
        options = [v for v in SPLIT_FESTIVAL[split] if v in installed]
        if not options:  # never borrow another split's voice: fall back to espeak-ng
            LOG.warning("no festival voice of %s installed (%s): using espeak-ng", split, SPLIT_FESTIVAL[split])
            return tts.random_voice(rng, language, ("espeak",), _stock_for(split))
        voice = replace(voice, name=rng.choice(options))
    return voice


def missing_voices(split: str, engine: str = "") -> list[str]:
    """The flite and festival voices ``split`` names (``engine`` "accent", "accent2": festival's accented voices)
    that are not installed, the engine itself being there: a split synthesized without them silently
    leans on the others (the ``train`` split once lost ``kal_diphone`` that way), so
    :func:`kwstrain.pipeline.run_data` refuses to start. The neural engines have one check of their own."""
    if engine in accent.GROUPS:
        return [f"festival {v}" for v in accent.GROUPS[engine] if v not in accent.installed(engine)]
    if engine:
        return []
    base = _base(split)
    missing = []
    if shutil.which("text2wave"):
        installed = set(tts.festival_voices_installed())
        missing += [f"festival {v}" for v in SPLIT_FESTIVAL.get(base, ()) if v not in installed]
    if shutil.which("flite"):
        listed = subprocess.run(["flite", "-lv"], capture_output=True, text=True, timeout=30).stdout.split()
        missing += [f"flite {v}" for v in SPLIT_FLITE.get(base, ()) if v not in listed]
    return missing


def _keyword_parts(rng: random.Random, kw: Keyword, spoken: str, carrier_prob: float) -> tuple[tuple[str, ...], int]:
    if kw.carriers and rng.random() < carrier_prob:
        before, after = rng.choice(kw.carriers).split("{kw}")
        parts = tuple(p for p in (before.strip(), spoken, after.strip()) if p)
        return parts, parts.index(spoken)
    return (spoken,), 0


def plan_jobs(keywords: tuple[Keyword, ...], split: str, plan: SplitPlan,
              skip: frozenset[str] = frozenset()) -> list[ClipJob]:
    """The clips of ``split``; its conversation leaves out the texts in ``skip``."""
    rng = random.Random(SPLIT_SEEDS[split])
    jobs: list[ClipJob] = []

    def voice(language: str) -> tts.Voice:
        return split_voice(rng, language, split, plan.neural, plan.style_spread)

    if plan.near_misses == "rhymes":
        from kwstrain.rhymes import TRAIN_RHYMES  # here: kwstrain.rhymes itself uses this module
    if plan.languages:
        keywords = tuple(k for k in keywords if k.language in plan.languages)
    for kw in keywords:
        for _ in range(plan.positives_per_keyword):
            parts, index = _keyword_parts(rng, kw, rng.choice(kw.spoken), plan.carrier_prob)
            jobs.append(ClipJob(kw.id, kw.language, parts, index, voice(kw.language), rng.randrange(1 << 30)))
        for word in TRAIN_RHYMES.get(kw.id, ()) if plan.near_misses == "rhymes" else kw.near_misses:
            for _ in range(plan.near_miss_voices):
                parts, _ = _keyword_parts(rng, kw, word, plan.carrier_prob)
                jobs.append(ClipJob(NEGATIVE, kw.language, parts, -1, voice(kw.language), rng.randrange(1 << 30)))
    for language in sorted({k.language for k in keywords}):
        if split == "train2" or plan.near_misses == "rhymes":  # train2 adds positives only, train20 rhymes only
            break
        texts = [t for t in corpus.sentences(language, _base(split), plan.texts) if t not in skip]
        rng.shuffle(texts)
        if plan.negative_sentences_per_language:
            texts = texts[: plan.negative_sentences_per_language]
        for text in texts:
            for _ in range(plan.voices_per_sentence):
                jobs.append(ClipJob(NEGATIVE, language, (text,), -1, voice(language), rng.randrange(1 << 30)))
    return jobs


_HOME: Path | None = None


def _init_worker(home: Path) -> None:
    global _HOME
    _HOME = home


# Every engine in use speaks at least ~30 ms per letter or Hangul syllable even at its fastest (measured
# over all clip sets: espeak-ng 37, Piper 30, flite 41, festival 45, Kokoro 44 ms per English letter;
# >= 95 per Korean syllable); an engine that cannot say a text returns far less (flite's talking clock
# awb_time: a median 10 ms per letter).
MIN_MS_PER_CHARACTER = 15


def too_short(text: str) -> int:
    """Fewer samples than this for ``text`` means the engine did not say it."""
    return max(1, len(re.findall(r"\w", text)) * MIN_MS_PER_CHARACTER * tts.RATE_HZ // 1000)


def run_job(job: ClipJob) -> tuple[np.ndarray, int, int] | None:
    """Synthesize one clip: (audio, keyword_start, keyword_end) in samples; -1 if none."""
    rng = np.random.default_rng(job.seed)
    pieces, start, end = [], -1, -1
    cursor = 0
    try:
        for i, text in enumerate(job.parts):
            audio = tts.synthesize(text, job.voice, _HOME)
            if audio.size < too_short(text):
                LOG.warning("%s said almost nothing for %r (%d ms): clip dropped", job.voice.key, text,
                            1000 * audio.size // tts.RATE_HZ)
                return None
            if i:
                gap = np.zeros(int(rng.integers(80, 1200)), np.float32)
                pieces.append(gap)
                cursor += gap.size
            if i == job.keyword_part:
                start, end = cursor, cursor + audio.size
            pieces.append(audio)
            cursor += audio.size
    except Exception as exc:  # a TTS engine failing on one text must not stop the run
        LOG.warning("synthesis failed for %r with %s: %s", job.parts, job.voice.key, exc)
        return None
    return np.concatenate(pieces), start, end


def save_npz(path: Path, **arrays) -> None:
    """``np.savez`` to a side file renamed to ``path`` when whole: a run stopped while writing leaves no cut-short
    file that make, or a cache check, would take for a finished one."""
    part = path.with_name(path.name + ".part")
    with part.open("wb") as f:
        np.savez(f, **arrays)
    part.replace(path)


def synthesize_split(jobs: list[ClipJob], home: Path, out_path: Path, workers: int = 2) -> int:
    """Run the jobs in a process pool and store the clips in one ``.npz``.

    Spawned workers, not forked: a fork taken after TensorFlow has started its thread
    pools in this process can hang in the child."""
    if any(j.voice.engine == "kokoro" for j in jobs):
        from kwstrain import neural

        neural.prepare()  # assembled once here, not by two workers at once
    if any(j.voice.engine == "mbrola" for j in jobs):
        from kwstrain import mbrola_voice

        mbrola_voice.prepare(home)  # fetched and linked once here, before the workers
    with get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(home,)) as pool:
        results = pool.map(run_job, jobs, chunksize=16)
    kept = [(j, r) for j, r in zip(jobs, results) if r is not None]
    audio = [r[0] for _, r in kept]
    offsets = np.cumsum([0] + [a.size for a in audio])
    save_npz(
        out_path,
        audio=np.concatenate(audio).astype(np.float16) if audio else np.zeros(0, np.float16),
        offsets=offsets,
        labels=np.array([j.label for j, _ in kept]),
        languages=np.array([j.language for j, _ in kept]),
        voices=np.array([j.voice.key for j, _ in kept]),
        texts=np.array([" | ".join(j.parts) for j, _ in kept]),
        kw_start=np.array([r[1] for _, r in kept]),
        kw_end=np.array([r[2] for _, r in kept]),
    )
    LOG.info("%s: %d clips (%d failed), %.1f min of audio", out_path.name, len(kept),
             len(jobs) - len(kept), offsets[-1] / tts.RATE_HZ / 60)
    return len(kept)


# the ClipSet fields with one entry per clip (audio and offsets are the packed samples)
PER_CLIP_FIELDS = ("labels", "languages", "voices", "texts", "kw_start", "kw_end")


@dataclass(frozen=True)
class ClipSet:
    audio: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    languages: np.ndarray
    voices: np.ndarray
    texts: np.ndarray
    kw_start: np.ndarray
    kw_end: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def clip(self, i: int) -> np.ndarray:
        return self.audio[self.offsets[i] : self.offsets[i + 1]].astype(np.float32)

    def take(self, keep: np.ndarray) -> "ClipSet":
        """Only the clips ``keep`` (indices, in that order; audio re-packed)."""
        audio = [self.audio[self.offsets[i] : self.offsets[i + 1]] for i in keep]
        offsets = np.cumsum([0] + [a.size for a in audio])
        return ClipSet(np.concatenate(audio) if audio else self.audio[:0], offsets,
                       *(getattr(self, f)[keep] for f in PER_CLIP_FIELDS))


def load_clips(path: Path) -> ClipSet:
    with np.load(path) as data:
        return ClipSet(**{k: data[k] for k in ClipSet.__dataclass_fields__})


def split_files(build: Path, split: str) -> list[Path]:
    """``clips_<split>.npz`` and the extra sets of the same split (``clips_<split><digit>.npz``)."""
    return [build / f"clips_{split}.npz", *sorted(build.glob(f"clips_{split}[0-9]*.npz"))]


def load_split(build: Path, split: str) -> ClipSet:
    return merge_clips([load_clips(p) for p in split_files(build, split)])


MAX_SPLIT_REPEAT = 20


def split_weight(name: str) -> tuple[str, int]:
    """``train20*4`` -> ``("train20", 4)``: a training split read 4 times, so its clips weigh 4 times as
    much (each copy cut into windows with its own augmentation); a plain name -> ``(name, 1)``."""
    base, star, count = name.partition("*")
    if not star:
        return name, 1
    if not count.isdigit() or not 1 <= int(count) <= MAX_SPLIT_REPEAT:
        raise ValueError(f"{name!r}: the repeat count after '*' must be a whole number within 1..{MAX_SPLIT_REPEAT}")
    return base, int(count)


def split_language(name: str) -> tuple[str, str | None]:
    """``train2@en`` -> ``("train2", "en")``: only the split's clips of one language; a plain name ->
    ``(name, None)``. Written before any ``*N`` (``train2@ko*2``)."""
    base, at, language = name.partition("@")
    if not at:
        return name, None
    if not re.fullmatch(r"[a-z]{2,3}", language):
        raise ValueError(f"{name!r}: after '@' a language code (en, ko, ...) is expected")
    return base, language


def split_base(name: str) -> str:
    """The clip set's own name under its ``@LANG`` and ``*N`` (``train2@en*2`` -> ``train2``)."""
    return split_language(split_weight(name)[0])[0]


def load_splits(build: Path, splits: tuple[str, ...] | list[str]) -> ClipSet:
    """Exactly the named clip sets (``clips_<name>.npz``; ``<name>@<lang>``: its clips of that language
    only; ``<name>*N``: N times), merged; a missing set, or a language a set has no clips of, is an error."""
    weighted = [(*split_language(named), count) for named, count in map(split_weight, splits)]
    missing = [name for name, _, _ in weighted if not (build / f"clips_{name}.npz").is_file()]
    if missing:
        raise FileNotFoundError(f"{build}: no clip set for split(s) {', '.join(missing)}: "
                                f"run `python -m kwstrain.pipeline data --splits {' '.join(missing)}`")
    loaded: dict[str, ClipSet] = {}
    sets: list[ClipSet] = []
    for name, language, count in weighted:
        if name not in loaded:  # each file read once, however many times it is named
            loaded[name] = load_clips(build / f"clips_{name}.npz")
        clips = loaded[name]
        if language is not None:
            keep = np.flatnonzero(clips.languages == language)
            if keep.size == 0:
                raise ValueError(f"{build / f'clips_{name}.npz'}: no {language} clips (split {name}@{language}); "
                                 f"it holds {', '.join(sorted(set(clips.languages.tolist()))) or 'none'}")
            clips = clips.take(keep)
        sets += [clips] * count  # loaded once, merged count times
    return merge_clips(sets)


def merge_clips(sets: list[ClipSet]) -> ClipSet:
    """One ClipSet holding all clips of ``sets`` (audio re-packed)."""
    offsets = [np.asarray([0])]
    base = 0
    for s in sets:
        offsets.append(s.offsets[1:] + base)
        base += int(s.offsets[-1])
    return ClipSet(np.concatenate([s.audio[: s.offsets[-1]] for s in sets]), np.concatenate(offsets),
                   *(np.concatenate([getattr(s, f) for s in sets]) for f in PER_CLIP_FIELDS))
