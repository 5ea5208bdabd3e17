"""The keyword data file shared by training and the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineguard.errors import ConfigError
from lineguard.kws.keywords import Severity, default_keywords_path, load_keywords, select_keywords

ISSUE_IDS = {
    "ko_ssibal", "ko_gaesaekki", "ko_byeongsin", "ko_michinnom", "ko_jiral", "ko_dakchyeo", "ko_kkeojyeo",
    "ko_jugyeo", "ko_ttorai", "ko_jotgatne", "en_fuck", "en_shit", "en_bitch", "en_asshole", "en_bastard",
    "en_shutup", "en_killyou", "en_idiot",
}


def test_shipped_file_has_the_default_set():
    keywords = load_keywords()
    assert default_keywords_path().name == "keywords.toml"
    assert {k.id for k in keywords} == ISSUE_IDS
    threats = {k.id for k in keywords if k.severity is Severity.THREAT}
    assert threats == {"ko_jugyeo", "en_killyou"}
    assert all(k.spellings and k.spoken for k in keywords)


def test_select_by_language_and_id():
    keywords = load_keywords()
    assert {k.language for k in select_keywords(keywords, ["ko"])} == {"ko"}
    assert len(select_keywords(keywords, ["ko"])) == 10
    assert [k.id for k in select_keywords(keywords, ["en_idiot", "en_shit"])] == ["en_shit", "en_idiot"]
    assert select_keywords(keywords, None) == keywords


def test_unknown_names_are_all_listed():
    with pytest.raises(ConfigError) as err:
        select_keywords(load_keywords(), ["en_idiot", "xx_nope", "fr"])
    assert "xx_nope" in str(err.value) and "'fr'" in str(err.value)


def test_bad_file_lists_every_problem(tmp_path: Path):
    path = tmp_path / "kw.toml"
    path.write_text(
        '[[keyword]]\nid = "a"\nlanguage = "fr"\nseverity = "abuse"\nspellings = ["x"]\n'
        '[[keyword]]\nid = "b"\nlanguage = "en"\nseverity = "rude"\nspellings = []\ncarriers = ["no slot"]\n'
    )
    with pytest.raises(ConfigError) as err:
        load_keywords(path)
    text = str(err.value)
    assert str(path) in text
    for needle in ("language must be", "severity must be", "spellings", "lacks '{kw}'"):
        assert needle in text


def test_missing_and_invalid_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_keywords(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[keyword\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_keywords(bad)
