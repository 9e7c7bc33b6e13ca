"""Portable exports: whatever precision trained a model, its SavedModel computes in float32, scores what
train and study report, and converts to ONNX and LiteRT, whose runtimes reproduce it; predict runs all
three the same way, with the same refusals."""

import dataclasses
import json

import numpy as np
import pytest

from conftest import assert_clean_failure, assert_one_line_failure, run_in_process, run_module, train_tiny
from kerascmp.engine.build import build_model, float32_copy, precision_of
from kerascmp.engine.scoring import logits_of
from kerascmp.names import (
    COMPARISON,
    DIGIT_OUTPUTS,
    FIRST_LEQ_SECOND,
    P_FIRST_LEQ_SECOND,
    TEST,
    error_key,
    probabilities_key,
)
from kerascmp.serving import export
from kerascmp.serving.convert import TOLERANCE, convert
from kerascmp.serving.runtimes import open_model
from kerascmp.variants import REPORT_VARIANTS

# The report's six, analytic, and best's every ingredient (the ablation's steps add only training-time
# switches and batch norm and dropout, which `best` holds).
VARIANTS = [*REPORT_VARIANTS, "analytic", "best_in_small"]


def register_best_in_small(monkeypatch) -> None:
    """`best` at a fifth of its graph, for the test only: a deeper net and the upsampled one joined, read
    shifted straight and diagonally and turned (converting best itself takes minutes)."""
    from kerascmp.variants import registry

    best = registry.get_variant("best")
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    small = dataclasses.replace(
        best, name="best_in_small", members=1, test_time_shifts=((1, 0), (1, 1)), test_time_rotations=(5.0,)
    )
    registry.register_variant(small)


def served_errors(outputs: dict[str, np.ndarray], pairs) -> dict[str, float]:
    """Test error rates (%) from a runtime's serving outputs, as kerascmp.engine.scoring rounds them."""
    wrong = {COMPARISON: outputs[FIRST_LEQ_SECOND] != pairs.target}
    for i, name in enumerate(DIGIT_OUTPUTS):
        if probabilities_key(name) in outputs:
            wrong[name] = np.argmax(outputs[probabilities_key(name)], -1) != pairs.classes[:, i]
    return {error_key(TEST, name): round(100.0 * float(np.mean(w)), 6) for name, w in wrong.items()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_bf16_trained_model_exports_float32_and_every_runtime_scores_what_was_reported(
    variant, tiny_pairs, tmp_path, monkeypatch
):
    if variant == "best_in_small":
        register_best_in_small(monkeypatch)
    run = train_tiny(variant, tiny_pairs, precision="bfloat16")
    assert precision_of(run.model) == "bfloat16"
    directory = tmp_path / variant
    export.export_model(run.model, directory, export.run_metadata(run))
    meta = json.loads((directory / "kerascmp.json").read_text())
    assert (meta["training_precision"], meta["serving_precision"]) == ("bfloat16", "float32")

    saved = open_model(directory)
    graph = saved.model.signatures["serving_default"].graph.as_graph_def()
    assert "DT_BFLOAT16" not in str(graph), "the exported graph computes in bfloat16"

    test = tiny_pairs[1]
    reported = {key: value for key, value in run.errors.items() if key.startswith(TEST) and value is not None}
    reference = saved.run(test.pairs)
    assert served_errors(reference, test) == reported
    for fmt in ("onnx", "tflite"):
        conversion = convert(directory, fmt)
        assert conversion.max_difference <= TOLERANCE
        outputs = open_model(conversion.path).run(test.pairs)
        assert set(outputs) == set(reference)
        for name, value in reference.items():
            np.testing.assert_allclose(outputs[name], value, atol=TOLERANCE, rtol=0, err_msg=f"{fmt} {name}")
        assert served_errors(outputs, test) == reported, fmt


def test_the_float32_copy_has_the_weights_and_float32_layers_only(tiny_pairs):
    model = build_model("noise_removal", seed=0, precision="bfloat16")
    copy = float32_copy(model)
    assert precision_of(copy) == "float32" and copy is not model
    for ours, theirs in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    digits = logits_of(copy, tiny_pairs[1].pairs)[DIGIT_OUTPUTS[0]]
    assert digits.dtype == np.float32 and np.isfinite(digits).all()
    plain = build_model("main", seed=0, precision="float32")
    assert float32_copy(plain) is plain  # nothing to convert


def test_one_hot_argmax_takes_the_first_maximum_and_has_no_unconvertible_ops():
    import tensorflow as tf

    from kerascmp.models import OneHotArgmax

    layer = OneHotArgmax()
    logits = np.array([[[1.0, 3.0, 3.0, 0.0], [-0.0, 0.0, -1.0, -2.0]]], np.float32)
    np.testing.assert_array_equal(layer(logits), [[[0, 1, 0, 0], [1, 0, 0, 0]]])
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec((None, 2, 10))).graph
    ops = {op.type for op in graph.get_operations()}
    assert not ops & {"Bitcast", "BitwiseAnd", "ArgMax"}, ops


@pytest.fixture(scope="module")
def exported_formats(tmp_path_factory):
    """One tiny noise_removal trained by the CLI with all three formats."""
    out = tmp_path_factory.mktemp("formats")
    result = run_module(
        "kerascmp.train",
        "--variant",
        "noise_removal",
        "--epochs",
        "1",
        "--pairs",
        "200",
        "--output-dir",
        str(out),
        "--export-formats",
        "savedmodel,onnx,tflite",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "noise_removal.onnx" in result.stdout and "noise_removal.tflite" in result.stdout
    return out


def predict_json(model, *args, capsys):
    code, out, err = run_in_process("kerascmp.predict", "--model", str(model), *args, "--json", capsys=capsys)
    assert code == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_predict_gives_the_same_verdicts_and_digits_in_every_runtime(exported_formats, tmp_path, capsys):
    from kerascmp.data import generate_pair_sets

    _, test = generate_pair_sets(200, seed=4)
    np.save(tmp_path / "pairs.npy", test.pairs)
    np.save(tmp_path / "raw.npy", test.pairs.repeat(2, axis=2).repeat(2, axis=3).round().astype(np.uint8))
    for pairs in ("pairs.npy", "raw.npy"):  # 14x14 float, and 28x28 uint8 (from_mnist in the SavedModel)
        runs = [
            predict_json(exported_formats / name, "--pairs", str(tmp_path / pairs), capsys=capsys)
            for name in ("noise_removal", "noise_removal.onnx", "noise_removal.tflite")
        ]
        for other in runs[1:]:
            assert len(other["per_pair"]) == 200
            for ours, theirs in zip(runs[0]["per_pair"], other["per_pair"]):
                assert {k: v for k, v in ours.items() if not k.startswith("p_")} == {
                    k: v for k, v in theirs.items() if not k.startswith("p_")
                }
                assert theirs[P_FIRST_LEQ_SECOND] == pytest.approx(ours[P_FIRST_LEQ_SECOND], abs=TOLERANCE)


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
def test_predict_refuses_a_damaged_or_foreign_model_file_in_one_line(suffix, tmp_path, capsys):
    np.save(tmp_path / "pairs.npy", np.full((2, 2, 14, 14), 128, np.float32))
    pairs = ["--pairs", str(tmp_path / "pairs.npy")]
    damaged = tmp_path / f"damaged{suffix}"
    damaged.write_bytes(b"not a model")
    outcome = run_in_process("kerascmp.predict", "--model", str(damaged), *pairs, capsys=capsys)
    assert_one_line_failure(outcome, f"cannot load {damaged}")
    absent = tmp_path / f"absent{suffix}"
    outcome = run_in_process("kerascmp.predict", "--model", str(absent), *pairs, capsys=capsys)
    assert_one_line_failure(outcome, "is not a file")


def test_predict_never_writes_its_csv_over_the_model_file(exported_formats, tmp_path, capsys):
    model = exported_formats / "noise_removal.onnx"
    before = model.read_bytes()
    np.save(tmp_path / "pairs.npy", np.full((2, 2, 14, 14), 128, np.float32))
    args = ["--model", str(model), "--pairs", str(tmp_path / "pairs.npy"), "--output", str(model)]
    assert_one_line_failure(run_in_process("kerascmp.predict", *args, capsys=capsys), "is the --model file")
    assert model.read_bytes() == before


def test_the_export_cli_converts_and_replaces_only_its_own_files(exported_formats, tmp_path, capsys):
    def export(*args):
        return run_in_process("kerascmp.export", *args, capsys=capsys)

    model = exported_formats / "noise_removal"
    target = tmp_path / "copy.onnx"
    code, out, err = export("--model", str(model), "--format", "onnx", "--output", str(target))
    assert code == 0, err[-3000:]
    assert f"wrote {target}" in out and "ONNX Runtime" in out
    code, out, err = export("--model", str(model), "--format", "onnx", "--output", str(target))
    assert code == 0 and "replacing the onnx model there" in out, err[-3000:]  # its own conversion

    foreign = tmp_path / "notes.tflite"
    foreign.write_text("my notes")
    refused = export("--model", str(model), "--format", "tflite", "--output", str(foreign))
    assert_one_line_failure(refused, "is not a tflite model that kerascmp wrote", "nothing was touched")
    assert foreign.read_text() == "my notes"
    wrong_suffix = export("--model", str(model), "--format", "onnx", "--output", str(tmp_path / "x.bin"))
    assert_one_line_failure(wrong_suffix, "must end in .onnx")
    assert_one_line_failure(
        export("--model", str(tmp_path), "--format", "onnx"), "not a SavedModel directory"
    )
    assert_one_line_failure(export("--model", str(model), "--format", "pb"), "invalid choice")
    assert not list(tmp_path.glob(".*"))  # no staging file left behind


def test_train_refuses_an_unknown_export_format_before_training(tmp_path):
    result = run_module(
        "kerascmp.train", "--export-formats", "savedmodel,coreml", "--output-dir", str(tmp_path)
    )
    assert_clean_failure(result, "coreml")
    assert not list(tmp_path.iterdir())
