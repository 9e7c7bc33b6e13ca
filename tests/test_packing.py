"""Packed runs are independent: a replica trains exactly as it would alone."""
import numpy as np

from kerascmp import data, models
from kerascmp.training import Hyperparameters, Run, train_runs


def test_packed_replica_equals_the_same_seed_trained_alone(tiny_pairs):
    settings = [(11, 0.1, 0.28), (12, 0.03, 0.1), (13, 0.2, 0.4)]  # seed, lr, c_aux: all differ

    def runs_for(chosen):
        runs = []
        for seed, lr, c_aux in chosen:
            train, test = data.generate_pair_sets(200, seed)
            hparams = Hyperparameters(lr, c_aux, epochs=2, precision="float32")
            runs.append(Run("main", seed, hparams, train, {"test": test}))
        return runs

    packed = train_runs(runs_for(settings), verbose=False)
    alone = train_runs(runs_for(settings[1:2]), verbose=False)[0]
    replica = packed[1]
    initial = models.build_model("main")  # an untrained model, to show the weights moved at all
    for trained, single, start in zip(replica.model.get_weights(), alone.model.get_weights(), initial.get_weights()):
        np.testing.assert_allclose(trained, single, rtol=1e-4, atol=1e-5)
    assert not np.allclose(replica.model.get_weights()[0], alone.model.get_weights()[0] * 0 + initial.get_weights()[0])
    assert replica.errors == alone.errors
    assert packed[0].errors != packed[1].errors
