"""Evaluation streams: continuous audio with known keyword positions.

``positive`` stream: each keyword clip of a language preceded by an everyday
sentence or a pause (as in a call), each utterance through its own random
telephone channel; ``negative`` stream: everyday conversational sentences
back to back with short pauses (no silence-only padding), ordered by a hash
of the text so that its two halves hold different sentences; ``near_miss``
stream: the near-miss words and sentences. Built only from test (or val)
clips, i.e. voices and texts never used in training.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from kwstrain.channel import ChannelConfig, apply_channel, make_rirs
from kwstrain.synthdata import NEGATIVE, ClipSet

RATE_HZ = 8000


@dataclass(frozen=True)
class KeywordSpan:
    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Stream:
    name: str
    language: str
    audio: np.ndarray
    spans: tuple[KeywordSpan, ...]
    # (start s, end s, text) of each utterance of a conversation or near-miss stream, for finding what fired
    utterances: tuple[tuple[float, float, str], ...] = ()

    @property
    def duration_s(self) -> float:
        return self.audio.size / RATE_HZ


def _pause(rng: np.random.Generator, low_s: float, high_s: float) -> np.ndarray:
    return np.zeros(int(rng.uniform(low_s, high_s) * RATE_HZ), np.float32)


def _assemble(pieces: list[np.ndarray], rng: np.random.Generator, floor_dbfs: float) -> np.ndarray:
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    floor = rng.standard_normal(audio.size).astype(np.float32) * 10 ** (floor_dbfs / 20)
    return audio + floor


def build_streams(clips: ClipSet, language: str, near_miss_texts: set[str], seed: int = 0,
                  max_positives: int | None = None, max_negative_s: float | None = None,
                  channel: ChannelConfig = ChannelConfig(), floor_dbfs: float = -60.0) -> dict[str, Stream]:
    """The three streams of one language; every utterance through its own random ``channel``,
    and white noise at ``floor_dbfs`` under the whole stream (the line's own noise)."""
    rng = np.random.default_rng(seed)
    rirs = make_rirs(20, seed=seed + 77)
    lang = [i for i in range(len(clips)) if clips.languages[i] == language]
    positives = [i for i in lang if clips.labels[i] != NEGATIVE]
    near = [i for i in lang if clips.labels[i] == NEGATIVE
            and any(t in near_miss_texts for t in str(clips.texts[i]).split(" | "))]
    near_set = set(near)
    sentences = [i for i in lang if clips.labels[i] == NEGATIVE and i not in near_set]
    if max_positives is not None:
        positives = positives[:max_positives]
    streams = {}
    # positive stream
    pieces, spans, cursor = [], [], 0
    for i in positives:
        if sentences and rng.random() < 0.5:
            prefix = clips.clip(int(rng.choice(sentences)))
        else:
            prefix = np.zeros(0, np.float32)
        utt = np.concatenate([prefix, _pause(rng, 0.1, 0.6), clips.clip(i)])
        utt = apply_channel(utt, rng, rirs, [], channel)
        start = cursor + prefix.size + (utt.size - prefix.size - clips.clip(i).size)
        spans.append(KeywordSpan(str(clips.labels[i]), (start + clips.kw_start[i]) / RATE_HZ,
                                 (start + clips.kw_end[i]) / RATE_HZ))
        gap = _pause(rng, 0.8, 1.5)
        pieces += [utt, gap]
        cursor += utt.size + gap.size
    streams["positive"] = Stream("positive", language, _assemble(pieces, rng, floor_dbfs), tuple(spans))
    # the conversation grouped by text (a sentence spoken by several voices stays together), so its
    # first and second halves hold different sentences (the two-fold threshold check splits there)
    by_text = sorted(sentences, key=lambda i: (zlib.crc32(str(clips.texts[i]).encode()), i))
    for name, members, limit in (("negative", by_text, max_negative_s), ("near_miss", near, None)):
        pieces, total, utterances = [], 0, []
        for i in members:
            utt = apply_channel(clips.clip(i), rng, rirs, [], channel)
            gap = _pause(rng, 0.15, 0.6)
            pieces += [utt, gap]
            utterances.append((total / RATE_HZ, (total + utt.size) / RATE_HZ, str(clips.texts[i])))
            total += utt.size + gap.size
            if limit is not None and total >= limit * RATE_HZ:
                break
        streams[name] = Stream(name, language, _assemble(pieces, rng, floor_dbfs), (), tuple(utterances))
    return streams
