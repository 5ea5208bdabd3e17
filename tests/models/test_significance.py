"""The paired bootstrap that says whether a candidate model is really ahead on val."""

from __future__ import annotations

import numpy as np
import pytest

from kwstrain import evaluate as ev
from kwstrain import significance as sg
from kwstrain.streams import KeywordSpan, Stream

LABELS = ("_none", "en_fuck", "ko_jiral")
STEP_S = 0.02


def _track(duration_s: float, spans: tuple[KeywordSpan, ...], peaks: list[tuple[float, str, float]]) -> ev.Track:
    """A smoothed score track of ``duration_s`` with a 200 ms plateau of ``score`` for ``label`` ending at
    each ``(time, label, score)`` of ``peaks``; "no keyword" everywhere else."""
    times = np.arange(1, int(duration_s / STEP_S) + 1) * STEP_S
    scores = np.zeros((times.size, len(LABELS)), np.float32)
    scores[:, 0] = 1.0
    for end, label, score in peaks:
        rows = (times > end - 0.2) & (times <= end)
        scores[rows, LABELS.index(label)] = score
        scores[rows, 0] = 1.0 - score
    audio = np.broadcast_to(np.zeros(1, np.int8), (int(duration_s * 8000),))
    return ev.Track(Stream("s", "en", audio, spans), times, scores)


def _language(caught: int, false_accepts: list[float], keywords: int = 20, hours: float = 0.5,
              fa_score: float = 0.97) -> dict[str, ev.Track]:
    """One language's tracks: ``keywords`` spans of en_fuck, the first ``caught`` of them scored 0.99 (the
    rest 0.2, below every threshold of the grid), and a conversation stream of ``hours`` with a ``fa_score``
    false accept at each of ``false_accepts`` (s)."""
    spans = tuple(KeywordSpan("en_fuck", 3.0 * i + 1.0, 3.0 * i + 1.5) for i in range(keywords))
    positive = _track(3.0 * keywords + 2.0, spans, [(s.end_s + 0.1, "en_fuck", 0.99 if i < caught else 0.2)
                                                   for i, s in enumerate(spans)])
    negative = _track(hours * 3600, (), [(t, "en_fuck", fa_score) for t in false_accepts])
    return {"positive": positive, "negative": negative, "near_miss": _track(2.0, (), [])}


def test_units_give_the_numbers_evaluate_chooses_models_by():
    tracks = {"en": _language(14, [100.0, 900.0, 1500.0]), "ko": _language(18, [])}
    det = ev.best_frr(ev.det_rows(LABELS, tracks), ("en", "ko"))
    for language in ("en", "ko"):
        u = sg.units(LABELS, tracks[language])
        assert u.hits.shape == (len(ev.THRESHOLD_GRID), 20)
        assert abs(u.hours.sum() - 0.5) < 1e-9 and u.hours.size == 15  # 120 s blocks
        for budget, value in zip(ev.CHOICE_BUDGETS, sg.best_frr(u)):
            assert abs(value - det[f"{language} <= {budget}"]) < 1e-12
    en = sg.units(LABELS, tracks["en"])
    at_095 = ev.THRESHOLD_GRID.index(0.95)
    assert list(np.flatnonzero(en.false_accepts[at_095])) == [0, 7, 12]  # 100 s, 900 s, 1500 s
    assert en.false_accepts[ev.THRESHOLD_GRID.index(0.98)].sum() == 0
    assert en.hits[at_095].sum() == 14


def test_a_model_against_itself_never_differs():
    line = [{"en": sg.units(LABELS, _language(12, [50.0, 700.0]))}]
    result = sg.paired_bootstrap(line, line, replicates=50)
    assert result["a"] == result["b"] and result["interval_90"] == (0.0, 0.0) and result["b_ahead_share"] == 0.0


def test_a_clearly_better_model_is_ahead_in_every_replicate_and_a_close_one_is_not():
    weak = [{"en": sg.units(LABELS, _language(8, [50.0, 700.0, 1300.0]))}]
    strong = [{"en": sg.units(LABELS, _language(19, [50.0, 700.0, 1300.0]))}]
    close = [{"en": sg.units(LABELS, _language(9, [50.0, 700.0, 1300.0]))}]
    far = sg.paired_bootstrap(weak, strong, replicates=200)
    assert far["b"] < far["a"] and far["interval_90"][1] < 0 and far["b_ahead_share"] == 1.0
    near = sg.paired_bootstrap(weak, close, replicates=200)
    assert near["b"] < near["a"]  # one clip more on val as it is ...
    assert near["interval_90"][1] >= 0 and near["b_ahead_share"] < 1.0  # ... is not a model that is surely ahead


def test_the_command_compares_models_and_records_each_once(tmp_path, monkeypatch, capsys):
    recorded = []

    def record_split(build, split, model, line="noisy", **_):
        recorded.append((model.name, split, line))
        caught = 16 if model.name == "better.tflite" else 10
        return LABELS, {"en": _language(caught, [50.0]), "ko": _language(caught, [])}

    monkeypatch.setattr(ev, "record_split", record_split)
    shipped, better = tmp_path / "shipped.tflite", tmp_path / "better.tflite"
    shipped.write_bytes(b"one model")
    better.write_bytes(b"another model")
    argv = [str(shipped), str(better), "--workers", "1", "--replicates", "100", "--cache", str(tmp_path / "units")]
    assert sg.main(argv) == 0
    out = capsys.readouterr().out
    assert "shipped.tflite: 50.0%" in out and "better.tflite: 20.0%; difference -30.0 points" in out
    # under each model, its FRR per language and line within 0.5 / 1 / 5 FA/h
    assert ("  en noisy 50.0 / 50.0 / 50.0%, en quiet 50.0 / 50.0 / 50.0%, "
            "ko noisy 50.0 / 50.0 / 50.0%, ko quiet 50.0 / 50.0 / 50.0%\n") in out
    assert "  en noisy 20.0 / 20.0 / 20.0%, en quiet 20.0 / 20.0 / 20.0%, ko noisy 20.0 / 20.0 / 20.0%" in out
    assert len(recorded) == 4  # two models, two lines
    assert sg.main(argv) == 0  # the second time from the cache
    assert len(recorded) == 4 and capsys.readouterr().out == out


def test_the_command_names_a_missing_model(tmp_path, capsys):
    with pytest.raises(SystemExit):
        sg.main([str(tmp_path / "shipped.tflite"), str(tmp_path / "nowhere.tflite")])
    assert "shipped.tflite: no such model file" in capsys.readouterr().err


def _units(hits_at: dict[int, int], fa_at: dict[int, int], spans: int = 10, blocks: int = 4) -> sg.Units:
    """Hand-made units on a 4-threshold grid: ``hits_at[t]`` spans caught and ``fa_at[t]`` false accepts (in
    block 0) at threshold index t; 0.5 h of conversation."""
    hits = np.zeros((4, spans), bool)
    fa = np.zeros((4, blocks), np.int32)
    for t in range(4):
        hits[t, : hits_at[t]] = True
        fa[t, 0] = fa_at[t]
    return sg.Units(hits, fa, np.full(blocks, 0.5 / blocks))


def test_joint_frr_runs_every_line_at_the_threshold_that_holds_on_all():
    # the noisy line is within 1 FA/h from threshold 1, the quiet line only from 3: both run at 3
    noisy = _units({0: 10, 1: 9, 2: 8, 3: 6}, {0: 3, 1: 0, 2: 0, 3: 0})
    quiet = _units({0: 10, 1: 10, 2: 9, 3: 8}, {0: 4, 1: 2, 2: 1, 3: 0})
    assert list(sg.best_frr(noisy, budgets=(0.5, 5.0))) == pytest.approx([0.1, 0.1])
    joint = sg.joint_frr([noisy, quiet], budgets=(0.5, 5.0))
    assert joint.shape == (2, 2)
    assert joint[:, 0] == pytest.approx([0.4, 0.2])    # <= 0.5 FA/h: threshold 3 for both lines
    assert joint[:, 1] == pytest.approx([0.1, 0.0])    # <= 5 FA/h: quiet within from 1 (4/h), noisy from 1
    # a line that never gets within the budget leaves every line at 1.0
    never = _units({t: 10 for t in range(4)}, {t: 5 for t in range(4)})
    assert sg.joint_frr([noisy, never], budgets=(0.5,))[:, 0] == pytest.approx([1.0, 1.0])
    # one line alone: its own best
    assert sg.joint_frr([noisy], budgets=(0.5, 5.0))[0] == pytest.approx(sg.best_frr(noisy, budgets=(0.5, 5.0)))


def test_the_line_table_gives_each_line_at_its_own_best_or_at_the_joint_threshold():
    noisy = _units({0: 10, 1: 9, 2: 8, 3: 6}, {0: 3, 1: 0, 2: 0, 3: 0})
    quiet = _units({0: 10, 1: 10, 2: 9, 3: 8}, {0: 4, 1: 2, 2: 1, 3: 0})
    per_line = [{"en": noisy}, {"en": quiet}]
    # budgets 0.5 / 1 / 5 FA/h (0.5 h of conversation): noisy holds all three from threshold 1, quiet from 3 / 3 / 1
    assert sg.line_table(per_line, ["noisy", "quiet"]) == "en noisy 10.0 / 10.0 / 10.0%, en quiet 20.0 / 20.0 / 0.0%"
    assert sg.line_table(per_line, ["noisy", "quiet"], joint=True) == \
        "en noisy 40.0 / 40.0 / 10.0%, en quiet 20.0 / 20.0 / 0.0%"


def test_joint_choice_number_is_never_below_the_lines_own_best():
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(2):
        lines.append({"en": sg.units(LABELS, _language(int(rng.integers(8, 20)), list(rng.uniform(0, 1700, 3))))})
    assert sg.choice_number(lines, joint=True) >= sg.choice_number(lines) - 1e-12
    r = sg.paired_bootstrap(lines, lines, replicates=20, joint=True)
    assert r["a"] == r["b"] == sg.choice_number(lines, joint=True)


def _two_models(monkeypatch, labels_of=lambda name: LABELS):
    """``a`` and ``b`` catch the same 16 of 20 keywords (at 0.99), each with one false accept of its own in the
    English conversation that scores higher (0.995; a at 50 s, b at 700 s); ``c`` has other labels."""
    recorded = []

    def record_split(build, split, model, line="noisy", **_):
        recorded.append((model.name, line))
        fa = {"a.tflite": [50.0], "b.tflite": [700.0]}.get(model.name, [])
        return labels_of(model.name), {"en": _language(16, fa, fa_score=0.995), "ko": _language(16, [])}

    monkeypatch.setattr(ev, "record_split", record_split)
    return recorded


def test_an_ensemble_averages_its_members_scores_window_by_window(monkeypatch):
    recorded = _two_models(monkeypatch)
    labels, a = ev.record_split(None, "val", sg.Path("a.tflite"))
    _, b = ev.record_split(None, "val", sg.Path("b.tflite"))
    for spec, weight_a, weight_b in (("a.tflite+b.tflite+b.tflite", 1, 2), ("b.tflite+a.tflite+b.tflite", 1, 2),
                                     ("a.tflite+a.tflite+a.tflite+b.tflite", 3, 1)):
        recorded.clear()
        got_labels, both = sg.ensemble_tracks(None, "val", sg.members(spec), "noisy")
        assert got_labels == labels
        assert sorted(recorded) == [("a.tflite", "noisy"), ("b.tflite", "noisy")]  # a member named twice: recorded once
        for language in ("en", "ko"):
            for name in ("positive", "negative", "near_miss"):
                want = (weight_a * a[language][name].smoothed + weight_b * b[language][name].smoothed) / (weight_a + weight_b)
                np.testing.assert_allclose(both[language][name].smoothed, want, rtol=1e-6)
    # each member's false accept is out-voted by the other: none is left at any threshold of the grid above 0.7
    u = sg.units(labels, sg.ensemble_tracks(None, "val", sg.members("a.tflite+b.tflite"), "noisy")[1]["en"])
    assert u.false_accepts[ev.THRESHOLD_GRID.index(0.7):].sum() == 0
    alone = sg.units(labels, a["en"])
    assert alone.false_accepts[ev.THRESHOLD_GRID.index(0.99)].sum() == 1
    assert list(sg.best_frr(alone)) == pytest.approx([1.0, 1.0, 0.2]) and list(sg.best_frr(u)) == pytest.approx([0.2] * 3)


def test_the_command_scores_an_ensemble_candidate(tmp_path, monkeypatch, capsys):
    recorded = _two_models(monkeypatch)
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(b"one model")
    b.write_bytes(b"another model")
    argv = [str(a), f"{a}+{b}", str(b), "--workers", "1", "--replicates", "50", "--joint",
            "--cache", str(tmp_path / "units")]
    assert sg.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    number = {line.split(": ")[0]: float(line.split(": ")[1].split("%")[0]) for line in out[1:]
              if not line.startswith("  ")}  # a model's per-line figures are indented under it
    assert number[f"{a}+{b}"] < number[str(a)] and number[f"{a}+{b}"] < number[str(b)]
    assert len(recorded) == 8  # a, the ensemble's two members, b; on two lines
    assert sg.main(argv) == 0 and len(recorded) == 8  # all three from the cache
    assert len(list((tmp_path / "units").iterdir())) == 6


def test_an_ensemble_of_other_keyword_sets_or_a_missing_member_is_refused(tmp_path, monkeypatch, capsys):
    _two_models(monkeypatch, labels_of=lambda name: LABELS[:2] if name == "c.tflite" else LABELS)
    with pytest.raises(ValueError, match="c.tflite: its labels"):
        sg.ensemble_tracks(None, "val", sg.members("a.tflite+c.tflite"), "noisy")
    a = tmp_path / "a.tflite"
    a.write_bytes(b"one model")
    with pytest.raises(SystemExit):
        sg.main([str(a), f"{a}+{tmp_path / 'gone.tflite'}"])
    assert "gone.tflite: no such model file" in capsys.readouterr().err
