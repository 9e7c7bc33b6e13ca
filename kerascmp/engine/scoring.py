"""Scoring a trained model, the engine's last step: the true label of every output, error rates, and
whether training diverged."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerascmp.data import PairSet
from kerascmp.engine.build import float32_copy
from kerascmp.engine.specs import RunSpec
from kerascmp.names import COMPARISON, DIGIT1, DIGIT2, PAIR_OUTPUTS, TRAIN, error_key


def targets_of(pairs: PairSet) -> dict[str, np.ndarray]:
    """The true label of every model output."""
    return {COMPARISON: pairs.target, DIGIT1: pairs.classes[:, 0], DIGIT2: pairs.classes[:, 1]}


def error_rates(outputs: dict[str, np.ndarray], pairs: PairSet) -> dict[str, float]:
    """Error rates in % of a model's outputs on `pairs`."""
    truth = targets_of(pairs)
    return {
        name: round(100.0 * float(np.mean(np.argmax(logits, axis=-1) != truth[name])), 6)
        for name, logits in outputs.items()
    }


def logits_of(model: keras.Model, pairs: np.ndarray, batch_size: int = 1000) -> dict[str, np.ndarray]:
    """A model's logits per output, by an eager forward pass in chunks (no tracing: cheaper than Keras's
    `predict` for a few thousand pairs)."""
    chunks = [
        model(tf.constant(pairs[i : i + batch_size]), training=False)
        for i in range(0, len(pairs), batch_size)
    ]
    return {
        name: np.concatenate([np.asarray(c[name], dtype=np.float32) for c in chunks]) for name in chunks[0]
    }


def evaluate(model: keras.Model, spec: RunSpec) -> dict[str, float | None]:
    """Errors on every scored split, keyed by `error_key`; None where the variant has no such output."""
    return score(model, spec)[0]


def score(model: keras.Model, spec: RunSpec) -> tuple[dict[str, float | None], bool]:
    """`evaluate`'s errors, and whether the model diverged: non-finite weights or outputs. The errors are
    those of the model as exported, its float32 copy, whatever precision trained it."""
    errors, finite = {}, all(np.isfinite(w).all() for w in model.get_weights())
    model = float32_copy(model)
    for split, pairs in {TRAIN: spec.train, **spec.evaluate_on}.items():
        outputs = logits_of(model, pairs.pairs)
        finite = finite and all(np.isfinite(v).all() for v in outputs.values())
        rates = error_rates(outputs, pairs)
        for output in PAIR_OUTPUTS:
            errors[error_key(split, output)] = rates.get(output)
    if not finite:
        errors = dict.fromkeys(errors)
    return errors, not finite


def comparison_failures(model: keras.Model, pairs: PairSet) -> list[list[int]]:
    """The pairs the model compares wrongly, each as [first digit, second digit, first read, second read]
    (read: the digit output's argmax; -1 where the model has no digit outputs), for error analysis. Like
    `score`, of the model as exported."""
    outputs = logits_of(float32_copy(model), pairs.pairs)
    wrong = np.flatnonzero(np.argmax(outputs[COMPARISON], axis=-1) != pairs.target)
    read = [
        np.argmax(outputs[d], axis=-1) if d in outputs else np.full(len(pairs), -1) for d in (DIGIT1, DIGIT2)
    ]
    return [
        [int(pairs.classes[i, 0]), int(pairs.classes[i, 1]), int(read[0][i]), int(read[1][i])] for i in wrong
    ]
