"""Pieces of the data pipeline: corpus filtering, channel simulation, windows."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from kwstrain import channel, corpus, pipeline, synthdata
from lineguard.kws.keywords import load_keywords

RNG = np.random.default_rng(0)


def test_english_sentences_hold_no_keyword():
    texts = corpus.english_sentences(500)
    assert len(texts) == 500
    spellings = [s.lower() for k in load_keywords() if k.language == "en" for s in k.spellings]
    assert not [t for t in texts if any(s in t.lower() for s in spellings)]


def test_fortune_sentences_are_plain_clean_english(tmp_path):
    (tmp_path / "misc").write_text(
        "The early bird gets the worm.\n%\nI will kill you, said the knight. Time flies like an arrow today.\n"
        "\t\t-- Anon\n%\nShut   up and eat your soup now.\n%\nToo short.\n%\nCaf\u00e9 prices are not what they used to be.\n",
        encoding="utf-8")
    (tmp_path / "misc.dat").write_bytes(b"\x00\x01")
    texts = corpus.fortune_sentences(root=tmp_path)
    assert texts == sorted(texts, key=lambda t: corpus.hashlib.sha1(t.encode()).hexdigest())
    assert set(texts) == {"the early bird gets the worm.", "time flies like an arrow today."}
    assert corpus.fortune_sentences(root=tmp_path / "missing") == []


def test_installed_fortunes_hold_no_keyword():
    if not corpus.FORTUNES_DIR.is_dir():
        pytest.skip("Debian fortunes not installed")
    texts = corpus.fortune_sentences()
    assert len(texts) == corpus.FORTUNE_SENTENCES
    spellings = [s.lower() for k in load_keywords() if k.language == "en" for s in k.spellings]
    assert not [t for t in texts if any(re.search(rf"\b{re.escape(s)}", t) for s in spellings)]


def test_wide_pool_reads_wordnet_examples_and_korean_help_pages(tmp_path):
    wordnet = tmp_path / corpus.WIDE_PACKAGES["en"] / "usr" / "share" / "wordnet"
    wordnet.mkdir(parents=True)
    (wordnet / "data.noun").write_text(
        "  1 This software and database is being provided \"as is\" without warranty\n"
        '00001740 03 n 01 entity 0 000 | that which exists; "the early   bird gets the worm"; "too short"\n'
        '00002000 03 n 01 thing 0 000 | an object; "I will kill you now, he said"; "Caf\u00e9 prices are high"\n'
        "00002100 03 n 01 none 0 000 | no gloss example here\n", encoding="latin-1")
    for part in ("verb", "adj", "adv"):
        (wordnet / f"data.{part}").write_text('00003000 00 v 01 go 0 | move; "we go to the shop on sunday"\n',
                                              encoding="latin-1")
    assert set(corpus.wide_sentences("en", tmp_path)) == {"the early bird gets the worm", "we go to the shop on sunday"}
    help_dir = tmp_path / corpus.WIDE_PACKAGES["ko"] / "usr" / "share" / "libreoffice" / "help" / "ko" / "text"
    help_dir.mkdir(parents=True)
    (help_dir / "page.html").write_text(
        "<html><head><title>LibreOffice 도움말</title></head><body><h1>표 삽입하기</h1>"
        "<p>문서를 클릭한 다음 &quot;삽입&quot;을 선택합니다. 이 버튼은 Writer에서만 보입니다.</p>"
        "<p>병신년 달력을 엽니다.</p><p>확인</p></body></html>", encoding="utf-8")
    assert set(corpus.wide_sentences("ko", tmp_path)) == {"표 삽입하기", "문서를 클릭한 다음 삽입 을 선택합니다"}
    with pytest.raises(FileNotFoundError, match="wordnet"):
        corpus.wide_sentences("en", tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown text pool 'wider'"):
        corpus.sentences("en", "train", pool="wider")


def test_korean_sentences_are_filtered_hangul():
    pytest.importorskip("konlpy")
    texts = corpus.korean_sentences()
    assert len(texts) > 2000
    spellings = [s for k in load_keywords() if k.language == "ko" for s in k.spellings]
    assert not [t for t in texts if any(s in t for s in spellings)]
    assert all(not any("a" <= c.lower() <= "z" for c in t) for t in texts)


def test_splits_are_stable_and_disjoint():
    texts = corpus.english_sentences(300)
    assert [corpus.split_of(t) for t in texts] == [corpus.split_of(t) for t in texts]
    assert {corpus.split_of(t) for t in texts} == {"train", "val", "test"}


def test_more_texts_are_clean_new_and_leave_val_and_test_alone():
    pytest.importorskip("konlpy")
    if not corpus.FORTUNES_DIR.is_dir():
        pytest.skip("Debian fortunes not installed")
    keywords = load_keywords()
    for language in ("ko", "en"):
        base = set(corpus.base_sentences(language))
        more = corpus.more_sentences(language)
        assert len(more) > 3000 and not base & set(more)
        spellings = [s.lower() for k in keywords if k.language == language for s in k.spellings]
        assert not [t for t in more if any(s in t.lower() for s in spellings)]
        # split by the same hash as the base pool: a train split never speaks a val or test text
        train = corpus.sentences(language, "train", pool="more")
        assert train and {corpus.split_of(t) for t in train} == {"train"}
    plan = synthdata.SplitPlan(0, 5, near_miss_voices=0, texts="more")
    jobs = synthdata.plan_jobs(tuple(keywords), "train13", plan)
    more_en = set(corpus.more_sentences("en"))
    assert len(jobs) == 10 and all(j.label == synthdata.NEGATIVE for j in jobs)
    assert all(j.parts[0] in more_en for j in jobs if j.language == "en")
    # val5 / test5: every val / test text of the pool, three voices of that split each
    for split, role in (("val5", "val"), ("test5", "test")):
        jobs = synthdata.plan_jobs(tuple(keywords), split, pipeline.PRESETS["full"].splits[split])
        texts = [t for lang in ("en", "ko") for t in corpus.sentences(lang, role, pool="more")]
        assert sorted(j.parts[0] for j in jobs) == sorted(texts * 3)
        flite = {j.voice.name for j in jobs if j.voice.engine == "flite"}
        assert flite <= set(synthdata.SPLIT_FLITE[role]) and bool(flite) == bool(synthdata.SPLIT_FLITE[role])


def test_a_split_can_leave_out_the_texts_other_splits_read():
    pytest.importorskip("konlpy")
    if not corpus.FORTUNES_DIR.is_dir():
        pytest.skip("Debian fortunes not installed")
    keywords = tuple(load_keywords())
    first = synthdata.SplitPlan(0, 40, near_miss_voices=0, texts="more")
    second = synthdata.SplitPlan(0, 30, near_miss_voices=0, texts="more", skip_texts_of=("train13",))
    rest = synthdata.SplitPlan(0, 0, near_miss_voices=0, texts="more", skip_texts_of=("train13", "train15"))
    preset = replace(pipeline.PRESETS["full"], splits={"train13": first, "train15": second, "train14": rest})
    read_first = {j.parts[0] for j in synthdata.plan_jobs(keywords, "train13", first)}
    assert pipeline._skipped_texts(keywords, preset, "train15") == read_first and len(read_first) == 80
    # the second split's texts are planned with its own skips: none of the first's
    read_second = {j.parts[0] for j in synthdata.plan_jobs(keywords, "train15", second, read_first)}
    assert len(read_second) == 60 and not read_second & read_first
    skipped = pipeline._skipped_texts(keywords, preset, "train14")
    assert skipped == read_first | read_second
    jobs = synthdata.plan_jobs(keywords, "train14", rest, skipped)
    read_rest = {j.parts[0] for j in jobs}
    assert not read_rest & skipped
    # together the three splits read every train text of the pool, each once
    pool = {t for lang in ("en", "ko") for t in corpus.sentences(lang, "train", pool="more")}
    assert read_rest | skipped == pool and len(jobs) == len(pool) - 140
    with pytest.raises(ValueError, match="train99"):
        pipeline._skipped_texts(keywords, replace(preset, splits={"train14": replace(rest, skip_texts_of=("train99",))}),
                                "train14")
    circle = {"train13": replace(first, skip_texts_of=("train14",)), "train14": rest, "train15": second}
    with pytest.raises(ValueError, match="circle"):
        pipeline._skipped_texts(keywords, replace(preset, splits=circle), "train14")


def test_test_wide_reads_the_wide_pools_test_texts_in_test_voices_and_stays_out_of_test(tmp_path, monkeypatch):
    assert [synthdata._base(s) for s in ("train16", "val4", "test", "test_wide")] == ["train", "val", "test", "test"]
    words = ("the", "quiet", "river", "runs", "past", "an", "old", "mill", "each", "morning", "slowly", "green")
    texts = [" ".join(words[(i + k) % len(words)] for k in range(3 + i % 5)) + f" {words[i % 7]} stop"
             for i in range(200)]
    monkeypatch.setitem(corpus.POOLS, "wide", lambda language: texts)
    keywords = tuple(k for k in load_keywords() if k.language == "en")
    plan = pipeline.PRESETS["full"].splits["test_wide"]
    jobs = synthdata.plan_jobs(keywords, "test_wide", plan)
    # every test text of the pool once, no keyword, no near miss
    test_texts = {t for t in texts if corpus.split_of(t) == "test"}
    assert test_texts and sorted(j.parts[0] for j in jobs) == sorted(test_texts)
    assert all(j.label == synthdata.NEGATIVE for j in jobs)
    # test voices only: flite rms, festival ked_diphone, espeak-ng test stock variants ("<lang>+<variant>")
    # or random ones (a variant file of their own)
    test_stock = set(synthdata._stock_for("test"))
    stock_seen = 0
    for job in jobs:
        if job.voice.engine == "flite":
            assert job.voice.name in synthdata.SPLIT_FLITE["test"]
        elif job.voice.engine == "festival":
            assert job.voice.name in synthdata.SPLIT_FESTIVAL["test"]
        else:
            assert job.voice.engine == "espeak"
            variant = job.voice.name.partition("+")[2]
            assert variant in test_stock if variant else job.voice.variant_text
            stock_seen += bool(variant)
    assert stock_seen
    # the evaluation's "test" merges test<digit> sets only: test_wide is reported on its own
    for name in ("test", "test4", "test_wide"):
        (tmp_path / f"clips_{name}.npz").write_bytes(b"")
    assert [p.name for p in synthdata.split_files(tmp_path, "test")] == ["clips_test.npz", "clips_test4.npz"]
    assert [p.name for p in synthdata.split_files(tmp_path, "test_wide")] == ["clips_test_wide.npz"]


def test_companding_round_trips_are_close():
    x = (np.sin(np.linspace(0, 200, 8000)) * 0.5).astype(np.float32)
    for fn in (channel.mu_law_round_trip, channel.a_law_round_trip):
        y = fn(x)
        assert y.shape == x.shape and np.max(np.abs(y - x)) < 0.03


def test_gsm_round_trip_keeps_length_and_energy():
    t = np.arange(8000) / 8000
    x = (0.3 * np.sin(2 * np.pi * 700 * t)).astype(np.float32)
    y = channel.gsm_round_trip(x)
    assert y.shape == x.shape
    assert 0.3 < np.std(y[800:]) / np.std(x[800:]) < 3


def test_bandpass_cuts_outside_300_3400_hz():
    t = np.arange(16000) / 8000
    def gain(freq):
        x = np.sin(2 * np.pi * freq * t).astype(np.float32)
        return np.std(channel.bandpass(x)[4000:]) / np.std(x)
    assert gain(1000) > 0.9
    assert gain(100) < 0.1 and gain(3900) < 0.3


def test_channel_sets_level_and_keeps_length():
    x = RNG.standard_normal(8000).astype(np.float32) * 0.1
    cfg = channel.ChannelConfig(reverb_prob=0, noise_prob=0, clip_prob=0, codec_probs=(1, 0, 0, 0),
                                level_dbfs_range=(-20, -20))
    y = channel.apply_channel(x, RNG, [], [], cfg)
    assert y.shape == x.shape
    assert 20 * np.log10(np.sqrt(np.mean(y**2))) == pytest.approx(-20, abs=1.5)


def test_non_speech_sounds_are_bounded():
    for _ in range(14):
        x = channel.non_speech(4000, RNG)
        assert x.shape == (4000,) and np.all(np.isfinite(x))


def test_neural_clips_are_augmented_more_often():
    """``neural_copies`` multiplies the channel copies of Kokoro clips only."""
    from kwstrain.synthdata import NEGATIVE, ClipSet
    from kwstrain.windows import WindowPlan, build_windows

    audio = (np.random.default_rng(0).standard_normal(12000) * 0.1).astype(np.float16)
    counts = {}
    for voice in ("espeak:ko:170:50:0", "kokoro:ko|jf_alpha=1.000:100:50:0"):
        clip = ClipSet(audio, np.array([0, audio.size]), np.array([NEGATIVE]), np.array(["ko"]),
                       np.array([voice]), np.array(["text"]), np.array([-1]), np.array([-1]))
        for copies in (1, 3):
            plan = WindowPlan(augment_copies=2, non_speech_clips=0, neural_copies=copies,
                              espeak_rate_range=(1.0, 1.0), other_rate_range=(1.0, 1.0))  # fixed lengths
            counts[voice.split(":")[0], copies] = len(build_windows(clip, ["_none"], [], [], plan)[0])
    assert counts["espeak", 3] == counts["espeak", 1]
    assert counts["kokoro", 3] == 3 * counts["kokoro", 1]


def test_val_reads_its_flite_share_with_espeak_ng():
    """val has no flite voice of its own (flite's awb_time is a talking clock): no val clip is flite's,
    and its English is still read by more than one engine."""
    keywords = tuple(load_keywords())
    jobs = synthdata.plan_jobs(keywords, "val", pipeline.PRESETS["full"].splits["val"])
    engines = {j.voice.engine for j in jobs if j.language == "en"}
    assert "flite" not in engines and "espeak" in engines
    assert synthdata.SPLIT_FLITE["val"] == () and synthdata.SPLIT_FLITE["test"]


def test_a_clip_the_engine_did_not_say_is_dropped(tmp_path):
    """flite's awb_time says only times of day: for other text it returns a blip, and the clip is
    dropped, where a full voice's clip of the same text is kept."""
    import shutil

    from kwstrain import tts

    if not shutil.which("flite"):
        pytest.skip("flite not installed")
    synthdata._init_worker(tts.prepare_espeak_home(tmp_path))
    job = synthdata.ClipJob("en_idiot", "en", ("you are such an", "idiot"), 1, tts.Voice("flite", "kal", "en"), 1)
    audio, start, end = synthdata.run_job(job)
    assert 0 < start < end == audio.size
    assert synthdata.run_job(replace(job, voice=tts.Voice("flite", "awb_time", "en"))) is None
    assert synthdata.too_short("idiot") == 5 * synthdata.MIN_MS_PER_CHARACTER * tts.RATE_HZ // 1000
    assert synthdata.too_short("병신") == 2 * synthdata.MIN_MS_PER_CHARACTER * tts.RATE_HZ // 1000


def test_a_sentence_starting_with_dashes_is_spoken_not_parsed_as_an_option(tmp_path):
    """Fortune attributions start with "--"; espeak-ng reads the text from stdin, never as argv."""
    from kwstrain import tts

    voice = tts.Voice("espeak", "en-us", "en")
    home = tts.prepare_espeak_home(tmp_path)
    audio = tts.synthesize("-- said that this belief is old", voice, home)
    plain = tts.synthesize("said that this belief is old", voice, home)
    assert abs(audio.size - plain.size) < 0.1 * plain.size


def test_soup_copies_vary_line_and_seed_and_nothing_else():
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    copy = pipeline.varied(full, noise_prob=0.3, seed=4)
    assert copy.windows.channel.noise_prob == 0.3 and copy.windows.seed == 4 and copy.continue_train.seed == 4
    # the window cache is keyed by the window plan: another copy never reuses these windows
    assert repr(copy.windows) != repr(full.windows) != repr(pipeline.varied(full, seed=4).windows)
    assert copy.continue_splits == full.continue_splits and copy.continue_train.epochs == full.continue_train.epochs
    assert pipeline.varied(full) == full
    with pytest.raises(ValueError, match="--noise-prob must be within 0..1, got 1.5"):
        pipeline.varied(full, noise_prob=1.5)


def test_a_wider_head_changes_the_network_and_not_the_windows():
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    wide = pipeline.varied(full, head_channels=48, dense_units=96)
    assert (wide.shape.head_channels, wide.shape.dense_units) == (48, 96)
    assert wide.shape.block_channels == full.shape.block_channels and wide.windows == full.windows
    assert pipeline.varied(full, dense_units=96).shape.head_channels == full.shape.head_channels
    with pytest.raises(ValueError, match="--dense-units must be within 1..512, got 0"):
        pipeline.varied(full, dense_units=0)
    wider = pipeline.varied(full, block_channels=(80, 80, 128, 128))
    assert wider.shape.block_channels == (80, 80, 128, 128) and wider.windows == full.windows
    assert (wider.shape.head_channels, wider.shape.dense_units) == (full.shape.head_channels, full.shape.dense_units)
    with pytest.raises(ValueError, match="--block-channels takes 4 widths within 1..512, got \\[80, 80, 128\\]"):
        pipeline.varied(full, block_channels=(80, 80, 128))
    with pytest.raises(ValueError, match="--block-channels takes 4 widths"):
        pipeline.varied(full, block_channels=(80, 80, 128, 0))


def test_a_continue_grows_each_width_on_its_own_and_says_which_it_keeps():
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    # the shipped model's widths: its head (48) is wider than the preset's (32), its dense layer once merged (64) not
    merged = replace(full.shape, head_channels=48, dense_units=64)
    grown, kept = pipeline.grown_widths(merged, pipeline.varied(full, dense_units=96).shape)
    assert (grown.head_channels, grown.dense_units) == (48, 96)
    assert (grown.stem_channels, grown.block_channels) == (merged.stem_channels, merged.block_channels)
    assert kept == ["its head (48) is wider than the 32 asked for: kept"]
    body, kept = pipeline.grown_widths(merged, replace(full.shape, stem_channels=48, block_channels=(80, 48, 128, 96)))
    assert (body.stem_channels, body.block_channels) == (64, (80, 64, 128, 96))
    assert (body.head_channels, body.dense_units) == (48, 64)
    assert kept == ["its stem (64) is wider than the 48 asked for: kept",
                    "its block 2 (64) is wider than the 48 asked for: kept",
                    "its head (48) is wider than the 32 asked for: kept"]
    assert pipeline.grown_widths(merged, merged) == (merged, [])
    with pytest.raises(ValueError, match="the start has 4 blocks, the network asked for 3: a continue only widens"):
        pipeline.grown_widths(merged, replace(full.shape, block_channels=(64, 64, 96)))


def test_another_warp_range_changes_the_training_augmentation_only():
    from dataclasses import replace

    from kwstrain import pipeline
    from kwstrain.model import warp_positions

    full = pipeline.PRESETS["full"]
    wider = pipeline.varied(full, warp=0.2)
    assert wider.shape == replace(full.shape, warp=0.2) and wider.windows == full.windows
    # the mel bins of the widest warps reach further (bin b takes the energy at f_b / alpha)
    spread = lambda warp: float(np.ptp(warp_positions(warp)[:, 20]))  # noqa: E731
    assert spread(0.2) > spread(full.shape.warp) > 0
    with pytest.raises(ValueError, match="--warp must be within 0..0.4, got 0.5"):
        pipeline.varied(full, warp=0.5)
    jittered = pipeline.varied(full, formant_jitter=3.0)
    assert jittered.shape == replace(full.shape, formant_jitter=3.0) and jittered.windows == full.windows
    with pytest.raises(ValueError, match="--formant-jitter must be within 0..4 mel bins, got 5"):
        pipeline.varied(full, formant_jitter=5.0)


def test_the_wide_pools_train_splits_share_no_text_and_train19_reads_the_rest(monkeypatch):
    words = ("the", "quiet", "river", "runs", "past", "an", "old", "mill", "each", "morning", "slowly", "green")
    texts = [f"{words[i % 12]} {words[i // 12 % 12]} {words[i // 144 % 12]} {words[i // 1728 % 12]} stop"
             for i in range(12 ** 4)]
    monkeypatch.setitem(corpus.POOLS, "wide", lambda language: texts)
    keywords = tuple(k for k in load_keywords() if k.language == "en")
    preset = pipeline.PRESETS["full"]
    read = {}
    for split in ("train16", "train17", "train18", "train19"):
        jobs = synthdata.plan_jobs(keywords, split, preset.splits[split], pipeline._skipped_texts(keywords, preset, split))
        assert all(j.label == synthdata.NEGATIVE for j in jobs)
        read[split] = [j.parts[0] for j in jobs]
    assert [len(read[s]) for s in ("train16", "train17", "train18")] == [5000, 2000, 5000]
    everything = [t for s in read.values() for t in s]
    assert len(everything) == len(set(everything))  # no text twice, within or across the splits
    assert set(everything) == {t for t in texts if corpus.split_of(t) == "train"} and read["train19"]


def test_mining_in_runs_changes_the_mining_only():
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    assert full.train.mining_run_clips == 0 and full.continue_train.mining_run_clips == 0  # the shipped rounds
    runs = pipeline.varied(full, mine_runs=3)
    assert runs.train.mining_run_clips == 3 and runs.continue_train.mining_run_clips == 3
    assert runs.windows == full.windows and runs.shape == full.shape  # the cached windows stay valid
    assert runs.continue_train.epochs == full.continue_train.epochs
    with pytest.raises(ValueError, match="--mine-runs must be within 0..100, got -1"):
        pipeline.varied(full, mine_runs=-1)


def test_longer_continue_changes_its_epochs_only():
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    longer = pipeline.varied(full, epochs=12)
    assert longer.continue_train.epochs == 12 and full.continue_train.epochs == 5
    assert longer.continue_train.finetune_epochs == full.continue_train.finetune_epochs  # the mining rounds as they were
    assert longer.train == full.train  # `train` from nothing keeps its own plan
    assert longer.windows == full.windows and longer.shape == full.shape  # the cached windows stay valid
    for bad in (0, 101):
        with pytest.raises(ValueError, match=f"--epochs must be within 1..100, got {bad}"):
            pipeline.varied(full, epochs=bad)


def test_train_epochs_change_the_training_from_nothing_only(tmp_path, capsys):
    """``--train-epochs`` sets the epochs of ``train`` and leaves ``continue`` and the windows alone;
    ``--train-splits`` is refused for a set that is not a training split, as ``--continue-splits`` is."""
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    shorter = pipeline.varied(full, train_epochs=15)
    assert shorter.train.epochs == 15 and full.train.epochs == 30
    assert shorter.train.finetune_epochs == full.train.finetune_epochs  # the mining rounds as they were
    assert shorter.continue_train == full.continue_train
    assert shorter.windows == full.windows and shorter.shape == full.shape  # the cached windows stay valid
    for bad in (0, 101):
        with pytest.raises(ValueError, match=f"--train-epochs must be within 1..100, got {bad}"):
            pipeline.varied(full, train_epochs=bad)
    with pytest.raises(SystemExit):
        pipeline.main(["train", "--build", str(tmp_path), "--train-splits", "train", "val"])
    assert "--train-splits: val not a training split" in capsys.readouterr().err


def test_unsure_positives_change_the_mining_rounds_only():
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    assert full.train.unsure_positives == 0 and full.continue_train.unsure_positives == 0  # the shipped rounds
    more = pipeline.varied(full, unsure_positives=6000)
    assert more.train.unsure_positives == 6000 and more.continue_train.unsure_positives == 6000
    assert replace(more.continue_train, unsure_positives=0) == full.continue_train
    assert more.windows == full.windows and more.shape == full.shape  # the cached windows stay valid
    for bad in (-1, 200_001):
        with pytest.raises(ValueError, match=f"--unsure-positives must be within 0..200000, got {bad}"):
            pipeline.varied(full, unsure_positives=bad)


def test_teacher_options_without_teachers_are_refused(tmp_path, capsys):
    """``--teacher-weight`` and ``--teach-on`` only shape what ``--teachers`` teach: alone they would be ignored."""
    for option in (["--teacher-weight", "0.4"], ["--teach-on", "keywords"]):
        with pytest.raises(SystemExit):
            pipeline.main(["continue", "--build", str(tmp_path), *option])
        assert "--teacher-weight and --teach-on shape what --teachers teach" in capsys.readouterr().err


def _two_clips(audio: np.ndarray, label: str = "en_idiot") -> synthdata.ClipSet:
    """A keyword clip (the first third of ``audio``) and a negative one (the rest)."""
    cut = audio.size // 3
    return synthdata.ClipSet(audio, np.array([0, cut, audio.size]), np.array([label, synthdata.NEGATIVE]),
                             np.array(["en", "en"]), np.array(["espeak:a", "espeak:b"]), np.array(["t", "u"]),
                             np.array([5, -1]), np.array([cut - 50, -1]))


def test_cached_windows_follow_the_clips_not_the_split_names():
    """A clip set synthesized again under the same name (val, when it lost flite's talking clock) gets
    a new checksum, so its windows are cut again instead of read from the old cache."""
    from kwstrain.pipeline import clips_crc

    audio = RNG.standard_normal(800).astype(np.float16)
    same = clips_crc(_two_clips(audio))
    assert clips_crc(_two_clips(audio.copy())) == same
    assert clips_crc(synthdata.merge_clips([_two_clips(audio)])) == same  # merged (re-packed) audio: the same clips
    changed = audio.copy()
    changed[123] += np.float16(0.5)
    assert clips_crc(_two_clips(changed)) != same
    assert clips_crc(_two_clips(audio, label="en_shit")) != same


def test_npz_files_are_written_whole_or_not_at_all(tmp_path):
    path = tmp_path / "clips_train.npz"
    path.write_bytes(b"an older set")
    synthdata.save_npz(path, audio=np.arange(5, dtype=np.float16), labels=np.array(["_none"]))
    with np.load(path) as data:
        assert data["audio"].tolist() == [0, 1, 2, 3, 4] and data["labels"].tolist() == ["_none"]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no side file, no ".npz.npz"


def test_cached_windows_stay_valid_when_another_clip_set_is_synthesized(tmp_path):
    """The cache is checked against the clip files its windows are cut from: synthesizing a set they do
    not read (``train25`` beside windows of ``train`` and ``train2``) keeps them; a newer source cuts again."""
    import os

    from kwstrain.pipeline import _cached_windows

    labels = ["_none", "en_idiot"]
    for name in ("train", "train2", "train25"):
        (tmp_path / f"clips_{name}.npz").write_bytes(b"")
    sources = [tmp_path / "clips_train.npz", tmp_path / "clips_train2.npz"]
    cache = tmp_path / "windows_train_0000abcd.npz"
    built = []

    def build():
        built.append(1)
        return np.full((2, 3), len(built), np.float32), np.zeros(2, np.int64)

    def age(path, seconds):
        os.utime(path, (seconds, seconds))

    for path in sources:
        age(path, 1_000)
    assert _cached_windows(cache, labels, sources, build)[0][0, 0] == 1
    age(cache, 2_000)
    age(tmp_path / "clips_train25.npz", 3_000)  # a set these windows do not read, synthesized later
    assert _cached_windows(cache, labels, sources, build)[0][0, 0] == 1 and len(built) == 1
    age(sources[1], 3_000)  # one of its own sets synthesized again: cut again
    assert _cached_windows(cache, labels, sources, build)[0][0, 0] == 2
    assert _cached_windows(cache, labels, sources, build)[0][0, 0] == 2  # the new cache is newer than its sources
    assert _cached_windows(cache, ["_none", "en_shit"], sources, build)[0][0, 0] == 3  # other labels: cut again
    cache.write_bytes(cache.read_bytes()[:100])  # a cache cut short (a run stopped while writing it)
    assert _cached_windows(cache, labels, sources, build)[0][0, 0] == 4
    assert _cached_windows(cache, labels, sources, build)[0][0, 0] == 4  # written whole this time: reused
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("windows")) == [cache.name]  # no side file


def test_a_training_split_can_be_weighted_by_repeating_it(tmp_path, capsys):
    """``train20*3`` reads train20's clips three times (more weight for a small set, such as the rhymes);
    a bad count is refused with the name, and the pipeline checks the split under the count."""
    from kwstrain.synthdata import ClipSet, load_splits, split_weight

    clips = _two_clips(RNG.standard_normal(600).astype(np.float16))
    for name in ("train", "train20"):
        np.savez(tmp_path / f"clips_{name}.npz", **{f: getattr(clips, f) for f in ClipSet.__dataclass_fields__})
    assert split_weight("train20") == ("train20", 1) and split_weight("train20*3") == ("train20", 3)
    three = load_splits(tmp_path, ["train", "train20*3"])
    assert len(three) == 4 * len(clips) and list(three.labels).count("en_idiot") == 4
    assert np.array_equal(three.clip(7), clips.clip(1))
    for bad in ("train20*0", "train20*x", "train20*", "train20*21"):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            split_weight(bad)
    with pytest.raises(FileNotFoundError, match="train21"):
        load_splits(tmp_path, ["train21*2"])
    with pytest.raises(SystemExit):
        pipeline.main(["continue", "--build", str(tmp_path), "--continue-splits", "train", "val*2"])
    assert "val not a training split" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        pipeline.main(["continue", "--build", str(tmp_path), "--continue-splits", "train20*0"])
    assert "'train20*0'" in capsys.readouterr().err


def test_a_training_split_can_be_narrowed_to_one_language(tmp_path, capsys):
    """``train2@en`` reads only train2's English clips, in their order (the copies of round 17 learn from
    one language's keyword clips of a set that holds both); ``@ko*2`` also repeats; a language the set has
    no clips of, or a malformed code, is refused with the set's name."""
    from kwstrain.synthdata import ClipSet, load_splits, split_base, split_language

    english = _two_clips(RNG.standard_normal(600).astype(np.float16))
    korean = _two_clips(RNG.standard_normal(900).astype(np.float16), label="ko_jiral")
    korean.languages[:] = "ko"
    both = synthdata.merge_clips([english, korean, english])
    np.savez(tmp_path / "clips_train2.npz", **{f: getattr(both, f) for f in ClipSet.__dataclass_fields__})
    assert split_language("train2@en") == ("train2", "en") and split_language("train2") == ("train2", None)
    assert split_base("train2@ko*2") == "train2" and split_base("train20*3") == "train20"
    only_en = load_splits(tmp_path, ["train2@en"])
    assert len(only_en) == 4 and set(only_en.languages) == {"en"}
    for i, j in enumerate([0, 1, 4, 5]):
        assert np.array_equal(only_en.clip(i), both.clip(j)) and only_en.texts[i] == both.texts[j]
    assert list(only_en.kw_start) == [5, -1, 5, -1]
    twice_ko = load_splits(tmp_path, ["train2@ko*2", "train2"])
    assert list(twice_ko.labels).count("ko_jiral") == 3 and len(twice_ko) == 4 + 6
    assert np.array_equal(twice_ko.clip(2), korean.clip(0))
    with pytest.raises(ValueError, match=r"clips_train2\.npz: no ja clips.*holds en, ko"):
        load_splits(tmp_path, ["train2@ja"])
    for bad in ("train2@", "train2@EN", "train2@e1"):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            split_language(bad)
    with pytest.raises(SystemExit):
        pipeline.main(["continue", "--build", str(tmp_path), "--continue-splits", "val@en"])
    assert "val not a training split" in capsys.readouterr().err


def test_later_keyword_windows_are_a_new_window_plan():
    from kwstrain import pipeline

    full = pipeline.PRESETS["full"]
    later = pipeline.varied(full, positive_late_ms=400)
    assert later.windows.positive_end_late_frames == 40 and later.shape == full.shape
    assert repr(later.windows) != repr(full.windows)  # its windows are cut anew, not read from the cache
    assert pipeline.varied(full, positive_late_ms=220).windows == full.windows
    for bad in (-10, 610, 405):
        with pytest.raises(ValueError, match=f"--positive-late-ms must be a multiple of 10 within 0..600, got {bad}"):
            pipeline.varied(full, positive_late_ms=bad)
