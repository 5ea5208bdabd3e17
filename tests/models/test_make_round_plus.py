"""`make round-plus` continues the shipped model the round-17 way with the clip sets in PLUS added, averages it
with the shipped model, and compares both with it on val (checked on make's plan, without running it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.models.make_plan import make_plan

ROUND17 = ["train", "train7", "train8", "train13", "train14", "train15", "train16", "train17", "train18", "train19",
           "train20", "train2"]


def _splits(line: str) -> list[str]:
    return line.split("--continue-splits ")[1].split(" --")[0].split()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("assignments, added, folder", [
    ((), ["train25"], "plus-train25"),  # the default
    (("PLUS=train25 train26",), ["train25", "train26"], "plus-train25-train26"),
    (("PLUS=",), [], "plus-none"),  # the control: round 17's sets as they are
])
def test_round_plus_plan(tmp_path: Path, assignments, added, folder):
    plan = make_plan("round-plus", tmp_path, *assignments)
    data = [line.split("--splits ")[1] for line in plan if "kwstrain.pipeline data" in line]
    assert set(ROUND17 + added + ["val", "val2", "val3", "val4", "val5"]) <= set(data)
    copy, = [line for line in plan if "kwstrain.pipeline continue" in line]
    assert _splits(copy) == ROUND17 + added
    assert "--start models/lineguard_kws.tflite" in copy and f"--out B/{folder}/copy/lineguard_kws" in copy
    assert "--noise-prob 0.6" in copy and "--mine-runs 3" in copy
    soup, = [line for line in plan if "kwstrain.pipeline soup" in line]
    assert _splits(soup) == ROUND17 + added
    assert f"--soup models/lineguard_kws.tflite B/{folder}/copy/lineguard_kws.tflite" in soup
    last = plan[-1]
    assert last.startswith("PYTHONPATH=edge:models") and "kwstrain.significance models/lineguard_kws.tflite" in last
    assert f"B/{folder}/copy/lineguard_kws.tflite B/{folder}/soup/lineguard_kws.tflite" in last
    assert "--joint" in last and f"B/{folder}/significance.txt" in last
    # data first, then the copy, its soup and the comparison
    assert plan.index(copy) > max(i for i, line in enumerate(plan) if "kwstrain.pipeline data" in line)
    assert plan.index(copy) < plan.index(soup) < len(plan) - 1
