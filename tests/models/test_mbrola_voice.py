"""MBROLA as a training engine: the voices' split roles, Korean respelled for hn1, and the real program
speaking both languages (the packages fetched from Debian into a temporary build folder)."""

from __future__ import annotations

import random
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kwstrain import mbrola_voice as mb
from kwstrain import pipeline, synthdata, tts
from lineguard.kws.keywords import load_keywords

pytestmark = pytest.mark.skipif(not mb.available(), reason="needs espeak-ng, apt-get and dpkg-deb")

# espeak-ng's --pho for 미친놈 의사 (its own phoneme names; a row: name, ms, then pitch points as % and Hz)
RAW = """_\t50
m\t65
i\t34\t 0 111 80 103 100 103
tS\t160
h\t73
i\t21\t 0 96 80 92 100 92
n\t57\t100 84
n\t65
o\t41\t 0 104 80 96 100 96
m\t65
u-\t40\t 0 100 100 90
j\t50
s\t100
a\t92\t 0 82 80 77 100 77
_\t301
"""


def _rows(pho: str) -> list[list[str]]:
    return [line.split() for line in pho.splitlines() if line.strip()]


def test_korean_is_respelled_in_hn1_symbols():
    rows = _rows(mb.korean_pho(RAW))
    assert [r[0] for r in rows] == ["_", "m", "i", "ts\\_h", "i", "n_}", "n", "o", "m", "M\\i", "s", "a", "_"]
    # ch: tS and its h as one aspirated affricate, lasting as long as both
    assert rows[3][1] == "233"
    # m before a vowel (놈의: liaison) is released; n before n is not
    # 의: u- and j as one diphthong, each pitch point kept at its own moment (40 of 90 ms, then j adds none)
    assert rows[9][1:] == ["90", "0", "100", "44", "90"]


def test_lax_stops_are_voiced_between_sounds_and_voiceless_after_a_pause():
    pho = "_\t50\ng\t60\na\t80\ng\t60\na\t80\n_\t50\n"
    assert [r[0] for r in _rows(mb.korean_pho(pho))] == ["_", "k", "a", "g", "a", "_"]


def test_every_symbol_written_is_one_hn1_has():
    written = set(mb.VOWELS.values()) | set(mb.GLIDES.values()) | set(mb.PLAIN.values()) | \
        set(mb.ASPIRATED.values()) | {s for pair in [*mb.LAX.values(), *mb.CODA.values()] for s in pair} | \
        {s for options in mb.ALTERNATIVES.values() for s in options} | set(mb.ALTERNATIVES)
    assert written <= set(mb.HN1_SYMBOLS)


def test_repair_replaces_a_missing_pair_or_pauses():
    have = {("_", "a"), ("a", "4"), ("4", "a"), ("a", "_"), ("_", "k"), ("k", "a"), ("a", "k_}"), ("k_}", "s")}
    # a-l is missing: l becomes the tap 4, which joins both neighbours
    assert mb.repair(["_", "a", "l", "a", "_"], have) == (["_", "a", "4", "a", "_"], [0, 1, 2, 3, 4])
    # k_}-_ is missing and so is every alternative after it: k_} itself becomes a released k where a-k exists
    have |= {("a", "k"), ("k", "_")}
    assert mb.repair(["_", "a", "k_}", "_"], have)[0] == ["_", "a", "k", "_"]
    # nothing near joins: a short pause between the two, marked as inserted (-1)
    have2 = {("_", "a"), ("a", "_"), ("_", "s"), ("s", "_")}
    assert mb.repair(["a", "s"], have2) == (["a", "_", "s"], [0, -1, 1])


def test_split_roles_keep_the_held_out_voices_out_of_training():
    rng = random.Random(3)
    train = Counter(mb.random_name(rng, "en", "train")[0] for _ in range(2000))
    assert not {"en1", "us3"} & set(train)
    assert set(train) == {"us1", "us2", *mb.ACCENTED_EN}
    assert 0.3 < (train["us1"] + train["us2"]) / 2000 < 0.5  # the natives' share
    assert {mb.random_name(rng, "en", "val")[0] for _ in range(50)} == {"en1"}
    assert {mb.random_name(rng, "en", "test")[0] for _ in range(50)} == {"us3"}
    assert {mb.random_name(rng, "ko", "train")[0] for _ in range(50)} == {"hn1"}
    with pytest.raises(ValueError, match="no ko voice for val"):
        mb.random_name(rng, "ko", "val")


def test_held_out_mbrola_splits_plan_english_only():
    keywords = load_keywords()
    plan = pipeline.PRESETS["full"].splits["val_mbrola"]
    jobs = synthdata.plan_jobs(keywords, "val_mbrola", plan)
    assert jobs and {j.language for j in jobs} == {"en"}
    assert {j.voice.name for j in jobs} == {"en1"}
    assert {j.label for j in jobs} >= {k.id for k in keywords if k.language == "en"}
    train = synthdata.plan_jobs(keywords, "train25", pipeline.PRESETS["full"].splits["train25"])
    assert {j.language for j in train} == {"en", "ko"}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A build folder with the packages of us1 and hn1 fetched from Debian and linked into espeak-ng's home."""
    home = tts.prepare_espeak_home(tmp_path_factory.mktemp("mbrola-build"))
    mb.prepare(home, voices=["us1", "hn1"])
    return home


def test_both_languages_are_spoken(home: Path, tmp_path: Path):
    for text, voice in (("shut up, you bastard", "us1"), ("닥쳐 이 미친놈아", "hn1")):
        pcm, rate = tts.parse_wav_bytes(mb.synthesize_wav(text, voice, 160, 50, home, tmp_path))
        assert rate == 16000
        assert 0.6 < pcm.size / rate < 4.0, (voice, pcm.size / rate)
        assert float(np.sqrt(np.mean(pcm ** 2))) > 0.02, voice


def test_mended_korean_reaches_mbrola_without_a_missing_diphone(home: Path, tmp_path: Path):
    """mbrola stops at the first diphone its database lacks (without -e). Respelled and mended, the Korean
    keywords, their near misses and carrier sentences all go through; unmended, many would not — the check
    can fail."""
    keywords = [k for k in load_keywords() if k.language == "ko"]
    texts = [w for k in keywords for w in (*k.spoken, *k.near_misses)]
    texts += [c.replace("{kw}", k.spoken[0]) for k in keywords for c in k.carriers]
    have = mb.diphones(home)
    env = mb._env(home)

    def failures(mended: bool) -> int:
        failed = 0
        for text in texts:
            pho = subprocess.run(["espeak-ng", f"--path={home}", "-v", mb.KOREAN_VOICE, "-q", "--pho", "--stdin"],
                                 input=text.encode(), capture_output=True, check=True, env=env).stdout.decode()
            source = tmp_path / "k.pho"
            source.write_text(mb.korean_pho(pho, have if mended else None))
            done = subprocess.run([str(mb.program(home)), str(home / "espeak-ng-data/mbrola/hn1"), str(source),
                                   str(tmp_path / "k.wav")], capture_output=True)
            failed += done.returncode != 0
        return failed

    assert failures(mended=True) <= len(texts) // 100
    assert failures(mended=False) > len(texts) // 20


def test_a_clip_job_through_the_synthesis_path(home: Path):
    synthdata._init_worker(home)
    voice = tts.Voice("mbrola", "hn1", "ko", 150, 40, rate_factor=1.05)
    job = synthdata.ClipJob("ko_jiral", "ko", ("왜", "지랄", "이야"), 1, voice, 7)
    audio, start, end = synthdata.run_job(job)
    assert 0 < start < end < audio.size
    assert audio.dtype == np.float32 and np.abs(audio).max() <= 1.0
