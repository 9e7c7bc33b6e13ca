"""Seeds: each derivation in kerascmp/seeds.py, today's values kept, tuning building what training would."""

import json

import numpy as np
import pytest

from conftest import REPO
from kerascmp import seeds, study
from kerascmp.engine.build import build_model
from kerascmp.variants import get_variant


def test_the_committed_studies_run_seeds_are_reproduced():
    """Renaming nothing, moving nothing: every stored round's seed is still derived the same way."""
    for path in ("results", "results/beyond", "results/tuned"):
        for line in (REPO / path / "rounds.jsonl").read_text().splitlines():
            record = json.loads(line)
            assert record["seed"] == study.run_seed(0, record["variant"], record["round"]), (
                path,
                record["variant"],
            )
            assert record["data_seed"] == seeds.round_seed(0, record["round"])


@pytest.mark.parametrize("variant, seed", [("best", 5), ("main", 5), ("best", 0)])
def test_tuning_builds_the_model_training_would_build_as_member_0(variant, seed):
    """The search's `build(hp)` model is member 0 of its first round's run: it must be initialised as
    train_runs initialises that member (for seed != 0 and an ensemble it was not)."""
    import keras_tuner

    from tuning.hypermodel import ComparisonHyperModel, SearchSettings

    settings = SearchSettings(variant, (0.01,), (0.25,), rounds=1, epochs=1, pairs=100, seed=seed)
    hypermodel = ComparisonHyperModel(settings)
    built = hypermodel.build(keras_tuner.HyperParameters())
    nets = get_variant(variant).nets  # members, then joined nets: the seeds of an ensemble of as many
    expected = build_model(variant, seed=seeds.member_seed(seed, 0, nets), precision=settings.precision)
    for ours, theirs in zip(built.weights, expected.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_streams_are_independent_of_each_other_and_of_global_state():
    np.random.seed(123)
    first = seeds.stream(7, seeds.EPOCH_ORDERS).permutation(10)
    np.random.seed(456)
    assert (seeds.stream(7, seeds.EPOCH_ORDERS).permutation(10) == first).all()
    assert not (seeds.stream(7, seeds.SWAPS).permutation(10) == first).all()
    assert seeds.member_seed(3, 1, 1) == 3 and seeds.member_seed(3, 1, 3) == 10
