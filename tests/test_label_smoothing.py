"""Label smoothing (`Variant.label_smoothing`): the digit losses train on (1 - e) * one-hot + e / 10, exactly
as on those soft targets, the comparison keeps its label, and the recipe records it only where it is set."""

import dataclasses

import keras
import numpy as np
import pytest

from kerascmp.engine.compile import SmoothedSparseCrossentropy, training_recipe
from kerascmp.engine.fitting import Trainer
from kerascmp.engine.packing import Job
from kerascmp.engine.scoring import targets_of
from kerascmp.names import COMPARISON, DIGIT1, DIGIT2
from kerascmp.variants import Distillation, Variant, get_variant


def test_the_loss_is_the_cross_entropy_to_the_smoothed_one_hot_labels():
    logits = np.random.default_rng(0).normal(size=(6, 10)).astype(np.float32) * 3
    labels = np.arange(6) % 10
    reference = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    expected = reference(np.eye(10, dtype=np.float32)[labels], logits)
    np.testing.assert_allclose(SmoothedSparseCrossentropy(0.2)(labels, logits), expected, rtol=1e-5)


def test_a_smoothed_run_trains_as_on_the_smoothed_targets_and_not_as_on_the_labels(tiny_pairs):
    train = tiny_pairs[0]
    smoothed_targets = 0.9 * np.eye(10, dtype=np.float32)[train.classes] + 0.1 / 10
    jobs = []
    for targets in ({}, {"label_smoothing": 0.1}, {"soft_digits": smoothed_targets}):
        keras.utils.set_random_seed(5)
        model = get_variant("analytic").build()
        jobs.append(Job(model, train.pairs, targets_of(train), {COMPARISON: 0.5, DIGIT1: 0.25, DIGIT2: 0.25},
                        keras.optimizers.SGD(0.1), seed=5, pairing="repair", **targets))  # fmt: skip
    Trainer(reuse=False).fit(jobs, epochs=2, batch_size=50, verbose=False)
    labels, smoothed, soft = (job.model.get_weights() for job in jobs)
    assert any(not np.allclose(a, b, atol=1e-4) for a, b in zip(labels, smoothed))
    for a, b in zip(smoothed, soft):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_label_smoothing_needs_jointly_trained_digit_heads_and_a_value_in_0_1():
    analytic = get_variant("analytic")
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="label smoothing must be in"):
            Variant("x", analytic.build, analytic.defaults, label_smoothing=bad)
    with pytest.raises(ValueError, match="trained jointly on labels"):
        Variant("x", analytic.build, analytic.defaults, label_smoothing=0.1, distillation=Distillation(2))
    with pytest.raises(ValueError, match="trained jointly on labels"):
        Variant("x", analytic.build, analytic.defaults, label_smoothing=0.1, staged=True)


def test_the_recipe_records_label_smoothing_only_where_it_is_set():
    deep = get_variant("beyond_deep")
    assert "label_smoothing" not in training_recipe(deep)  # the recipes stored before it stay equal
    smoothed = dataclasses.replace(deep, name="smoothed_probe", label_smoothing=0.1)
    assert training_recipe(smoothed)["label_smoothing"] == 0.1
