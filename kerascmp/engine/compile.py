"""The study's loss as Keras `loss_weights`, each variant's optimiser, the training recipe a study's rounds
record, and the plain compile of one pair model (export, benchmarks).

The packed training path compiles its packs itself (kerascmp.engine.fitting) from the same loss weights.
"""

from __future__ import annotations

import dataclasses
import json

import keras

from kerascmp.names import COMPARISON, DIGIT1, DIGIT2
from kerascmp.variants import Variant, get_variant


@keras.saving.register_keras_serializable(package="kerascmp")
class SoftTargetCrossentropy(keras.losses.Loss):
    """Distillation's digit loss: T² times the cross-entropy from target probabilities (the teachers', at T)
    to the logits softened by T; T² keeps its gradients on the scale of a plain cross-entropy's."""

    def __init__(self, temperature: float = 1.0, name: str = "soft_target_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = temperature

    def call(self, y_true, y_pred):
        t = self.temperature
        return t * t * keras.losses.categorical_crossentropy(y_true, y_pred / t, from_logits=True)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="kerascmp")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Label smoothing (Szegedy et al., 2016) on integer labels: the cross-entropy to (1 - e) * one-hot +
    e * uniform, i.e. (1 - e) * CE(label) + e * (logsumexp(z) - mean(z)), from logits z."""

    def __init__(self, smoothing: float = 0.0, name: str = "smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        e = self.smoothing
        logits = keras.ops.cast(y_pred, "float32")
        to_label = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
        to_uniform = keras.ops.logsumexp(logits, axis=-1) - keras.ops.mean(logits, axis=-1)
        return (1.0 - e) * to_label + e * to_uniform

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def loss_weights(c_aux: float) -> dict[str, float]:
    """The study's loss, L = c*L_digit1 + c*L_digit2 + (1 - 2c)*L_comparison, as Keras loss_weights."""
    return {COMPARISON: 1.0 - 2.0 * c_aux, DIGIT1: c_aux, DIGIT2: c_aux}


def loss_weights_for(variant: Variant, c_aux: float) -> dict[str, float]:
    """The study's loss for joint variants; the comparison alone where there are no auxiliary terms."""
    return loss_weights(c_aux) if variant.uses_c_aux else {COMPARISON: 1.0}


def sgd(learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """The report's optimiser: plain SGD at a constant rate."""
    return keras.optimizers.SGD(learning_rate)


def optimizer_for(variant: Variant, learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """A fresh optimiser for one run of `variant`: its own, or the report's SGD where it declares none."""
    return (variant.optimizer or sgd)(learning_rate, total_steps)


def optimizer_config(optimizer: keras.optimizers.Optimizer) -> dict:
    """An optimiser's serialised config without its name, which Keras numbers per process ("sgd_3")."""
    config = keras.optimizers.serialize(optimizer)
    return {**config, "config": {k: v for k, v in config["config"].items() if k != "name"}}


def training_recipe(variant: Variant) -> dict:
    """How a variant trains beyond its architecture and hyperparameters: its optimiser (class, settings,
    schedule; built for a learning rate of 1 over 1000 steps, as the rate and the steps are hyperparameters
    recorded beside it), how epochs pair the digits, its members and joined nets, test-time shifts and
    rotations, staging, distillation, label smoothing, SAM's radius and mixup. Studies and searches store it
    with each round or trial, so a variant redefined since is refused, not averaged in."""
    recipe = {
        "optimizer": optimizer_config(optimizer_for(variant, 1.0, 1000)),
        "pairing": variant.pairing,
        "members": variant.members,
        "test_time_shifts": variant.test_time_shifts,
        "staged": variant.staged,
    }
    if variant.distillation:  # only where set: the recipes recorded before it stay as they were
        recipe["distillation"] = dataclasses.asdict(variant.distillation)
    if variant.label_smoothing:  # likewise
        recipe["label_smoothing"] = variant.label_smoothing
    if variant.test_time_rotations:  # likewise
        recipe["test_time_rotations"] = variant.test_time_rotations
    if variant.sam_radius:  # likewise
        recipe["sam_radius"] = variant.sam_radius
    if variant.mixup:  # likewise
        recipe["mixup"] = variant.mixup
    if variant.joined:  # likewise; each joined net as its own variant trains it
        recipe["joined"] = {name: training_recipe(get_variant(name)) for name in variant.joined}
    return json.loads(json.dumps(recipe, default=str))  # as JSON holds it: tuples become lists


def compile_model(model: keras.Model, *, learning_rate: float, weights: dict[str, float]) -> keras.Model:
    """Plain Keras compile of one pair model: SGD, cross-entropy per output, the given loss weights."""
    model.compile(
        keras.optimizers.SGD(learning_rate),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in model.output},
        loss_weights={name: weights.get(name, 0.0) for name in model.output},
    )
    return model
