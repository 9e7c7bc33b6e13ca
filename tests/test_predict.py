"""`python -m kerascmp.predict`: right verdicts on real MNIST files, and clean refusals of bad input."""

import json
import re

import numpy as np
import pytest

from conftest import assert_clean_failure, run_module
from kerascmp import data
from kerascmp.data import mnist
from kerascmp.engine.runs import train_runs
from kerascmp.engine.specs import RunSpec
from kerascmp.names import (
    COMPARISON,
    DIGIT1,
    DIGIT_OUTPUTS,
    FIRST_LEQ_SECOND,
    P_FIRST_LEQ_SECOND,
    TEST,
    error_key,
    probabilities_key,
)
from kerascmp.serving import export
from kerascmp.variants import get_variant


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A main model trained briefly but well enough to read clear digits (1000 pairs, 10 epochs)."""
    train, test = data.generate_pair_sets(1000, seed=0)
    spec = RunSpec(
        "main", 0, get_variant("main").hyperparameters(epochs=10, precision="float32"), train, {TEST: test}
    )
    (run,) = train_runs([spec], verbose=False)
    assert run.errors[error_key(TEST, DIGIT1)] < 12
    directory = tmp_path_factory.mktemp("predict") / "main"
    export.export_model(run.model, directory, export.run_metadata(run))
    return directory


@pytest.fixture(scope="module")
def mnist_test_digits():
    """The first 28x28 MNIST-test images and their labels, straight from TFDS."""
    import tensorflow_datasets as tfds

    images, labels = tfds.as_numpy(
        tfds.load(
            "mnist",
            split="test[:40]",
            data_dir=str(mnist.BUNDLED_DATA_DIR),
            download=False,
            batch_size=-1,
            as_supervised=True,
        )
    )
    return images[..., 0], labels


def write_png(path, pixels):
    import tensorflow as tf

    pixels = np.asarray(pixels, np.uint8)
    tf.io.write_file(str(path), tf.io.encode_png(pixels[..., None] if pixels.ndim == 2 else pixels))
    return str(path)


def confident_pick(model_dir, images, labels):
    """Two digits of different classes that the model reads with p > 0.9 (so the test checks the plumbing)."""
    import tensorflow as tf

    model = tf.saved_model.load(str(model_dir))
    probs = model.signatures["from_mnist"](pairs=tf.constant(np.stack([images, images], 1)))[
        probabilities_key(DIGIT1)
    ]
    probs = probs.numpy()
    good = [i for i in range(len(labels)) if np.argmax(probs[i]) == labels[i] and probs[i].max() > 0.9]
    small = min(good, key=lambda i: labels[i])
    large = max(good, key=lambda i: labels[i])
    assert labels[small] < labels[large]
    return small, large


def test_cli_reads_pngs_and_gives_the_right_verdict(model_dir, mnist_test_digits, tmp_path):
    images, labels = mnist_test_digits
    small, large = confident_pick(model_dir, images, labels)
    a = write_png(tmp_path / "a.png", images[large])
    b = write_png(tmp_path / "b_inverted.png", 255 - images[small])  # dark on light: must be inverted
    result = run_module("kerascmp.predict", "--model", str(model_dir), a, b)
    assert result.returncode == 0, result.stderr
    assert f"A: digit {labels[large]}" in result.stdout and f"B: digit {labels[small]}" in result.stdout
    assert "verdict: A > B" in result.stdout and "inverted" in result.stdout
    # the printed probability is the JSON's P(A <= B), named, whichever the verdict
    printed = float(re.search(r"verdict: A > B \(P\(A ≤ B\) = ([\d.]+)\)", result.stdout).group(1))
    as_json = json.loads(run_module("kerascmp.predict", "--model", str(model_dir), a, b, "--json").stdout)
    assert printed == round(as_json[P_FIRST_LEQ_SECOND], 3) and printed < 0.5

    c = write_png(tmp_path / "c_14.png", np.asarray(data.pool_2x2(images[small])).round())  # 14x14 works too
    d = write_png(tmp_path / "d_rgb.png", np.repeat(images[large][..., None], 3, axis=-1))
    result = run_module("kerascmp.predict", "--model", str(model_dir), c, d, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report[FIRST_LEQ_SECOND] and (report["digit_A"], report["digit_B"]) == (
        labels[small],
        labels[large],
    )


def test_resized_image_gets_a_note(model_dir, mnist_test_digits, tmp_path):
    import tensorflow as tf

    images, _ = mnist_test_digits
    big = tf.image.resize(images[0][..., None].astype(np.float32), (56, 56)).numpy()[..., 0]
    result = run_module(
        "kerascmp.predict",
        "--model",
        str(model_dir),
        write_png(tmp_path / "big.png", big),
        write_png(tmp_path / "small.png", images[1]),
    )
    assert result.returncode == 0 and "56x56 resized to 28x28" in result.stdout


def test_pairs_file_with_labels_reports_error_rates(model_dir, tmp_path):
    _, test = data.generate_pair_sets(200, seed=1)
    np.save(tmp_path / "pairs.npy", test.pairs)
    np.save(tmp_path / "labels.npy", test.classes)
    result = run_module(
        "kerascmp.predict",
        "--model",
        str(model_dir),
        "--pairs",
        str(tmp_path / "pairs.npy"),
        "--labels",
        str(tmp_path / "labels.npy"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["pairs"] == 200

    import tensorflow as tf  # the same numbers, computed here from the SavedModel's raw outputs

    out = tf.saved_model.load(str(model_dir)).signatures["serving_default"](pairs=tf.constant(test.pairs))
    digits = [np.argmax(out[probabilities_key(name)].numpy(), -1) for name in DIGIT_OUTPUTS]
    expected = {
        name: 100 * np.mean(d != test.classes[:, i]) for i, (name, d) in enumerate(zip(DIGIT_OUTPUTS, digits))
    }
    expected[COMPARISON] = 100 * np.mean((out[P_FIRST_LEQ_SECOND].numpy() >= 0.5) != (test.target == 1))
    assert summary["error_percent"] == pytest.approx(expected)
    assert expected[DIGIT1] < 20 and expected[COMPARISON] < 40  # a model that reads digits, not a coin


def bad_array_cases():
    good = np.full((3, 2, 14, 14), 100.0, np.float32)
    nan = good.copy()
    nan[0, 0, 0, 0] = np.nan
    inf = good.copy()
    inf[1, 1, 1, 1] = np.inf
    return {
        "rank": (good[0], "shape"),
        "shape": (np.zeros((3, 2, 20, 20), np.float32), "shape"),
        "dtype": (np.array([["a"]]), "numeric"),
        "nan": (nan, "NaN or inf"),
        "inf": (inf, "NaN or inf"),
        "negative": (good - 200, "0-255"),
        "too_large": (good * 3, "0-255"),
        "normalised": (good / 255, "looks normalised; pass raw pixels"),
        "standardised": ((good - 150) / 80, "looks normalised; pass raw pixels"),
        "empty": (np.zeros((0, 2, 14, 14), np.float32), "empty batch"),
    }


@pytest.mark.parametrize("case", list(bad_array_cases()))
def test_bad_pairs_are_refused(case, model_dir, tmp_path, capsys):
    from kerascmp import predict

    array, message = bad_array_cases()[case]
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(SystemExit) as exit_info:
        predict.cli.run_main(predict.main, ["--model", str(model_dir), "--pairs", str(tmp_path / "bad.npy")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_label_mismatch_is_refused(model_dir, tmp_path):
    np.save(tmp_path / "pairs.npy", np.full((4, 2, 14, 14), 50.0, np.float32))
    np.save(tmp_path / "labels.npy", np.zeros((3, 2), np.int64))
    result = run_module(
        "kerascmp.predict",
        "--model",
        str(model_dir),
        "--pairs",
        str(tmp_path / "pairs.npy"),
        "--labels",
        str(tmp_path / "labels.npy"),
    )
    assert_clean_failure(result, "to match the pairs")


def test_missing_and_non_savedmodel_directories_are_refused(tmp_path, model_dir):
    png = write_png(tmp_path / "a.png", np.zeros((28, 28)))
    assert_clean_failure(
        run_module("kerascmp.predict", "--model", str(tmp_path / "none"), png, png),
        "not a SavedModel directory",
    )
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "saved_model.pb").write_bytes(b"not a protobuf")
    assert_clean_failure(
        run_module("kerascmp.predict", "--model", str(tmp_path / "fake"), png, png),
        "cannot load the SavedModel",
    )


def test_unreadable_and_corrupt_images_are_refused(model_dir, tmp_path):
    good = write_png(tmp_path / "good.png", np.zeros((28, 28)))
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert_clean_failure(
        run_module("kerascmp.predict", "--model", str(model_dir), good, str(tmp_path / "corrupt.png")),
        "corrupt.png",
        "not a readable",
    )
    assert_clean_failure(
        run_module("kerascmp.predict", "--model", str(model_dir), good, str(tmp_path / "missing.png")),
        "not found",
    )


def run_predict(capsys, *args):
    from kerascmp import predict

    with pytest.raises(SystemExit) as exit_info:
        predict.cli.run_main(predict.main, list(args))
    out = capsys.readouterr()
    assert exit_info.value.code == 0, out.err
    return json.loads(out.out.strip().splitlines()[-1])


def test_jpeg_bmp_and_gif_files_read_as_their_digits(model_dir, mnist_test_digits, tmp_path, capsys):
    from PIL import Image

    images, labels = mnist_test_digits
    small, large = confident_pick(model_dir, images, labels)
    files = {}
    for name, index, fmt in (("a.jpg", large, "JPEG"), ("b.bmp", small, "BMP"), ("c.gif", small, "GIF")):
        Image.fromarray(images[index]).save(
            tmp_path / name, format=fmt, **({"quality": 95} if fmt == "JPEG" else {})
        )
        files[name] = str(tmp_path / name)
    report = run_predict(capsys, "--model", str(model_dir), files["a.jpg"], files["b.bmp"], "--json")
    assert (report["digit_A"], report["digit_B"], report[FIRST_LEQ_SECOND]) == (
        labels[large],
        labels[small],
        False,
    )
    report = run_predict(capsys, "--model", str(model_dir), files["c.gif"], files["a.jpg"], "--json")
    assert (report["digit_A"], report["digit_B"], report[FIRST_LEQ_SECOND]) == (
        labels[small],
        labels[large],
        True,
    )


def test_no_invert_feeds_a_light_background_as_it_is(model_dir, mnist_test_digits, tmp_path, capsys):
    import tensorflow as tf

    images, _ = mnist_test_digits
    a = write_png(tmp_path / "a.png", 255 - images[3])  # dark on light
    b = write_png(tmp_path / "b.png", images[4])
    signature = tf.saved_model.load(str(model_dir)).signatures["from_mnist"]

    def p_leq(first):
        pair = np.stack([first, images[4]])[None].astype(np.uint8)
        return float(signature(pairs=tf.constant(pair))[P_FIRST_LEQ_SECOND][0])

    inverted = run_predict(capsys, "--model", str(model_dir), a, b, "--json")
    kept = run_predict(capsys, "--model", str(model_dir), a, b, "--json", "--no-invert")
    assert any("inverted" in note for note in inverted["notes"]) and kept["notes"] == []
    assert inverted[P_FIRST_LEQ_SECOND] == pytest.approx(p_leq(images[3]), abs=1e-6)
    assert kept[P_FIRST_LEQ_SECOND] == pytest.approx(p_leq(255 - images[3]), abs=1e-6)
    assert kept[P_FIRST_LEQ_SECOND] != pytest.approx(inverted[P_FIRST_LEQ_SECOND], abs=1e-3)


def test_pairs_at_28x28_give_the_numbers_of_their_14x14_pooling(
    model_dir, mnist_test_digits, tmp_path, capsys
):
    images, labels = mnist_test_digits
    raw = np.stack([images[:20], images[20:40]], axis=1)  # uint8 [20, 2, 28, 28]
    pooled = np.asarray(data.pool_2x2(raw))
    np.save(tmp_path / "labels.npy", np.stack([labels[:20], labels[20:40]], axis=1).astype(np.int64))
    summaries = []
    for name, pairs in (("raw_uint8", raw), ("raw_float", raw.astype(np.float32)), ("pooled", pooled)):
        np.save(tmp_path / f"{name}.npy", pairs)
        summaries.append(
            run_predict(
                capsys,
                "--model",
                str(model_dir),
                "--pairs",
                str(tmp_path / f"{name}.npy"),
                "--labels",
                str(tmp_path / "labels.npy"),
                "--json",
            )
        )
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0]["pairs"] == 20
