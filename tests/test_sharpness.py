"""Sharpness-aware minimisation (`Variant.sam_radius`, kerascmp.engine.sharpness): a step descends with the
gradient taken at the weights moved `radius` up the run's own gradient, packed runs stay independent, and the
recipe records the radius only where it is set."""

import dataclasses

import keras
import numpy as np
import pytest

from conftest import pair_job
from kerascmp.engine.compile import training_recipe
from kerascmp.engine.fitting import Trainer
from kerascmp.variants import Variant, get_variant

LEARNING_RATE, RADIUS = 0.1, 0.05


def one_step(weights, pairs, *, seed=3, radius=0.0):
    """The `analytic` net (no random layers, no batch norm) from `weights` after one full-batch SGD step."""
    job = dataclasses.replace(
        pair_job(seed, keras.optimizers.SGD(LEARNING_RATE), pairs, "analytic"), sam_radius=radius
    )
    if weights is not None:
        job.model.set_weights(weights)
    Trainer(reuse=False).fit([job], epochs=1, batch_size=len(pairs), verbose=False)
    return job.model.get_weights()


def test_a_step_descends_with_the_gradient_taken_up_the_gradient(tiny_pairs):
    train = tiny_pairs[0]
    start = pair_job(3, keras.optimizers.SGD(LEARNING_RATE), train, "analytic").model.get_weights()
    # Plain SGD: w' = w - lr * g(w), so a plain step from w reads the gradient there.
    gradient = [(w - s) / LEARNING_RATE for w, s in zip(start, one_step(start, train))]
    norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in gradient))
    moved = [w + RADIUS * g / norm for w, g in zip(start, gradient)]
    sharp_gradient = [(m - s) / LEARNING_RATE for m, s in zip(moved, one_step(moved, train))]

    expected = [w - LEARNING_RATE * g for w, g in zip(start, sharp_gradient)]
    sharpness_aware = one_step(start, train, radius=RADIUS)
    assert any(not np.allclose(a, b, atol=1e-5) for a, b in zip(sharpness_aware, one_step(start, train)))
    for a, b in zip(sharpness_aware, expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_batch_norm_keeps_the_statistics_of_the_weights_it_keeps(tiny_pairs):
    from kerascmp.models import analytic_comparator, build_digit_net, pair_model

    train = tiny_pairs[0]
    moving = []
    for radius in (0.0, RADIUS):
        keras.utils.set_random_seed(3)  # no random layers: both runs see the same weights and batch
        model = pair_model(build_digit_net(batch_norm=True), comparator=analytic_comparator())
        job = pair_job(3, keras.optimizers.SGD(LEARNING_RATE), train, "analytic")
        job = dataclasses.replace(job, model=model, sam_radius=radius)
        Trainer(reuse=False).fit([job], epochs=1, batch_size=len(train), verbose=False)
        moving.append([v.numpy() for v in model.non_trainable_weights if "moving" in v.path])
    assert moving[0]
    for plain, sharpness_aware in zip(*moving):
        np.testing.assert_allclose(sharpness_aware, plain, rtol=1e-5, atol=1e-6)


def test_packed_runs_each_move_along_their_own_gradient(tiny_pairs):
    train = tiny_pairs[0]
    alone = [one_step(None, train, seed=seed, radius=RADIUS) for seed in (3, 4)]
    jobs = [
        dataclasses.replace(
            pair_job(seed, keras.optimizers.SGD(LEARNING_RATE), train, "analytic"), sam_radius=RADIUS
        )
        for seed in (3, 4)
    ]
    Trainer(reuse=False).fit(jobs, epochs=1, batch_size=len(train), verbose=False)
    for job, weights in zip(jobs, alone):
        for a, b in zip(job.model.get_weights(), weights):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

    jobs[1] = dataclasses.replace(jobs[1], sam_radius=0.0)
    with pytest.raises(ValueError, match="share their SAM radius"):
        Trainer(reuse=False).fit(jobs, epochs=1, batch_size=len(train), verbose=False)


def test_the_radius_is_checked_and_recorded_only_where_set(monkeypatch):
    from kerascmp.variants import registry

    tta = get_variant("beyond_tta")
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the probes leave with the test
    registry.register_variant(dataclasses.replace(tta, name="flat", sam_radius=0.05))
    with pytest.raises(ValueError, match="must share its SAM radius"):
        dataclasses.replace(tta, name="mixed_radii", joined=("flat",)).check_joined()
    assert "sam_radius" not in training_recipe(tta)  # the recipes recorded before stay as they were
    sharpness_aware = dataclasses.replace(tta, name="sharpness_aware", sam_radius=0.05)
    assert training_recipe(sharpness_aware)["sam_radius"] == 0.05
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="SAM radius"):
            Variant("x", tta.build, tta.defaults, sam_radius=bad)
