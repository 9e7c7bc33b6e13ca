"""Packed runs are independent: a replica trains exactly as it would alone."""

import keras
import numpy as np
import pytest

from conftest import pair_job
from kerascmp import data
from kerascmp.engine.build import build_model
from kerascmp.engine.fitting import shared_optimizer
from kerascmp.engine.runs import train_runs
from kerascmp.engine.specs import RunSpec
from kerascmp.names import TEST
from kerascmp.variants import Hyperparameters


def test_packed_replica_equals_the_same_seed_trained_alone():
    settings = [(11, 0.1, 0.28), (12, 0.03, 0.1), (13, 0.2, 0.4)]  # seed, lr, c_aux: all differ

    def specs_for(chosen):
        specs = []
        for seed, lr, c_aux in chosen:
            train, test = data.generate_pair_sets(200, seed)
            specs.append(RunSpec("main", seed, Hyperparameters(lr, c_aux, epochs=2), train, {TEST: test}))
        return specs

    packed = train_runs(specs_for(settings), verbose=False)
    alone = train_runs(specs_for(settings[1:2]), verbose=False)[0]
    replica = packed[1]
    initial = build_model("main", seed=12, precision="float32").get_weights()  # the same seed, untrained
    for trained, single in zip(replica.model.get_weights(), alone.model.get_weights()):
        np.testing.assert_allclose(trained, single, rtol=1e-4, atol=1e-5)
    moved = [not np.allclose(w, w0) for w, w0 in zip(replica.model.get_weights(), initial)]
    assert all(moved), moved  # every weight trained, in the pack as alone
    assert replica.errors == alone.errors
    assert packed[0].errors != packed[1].errors


def test_sgd_learning_rates_fold_into_the_loss_and_other_optimisers_must_match(tiny_pairs):
    train = tiny_pairs[0]
    optimizer, scales = shared_optimizer(
        [
            pair_job(1, keras.optimizers.SGD(0.1, momentum=0.9), train),
            pair_job(2, keras.optimizers.SGD(0.025, momentum=0.9), train),
        ]
    )
    assert scales == pytest.approx([1.0, 0.25]) and optimizer.get_config()["momentum"] == 0.9
    with pytest.raises(ValueError, match="share their optimiser"):
        shared_optimizer(
            [pair_job(1, keras.optimizers.Adam(1e-3), train), pair_job(2, keras.optimizers.Adam(1e-2), train)]
        )
