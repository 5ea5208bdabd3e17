"""Find a TFLite interpreter: ai-edge-litert, else tflite-runtime, else TensorFlow.

Imported lazily so ``lineguard`` imports on machines without any of them.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from lineguard.errors import ModelError

LOG = logging.getLogger(__name__)
# (module, attribute holding the Interpreter class, pip package)
_BACKENDS = (
    ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    ("tensorflow.lite", "Interpreter", "tensorflow"),
)


def interpreter_class() -> tuple[type, str]:
    """The first available Interpreter class and the package it came from."""
    for module_name, attr, package in _BACKENDS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        return getattr(module, attr), package
    names = ", ".join(p for _, _, p in _BACKENDS)
    raise ModelError(f"no TFLite interpreter installed: pip install one of {names} "
                     "(ai-edge-litert is preferred)")


def make_interpreter(model_path: Path | None = None, model_content: bytes | None = None,
                     num_threads: int = 1) -> Any:
    """An allocated interpreter for a model file or bytes."""
    cls, package = interpreter_class()
    try:
        if model_content is not None:
            interp = cls(model_content=model_content, num_threads=num_threads)
        else:
            interp = cls(model_path=str(model_path), num_threads=num_threads)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load keyword model {model_path or '<bytes>'} with {package}: {exc}") from exc
    LOG.debug("loaded %s with %s", model_path or "<bytes>", package)
    return interp
