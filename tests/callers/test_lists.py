from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lineguard.callers.flags import FlagStore
from lineguard.callers.lists import CallerLists, ListEntry, ListFile, ListName, MatchKind, parse_csv
from lineguard.callers.numbers import normalize
from lineguard.errors import ConfigError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def entry(lst, kind, value, expires=None):
    return ListEntry(ListName(lst), MatchKind(kind), value, expires_at=expires)


@pytest.mark.parametrize("raw, country, want", [
    ("010-1234-5678", "KR", "01012345678"),
    ("+82 10 1234 5678", "KR", "01012345678"),
    ("0082-2-123-4567", "KR", "021234567"),
    ("+1 (415) 555-0100", "US", "4155550100"),
    ("+49 30 1234567", "DE", "0301234567"),
    ("+44 20 7946 0000", "KR", "+442079460000"),
    ("P", "US", "withheld"),
    ("private", "KR", "withheld"),
])
def test_normalize(raw, country, want):
    assert normalize(raw, country) == want


def test_exact_prefix_pattern_and_allow_wins():
    lists = CallerLists((
        entry("block", "prefix", "070"),
        entry("block", "pattern", "02??99*"),
        entry("block", "exact", "01099998888"),
        entry("allow", "exact", "07012345678"),
    ))
    assert lists.check("070-1111-2222", NOW).blocked
    assert lists.check("070-1111-2222", NOW).rule == "block:prefix:070"
    assert not lists.check("070-1234-5678", NOW).blocked          # allowed number is never blocked
    assert lists.check("07012345678", NOW).rule == "allow:exact:07012345678"
    assert lists.check("0212991234", NOW).blocked                 # pattern
    assert not lists.check("0212881234", NOW).blocked
    assert lists.check("+82 10 9999 8888", NOW).blocked           # international form of a listed number
    assert not lists.check("01012345678", NOW).blocked


def test_withheld_policy_and_expiry():
    assert not CallerLists(()).check(None, NOW).blocked
    assert CallerLists((), withheld_policy="block").check("private", NOW).rule == "withheld_policy"
    lists = CallerLists((entry("block", "exact", "0101", expires=NOW + timedelta(days=1)),))
    assert lists.check("0101", NOW).blocked
    assert not lists.check("0101", NOW + timedelta(days=2)).blocked


def test_bad_csv_lists_every_line_and_changes_nothing(tmp_path):
    f = ListFile(tmp_path / "callers.csv")
    f.add(entry("block", "exact", "0101"))
    before = (tmp_path / "callers.csv").read_bytes()
    bad = "list,kind,value,note\nblock,exact,0102,ok\nmaybe,exact,0103,\nblock,prefix,,\nallow,pattern,02ab*,\n" \
          "block,exact,0104,,,,not-a-date\n"
    with pytest.raises(ConfigError) as info:
        f.import_csv(bad, "upload.csv")
    wheres = [w for w, _ in info.value.problems]
    assert wheres == ["line 3", "line 4", "line 5", "line 6"]
    assert "upload.csv" in str(info.value)
    assert (tmp_path / "callers.csv").read_bytes() == before
    with pytest.raises(ConfigError, match="header"):
        parse_csv("number\n0101\n", "x.csv")


def test_list_file_round_trip(tmp_path):
    f = ListFile(tmp_path / "callers.csv")
    f.add(entry("block", "prefix", "070"))
    f.add(entry("allow", "exact", "0212345678"))
    f.add(entry("block", "prefix", "070"))        # same entry again: replaced, not duplicated
    assert len(f.load()) == 2
    other = ListFile(tmp_path / "copy.csv")
    assert other.import_csv((tmp_path / "callers.csv").read_text(), "copy") == 2
    assert sorted(e.value for e in other.load()) == ["0212345678", "070"]
    assert f.remove("070") == 1 and len(f.load()) == 1


def test_flags_lifecycle_and_expiry(tmp_path):
    store = FlagStore(tmp_path / "flags.db")
    assert store.flag("private", "abuse", "c0", NOW, 30) is None
    flag = store.flag("010-5555-6666", "abuse", "c1", NOW, 30)
    assert flag.number == "01055556666" and flag.count == 1
    assert store.active("+82 10 5555 6666", NOW + timedelta(days=29)) is not None
    assert store.active("01055556666", NOW + timedelta(days=31)) is None
    again = store.flag("01055556666", "threat", "c2", NOW + timedelta(days=1), 30)
    assert again.count == 2 and again.reason == "threat"
    assert store.expire(NOW + timedelta(days=40)) == 1 and store.all() == []
    store.close()
    reopened = FlagStore(tmp_path / "flags.db")
    reopened.merge_central([("0109", "abuse", NOW + timedelta(days=3)), ("0108", "abuse", NOW - timedelta(days=1))],
                           NOW)
    assert [f.source for f in reopened.all()] == ["central"]


def test_list_command(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[callers]\nlist_file = "{tmp_path / "callers.csv"}"\n')
    lg = [str(Path(sys.executable).parent / "lineguard"), "list", "--config", str(cfg)]
    run = lambda *a: subprocess.run(lg + list(a), capture_output=True, text=True)  # noqa: E731
    assert run("add", "block", "070", "--kind", "prefix", "--note", "telemarketing").returncode == 0
    shown = run("show").stdout
    assert "070" in shown and "telemarketing" in shown
    bad = tmp_path / "bad.csv"
    bad.write_text("list,value\nblock,\n")
    res = run("import", str(bad))
    assert res.returncode == 2 and "line 2" in res.stderr
    exported = run("export").stdout
    assert exported.splitlines()[0].startswith("list,kind,value")
