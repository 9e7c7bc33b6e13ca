"""A Trainer reuses a compiled training step only when the graph is the same, and then trains exactly as a
fresh one: every optimiser variable (step count, momentum, Adam moments, schedule position) is reset, and
every random layer (dropout, augmentation) draws from the job's own seed, not from where the last run left
off."""

import keras
import numpy as np
import pytest

from conftest import pair_job
from kerascmp.engine.fitting import Trainer

OPTIMIZERS = {
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "adam_cosine_schedule": lambda: keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, 4)),
}


def fit(trainer, jobs):
    return trainer.fit(jobs, epochs=2, batch_size=100, verbose=False)


@pytest.mark.parametrize(
    "optimizer, variant",
    [("sgd_momentum", "main"), ("adam_cosine_schedule", "main"), ("sgd_momentum", "beyond_augment")],
)
def test_a_reused_graph_ends_with_the_weights_of_a_fresh_one(optimizer, variant, tiny_pairs):
    make = OPTIMIZERS[optimizer]
    reusing = Trainer()
    first = pair_job(1, make(), tiny_pairs[0], variant)
    fit(reusing, [first])  # leaves its optimiser state and its random layers' seeds behind in the graph
    reused = pair_job(2, make(), tiny_pairs[0], variant)
    fit(reusing, [reused])
    assert reusing.compilations == 1  # the second run really went through the cached graph

    fresh = pair_job(2, make(), tiny_pairs[0], variant)
    fit(Trainer(reuse=False), [fresh])
    for a, b in zip(reused.model.get_weights(), fresh.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not np.allclose(first.model.get_weights()[0], reused.model.get_weights()[0])  # no aliasing


def test_the_cache_key_comes_from_what_shapes_the_graph(tiny_pairs):
    trainer = Trainer()
    fit(trainer, [pair_job(1, keras.optimizers.SGD(0.1), tiny_pairs[0])])
    fit(trainer, [pair_job(2, keras.optimizers.SGD(0.1), tiny_pairs[0])])  # a fresh build of the same net
    assert trainer.compilations == 1
    fit(trainer, [pair_job(1, keras.optimizers.SGD(0.05), tiny_pairs[0])])  # another learning rate
    fit(
        trainer, [pair_job(1, keras.optimizers.SGD(0.1), tiny_pairs[0], variant="noise_removal")]
    )  # another net
    fit(
        trainer, [pair_job(1, keras.optimizers.SGD(0.1), tiny_pairs[0].subset(slice(0, 100)))]
    )  # other shapes
    assert trainer.compilations == 4
