"""Streaming TFLite keyword spotter (implements ``KeywordDetector``).

Audio -> :class:`StreamingLogMel` (blocks of ``hop_frames`` frames) -> a ring
of the last ``window_frames`` frames -> int8 model once per block -> scores
-> :class:`ScoreSmoother` (smoothing, thresholds, refractory) -> detections.

Every step works on fixed, aligned blocks, so the detections are the same
whatever the chunk sizes given to :meth:`TFLiteSpotter.process`. A long chunk
goes through each numpy step once for all the windows it completes (only the
model runs once per window), bit for bit as if it came in 40 ms pieces: that
is what makes ``lineguard detect`` and evaluation fast. Before the
first second of audio has arrived the window is filled with the features of
quiet noise, so a keyword right at the start of a stream is still heard.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lineguard.errors import ModelError
from lineguard.kws.base import Detection
from lineguard.kws.features import FeatureConfig, StreamingLogMel, log_mel
from lineguard.kws.scoring import ScoreSmoother, ScoringRule

LOG = logging.getLogger(__name__)
PRIMING_NOISE_DBFS = -60.0
PRIMING_SEED = 1234


@dataclass(frozen=True)
class ModelMetadata:
    """What the runtime needs to know about a model (the ``.json`` beside it)."""

    labels: tuple[str, ...]
    features: FeatureConfig
    window_frames: int
    hop_frames: int
    smooth_windows: int
    default_threshold: float
    thresholds: dict[str, float]
    output: str = "probabilities"  # or "logits": the runtime applies softmax
    smooth_windows_by_keyword: dict[str, int] = field(default_factory=dict)  # spans other than smooth_windows

    def spans(self) -> int | tuple[int, ...]:
        """The smoothing of :class:`ScoringRule`: one span, or one per label where some keyword has its own."""
        if not self.smooth_windows_by_keyword:
            return self.smooth_windows
        return tuple(self.smooth_windows_by_keyword.get(label, self.smooth_windows) for label in self.labels)

    @classmethod
    def load(cls, path: Path) -> "ModelMetadata":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                labels=tuple(data["labels"]),
                features=FeatureConfig.from_dict(data["features"]),
                window_frames=int(data["window_frames"]),
                hop_frames=int(data["hop_frames"]),
                smooth_windows=int(data["smooth_windows"]),
                default_threshold=float(data["default_threshold"]),
                thresholds={str(k): float(v) for k, v in data.get("thresholds", {}).items()},
                output=str(data.get("output", "probabilities")),
                smooth_windows_by_keyword=_spans_by_keyword(data, path),
            )
        except FileNotFoundError:
            raise ModelError(f"{path}: model metadata file not found") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: invalid model metadata ({exc!r})") from None


def _spans_by_keyword(data: dict, path: Path) -> dict[str, int]:
    spans = data.get("smooth_windows_by_keyword", {})
    if not isinstance(spans, dict):
        raise ValueError("smooth_windows_by_keyword is not a table of keyword: windows")
    out = {}
    for label, k in spans.items():
        if label not in data["labels"][1:]:
            raise ValueError(f"smooth_windows_by_keyword names {label!r}, not a keyword of the model")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"smooth_windows_by_keyword[{label!r}] = {k!r}: not a whole number of windows >= 1")
        out[str(label)] = k
    return out


def _priming_frames(meta: ModelMetadata) -> np.ndarray:
    cfg = meta.features
    n = (meta.window_frames - 1) * cfg.hop_samples + cfg.window_samples
    noise = np.random.default_rng(PRIMING_SEED).standard_normal(n) * 10 ** (PRIMING_NOISE_DBFS / 20)
    return log_mel(noise.astype(np.float32), cfg)[: meta.window_frames]


class TFLiteSpotter:
    """Keyword spotter over an int8 TFLite model; see the module docstring."""

    def __init__(self, interpreter: Any, meta: ModelMetadata, rule: ScoringRule) -> None:
        if rule.labels != meta.labels:
            raise ModelError("scoring rule labels do not match the model labels")
        self.meta = meta
        self.sample_rate_hz = meta.features.sample_rate_hz
        self._interp = interpreter
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        expected = (1, meta.window_frames, meta.features.mel_bins)
        if tuple(inp["shape"]) != expected or out["shape"][-1] != len(meta.labels):
            raise ModelError(f"model tensors {inp['shape']} -> {out['shape']} do not match metadata {expected}")
        self._in_index, self._out_index = inp["index"], out["index"]
        self._in_scale, self._in_zero = inp["quantization"]
        self._out_scale, self._out_zero = out["quantization"]
        self._in_dtype = inp["dtype"]
        self._out_dtype = out["dtype"]
        self._dequantize = None  # int8/uint8 output: one table lookup instead of three array operations
        if out["dtype"] in (np.int8, np.uint8) and self._out_scale:
            codes = np.arange(256, dtype=np.uint8).view(out["dtype"]).astype(np.float64)  # indexed by the byte
            self._dequantize = (codes - self._out_zero) * self._out_scale
        self._features = StreamingLogMel(meta.features, block_frames=meta.hop_frames)
        self._priming = _priming_frames(meta)
        self._smoother = ScoreSmoother(rule)
        self.reset()

    @property
    def rule(self) -> ScoringRule:
        return self._smoother.rule

    def reset(self) -> None:
        self._features.reset()
        self._smoother.reset()
        self._input = self._quantize(self._priming)  # the current window, in the model's input type

    def _quantize(self, frames: np.ndarray) -> np.ndarray:
        """Log-mel frames ``(n, mel_bins)`` in the model's input type (elementwise, so a window
        quantized block by block equals the window quantized at once)."""
        if self._in_dtype == np.float32:
            return frames.astype(np.float32)
        q = frames / self._in_scale
        q += self._in_zero
        np.rint(q, out=q)  # what np.round does for 0 decimals
        np.minimum(q, 127, out=q)  # = np.clip(q, -128, 127), without its Python wrapper
        np.maximum(q, -128, out=q)
        return q.astype(self._in_dtype)

    def window_scores(self, window: np.ndarray) -> np.ndarray:
        """Model scores (0..1 per label) for one ``(window_frames, mel_bins)`` log-mel window."""
        return self._probabilities(self._invoke(self._quantize(window))[None])[0]

    def _invoke(self, model_input: np.ndarray) -> np.ndarray:
        self._interp.set_tensor(self._in_index, model_input[None])
        self._interp.invoke()
        return self._interp.get_tensor(self._out_index)[0]

    def _probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Raw model outputs ``(n, labels)`` -> scores 0..1, float64, row by row (elementwise and
        per-row reductions only, so a row's scores do not depend on the rows beside it)."""
        if self._dequantize is not None:
            values = self._dequantize[raw.view(np.uint8)]
        else:
            values = raw.astype(np.float64)
            if self._out_scale:
                values = (values - self._out_zero) * self._out_scale
        if self.meta.output == "logits":  # softmax; values is a fresh array, so in place
            values -= np.maximum.reduce(values, axis=1, keepdims=True)
            np.exp(values, out=values)
            values /= np.add.reduce(values, axis=1, keepdims=True)
        return values

    def _advance(self, samples: np.ndarray) -> tuple[int, np.ndarray]:
        """Run the model on every window completed by ``samples``: (index of the first new frame,
        scores ``(n, labels)``). The new frames are quantized together and each window is a
        slice of [current window + new frames], so a chunk of any size gives the same rows."""
        first_frame = self._features.frames_emitted
        blocks = self._features.process(samples)
        n_blocks, hop = blocks.shape[0], blocks.shape[1]
        if n_blocks == 0:
            return first_frame, np.zeros((0, len(self.meta.labels)))
        frames = np.concatenate((self._input, self._quantize(blocks.reshape(-1, blocks.shape[2]))))
        width = self.meta.window_frames
        raw = np.empty((n_blocks, len(self.meta.labels)), dtype=self._out_dtype)
        for i in range(n_blocks):
            start = (i + 1) * hop
            raw[i] = self._invoke(frames[start : start + width])
        self._input = frames[-width:].copy()
        return first_frame, self._probabilities(raw)

    def _end_times(self, first_frame: int, n_windows: int) -> list[float]:
        """End time (s) of each of ``n_windows`` windows completed after frame ``first_frame``."""
        cfg, hop = self.meta.features, self.meta.hop_frames
        return [((first_frame + hop * (i + 1) - 1) * cfg.hop_samples + cfg.window_samples) / cfg.sample_rate_hz
                for i in range(n_windows)]

    def process_scores(self, samples: np.ndarray) -> list[tuple[float, np.ndarray]]:
        """Raw (unsmoothed) scores per evaluated window: ``[(time_s, scores)]``.

        Advances the stream like :meth:`process` without detecting; evaluation
        records score tracks with it and sweeps thresholds afterwards.
        """
        first_frame, scores = self._advance(samples)
        return list(zip(self._end_times(first_frame, len(scores)), scores))

    def process(self, samples: np.ndarray) -> list[Detection]:
        first_frame, scores = self._advance(samples)
        detections = self._smoother.update_many(scores, self._end_times(first_frame, len(scores)))
        for hit in detections:
            LOG.info("keyword %s score %.2f at %.2f s", hit.keyword, hit.score, hit.time_s)
        return detections
