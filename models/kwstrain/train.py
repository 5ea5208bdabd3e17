"""Train the keyword model, quantize it to full-integer int8, export TFLite.

Writes ``<out>.tflite`` and ``<out>.json`` (labels, feature config, window,
hop, smoothing, default thresholds) that the runtime reads.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import softmax

from kwstrain.model import ModelShape, build_model
from lineguard.kws.features import FeatureConfig

LOG = logging.getLogger(__name__)
NONE_LABEL = "_none"


@dataclass(frozen=True)
class TrainPlan:
    epochs: int = 12
    batch_size: int = 128
    learning_rate: float = 3e-3
    class_weighting: bool = False  # balancing keywords against _none raises false accepts
    label_smoothing: float = 0.0  # 0.05 capped true-class scores near 0.953, below the 0.98 operating point
    representative_windows: int = 400
    seed: int = 0
    finetune_epochs: int = 4
    hard_negative_rounds: int = 1
    finetune_learning_rate: float = 8e-4
    hard_negative_clips: int = 2500
    hard_negative_floor: float = 0.2
    hard_negative_keep: int = 12000
    mining_run_clips: int = 0  # 0: each clip scanned alone; n: runs of n clips with pauses (kwstrain.mining)
    # with each mining round, up to this many keyword windows the model scores below unsure_ceiling repeated
    # twice as the mined negatives are (kwstrain.mining.mine_unsure_positives; 0 = off, the shipped rounds)
    unsure_positives: int = 0
    unsure_ceiling: float = 0.98


def window_batches(x: np.ndarray, y: np.ndarray, num_classes: int, batch_size: int, seed: int,
                   class_weight: dict[int, float] | None = None, soft: np.ndarray | None = None):
    """The windows ``x`` (float16) with labels ``y`` as shuffled float32 batches, cut one batch at a time
    (``soft``: per-window target distributions ``(n, num_classes)`` to learn instead of the one-hot labels).

    Handing Keras the whole set instead costs it twice over: a float32 copy (twice the float16 windows)
    and Keras' own tensor copy of that. A continue round peaked at 21.2 GB with 255,000 windows that way,
    at 16.9 GB with 352,000 windows this way. Every epoch visits every window once in a fresh order
    drawn from ``seed``."""
    import keras

    eye = np.eye(num_classes, dtype=np.float32)
    weights = None if class_weight is None else np.asarray([class_weight.get(i, 1.0) for i in range(num_classes)],
                                                           np.float32)

    class Windows(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(y))

        def __len__(self) -> int:
            return int(np.ceil(len(y) / batch_size))

        def __getitem__(self, index: int):
            rows = np.sort(self.order[index * batch_size : (index + 1) * batch_size])  # sorted: reads in order
            target = eye[y[rows]] if soft is None else soft[rows].astype(np.float32)
            batch = (x[rows].astype(np.float32), target)
            return batch if weights is None else (*batch, weights[y[rows]])

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(len(y))

    return Windows()


def train_model(x: np.ndarray, y: np.ndarray, num_classes: int, plan: TrainPlan,
                shape: ModelShape = ModelShape(), val: tuple[np.ndarray, np.ndarray] | None = None):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(plan.seed)
    sample = x[:: max(1, len(x) // 5000)].astype(np.float32)  # float16 sums overflow
    mean, std = float(np.mean(sample)), float(np.std(sample))
    model = build_model(num_classes, mean, std, shape)
    steps = plan.epochs * int(np.ceil(len(y) / plan.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(plan.learning_rate, max(1, steps), alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=plan.label_smoothing),
                  metrics=["accuracy"])
    class_weight = None
    if plan.class_weighting:
        counts = np.bincount(y, minlength=num_classes).astype(np.float64)
        weights = np.where(counts > 0, len(y) / (num_classes * np.maximum(counts, 1)), 0.0)
        class_weight = {i: float(min(w, 20.0)) for i, w in enumerate(weights)}
    val_data = (val[0].astype(np.float32), tf.one_hot(val[1], num_classes).numpy()) if val else None
    started = time.monotonic()
    history = model.fit(window_batches(x, y, num_classes, plan.batch_size, plan.seed, class_weight),
                        epochs=plan.epochs, validation_data=val_data, verbose=2)
    LOG.info("trained in %.0f s", time.monotonic() - started)
    return model, history.history


def finetune(model, x: np.ndarray, y: np.ndarray, num_classes: int, plan: TrainPlan,
             val: tuple[np.ndarray, np.ndarray] | None = None, soft: np.ndarray | None = None) -> dict:
    """Continue training (after hard-negative mining) with a fresh, smaller LR (towards ``soft`` targets
    where given: :func:`distill_targets`)."""
    import keras
    import tensorflow as tf

    steps = plan.finetune_epochs * int(np.ceil(len(y) / plan.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(plan.finetune_learning_rate, max(1, steps), alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=plan.label_smoothing),
                  metrics=["accuracy"])
    val_data = (val[0].astype(np.float32), tf.one_hot(val[1], num_classes).numpy()) if val else None
    history = model.fit(window_batches(x, y, num_classes, plan.batch_size, plan.seed + 1, soft=soft),
                        epochs=plan.finetune_epochs,
                        validation_data=val_data, verbose=2)
    return history.history


TEACH_ON = ("all", "negatives", "keywords")  # which windows learn the teachers' answers (distill_targets)


def distill_targets(teachers: list, x: np.ndarray, y: np.ndarray, num_classes: int, weight: float,
                    batch: int = 2048, teach_on: str = "all") -> np.ndarray:
    """Targets ``(1 - weight) * one-hot + weight * (the teachers' mean softmax)`` for the windows ``x`` (float16
    ``(n, num_classes)``): a student learns an ensemble's answers, its doubts included, in one network.
    ``teachers`` are float Keras models (:func:`kwstrain.model.from_tflite`), run without augmentation; one
    named twice weighs twice and is run once. ``teach_on``: ``"all"`` windows; ``"negatives"``: the teachers on
    windows labelled ``_none`` (0) only, keyword windows keep their one-hot label; ``"keywords"``: the reverse, so
    the student stays as sure of conversation as a copy would be and learns the teachers' answers on keywords."""
    if teach_on not in TEACH_ON:
        raise ValueError(f"teach_on must be one of {', '.join(TEACH_ON)}, got {teach_on!r}")
    out = np.empty((len(y), num_classes), np.float16)
    eye = np.eye(num_classes, dtype=np.float32)
    counts = Counter(teachers)  # Keras models compare by identity: the same network named twice counts twice
    for start in range(0, len(y), batch):
        rows = x[start : start + batch].astype(np.float32)
        probs = sum(n * softmax(np.asarray(t(rows, training=False)), axis=1) for t, n in counts.items()) / len(teachers)
        labels = y[start : start + batch]
        mixed = (1.0 - weight) * eye[labels] + weight * probs
        taught = {"all": np.ones(len(labels), bool), "negatives": labels == 0, "keywords": labels > 0}[teach_on]
        out[start : start + batch] = np.where(taught[:, None], mixed, eye[labels])
    return out


def quantize(model, representative: np.ndarray) -> bytes:
    """Full-integer int8 TFLite (int8 input and output) from a Keras model."""
    import tensorflow as tf

    def rep_data():
        for row in representative:
            yield [row[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = rep_data
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def write_metadata(path: Path, labels: list[str], feature: FeatureConfig, window_frames: int,
                   hop_frames: int, smooth_windows: int, thresholds: dict[str, float],
                   extra: dict | None = None) -> None:
    meta = {
        "format_version": 1,
        "labels": labels,
        "features": feature.to_dict(),
        "window_frames": window_frames,
        "hop_frames": hop_frames,
        "smooth_windows": smooth_windows,
        "output": "logits",
        "default_threshold": 0.8,
        "thresholds": thresholds,
    }
    meta.update(extra or {})
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def int8_accuracy(tflite_bytes: bytes, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the quantized model on windows (sanity check after conversion)."""
    from lineguard.kws.tflite_loader import make_interpreter

    interp = make_interpreter(model_content=tflite_bytes)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    scale, zero = inp["quantization"]
    correct = 0
    for row, label in zip(x, y):
        q = np.clip(np.round(row.astype(np.float32) / scale + zero), -128, 127).astype(np.int8)
        interp.set_tensor(inp["index"], q[None])
        interp.invoke()
        correct += int(np.argmax(interp.get_tensor(out["index"])[0]) == label)
    return correct / max(1, len(y))
