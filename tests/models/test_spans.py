"""Choosing a smoothing span per keyword on val (kwstrain.spans)."""

from __future__ import annotations

import numpy as np

from kwstrain import evaluate as ev
from kwstrain import spans as sp
from kwstrain.streams import KeywordSpan

LABELS = ("_none", "en_fuck", "ko_jiral")
STEP_S = 0.02


def _raw(duration_s: float, spans: tuple[KeywordSpan, ...], answers: list[tuple[float, str, int]]) -> ev.Track:
    """A raw score track: ``label`` scored 1.0 for ``windows`` windows ending at each ``(time, label, windows)``."""
    times = np.arange(1, int(duration_s / STEP_S) + 1) * STEP_S
    scores = np.zeros((times.size, len(LABELS)), np.float32)
    scores[:, 0] = 1.0
    for end, label, windows in answers:
        last = int(round(end / STEP_S)) - 1
        scores[last - windows + 1 : last + 1] = 0.0
        scores[last - windows + 1 : last + 1, LABELS.index(label)] = 1.0
    return ev.Track(sp.Spans(spans, duration_s), times, scores)


def _language(label: str, answer_windows: int, conversation_blips: list[float]) -> dict[str, ev.Track]:
    """20 keyword spans the model answers for ``answer_windows`` windows each, and half an hour of
    conversation in which it answers ``label`` for 3 windows at each of ``conversation_blips`` (s)."""
    spans = tuple(KeywordSpan(label, 3.0 * i + 1.0, 3.0 * i + 1.5) for i in range(20))
    positive = _raw(62.0, spans, [(s.end_s + 0.2, label, answer_windows) for s in spans])
    negative = _raw(1800.0, (), [(t, label, 3) for t in conversation_blips])
    return {"positive": positive, "negative": negative}


def test_a_briefly_answered_keyword_gets_a_short_span_and_a_blipping_one_keeps_the_long_one():
    # en_fuck: answered for 3 windows (60 ms), so a 14-window mean never reaches the grid's lowest threshold;
    # ko_jiral: answered for 20 windows, but the conversation has 3-window blips of it every minute, which only
    # the long span keeps under the thresholds
    raw = {"en": _language("en_fuck", 3, []), "ko": _language("ko_jiral", 20, [30.0 + 60 * i for i in range(29)])}
    start = sp.choice(LABELS, [raw], (14, 14, 14))
    assert start > 0.4  # every English keyword missed at every budget
    spans, steps = sp.choose(LABELS, [raw], 14, candidates=(3, 7, 14))
    assert spans[1] == 3 and spans[2] == 14
    assert steps[-1]["keyword"] == "en_fuck" and steps[-1]["choice"] < start
    assert sp.choice(LABELS, [raw], spans) == steps[-1]["choice"] == 0.0
    # ko_jiral at 3 windows would fire on every blip: 58 false accepts per hour
    assert sp.choice(LABELS, [raw], (14, 3, 3)) > sp.choice(LABELS, [raw], (14, 3, 14))


def test_dropping_rows_under_the_grid_keeps_the_units():
    raw = {"ko": _language("ko_jiral", 20, [30.0 + 60 * i for i in range(29)])}
    fast = sp.smoothed_units(LABELS, raw, (5, 5, 5))["ko"]
    tracks = {name: ev.Track(t.stream, t.times_s, ev.smooth(t.smoothed, 5)) for name, t in raw["ko"].items()}
    full = sp.sig.units(LABELS, tracks)
    assert np.array_equal(fast.hits, full.hits) and np.array_equal(fast.false_accepts, full.false_accepts)


def test_a_span_per_language_moves_all_of_a_languages_keywords_together():
    labels = ("_none", "en_fuck", "en_shit", "ko_jiral")
    raw = {"en": _language("en_fuck", 3, []), "ko": _language("ko_jiral", 20, [30.0 + 60 * i for i in range(29)])}
    for by_name in raw.values():  # one more column, en_shit, never answered
        for name, t in by_name.items():
            scores = np.insert(t.smoothed, 2, 0.0, axis=1)
            by_name[name] = ev.Track(t.stream, t.times_s, scores)
    spans, steps = sp.choose(labels, [raw], 14, candidates=(3, 7, 14), by="language")
    assert spans == (14, 3, 3, 14)
    assert [s["keyword"] for s in steps[1:]] == ["en"]


def test_the_two_fold_check_scores_each_halfs_choice_on_the_other():
    raw = {"en": _language("en_fuck", 3, []), "ko": _language("ko_jiral", 20, [30.0 + 60 * i for i in range(29)])}
    first, second = sp.half(raw, True), sp.half(raw, False)
    assert len(first["en"]["positive"].stream.spans) == len(second["en"]["positive"].stream.spans) == 10
    assert first["ko"]["negative"].stream.duration_s == second["ko"]["negative"].stream.duration_s == 900.0
    result = sp.two_fold(LABELS, [raw], 14, candidates=(3, 7, 14))
    # the brief English answers are brief in both halves: each half's choice holds on the other
    assert [f["by_keyword"] for f in result["folds"]] == [{"en_fuck": 3}, {"en_fuck": 3}]
    assert result["held_out_difference"] < -0.4


def test_cli_names_a_missing_clip_set(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        sp.main(["--build", str(tmp_path), "--out", str(tmp_path / "spans.json")])
    assert f"{tmp_path}: no clip set for val (clips_val.npz)" in capsys.readouterr().err
