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
