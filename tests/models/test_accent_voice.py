"""Accented speakers: festival's Czech, Finnish, Italian, Russian and Hindi voices reading
Korean and English from espeak-ng phonemes (kwstrain/accent.py)."""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from kwstrain import accent, synthdata, tts
from lineguard.audio.wavio import write_wav


def test_english_is_respelled_in_each_orthography():
    ipa = "fˈʌk juː , ʃˈʌt ˌʌp , θˈæŋk juː"
    assert accent.respell(ipa, "cs") == "fak jú šat ap tenk jú"
    assert accent.respell(ipa, "fi") == "fak juu sat ap tängk juu"
    assert accent.respell(ipa, "it") == "fac iu sciat ap tenc iu"


def test_korean_tense_consonants_double_where_the_language_has_long_ones():
    ipa = "s-ibˈɐɫ ɡˈɛsɛq-ˌi"  # 씨발 개새끼 as espeak-ng writes them
    assert accent.respell(ipa, "cs", korean=True) == "sibal geseki"
    assert accent.respell(ipa, "fi", korean=True) == "ssibal gesekki"
    assert accent.respell(ipa, "it", korean=True) == "ssibal ghesecchi"  # g, k before e: gh, ch


def test_korean_eo_is_o_and_palatals_absorb_j():
    ipa = "q-ˈʌdʑjʌ"  # 꺼져
    assert accent.respell(ipa, "cs", korean=True) == "kodžo"
    assert accent.respell(ipa, "it", korean=True) == "ccogio"
    assert accent.respell("ʌ", "cs") == "a"  # English ʌ stays a


def test_czech_keeps_d_t_n_hard_before_i():
    assert accent.respell("ˈɪdɪət", "cs") == "idyet"  # not the soft ďi
    assert accent.respell("tˈiː nˈiː", "cs") == "tý ný"


def test_russian_writes_iotated_vowels_hard_e_and_korean_eu():
    ipa = "fˈʌk juː , ʃˈʌt ˌʌp , θˈæŋk juː , aɪ"
    assert accent.respell(ipa, "ru") == "фак ю шат ап тэнгк ю ай"  # j + u is ю, æ the hard э, aɪ ends in й
    assert accent.respell("s-ibˈɐɫ ɡˈɛsɛq-ˌi", "ru", korean=True) == "ссибал гэсэкки"
    assert accent.respell("pjˈʌŋsin", "ru", korean=True) == "пёнгсин"  # 병신: j + ㅓ (o) is ё
    assert accent.respell("ɯ", "ru", korean=True) == "ы"  # Korean ㅡ


def test_hindi_signs_viramas_and_aspirated_letters():
    # English: short a is the inherent vowel (no sign), retroflex t, no vowel before a consonant or at the end
    assert accent.respell("fˈʌk , ʃˈʌt ˌʌp , aɪ", "hi") == "फक् शट् अप् आइ"
    # Korean: a is the long आ, t dental, the aspirated ㅊ (tʃ h) one letter, tense consonants doubled
    assert accent.respell("dˈɐqtʃhjʌ", "hi", korean=True) == "दाक्छ्यो"
    assert accent.respell("s-ibˈɐɫ", "hi", korean=True) == "स्सिबाल्"
    assert accent.respell("tˈʌ thˈʌ", "hi", korean=True) == "तो थो"
    # vowels at the start of a word or after another vowel are written whole
    assert accent.respell("ˈiː ˈoʊkeɪ", "hi") == "ई ओउकेइ"


def test_second_group_recordings_lose_a_quiet_humming_tail():
    rate = 16000
    t = np.arange(rate) / rate
    word = 0.3 * np.sin(2 * np.pi * 700 * t[: rate * 3 // 10])  # 300 ms of "speech"
    tail = 0.01 * np.sin(2 * np.pi * 50 * t) + 0.002 * np.random.default_rng(0).standard_normal(rate) + 0.01
    buf = io.BytesIO()
    write_wav(buf, np.concatenate([np.zeros(rate // 10), word, tail]), rate)
    kept, kept_rate = tts.parse_wav_bytes(accent._cleaned(buf.getvalue()))
    assert kept_rate == rate
    assert 0.3 * rate <= kept.size <= 0.4 * rate  # the word and a few frames either side, not the 1 s tail
    assert abs(float(kept.mean())) < 100 / 32768  # the DC offset is gone


def test_italian_soft_and_hard_c_g():
    assert accent.respell("kˈɪl", "it") == "chil"
    assert accent.respell("tʃˈiː tʃˈɑː", "it") == "ci cia"
    assert accent.respell("ɡˈɛt ɡˈɑːt", "it") == "ghet gat"


def test_every_respelling_fits_its_voice_encoding():
    ipa = accent.espeak_ipa("지랄하네 좆같네 뭐 하는 거야", "ko") + " " + accent.espeak_ipa("the weather is nice, shut up", "en-us")
    letters = {"ru": set("абвгдежзийклмнопрстуфхцчшщъыьэюяё "),
               "hi": {chr(c) for c in range(0x0900, 0x0980)} - {"\u093c"} | {" "}}  # no nukta: the voice crashes on it
    for orthography, encoding in accent.ENCODING.items():
        spelled = accent.respell(ipa, orthography, korean=True)
        spelled.encode(encoding)  # raises if a letter cannot be written
        allowed = letters.get(orthography, set("abcdefghijklmnopqrstuvwxyzäöáéíóúýčšž "))
        assert spelled and not set(spelled) - allowed, orthography


def test_names_round_trip_and_reject_malformed():
    rng = random.Random(5)
    names = [accent.random_name(rng, lang) for lang in ("ko", "en") * 20]
    for name, stretch in names:
        voice, language = accent.parse_name(name)
        assert voice in accent.VOICES and language in ("ko", *accent.ENGLISH_ACCENTS) and 85 <= stretch <= 125
    assert {accent.parse_name(n)[0] for n, _ in names} == set(accent.VOICES)
    more = {accent.parse_name(accent.random_name(rng, lang, "accent2")[0])[0] for lang in ("ko", "en") * 10}
    assert more == set(accent.MORE_VOICES)  # the second group draws only its own two men
    with pytest.raises(ValueError, match="festival voice"):
        accent.parse_name("kal_diphone|en-us")
    with pytest.raises(ValueError, match="festival voice"):
        accent.parse_name("czech_dita")


def test_accent_voices_train_only():
    voices = [synthdata.split_voice(random.Random(i), "en", "train11", "accent") for i in range(40)]
    assert {v.engine for v in voices} <= {"accent", "festival"} and "accent" in {v.engine for v in voices}
    assert all(v.name == "kal_diphone" for v in voices if v.engine == "festival")
    assert all(synthdata.split_voice(random.Random(i), "ko", "train11", "accent").engine == "accent" for i in range(10))
    with pytest.raises(ValueError, match="train only"):
        synthdata.split_voice(random.Random(0), "ko", "test11", "accent")
    # the second group: its own voices only, no kal_diphone share
    more = [synthdata.split_voice(random.Random(i), "en", "train23", "accent2") for i in range(40)]
    assert {v.engine for v in more} == {"accent"} and {v.name.split("|")[0] for v in more} == set(accent.MORE_VOICES)
    with pytest.raises(ValueError, match="train only"):
        synthdata.split_voice(random.Random(0), "en", "val", "accent2")


@pytest.mark.parametrize("voice", sorted(accent.ORTHOGRAPHY))
def test_each_voice_speaks_a_keyword_at_8k(voice: str, tmp_path: Path):
    if shutil.which("text2wave") is None or voice not in tts.festival_voices_found():
        pytest.skip(f"festival voice {voice} not installed (edge/scripts/system-deps.sh)")
    slow = tts.Voice("accent", f"{voice}|ko", "ko", speed_wpm=125)
    fast = tts.Voice("accent", f"{voice}|ko", "ko", speed_wpm=85)
    audio = tts.synthesize("개새끼", slow, tmp_path)
    assert audio.dtype == np.float32 and 0.25 * tts.RATE_HZ < audio.size < 2.0 * tts.RATE_HZ
    assert 0.05 < float(np.max(np.abs(audio))) <= 1.0
    assert audio.size > 1.2 * tts.synthesize("개새끼", fast, tmp_path).size  # the duration stretch works
    english = tts.synthesize("shut up", tts.Voice("accent", f"{voice}|en-us", "en", speed_wpm=100), tmp_path)
    assert 0.25 * tts.RATE_HZ < english.size < 2.0 * tts.RATE_HZ


@pytest.mark.skipif(shutil.which("text2wave") is None, reason="festival not installed")
def test_a_split_missing_one_of_its_voices_refuses_to_synthesize(monkeypatch, tmp_path: Path):
    from kwstrain import pipeline

    assert synthdata.missing_voices("train") == []  # system-deps.sh installs every named voice
    # the train split once lost kal_diphone silently (its package was not installed): now it is an error
    monkeypatch.setattr(tts, "festival_voices_installed", lambda: ("ked_diphone", "cmu_us_slt_arctic_hts"))
    assert synthdata.missing_voices("train") == ["festival kal_diphone"]
    assert synthdata.missing_voices("test") == []
    with pytest.raises(RuntimeError, match="festival kal_diphone"):
        pipeline.run_data(tmp_path, pipeline.PRESETS["tiny"], pipeline.MODELS_DIR / "keywords.toml", ["ko_ssibal"], 1,
                          ["train"])
    assert not (tmp_path / "clips_train.npz").exists()
    # the accented speakers' split the same way
    assert synthdata.missing_voices("train11", "accent") == []
    assert synthdata.missing_voices("train3", "kokoro") == []  # the neural engines are checked on their own
    assert synthdata.missing_voices("train23", "accent2") == []
    monkeypatch.setattr(accent, "installed", lambda group="accent": ("czech_dita",))
    assert "festival pc_diphone" in synthdata.missing_voices("train11", "accent")
    assert synthdata.missing_voices("train23", "accent2") == ["festival hindi_NSK_diphone",
                                                             "festival msu_ru_nsh_clunits"]


def test_a_voice_festival_cannot_load_is_named_in_the_error(tmp_path: Path, monkeypatch):
    """festival exits 0 and writes nothing when a voice fails to load (a missing voice or language file):
    the error names the voice and festival's own message instead of a missing-file error later."""
    if shutil.which("text2wave") is None:
        pytest.skip("festival not installed (edge/scripts/system-deps.sh)")
    monkeypatch.setitem(accent.ORTHOGRAPHY, "no_such_voice", "cs")  # festival has no voice by this name
    with pytest.raises(RuntimeError, match=r"festival voice no_such_voice wrote no audio for '개새끼': .*no_such_voice"):
        accent.synthesize_wav("개새끼", "no_such_voice|ko", 100, tmp_path)


def test_a_plain_festival_voice_that_cannot_load_is_named_too(tmp_path: Path):
    """The festival engine of the classic splits goes through the same check (kwstrain.tts.run_text2wave)."""
    if shutil.which("text2wave") is None:
        pytest.skip("festival not installed (edge/scripts/system-deps.sh)")
    with pytest.raises(RuntimeError, match=r"festival voice no_such_voice wrote no audio for 'you idiot': .*no_such_voice"):
        tts.synthesize("you idiot", tts.Voice("festival", "no_such_voice", "en"), tmp_path)
