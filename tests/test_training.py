import keras
import numpy as np
import pytest

from kerascmp import models
from kerascmp.analysis.summaries import summarize
from kerascmp.engine import packing, runs
from kerascmp.engine.build import build_model
from kerascmp.engine.compile import loss_weights
from kerascmp.engine.fitting import Trainer
from kerascmp.engine.runs import train_runs
from kerascmp.engine.scoring import error_rates, evaluate, targets_of
from kerascmp.engine.specs import RunSpec
from kerascmp.names import COMPARISON, DIGIT, DIGIT1, DIGIT2, TEST, TRAIN, error_key
from kerascmp.variants import get_variant, variant_names


def tiny_run(variant, pairs, seed=0, **hp):
    hparams = get_variant(variant).hyperparameters(epochs=hp.pop("epochs", 1), **hp)
    return RunSpec(variant, seed, hparams, pairs[0], {TEST: pairs[1]})


def test_loss_weights_follow_the_study_formula():
    assert loss_weights(0.28) == pytest.approx({COMPARISON: 0.44, DIGIT1: 0.28, DIGIT2: 0.28})
    assert loss_weights(0.0) == {COMPARISON: 1.0, DIGIT1: 0.0, DIGIT2: 0.0}
    assert loss_weights(0.5) == {COMPARISON: 0.0, DIGIT1: 0.5, DIGIT2: 0.5}


def test_compiled_loss_is_the_weighted_sum(tiny_pairs):
    train = tiny_pairs[0]
    model = build_model("main", seed=0, precision="float32")
    job = packing.Job(
        model=model,
        x=train.pairs,
        y=targets_of(train),
        loss_weights=loss_weights(0.3),
        optimizer=keras.optimizers.SGD(0.1),
        seed=0,
    )
    packed = Trainer()._compiled([job], steps=2, has_validation=False).model
    x = {"x0": train.pairs[:50]}
    y = {f"r0_{k}": v[:50] for k, v in targets_of(train).items()}
    y_pred = packed(x)
    total = float(packed.compute_loss(x=x, y=y, y_pred=y_pred))
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = sum(w * float(ce(y[f"r0_{k}"], y_pred[f"r0_{k}"])) for k, w in loss_weights(0.3).items())
    assert total == pytest.approx(expected, rel=1e-5)


# `best` is beyond_deep's net, ensembled as beyond_ensemble ensembles its own: both train here, and `best`
# itself trains in test_portable (then is scored in every runtime), so it is not trained twice.
# `beyond_distilled` is beyond_deep's net trained on the distillation path of tests/test_distillation (and
# trains 5 nets): it is left out here too.
TRAINED_ELSEWHERE = ("best", "beyond_distilled")


@pytest.mark.parametrize("variant", [name for name in variant_names() if name not in TRAINED_ELSEWHERE])
def test_every_variant_trains_tiny_with_finite_metrics(variant, tiny_pairs):
    (run,) = train_runs([tiny_run(variant, tiny_pairs, precision="float32")], verbose=False)
    for key, value in run.errors.items():
        if get_variant(variant).has_digit_heads or COMPARISON in key:
            assert value is not None and 0 <= value <= 100, key
        else:
            assert value is None
    history = [v for values in run.history.values() for v in values]
    assert history and np.all(np.isfinite(history))


def test_same_seed_same_numbers(tiny_pairs):
    first = train_runs([tiny_run("main", tiny_pairs, seed=4)], verbose=False)[0]
    second = train_runs([tiny_run("main", tiny_pairs, seed=4)], verbose=False)[0]
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert first.errors == second.errors


def test_noise_removal_without_aux_loss_never_moves_the_digit_net(tiny_pairs):
    spec = tiny_run("noise_removal", tiny_pairs, c_aux=0.0, precision="float32")
    before = build_model("noise_removal", seed=spec.seed, precision="float32").get_weights()
    (run,) = train_runs([spec], verbose=False)
    trained_digit_net = models.digit_nets(run.model)[0].get_weights()
    n = len(trained_digit_net)  # the digit net's weights come first, the comparison layer's last
    for a, b in zip(before[:n], trained_digit_net):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(before[n:], run.model.get_weights()[n:]))


def test_separate_training_freezes_the_digit_net_in_stage_two(tiny_pairs, monkeypatch):
    snapshots = []
    real_fit = Trainer.fit
    model = build_model("separate", seed=0, precision="float32")

    def recording_fit(self, jobs, **kwargs):
        histories = real_fit(self, jobs, **kwargs)
        snapshots.append([w.copy() for w in models.digit_nets(model)[0].get_weights()])
        return histories

    monkeypatch.setattr(Trainer, "fit", recording_fit)
    (run,) = train_runs(
        [tiny_run("separate", tiny_pairs, epochs=2, precision="float32")], models=[model], verbose=False
    )
    assert len(snapshots) == 2  # stage 1, stage 2
    for a, b in zip(*snapshots):
        np.testing.assert_array_equal(a, b)
    assert not models.digit_nets(run.model)[0].trainable
    assert run.errors[error_key(TRAIN, DIGIT1)] < 90  # stage 1 learned something


def test_summarize_mean_and_sample_std():
    assert summarize([1.0, 2.0, 3.0, 4.0]) == pytest.approx((2.5, np.std([1, 2, 3, 4], ddof=1)))
    assert summarize([5.0]) == (5.0, None)
    assert summarize([None, None]) == (None, None)
    assert summarize([2.0, None, 4.0]) == pytest.approx((3.0, 2**0.5))


def test_bad_hyperparameters_are_refused(tiny_pairs):
    for bad in ({"c_aux": 0.7}, {"learning_rate": 0.0}, {"precision": "float8"}):
        with pytest.raises(ValueError):
            train_runs([tiny_run("main", tiny_pairs, **bad)], verbose=False)


def test_reused_compiled_model_never_aliases_a_finished_run(tiny_pairs):
    """Rounds of one configuration share a compiled model; each run's own model keeps its own weights."""
    trainer = Trainer()
    first = train_runs([tiny_run("noise_removal", tiny_pairs, seed=1)], trainer=trainer, verbose=False)[0]
    kept = [w.copy() for w in first.model.get_weights()]
    second = train_runs([tiny_run("noise_removal", tiny_pairs, seed=2)], trainer=trainer, verbose=False)[0]
    assert trainer.compilations == 1
    for a, b in zip(kept, first.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.model.get_weights()[0], second.model.get_weights()[0])


def test_two_stream_digit_stage_trains_as_one_stream(tiny_pairs):
    """Stage 1 runs each batch as two half-batches side by side; the updates are those of one pass."""
    digits, classes = tiny_pairs[0].pairs.reshape(-1, 14, 14), tiny_pairs[0].classes.reshape(-1)
    trained = []
    for two_streams in (False, True):
        keras.utils.set_random_seed(3)
        classifier = models.digit_classifier(models.build_digit_net(), two_streams=two_streams)
        job = packing.Job(
            model=classifier,
            x=digits,
            y={DIGIT: classes},
            loss_weights={DIGIT: 1.0},
            optimizer=keras.optimizers.SGD(0.1),
            seed=3,
        )
        Trainer().fit([job], epochs=2, batch_size=100, verbose=False)
        trained.append(classifier)
    assert trained[1].count_params() == models.DIGIT_NET_PARAMS
    for a, b in zip(*(c.get_weights() for c in trained)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(trained[0](digits[:10])[DIGIT], trained[1](digits[:10])[DIGIT], atol=1e-4)


def test_separate_training_with_an_odd_batch_size_falls_back_to_one_stream(tiny_pairs, monkeypatch):
    """An odd batch cannot be split in two streams: stage 1 runs one, and trains as one stream does."""
    streams = []
    real_classifier = models.digit_classifier

    def recording_classifier(digit_net, two_streams=True, **kwargs):
        streams.append(two_streams)
        return real_classifier(digit_net, two_streams=two_streams, **kwargs)

    monkeypatch.setattr(runs, "digit_classifier", recording_classifier)
    spec = tiny_run("separate", tiny_pairs, batch_size=33, precision="float32")
    (run,) = train_runs([spec], verbose=False)
    assert streams == [False]

    # The same stage 1 by hand, one stream: the run's digit net ends with these weights.
    digit_net = models.digit_nets(build_model("separate", seed=spec.seed, precision="float32"))[0]
    digits, classes = tiny_pairs[0].pairs.reshape(-1, 14, 14), tiny_pairs[0].classes.reshape(-1)
    job = packing.Job(
        model=real_classifier(digit_net, two_streams=False),
        x=digits,
        y={DIGIT: classes},
        loss_weights={DIGIT: 1.0},
        optimizer=keras.optimizers.SGD(spec.hparams.learning_rate),
        seed=spec.seed,
    )
    Trainer().fit([job], epochs=1, batch_size=33, verbose=False)
    for a, b in zip(models.digit_nets(run.model)[0].get_weights(), digit_net.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


class _FixedLogits:
    """A stand-in model whose outputs are given logits, whatever the pairs."""

    def __init__(self, logits):
        self.logits = logits

    def __call__(self, pairs, training=False):
        return {name: values[: len(pairs)] for name, values in self.logits.items()}

    def get_weights(self):
        return []

    def get_config(self):
        return {}  # no layers, no dtype policies: float32 already, scored as it is


def test_error_rates_and_evaluate_on_known_logits(tiny_pairs):
    test = tiny_pairs[1].subset(slice(0, 4))
    wrong_first = np.eye(10)[(test.classes[:, 0] + 1) % 10]  # every digit-1 answer wrong
    right_second = np.eye(10)[test.classes[:, 1]]
    comparison = np.eye(2)[test.target]
    comparison[0] = np.eye(2)[1 - test.target[0]]  # one of four comparisons wrong
    logits = {DIGIT1: wrong_first, DIGIT2: right_second, COMPARISON: comparison}
    assert error_rates(logits, test) == {DIGIT1: 100.0, DIGIT2: 0.0, COMPARISON: 25.0}

    spec = RunSpec("main", 0, get_variant("main").defaults, test, {TEST: test})
    errors = evaluate(_FixedLogits(logits), spec)
    assert errors == {
        error_key(split, output): value
        for split in (TRAIN, TEST)
        for output, value in ((DIGIT1, 100.0), (DIGIT2, 0.0), (COMPARISON, 25.0))
    }
    no_digits = evaluate(_FixedLogits({COMPARISON: comparison}), spec)
    assert no_digits[error_key(TEST, DIGIT1)] is None and no_digits[error_key(TEST, COMPARISON)] == 25.0


@pytest.mark.parametrize(
    "variant, expected",
    [
        ("main", [[{COMPARISON: 0.4, DIGIT1: 0.3, DIGIT2: 0.3}]]),
        ("noise_removal", [[{COMPARISON: 0.4, DIGIT1: 0.3, DIGIT2: 0.3}]]),
        ("fc_baseline", [[{COMPARISON: 1.0}]]),
        ("separate", [[{DIGIT: 1.0}], [{COMPARISON: 1.0}]]),  # stage 1, stage 2
    ],
)
def test_the_loss_weights_each_variant_trains_with(variant, expected, tiny_pairs, monkeypatch):
    seen = []
    real_fit = Trainer.fit

    def recording_fit(self, jobs, **kwargs):
        seen.append([job.loss_weights for job in jobs])
        return real_fit(self, jobs, **kwargs)

    monkeypatch.setattr(Trainer, "fit", recording_fit)
    train_runs([tiny_run(variant, tiny_pairs, c_aux=0.3, precision="float32")], verbose=False)
    assert seen == [[pytest.approx(w) for w in stage] for stage in expected]


def test_the_bfloat16_path_of_the_committed_results(tiny_pairs):
    (bf16,) = train_runs([tiny_run("main", tiny_pairs, epochs=2, precision="bfloat16")], verbose=False)
    (f32,) = train_runs([tiny_run("main", tiny_pairs, epochs=2, precision="float32")], verbose=False)
    conv = models.digit_nets(bf16.model)[0].get_layer("conv2")
    assert (
        conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    )  # mixed: bf16 math, f32 weights
    assert models.digit_nets(f32.model)[0].get_layer("conv2").compute_dtype == "float32"
    assert all(0 <= v <= 100 for v in bf16.errors.values())
    assert not np.allclose(bf16.model.get_weights()[0], f32.model.get_weights()[0])  # really another path
