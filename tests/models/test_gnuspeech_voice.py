"""GnuSpeech, the articulatory synthesizer: random vocal tracts reading English, and
Korean written as its postures (kwstrain/gnuspeech_voice.py). The synthesis tests run
the real engine (WebAssembly under node, installed by `make venv`)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pytest

from kwstrain import gnuspeech_voice as gs
from kwstrain import synthdata, tts


def test_korean_words_become_syllabified_postures():
    assert gs.transcription(["s-", "i", "b", "a", "l"]) == "'s_ee.b_ah_l%a"  # 씨발
    # consonant clusters: the last consonant before a vowel starts the next syllable
    assert gs.transcription(["tʃ", "i", "n", "tʃ", "a"]) == "'ch_ee_n.ch_ah%a"
    assert gs.transcription(["a", "i"]) == "'ah.ee%a"  # two vowels, two syllables


def test_korean_text_is_made_up_words_of_a_user_dictionary():
    text, dictionary = gs.korean_text("씨발 진짜 닥쳐")
    words = text.split()
    assert len(words) == 3 and all(w.isalpha() and w.isascii() for w in words)
    entries = dict(line.split(" ", 1) for line in dictionary.splitlines())
    assert list(entries) == words
    assert entries[words[0]] == "'s_ee.b_ah_l%a"
    assert all(e.startswith("'") and e.endswith("%a") for e in entries.values())


def test_tokens_are_distinct_letters():
    tokens = [gs._token(i) for i in range(800)]
    assert len(set(tokens)) == 800 and all(t.isalpha() and t.islower() for t in tokens)


def test_speakers_span_children_women_and_men():
    lengths = [gs.speaker(seed)["voice"]["vocal_tract_length"] for seed in range(300)]
    assert min(lengths) < 13.0 and 13.5 < np.median(lengths) < 17.0 and max(lengths) > 17.5
    assert gs.speaker(7) == gs.speaker(7) and gs.speaker(7) != gs.speaker(8)
    files = gs.request_files(7, 1.1, "")
    assert "voice_name = lineguard" in files["trm_control_model.txt"]
    assert "tempo = 1.100" in files["trm_control_model.txt"]
    assert f"vocal_tract_length = {gs.speaker(7)['voice']['vocal_tract_length']:.3f}" in files["voice_lineguard.txt"]


def test_names_round_trip_and_reject_malformed():
    rng = random.Random(3)
    for language in ("ko", "en"):
        name, tempo = gs.random_name(rng, language)
        assert gs.parse_name(name)[1] == language and 80 <= tempo <= 125
    for bad in ("12", "x|en", "12|ja", "1|en|2"):
        with pytest.raises(ValueError, match="gnuspeech voice name"):
            gs.parse_name(bad)


def test_gnuspeech_voices_train_only():
    voice = synthdata.split_voice(random.Random(1), "ko", "train12", "gnuspeech")
    assert voice.engine == "gnuspeech" and gs.parse_name(voice.name)[1] == "ko"
    with pytest.raises(ValueError, match="trains only"):
        synthdata.split_voice(random.Random(0), "en", "val", "gnuspeech")


needs_engine = pytest.mark.skipif(not gs.available(), reason="GnuSpeech not installed (`make venv`: node + npm)")


def _say(text: str, seed: int, language: str, tmp: Path) -> np.ndarray:
    """Speaker ``seed`` saying ``text`` without GnuSpeech's random intonation: 8 kHz float32."""
    wav = gs.synthesize_wav(text, f"{seed}|{language}", 100, tmp, intonation_noise=False)
    pcm, rate = tts.parse_wav_bytes(wav)
    return tts._to_8k(pcm, rate, 1.0)


def _median_f0(x: np.ndarray, rate: int = 8000) -> float:
    """Median pitch of the loud frames (autocorrelation peak, 60–500 Hz)."""
    n, found = int(0.04 * rate), []
    loudness = np.sqrt(np.mean(x**2))
    for start in range(0, x.size - n, n // 2):
        frame = x[start : start + n] - x[start : start + n].mean()
        if np.sqrt(np.mean(frame**2)) < 0.3 * loudness:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1 :]
        lag = rate // 500 + int(np.argmax(ac[rate // 500 : rate // 60]))
        if ac[lag] > 0.5 * ac[0]:
            found.append(rate / lag)
    return float(np.median(found))


@needs_engine
@pytest.mark.parametrize("language,text", [("en", "shut up you idiot"), ("ko", "야 개새끼 장난해")])
def test_speaks_at_8k_with_the_voice_it_was_given(language, text, tmp_path):
    """A man and a child both speak through the engine's normal path; without the engine's
    random intonation the child's pitch sits as many semitones above the man's as their
    settings say (glottal reference + offset), within 2 semitones."""
    pitches = []
    for seed in (1, 2):  # 1: a man (17.9 cm), 2: a child (11.1 cm)
        audio = tts.synthesize(text, tts.Voice("gnuspeech", f"{seed}|{language}", language, speed_wpm=100),
                               Path("/nonexistent"))
        assert audio.dtype == np.float32 and 0.5 < audio.size / 8000 < 4.0
        assert np.max(np.abs(audio)) <= 1.0 and np.sqrt(np.mean(audio**2)) > 0.02
        pitches.append(_median_f0(_say(text, seed, language, tmp_path)))
    man, child = gs.speaker(1), gs.speaker(2)
    expected = (child["voice"]["reference_glottal_pitch"] + child["control"]["pitch_offset"]
                - man["voice"]["reference_glottal_pitch"] - man["control"]["pitch_offset"])
    assert expected > 10
    assert abs(12 * np.log2(pitches[1] / pitches[0]) - expected) < 2


@needs_engine
def test_the_vocal_tract_reaches_the_engine(tmp_path):
    """Same speaker, no random intonation: the same audio twice; only the tract length changed: other audio."""
    def say(files: dict) -> bytes:
        gs.speak("idiot", files, tmp_path / "t.wav")
        return (tmp_path / "t.wav").read_bytes()

    files = gs.request_files(1, 1.0, "", intonation_noise=False)
    first, again = say(files), say(files)
    length = f"vocal_tract_length = {gs.speaker(1)['voice']['vocal_tract_length']:.3f}"
    files["voice_lineguard.txt"] = files["voice_lineguard.txt"].replace(length, "vocal_tract_length = 14.000")
    shorter = say(files)
    assert first == again and shorter != first


@needs_engine
def test_tempo_changes_the_length():
    with tempfile.TemporaryDirectory() as tmp:
        slow = gs.synthesize_wav("what the fucking hell", "5|en", 80, Path(tmp))
        fast = gs.synthesize_wav("what the fucking hell", "5|en", 125, Path(tmp))
    assert len(slow) > 1.3 * len(fast)


@needs_engine
def test_server_answers_a_bad_request_and_keeps_serving():
    answer = gs._SERVER.request('{"text": "x", "out": "/tmp/x.wav", "files": {"../evil": "1"}}')
    assert answer == "error bad configuration file name ../evil"
    with tempfile.TemporaryDirectory() as tmp:
        assert gs.synthesize_wav("hello", "3|en", 100, Path(tmp))[:4] == b"RIFF"


@needs_engine
def test_the_user_dictionary_is_read(tmp_path):
    """Korean reaches GnuSpeech only through the user dictionary: a made-up word lasts as
    long as the pronunciation written for it (GnuSpeech skips a dictionary's first line)."""
    import wave

    def seconds(entry: str) -> float:
        out = tmp_path / "w.wav"
        gs.speak("zqa", gs.request_files(1, 1.0, f"zqa {entry}\n"), out)
        with wave.open(str(out)) as w:
            return w.getnframes() / w.getframerate()

    # five more syllables, ~0.4 s more (read as letters, both entries would give the same length)
    assert seconds("'m_uu.m_uu.m_uu.m_uu.m_uu.m_uu%a") - seconds("'m_uu%a") > 0.25


@needs_engine
def test_a_hung_synthesizer_is_restarted(monkeypatch, tmp_path):
    """No answer in time: the server is killed, the clip fails with a clear error, the next one works."""
    monkeypatch.setattr(gs, "TIMEOUT_S", 0)  # no synthesis answers in no time
    with pytest.raises(RuntimeError, match="no answer within 0 s"):
        gs.synthesize_wav("a long sentence for the synthesizer to say", "4|en", 100, tmp_path)
    monkeypatch.setattr(gs, "TIMEOUT_S", 60)
    assert gs.synthesize_wav("hello", "4|en", 100, tmp_path)[:4] == b"RIFF"
