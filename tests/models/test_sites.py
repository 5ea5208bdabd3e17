"""Simulated sites for lineguard threshold-check, on hand-made score tracks (no model)."""

from __future__ import annotations

from kwstrain import sites
from kwstrain.streams import KeywordSpan
from lineguard.kws.scoring import ScoringRule
from tests.models.test_evaluate import LABELS, track

RULE = ScoringRule(LABELS, (2.0, 0.98, 0.98), smooth_windows=1, refractory_s=1.0)
H = 3600.0


def _lang(negative, positive_peak=0.5):
    positive = track(40.0, {"ko_a": [(10.6, positive_peak)]}, (KeywordSpan("ko_a", 10.0, 10.5),))
    return {"positive": positive, "negative": negative, "near_miss": track(10.0, {})}


def test_a_site_with_enough_calls_is_told_to_lower_and_the_test_shows_what_that_costs():
    # 20 h of Korean val calls: one alarm at 0.975, ten at 0.955 -> 0.96 is shown within 0.5/h, 0.95 is not
    val_ko = track(20 * H, {"ko_a": [(1000.0, 0.975)] + [(5000.0 + 3000 * i, 0.955) for i in range(10)]})
    val = {"ko": _lang(val_ko), "en": _lang(track(1 * H, {}))}
    # test: the keyword peaks at 0.965 (caught at 0.96, missed at 0.98); the conversation fires once at 0.962
    test = {"ko": _lang(track(10 * H, {"ko_a": [(7000.0, 0.962)]}), positive_peak=0.965),
            "en": _lang(track(1 * H, {}))}
    out = sites.simulate(val, test, RULE, LABELS, hours=[2.0])
    ko = out["ko"]
    assert (ko["decision"]["verdict"], ko["decision"]["threshold"]) == ("lower", 0.96)
    assert ko["decision_first_2h"]["verdict"] == "keep"          # 2 h show nothing either way
    assert ko["test_ko_model"]["frr"] == 1.0 and ko["test_ko_model"]["false_accepts"] == 0
    assert ko["test_ko_suggested"]["frr"] == 0.0 and ko["test_ko_suggested"]["false_accepts"] == 1
    # English alone: 1 h without an alarm is not enough to lower: keep, and no test at a suggestion
    assert out["en"]["decision"]["verdict"] == "keep" and "test_en_suggested" not in out["en"]
    # both languages together: 21 h, the same Korean alarms
    both = out["ko+en"]["decision"]
    assert both["hours"] == 21.0 and (both["verdict"], both["threshold"]) == ("lower", 0.96)
