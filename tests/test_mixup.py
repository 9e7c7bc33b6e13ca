"""Mixup (`Variant.mixup`): each re-formed training pair is mixed with its drawn partner, images and one-hot
targets alike (the digits' smoothed as the run smooths them), from the run's own seed; the recipe records it
only where it is set."""

import dataclasses

import keras
import numpy as np
import pytest

from conftest import train_tiny
from kerascmp.engine.compile import training_recipe
from kerascmp.engine.packing import Job, epoch_digit_pairs, mixup_draws, training_dataset
from kerascmp.engine.scoring import targets_of
from kerascmp.names import COMPARISON, DIGIT1, DIGIT2, TEST, error_key
from kerascmp.variants import Distillation, Variant, get_variant

SMOOTHING = 0.1


def mixup_job(pairs, alpha=0.4, seed=5):
    weights = {COMPARISON: 0.2, DIGIT1: 0.4, DIGIT2: 0.4}
    return Job(keras.Model(), pairs.pairs, targets_of(pairs), weights, keras.optimizers.Adam(), seed=seed,
               pairing="repair", label_smoothing=SMOOTHING, mixup=alpha)  # fmt: skip


def test_a_batch_is_each_pair_mixed_with_its_drawn_partner(tiny_pairs):
    train = tiny_pairs[0]
    job, n, batch = mixup_job(train), len(train), 50
    x, y = next(iter(training_dataset([job], epochs=1, batch_size=batch)))
    digits, classes = train.pairs.reshape(-1, 14, 14), train.classes.reshape(-1)
    own = epoch_digit_pairs(job.seed, n, 1, "repair")[0, :batch]  # the batch's re-formed pairs
    partners, weights = (d[:batch] for d in mixup_draws(job.seed, n, 1, 0.4))
    assert np.all(weights >= 0.5) and np.any(weights < 0.99)
    w = weights[:, None, None, None]
    np.testing.assert_allclose(x["x0"], w * digits[own] + (1 - w) * digits[partners], rtol=1e-5, atol=1e-3)

    def one_hot(labels, k):
        return np.eye(k)[labels]

    w = weights[:, None]
    for j, name in enumerate((DIGIT1, DIGIT2)):
        mixed = w * one_hot(classes[own[:, j]], 10) + (1 - w) * one_hot(classes[partners[:, j]], 10)
        np.testing.assert_allclose(y[f"r0_{name}"], (1 - SMOOTHING) * mixed + SMOOTHING / 10, atol=1e-6)
    leq = [(classes[p[:, 0]] <= classes[p[:, 1]]).astype(int) for p in (own, partners)]
    expected = w * one_hot(leq[0], 2) + (1 - w) * one_hot(leq[1], 2)  # not smoothed
    np.testing.assert_allclose(y[f"r0_{COMPARISON}"], expected, atol=1e-6)

    _, y_other_seed = next(iter(training_dataset([mixup_job(train, seed=6)], epochs=1, batch_size=batch)))
    assert not np.allclose(y_other_seed[f"r0_{DIGIT1}"], y[f"r0_{DIGIT1}"])


def test_a_mixup_run_trains_and_is_recorded_only_where_set(tiny_pairs, monkeypatch):
    from kerascmp.variants import registry

    tta = get_variant("beyond_tta")
    assert "mixup" not in training_recipe(tta)  # the recipes recorded before stay as they were
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the probe leaves with the test
    mixed = registry.register_variant(dataclasses.replace(tta, name="mixed_probe", mixup=0.4))
    assert training_recipe(mixed)["mixup"] == 0.4
    result = train_tiny("mixed_probe", tiny_pairs)
    assert 0 <= result.errors[error_key(TEST, COMPARISON)] < 50


def test_mixup_needs_re_formed_pairs_and_a_finite_alpha():
    tta = get_variant("beyond_tta")
    for bad in (-0.2, float("nan")):
        with pytest.raises(ValueError, match="mixup's alpha"):
            Variant("x", tta.build, tta.defaults, pairing="repair", mixup=bad)
    with pytest.raises(ValueError, match="pairing other than fixed"):
        Variant("x", tta.build, tta.defaults, mixup=0.4)
    with pytest.raises(ValueError, match="pairing other than fixed"):
        Variant("x", tta.build, tta.defaults, pairing="repair", mixup=0.4, distillation=Distillation(2))
