"""Distillation: a net trained on its teachers' digit probabilities. The soft targets follow each digit
through re-pairing, one-hot targets at temperature 1 train exactly as the labels, and a distilled run
returns one net, trained from the same teachers an ensemble of as many would train."""

import dataclasses

import keras
import numpy as np
import pytest

from kerascmp import seeds
from kerascmp.engine.fitting import Trainer
from kerascmp.engine.packing import Job, training_dataset
from kerascmp.engine.runs import train_runs
from kerascmp.engine.scoring import targets_of
from kerascmp.engine.specs import RunSpec
from kerascmp.names import COMPARISON, DIGIT1, DIGIT2, TEST, curve_key, error_key
from kerascmp.variants import Distillation, Hyperparameters, Variant, get_variant, registry


def soft_job(pairing: str, n: int = 40) -> tuple[Job, np.ndarray]:
    """Every image filled with its label c, whose soft target is (c + 1) % 10 with probability 0.7: a target
    that came from the labels would be caught."""
    classes = np.random.default_rng(1).integers(0, 10, size=(n, 2)).astype(np.int32)
    pairs = np.broadcast_to(classes[:, :, None, None], (n, 2, 14, 14)).astype(np.float32)
    soft = np.full((n, 2, 10), 0.3 / 9, np.float32)
    np.put_along_axis(soft, ((classes + 1) % 10)[..., None], 0.7, axis=-1)
    targets = {COMPARISON: (classes[:, 0] <= classes[:, 1]).astype(np.int32), DIGIT1: classes[:, 0]}
    targets[DIGIT2] = classes[:, 1]
    weights = {COMPARISON: 0.5, DIGIT1: 0.25, DIGIT2: 0.25}
    model = keras.Sequential([keras.Input((2, 14, 14))])
    job = Job(model, pairs, targets, weights, keras.optimizers.SGD(0.1), seed=3, pairing=pairing,
              soft_digits=soft, temperature=2.0)  # fmt: skip
    return job, classes


@pytest.mark.parametrize("pairing", ["fixed", "repair"])
def test_each_digits_soft_target_follows_it_and_the_comparison_keeps_the_labels(pairing):
    job, classes = soft_job(pairing)
    for x, y in training_dataset([job], epochs=2, batch_size=10):
        shown = x["x0"].numpy()[:, :, 0, 0].astype(np.int32)  # (batch, 2): the labels the images show
        for k, digit in enumerate((DIGIT1, DIGIT2)):
            assert y[f"r0_{digit}"].shape[1:] == (10,)
            np.testing.assert_array_equal(np.argmax(y[f"r0_{digit}"], axis=-1), (shown[:, k] + 1) % 10)
        np.testing.assert_array_equal(y["r0_comparison"], shown[:, 0] <= shown[:, 1])


def test_one_hot_targets_at_temperature_1_train_as_the_labels(tiny_pairs):
    train = tiny_pairs[0]
    jobs = []
    for soft in (None, np.eye(10, dtype=np.float32)[train.classes]):
        keras.utils.set_random_seed(5)
        model = get_variant("analytic").build()
        jobs.append(Job(model, train.pairs, targets_of(train), {COMPARISON: 0.5, DIGIT1: 0.25, DIGIT2: 0.25},
                        keras.optimizers.SGD(0.1), seed=5, pairing="repair", soft_digits=soft))  # fmt: skip
    initial = jobs[0].model.get_weights()
    Trainer(reuse=False).fit(jobs, epochs=2, batch_size=50, verbose=False)
    labels, one_hot = (job.model.get_weights() for job in jobs)
    assert any(not np.allclose(w, w0) for w, w0 in zip(labels, initial))
    for a, b in zip(labels, one_hot):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


class RecordingTrainer(Trainer):
    """A Trainer that keeps every pack of jobs it trained."""

    def __init__(self):
        super().__init__()
        self.packs = []

    def fit(self, jobs, **kwargs):
        self.packs.append(jobs)
        return super().fit(jobs, **kwargs)


def test_a_distilled_run_trains_one_net_from_the_teachers_an_ensemble_would_train(monkeypatch, tiny_pairs):
    from scipy.special import softmax

    from kerascmp.models import digit_nets

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the probe leaves with the test
    analytic = get_variant("analytic")
    distilled = registry.register_variant(
        dataclasses.replace(analytic, name="distilled_probe", distillation=Distillation(teachers=2))
    )
    train, test = tiny_pairs
    spec = RunSpec(distilled.name, 7, Hyperparameters(0.1, 0.25, epochs=1), train, {TEST: test}, monitor=test)
    trainer = RecordingTrainer()
    (result,) = train_runs([spec], trainer=trainer, verbose=False)

    teachers, (student,) = trainer.packs
    assert [job.seed for job in teachers] == [seeds.member_seed(7, m, 2) for m in range(2)]  # best's, for K=2
    assert student.seed == seeds.student_seed(7, 2) not in {job.seed for job in teachers}
    assert all(job.soft_digits is None for job in teachers) and student.temperature == 4.0
    digits = train.pairs.reshape(-1, 14, 14)
    expected = np.mean(
        [softmax(np.asarray(digit_nets(job.model)[0](digits)) / 4.0, axis=-1) for job in teachers], axis=0
    )
    np.testing.assert_allclose(student.soft_digits, expected.reshape(-1, 2, 10), atol=1e-5)

    # the run's model is the student alone, scored as one net; its monitored digit curve counts errors
    # against the labels (one-hot at the temperature), so it ends where the scoring does
    assert result.model is student.model and len(result.model.weights) == len(analytic.build().weights)
    final_val_error = result.history[curve_key(DIGIT1, monitored=True)][-1]
    assert final_val_error == pytest.approx(result.errors[error_key(TEST, DIGIT1)], abs=0.5)


def test_distillation_is_one_net_with_digit_heads_and_at_least_one_teacher():
    analytic = get_variant("analytic")
    with pytest.raises(ValueError, match="distillation trains one net"):
        Variant("x", analytic.build, analytic.defaults, members=2, distillation=Distillation(2))
    with pytest.raises(ValueError, match="at least 1 teacher"):
        Variant("x", analytic.build, analytic.defaults, distillation=Distillation(0))
    with pytest.raises(ValueError, match="temperature"):
        Variant("x", analytic.build, analytic.defaults, distillation=Distillation(2, temperature=0.0))


def test_the_search_builds_the_distilled_net_as_training_would(monkeypatch):
    import keras_tuner

    from kerascmp.engine.build import build_model
    from tuning.hypermodel import ComparisonHyperModel, SearchSettings

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_variant(
        dataclasses.replace(get_variant("analytic"), name="distilled_probe", distillation=Distillation(3))
    )
    settings = SearchSettings("distilled_probe", (0.01,), (0.25,), rounds=1, epochs=1, pairs=100, seed=5)
    built = ComparisonHyperModel(settings).build(keras_tuner.HyperParameters())
    expected = build_model("distilled_probe", seed=seeds.student_seed(5, 3), precision="float32")
    for ours, theirs in zip(built.weights, expected.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
