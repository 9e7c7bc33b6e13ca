"""The exported SavedModel is self-contained and agrees with the in-memory Keras model."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import train_tiny
from kerascmp import models
from kerascmp.names import (
    COMPARISON,
    DIGIT_OUTPUTS,
    FIRST_LEQ_SECOND,
    P_FIRST_LEQ_SECOND,
    probabilities_key,
)
from kerascmp.serving import export

OUTPUTS = {P_FIRST_LEQ_SECOND, FIRST_LEQ_SECOND, *map(probabilities_key, DIGIT_OUTPUTS)}


RELOAD = """
import sys, json, numpy as np, tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
pairs = np.load(sys.argv[2]); raw = np.load(sys.argv[3])
serving = loaded.signatures["serving_default"](pairs=tf.constant(pairs))
out = {k: v.numpy().tolist() for k, v in serving.items()}
mn = {k: v.numpy().tolist() for k, v in loaded.signatures["from_mnist"](pairs=tf.constant(raw)).items()}
print(json.dumps({"serving_default": out, "from_mnist": mn}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_pairs):
    run = train_tiny("main", tiny_pairs, epochs=2)
    # A model this small may give one verdict everywhere; centre its comparison logits on the test pairs,
    # so that both verdicts occur and the tests below check the class index and the 0.5 threshold.
    logits = np.asarray(run.model(tiny_pairs[1].pairs[:64])[COMPARISON], np.float64)
    dense = models.comparator_of(run.model).get_layer(COMPARISON)
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias - np.array([0.0, np.median(logits[:, 1] - logits[:, 0])], bias.dtype)])
    directory = tmp_path_factory.mktemp("export") / "main"
    export.export_model(run.model, directory, export.run_metadata(run))
    return run, directory


def test_saved_model_in_a_fresh_process_matches_keras(exported, tiny_pairs, tmp_path):
    run, directory = exported
    pairs = tiny_pairs[1].pairs[:64]
    # 28x28 uint8 pairs whose 2x2 average is exactly `pairs` where pixels are whole: repeat each pixel.
    raw = np.round(pairs).astype(np.uint8).repeat(2, axis=2).repeat(2, axis=3)
    np.save(tmp_path / "pairs.npy", pairs)
    np.save(tmp_path / "raw.npy", raw)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RELOAD,
            str(directory),
            str(tmp_path / "pairs.npy"),
            str(tmp_path / "raw.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])

    for signature, inputs in (("serving_default", pairs), ("from_mnist", np.round(pairs).astype(np.float32))):
        # Computed here from the Keras model's logits, not through export's own code.
        logits = {name: np.asarray(value, np.float64) for name, value in run.model(inputs).items()}
        softmax = {
            name: np.exp(v - v.max(-1, keepdims=True))
            / np.exp(v - v.max(-1, keepdims=True)).sum(-1, keepdims=True)
            for name, v in logits.items()
        }
        got = {name: np.asarray(value) for name, value in loaded[signature].items()}
        assert set(got) == OUTPUTS
        p_leq = softmax[COMPARISON][:, 1]  # class 1 is "first <= second" (data.comparison_target)
        np.testing.assert_allclose(got[P_FIRST_LEQ_SECOND], p_leq, atol=1e-5)
        np.testing.assert_array_equal(got[FIRST_LEQ_SECOND], (p_leq >= 0.5).astype(int))
        assert 0 < got[FIRST_LEQ_SECOND].sum() < len(pairs)  # both verdicts occur, so the index is tested
        for name in DIGIT_OUTPUTS:
            np.testing.assert_allclose(got[probabilities_key(name)], softmax[name], atol=1e-5)
            np.testing.assert_allclose(got[probabilities_key(name)].sum(-1), 1.0, atol=1e-5)


def test_signatures_have_the_documented_names_shapes_and_dtypes(exported):
    import tensorflow as tf

    _, directory = exported
    loaded = tf.saved_model.load(str(directory))
    assert set(loaded.signatures) == {"serving_default", "from_mnist"}
    for name, shape, dtype in (
        ("serving_default", [None, 2, 14, 14], tf.float32),
        ("from_mnist", [None, 2, 28, 28], tf.uint8),
    ):
        signature = loaded.signatures[name]
        (spec,) = signature.structured_input_signature[1].values()
        assert spec.shape.as_list() == shape and spec.dtype == dtype and spec.name == "pairs"
        outputs = signature.structured_outputs
        assert outputs[P_FIRST_LEQ_SECOND].dtype == tf.float32
        assert outputs[FIRST_LEQ_SECOND].dtype == tf.int32
        assert outputs[probabilities_key(DIGIT_OUTPUTS[0])].shape.as_list() == [None, 10]
    meta = json.loads((directory / "kerascmp.json").read_text())
    assert meta["variant"] == "main" and meta["hyperparameters"]["epochs"] == 2
    assert directory.with_suffix(".keras").exists()


def test_fc_baseline_exports_without_digit_outputs(tiny_pairs, tmp_path):
    run = train_tiny("fc_baseline", tiny_pairs)
    export.export_model(run.model, tmp_path / "fc", export.run_metadata(run))
    import tensorflow as tf

    outputs = tf.saved_model.load(str(tmp_path / "fc")).signatures["serving_default"].structured_outputs
    assert set(outputs) == {P_FIRST_LEQ_SECOND, FIRST_LEQ_SECOND}


def test_keras_file_reloads_with_its_custom_layer(tiny_pairs, tmp_path):
    import keras

    run = train_tiny("separate_noise_removal", tiny_pairs)
    export.export_model(run.model, tmp_path / "snr", export.run_metadata(run))
    reloaded = keras.models.load_model(tmp_path / "snr.keras")
    pairs = tiny_pairs[1].pairs[:32]
    np.testing.assert_allclose(reloaded(pairs)[COMPARISON], run.model(pairs)[COMPARISON], atol=1e-5)
