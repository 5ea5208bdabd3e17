"""`make distill` trains the teachers the measured ensemble was made of, each by its round's recipe, and the
student from the shipped model towards all of them (checked on make's plan, without running it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.models.make_plan import make_plan


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_distill_plan(tmp_path: Path):
    plan = make_plan("distill", tmp_path)
    continues = [line for line in plan if "kwstrain.pipeline continue" in line]
    out = {line.split("--out ")[1].split()[0]: line for line in continues}
    assert list(out) == ["B/distill/r17-both/lineguard_kws", "B/distill/r17-en/lineguard_kws",
                         "B/distill/r17-ko/lineguard_kws", "B/distill/r18/lineguard_kws",
                         "B/distill/r21/lineguard_kws", "B/distill/student/lineguard_kws"]
    for name, line in out.items():
        splits = line.split("--continue-splits ")[1].split(" --")[0].split()
        assert splits[:-1] == ["train", "train7", "train8", "train13", "train14", "train15", "train16", "train17",
                               "train18", "train19", "train20"], name
        assert splits[-1] == {"B/distill/r17-en/lineguard_kws": "train2@en",
                              "B/distill/r17-ko/lineguard_kws": "train2@ko"}.get(name, "train2"), name
    starts = {name: line.split("--start ")[1].split()[0] for name, line in out.items()}
    assert starts["B/distill/r17-en/lineguard_kws"] == "B/distill/v50.tflite"
    assert starts["B/distill/r18/lineguard_kws"] == "B/distill/r17-both/lineguard_kws.tflite"
    assert starts["B/distill/r21/lineguard_kws"] == starts["B/distill/student/lineguard_kws"] \
        == "models/lineguard_kws.tflite"
    assert out["B/distill/r21/lineguard_kws"].split("--noise-prob ")[-1].split()[0] == "0.3"  # the last one counts
    teachers = out["B/distill/student/lineguard_kws"].split("--teachers ")[1].split(" --")[0].split()
    assert [t.split("/")[2] for t in teachers] == ["r17-en", "r17-ko", "r17-both", "r17-both", "r18", "r21"]
    # every clip set the rounds read is made first, and the comparison names the student and the ensemble
    data = [line.split("--splits ")[1] for line in plan if "kwstrain.pipeline data" in line]
    assert {"train2", "train20", "val", "val5"} <= set(data)
    last = plan[-1]
    assert "kwstrain.significance models/lineguard_kws.tflite B/distill/student/lineguard_kws.tflite" in last
    assert "+".join(teachers) in last and "--joint" in last
