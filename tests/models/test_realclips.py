"""Reviewed field clips become training windows and a separate evaluation."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models"))

from kwstrain.realclips import evaluate_real, find_clips, real_windows  # noqa: E402
from lineguard.audio.wavio import write_wav  # noqa: E402
from lineguard.kws.base import Detection  # noqa: E402


def export(root: Path, rows: list[tuple[str, str, float, str]]) -> None:
    (root / "audio").mkdir(parents=True)
    with open(root / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clip_id", "file", "keyword", "score", "side", "kind", "call_id", "time_s", "offset_s", "label"])
        for i, (clip_id, keyword, offset, label) in enumerate(rows):
            rng = np.random.default_rng(i)
            write_wav(root / "audio" / f"{clip_id}.wav", 0.1 * rng.standard_normal(32000).astype(np.float32), 8000)
            w.writerow([clip_id, f"audio/{clip_id}.wav", keyword, 0.9, "far", "keyword_detected", "c", 10, offset,
                        label])


def test_labelled_exports_become_windows(tmp_path):
    export(tmp_path / "shop1", [("a", "ko_ssibal", 2.0, "true"), ("b", "ko_ssibal", 2.0, "false"),
                                ("c", "en_shit", 2.0, ""), ("d", "xx_unknown", 2.0, "true")])
    clips = find_clips(tmp_path)
    assert [(c.keyword, c.label) for c in clips] == [("ko_ssibal", True), ("ko_ssibal", False),
                                                      ("xx_unknown", True)]
    x, y = real_windows(clips, ["_none", "ko_ssibal"], repeat=4)
    assert x.shape[1:] == (100, 40) and x.dtype == np.float16
    assert int(np.sum(y == 1)) == 4 and int(np.sum(y == 0)) > 10
    assert find_clips(tmp_path / "missing") == []


class FiresAt:
    sample_rate_hz = 8000

    def __init__(self, keyword, time_s):
        self.keyword, self.time_s = keyword, time_s

    def reset(self):
        pass

    def process(self, audio):
        return [Detection(self.keyword, 0.9, self.time_s)]


def test_evaluation_on_real_clips(tmp_path):
    export(tmp_path / "e", [("a", "ko_ssibal", 2.0, "true"), ("b", "ko_jiral", 2.0, "true"),
                            ("c", "ko_ssibal", 2.0, "false")])
    result = evaluate_real(find_clips(tmp_path), FiresAt("ko_ssibal", 2.3))
    assert result == {"true_clips": 2, "hits": 1, "recall": 0.5, "false_clips": 1, "still_firing": 1,
                      "false_alarm_rate": 1.0}
