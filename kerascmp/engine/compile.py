"""The study's loss as Keras `loss_weights`, each variant's optimiser, and the plain compile of one pair
model (export, benchmarks).

The packed training path compiles its packs itself (kerascmp.engine.fitting) from the same loss weights.
"""

from __future__ import annotations

import keras

from kerascmp.names import COMPARISON, DIGIT1, DIGIT2
from kerascmp.variants import Variant


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


def compile_model(model: keras.Model, *, learning_rate: float, weights: dict[str, float]) -> keras.Model:
    """Plain Keras compile of one pair model: SGD, cross-entropy per output, the given loss weights."""
    model.compile(
        keras.optimizers.SGD(learning_rate),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in model.output},
        loss_weights={name: weights.get(name, 0.0) for name in model.output},
    )
    return model
