"""The exported SavedModel is self-contained and agrees with the in-memory Keras model."""
import json
import subprocess
import sys

import numpy as np
import pytest

from kerascmp import export
from kerascmp.training import Hyperparameters, Run, train_runs

RELOAD = """
import sys, json, numpy as np, tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
pairs = np.load(sys.argv[2]); raw = np.load(sys.argv[3])
out = {k: v.numpy().tolist() for k, v in loaded.signatures["serving_default"](pairs=tf.constant(pairs)).items()}
mn = {k: v.numpy().tolist() for k, v in loaded.signatures["from_mnist"](pairs=tf.constant(raw)).items()}
print(json.dumps({"serving_default": out, "from_mnist": mn}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_pairs):
    run = Run("main", 0, Hyperparameters.for_variant("main", epochs=2, precision="float32"),
              tiny_pairs[0], {"test": tiny_pairs[1]})
    train_runs([run], verbose=False)
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
    result = subprocess.run([sys.executable, "-c", RELOAD, str(directory), str(tmp_path / "pairs.npy"),
                             str(tmp_path / "raw.npy")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])

    expected = export.serving_outputs(run.model, pairs)
    expected_raw = export.serving_outputs(run.model, np.round(pairs).astype(np.float32))
    for signature, reference in (("serving_default", expected), ("from_mnist", expected_raw)):
        got = loaded[signature]
        assert set(got) == {"p_first_leq_second", "first_leq_second", "digit1_probabilities",
                            "digit2_probabilities"}
        for name, values in reference.items():
            np.testing.assert_allclose(np.asarray(got[name]), np.asarray(values), atol=1e-5, err_msg=name)


def test_signatures_have_the_documented_names_shapes_and_dtypes(exported):
    import tensorflow as tf

    _, directory = exported
    loaded = tf.saved_model.load(str(directory))
    assert set(loaded.signatures) == {"serving_default", "from_mnist"}
    for name, shape, dtype in (("serving_default", [None, 2, 14, 14], tf.float32),
                               ("from_mnist", [None, 2, 28, 28], tf.uint8)):
        signature = loaded.signatures[name]
        (spec,) = signature.structured_input_signature[1].values()
        assert spec.shape.as_list() == shape and spec.dtype == dtype and spec.name == "pairs"
        outputs = signature.structured_outputs
        assert outputs["p_first_leq_second"].dtype == tf.float32
        assert outputs["first_leq_second"].dtype == tf.int32
        assert outputs["digit1_probabilities"].shape.as_list() == [None, 10]
    meta = json.loads((directory / "kerascmp.json").read_text())
    assert meta["variant"] == "main" and meta["hyperparameters"]["epochs"] == 2
    assert directory.with_suffix(".keras").exists()


def test_fc_baseline_exports_without_digit_outputs(tiny_pairs, tmp_path):
    run = Run("fc_baseline", 0, Hyperparameters.for_variant("fc_baseline", epochs=1), tiny_pairs[0])
    train_runs([run], verbose=False)
    export.export_model(run.model, tmp_path / "fc", export.run_metadata(run))
    import tensorflow as tf

    outputs = tf.saved_model.load(str(tmp_path / "fc")).signatures["serving_default"].structured_outputs
    assert set(outputs) == {"p_first_leq_second", "first_leq_second"}


def test_keras_file_reloads_with_its_custom_layer(tiny_pairs, tmp_path):
    import keras

    run = Run("separate_noise_removal", 0, Hyperparameters.for_variant("separate_noise_removal", epochs=1,
                                                                       precision="float32"), tiny_pairs[0])
    train_runs([run], verbose=False)
    export.export_model(run.model, tmp_path / "snr", export.run_metadata(run))
    reloaded = keras.models.load_model(tmp_path / "snr.keras")
    pairs = tiny_pairs[1].pairs[:32]
    np.testing.assert_allclose(reloaded(pairs)["comparison"], run.model(pairs)["comparison"], atol=1e-5)
