"""The rhyme list: every keyword has rhymes, none of them a keyword's own spelling or a near miss already trained."""

from pathlib import Path

from kwstrain.rhymes import RHYMES, word_lists
from lineguard.kws.keywords import load_keywords

KEYWORDS = load_keywords(Path(__file__).resolve().parents[2] / "models" / "keywords.toml")


def test_every_keyword_has_new_rhymes():
    assert set(RHYMES) == {k.id for k in KEYWORDS}
    for k in KEYWORDS:
        rhymes = RHYMES[k.id]
        assert len(rhymes) >= 3 and len(set(rhymes)) == len(rhymes), k.id
        taken = {w.replace(" ", "") for w in k.spellings + k.spoken + k.near_misses}
        assert not taken & {w.replace(" ", "") for w in rhymes}, k.id


def test_word_lists_per_language():
    lists = word_lists(KEYWORDS, "ko")
    assert "이발" in lists["rhymes"] and "시발점" in lists["near misses"]
    assert not any(w.isascii() for w in lists["rhymes"] + lists["near misses"])


def test_training_rhymes_are_other_words_than_the_measured_ones():
    from kwstrain.rhymes import TRAIN_RHYMES

    assert set(TRAIN_RHYMES) == {k.id for k in KEYWORDS}
    measured = {w for words in RHYMES.values() for w in words}
    for k in KEYWORDS:
        words = TRAIN_RHYMES[k.id]
        assert len(words) >= 4 and len(set(words)) == len(words), k.id
        assert not set(words) & measured, k.id
        taken = {w.replace(" ", "") for w in k.spellings + k.spoken + k.near_misses}
        assert not taken & {w.replace(" ", "") for w in words}, k.id


def test_train20_speaks_the_training_rhymes_in_training_voices_and_nothing_else():
    from kwstrain import pipeline, synthdata
    from kwstrain.rhymes import TRAIN_RHYMES

    plan = pipeline.PRESETS["full"].splits["train20"]
    jobs = synthdata.plan_jobs(KEYWORDS, "train20", plan)
    assert jobs and all(j.label == synthdata.NEGATIVE and j.keyword_part == -1 for j in jobs)
    assert len(jobs) == plan.near_miss_voices * sum(len(TRAIN_RHYMES[k.id]) for k in KEYWORDS)
    spoken = {part for j in jobs for part in j.parts}
    assert {w for words in TRAIN_RHYMES.values() for w in words} <= spoken  # every rhyme, alone or in a carrier
    assert not spoken & {w for words in RHYMES.values() for w in words}
    held_out = {"rms", "ked_diphone"}
    assert not any(j.voice.name in held_out for j in jobs)  # training voices only
