"""New speakers from the recorded training voices: Praat's "Change gender" (formant shift, new pitch).

The unseen English test voices are recorded people (festival's ``ked_diphone``, flite's ``rms``) whose
keywords the model recognizes but is unsure of; the training engines hold only a handful of recorded
speakers (flite ``kal``, ``awb``, ``slt``, festival ``kal_diphone``, ``cmu_us_slt_arctic_hts``, Piper's
joe). This engine makes more of them: a training voice says the text, then Praat (``praat-parselmouth``)
moves its formants by a ratio (the vocal tract: resampling) and its pitch to a new median and range by
PSOLA, independently of each other, which the resampling and the vocal-tract warp of the log-mel
(both move pitch and formants together) cannot. A man's recording becomes a woman's or a boy's voice,
a woman's a man's, and a speaker of the same sex gets another tract and another pitch.

A voice of this engine is an ordinary :class:`~kwstrain.tts.Voice` of its base engine with ``morph`` set
to ``"<formant ratio>,<pitch median Hz>,<pitch range factor>"``; :func:`kwstrain.tts.synthesize` applies it
after the base engine speaks. Training splits only: the base voices are training voices.
"""

from __future__ import annotations

import importlib.util
import random
import warnings

import numpy as np

# recorded training voices and the sex of their speaker; Korean is read by Piper (joe, accented) and by
# espeak-ng's Korean voice (a formant synthesizer with a random variant: counted as either)
MALE, FEMALE = "m", "f"
BASE_SEX = {"flite:kal": MALE, "flite:kal16": MALE, "flite:awb": MALE, "flite:slt": FEMALE,
            "festival:kal_diphone": MALE, "festival:cmu_us_slt_arctic_hts": FEMALE, "piper": MALE}
# target speakers: (share, pitch median range Hz); children get a shorter tract still
TARGETS = {"man": (0.45, (80.0, 150.0)), "woman": (0.45, (165.0, 255.0)), "child": (0.10, (240.0, 320.0))}
# formant ratio ranges, (base sex, target)
FORMANT_RATIOS = {(MALE, "man"): (0.92, 1.08), (MALE, "woman"): (1.08, 1.22), (MALE, "child"): (1.2, 1.32),
                  (FEMALE, "man"): (0.82, 0.93), (FEMALE, "woman"): (0.92, 1.08), (FEMALE, "child"): (1.06, 1.18)}
PITCH_RANGE = (0.6, 1.6)
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 60.0, 600.0


def available() -> bool:
    """Praat (``praat-parselmouth``) and Piper, whose joe is one of the base voices."""
    from kwstrain import piper_voice

    return importlib.util.find_spec("parselmouth") is not None and piper_voice.available()


def random_morph(rng: random.Random, base_sex: str) -> str:
    """A new speaker for a base voice of ``base_sex`` (``"m"``, ``"f"``; anything else: either), as the
    ``morph`` string of a :class:`~kwstrain.tts.Voice`."""
    names = list(TARGETS)
    target = rng.choices(names, [TARGETS[n][0] for n in names])[0]
    sex = base_sex if base_sex in (MALE, FEMALE) else rng.choice((MALE, FEMALE))
    lo, hi = FORMANT_RATIOS[(sex, target)]
    return f"{rng.uniform(lo, hi):.3f},{rng.uniform(*TARGETS[target][1]):.0f},{rng.uniform(*PITCH_RANGE):.2f}"


def parse(morph: str) -> tuple[float, float, float]:
    """``"1.150,210,1.20"`` -> (1.15, 210.0, 1.2), checked."""
    try:
        formant, pitch, spread = (float(v) for v in morph.split(","))
    except ValueError:
        raise ValueError(f"morph {morph!r}: expected '<formant ratio>,<pitch median Hz>,<pitch range factor>'") from None
    if not (0.5 <= formant <= 2.0 and PITCH_FLOOR_HZ <= pitch <= PITCH_CEILING_HZ and 0.0 <= spread <= 4.0):
        raise ValueError(f"morph {morph!r}: formant ratio 0.5-2, pitch median {PITCH_FLOOR_HZ:.0f}-"
                         f"{PITCH_CEILING_HZ:.0f} Hz, pitch range factor 0-4")
    return formant, pitch, spread


def change_voice(pcm: np.ndarray, rate_hz: int, morph: str) -> np.ndarray:
    """``pcm`` (float, mono, at ``rate_hz``) spoken by the speaker ``morph``, at the same rate. Where Praat
    finds no voiced frame, or its pitch resynthesis comes back silent (it does, now and then, for a clip of
    a few voiced frames), the clip keeps its pitch and only its formants move."""
    import parselmouth
    from parselmouth.praat import call

    formant, pitch, spread = parse(morph)
    x = np.asarray(pcm, np.float64)
    sound = parselmouth.Sound(x, sampling_frequency=float(rate_hz))
    voiced = call(sound.to_pitch(pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ),
                  "Count voiced frames") > 0
    peak = float(np.abs(x).max()) if x.size else 0.0
    for new_pitch, new_spread in ((pitch, spread), (0.0, 1.0)) if voiced else ((0.0, 1.0),):
        with warnings.catch_warnings():  # "no voiced segments found": handled here, by the fallback
            warnings.simplefilter("ignore", parselmouth.PraatWarning)
            out = call(sound, "Change gender", PITCH_FLOOR_HZ, PITCH_CEILING_HZ, formant, new_pitch, new_spread, 1.0)
        if out.sampling_frequency != rate_hz:
            raise RuntimeError(f"Change gender returned audio at {out.sampling_frequency} Hz, not {rate_hz}")
        y = np.asarray(out.values[0], np.float32)
        if np.all(np.isfinite(y)) and float(np.abs(y).max(initial=0.0)) >= 0.05 * peak:
            return y
    raise RuntimeError(f"Change gender ({morph}) returned silence for a clip of {x.size} samples")
