"""`make scratch` trains the grown network's shape from nothing on round 17's clip sets, the way round 17's
copies learn (mining in runs, the noisy share of the line), and compares it with the shipped model on val, alone
and as an output ensemble with it (checked on make's plan, without running it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.models.make_plan import make_plan
from tests.models.test_make_round_plus import ROUND17


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_scratch_plan(tmp_path: Path):
    plan = make_plan("scratch", tmp_path)
    data = [line.split("--splits ")[1] for line in plan if "kwstrain.pipeline data" in line]
    assert set(ROUND17 + ["val", "val2", "val3", "val4", "val5"]) <= set(data)
    train, = [line for line in plan if "kwstrain.pipeline train" in line]
    assert train.split("--train-splits ")[1].split(" --")[0].split() == ROUND17
    assert "--continue-splits" not in train and "--start" not in train  # from nothing
    assert "--block-channels 80 80 128 128 --head-channels 48 --dense-units 64 --train-epochs 15" in train
    assert "--noise-prob 0.6" in train and "--mine-runs 3" in train and "--out B/scratch-grown/lineguard_kws" in train
    last = plan[-1]
    assert "kwstrain.significance models/lineguard_kws.tflite B/scratch-grown/lineguard_kws.tflite" in last
    assert '"models/lineguard_kws.tflite+B/scratch-grown/lineguard_kws.tflite"' in last
    assert "--joint" in last and "B/scratch-grown/significance.txt" in last
    assert plan.index(train) > max(i for i, line in enumerate(plan) if "kwstrain.pipeline data" in line)
