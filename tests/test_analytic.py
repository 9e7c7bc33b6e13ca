"""The analytic comparison head: exact against enumeration, a probability, and exportable."""

import json
import subprocess
import sys

import numpy as np

from conftest import REPO, train_tiny
from kerascmp.models import AnalyticComparison
from kerascmp.names import COMPARISON, P_FIRST_LEQ_SECOND


def p_leq(digit_logits) -> np.ndarray:
    return np.exp(np.asarray(AnalyticComparison()(np.asarray(digit_logits, np.float32)), np.float64)[:, 1])


def test_it_agrees_with_enumerating_every_pair_of_digits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(64, 2, 10)) * rng.uniform(0.1, 8, size=(64, 1, 1))
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    brute = [sum(p[0, i] * p[1, j] for i in range(10) for j in range(10) if i <= j) for p in probabilities]
    np.testing.assert_allclose(p_leq(logits), brute, atol=1e-6)


def test_its_output_is_a_probability_and_its_logits_give_it_back():
    logits = np.random.default_rng(1).normal(size=(256, 2, 10)).astype(np.float32) * 50  # saturated too
    out = np.asarray(AnalyticComparison()(logits), np.float64)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, atol=1e-5)  # softmax(out) == (1 - p, p)
    assert np.all((0 <= p_leq(logits)) & (p_leq(logits) <= 1))


def test_one_hot_digits_give_the_exact_answer_equal_digits_included():
    a, b = np.meshgrid(np.arange(10), np.arange(10), indexing="ij")
    a, b = a.ravel(), b.ravel()
    one_hot = np.stack([np.eye(10)[a], np.eye(10)[b]], axis=1) * 40.0  # logits of certainty
    np.testing.assert_allclose(p_leq(one_hot), (a <= b).astype(float), atol=1e-6)
    assert p_leq(one_hot)[a == b].min() > 1 - 1e-6  # a == b counts as a <= b


def test_a_temperature_sharpens_the_digits_at_inference_only():
    from kerascmp.models import Sharpening, analytic_comparator

    logits = np.random.default_rng(2).normal(size=(32, 2, 10)).astype(np.float32) * 3
    sharp = analytic_comparator(0.5)
    np.testing.assert_allclose(sharp(logits)[COMPARISON], AnalyticComparison()(logits / 0.5), atol=1e-6)
    in_training = sharp(logits, training=True)[COMPARISON]
    np.testing.assert_allclose(in_training, AnalyticComparison()(logits), atol=1e-6)
    restored = Sharpening.from_config(Sharpening(0.5).get_config())
    np.testing.assert_allclose(restored(logits), logits / 0.5, atol=1e-6)
    assert len(analytic_comparator().layers) == 2  # at temperature 1, the comparator as it always was


def test_an_ensemble_compares_at_its_members_temperature():
    import keras

    from kerascmp.models import analytic_comparator, build_digit_net, ensemble_model, pair_model

    keras.utils.set_random_seed(0)
    members = [pair_model(build_digit_net(), comparator=analytic_comparator(0.25)) for _ in range(2)]
    pairs = np.random.default_rng(0).uniform(0, 255, size=(16, 2, 14, 14)).astype(np.float32)
    out = ensemble_model(members)(pairs)
    digits = np.stack([out["digit1"], out["digit2"]], axis=1)
    expected = AnalyticComparison()(digits / 0.25)
    np.testing.assert_allclose(out[COMPARISON], expected, atol=1e-5)
    assert not np.allclose(out[COMPARISON], AnalyticComparison()(digits), atol=1e-3)


RELOAD = """
import sys, json, numpy as np, keras, tensorflow as tf
import kerascmp.models  # registers AnalyticComparison
pairs = np.load(sys.argv[2])
p_name, comparison = sys.argv[3], sys.argv[4]
saved = tf.saved_model.load(sys.argv[1]).signatures["serving_default"](pairs=tf.constant(pairs))
reloaded = keras.models.load_model(sys.argv[1] + ".keras")
p_keras = tf.nn.softmax(reloaded(pairs)[comparison])[:, 1].numpy()
print(json.dumps({"saved": saved[p_name].numpy().tolist(), "keras": p_keras.tolist()}))
"""


def test_the_analytic_variant_round_trips_through_keras_and_savedmodel(tiny_pairs, tmp_path):
    from kerascmp.serving import export

    result = train_tiny("analytic", tiny_pairs, epochs=2)
    assert result.model.count_params() == 104_994  # the digit net alone: the head has no parameters
    export.export_model(result.model, tmp_path / "analytic", export.run_metadata(result))
    pairs = tiny_pairs[1].pairs[:16]
    np.save(tmp_path / "pairs.npy", pairs)
    reload = subprocess.run(
        [
            sys.executable,
            "-c",
            RELOAD,
            str(tmp_path / "analytic"),
            str(tmp_path / "pairs.npy"),
            P_FIRST_LEQ_SECOND,
            COMPARISON,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert reload.returncode == 0, reload.stderr[-2000:]
    loaded = json.loads(reload.stdout.strip().splitlines()[-1])
    logits = np.asarray(result.model(pairs)[COMPARISON], np.float64)
    expected = np.exp(logits[:, 1]) / np.exp(logits).sum(-1)
    np.testing.assert_allclose(loaded["saved"], expected, atol=1e-5)
    np.testing.assert_allclose(loaded["keras"], expected, atol=1e-5)
