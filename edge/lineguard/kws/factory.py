"""Build the keyword detector the gateway uses, from site settings.

Importable without any TFLite package: the interpreter is loaded lazily by
:mod:`lineguard.kws.tflite_loader` (ai-edge-litert, else tflite-runtime,
else TensorFlow) when :func:`build_detector` is called.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lineguard.errors import ConfigError, ModelError
from lineguard.kws.base import KeywordDetector
from lineguard.kws.keywords import default_models_dir, load_keywords, select_keywords
from lineguard.kws.scoring import ScoringRule

LOG = logging.getLogger(__name__)
DEFAULT_MODEL_NAME = "lineguard_kws.tflite"
DISABLED_THRESHOLD = 2.0  # above any score: the label never fires
DEFAULT_REFRACTORY_S = 1.0


def default_model_path() -> Path:
    return default_models_dir() / DEFAULT_MODEL_NAME


def _thresholds(labels: tuple[str, ...], enabled: set[str], overrides: dict[str, float],
                meta_thresholds: dict[str, float], default: float) -> tuple[float, ...]:
    problems = []
    for kw_id, value in overrides.items():
        if kw_id not in labels[1:]:
            problems.append((f"thresholds.{kw_id}", "not a keyword of the model"))
        elif not 0.0 < float(value) <= 1.0:
            problems.append((f"thresholds.{kw_id}", f"must be in (0, 1], got {value}"))
    if problems:
        raise ConfigError("kws", problems)
    out = [DISABLED_THRESHOLD]
    for label in labels[1:]:
        if label not in enabled:
            out.append(DISABLED_THRESHOLD)
        else:
            out.append(float(overrides.get(label, meta_thresholds.get(label, default))))
    return tuple(out)


def build_detector(enabled_keywords: list[str] | None, thresholds: dict[str, float],
                   model_path: Path | None, refractory_s: float = DEFAULT_REFRACTORY_S, *,
                   keywords_path: Path | None = None, num_threads: int = 1) -> KeywordDetector:
    """The TFLite spotter for the enabled keywords (ids or language codes; None = all).

    ``thresholds`` overrides the model's per-keyword defaults; ``model_path``
    None means the shipped ``models/lineguard_kws.tflite``.
    """
    from lineguard.kws.spotter import ModelMetadata, TFLiteSpotter
    from lineguard.kws.tflite_loader import make_interpreter

    path = Path(model_path) if model_path is not None else default_model_path()
    if not path.is_file():
        raise ModelError(f"{path}: keyword model not found (run `make model`)")
    meta = ModelMetadata.load(path.with_suffix(".json"))
    chosen = select_keywords(load_keywords(keywords_path), enabled_keywords)
    enabled = {k.id for k in chosen}
    missing = sorted(enabled - set(meta.labels))
    if missing:
        raise ConfigError("kws", [("enabled_keywords", f"{path.name} was not trained for {', '.join(missing)}")])
    rule = ScoringRule(meta.labels, _thresholds(meta.labels, enabled, dict(thresholds), meta.thresholds,
                                                meta.default_threshold),
                       smooth_windows=meta.spans(), refractory_s=float(refractory_s))
    LOG.info("keyword spotter %s: %d keywords enabled", path.name, len(enabled))
    return TFLiteSpotter(make_interpreter(path, num_threads=num_threads), meta, rule)
