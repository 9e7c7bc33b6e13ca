"""Reliability III: the 29 cases of the probe, one test each (RELIABILITY.md, "Reliability III").

The matrix (test_output_matrix.py) walks every output flag over every kind of path; these are the cases as
they were found, with what each must now do.
"""

import dataclasses
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, assert_one_line_failure, round_record, run_in_process, train_tiny
from kerascmp import outputs
from kerascmp.errors import UsageError, VariantError

TINY = ["--variant", "main", "--epochs", "1", "--pairs", "100"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A real export of main (one epoch, 100 pairs), and 100 MNIST-test pairs to predict on."""
    from kerascmp.data import generate_pair_sets
    from kerascmp.serving import export

    pairs = generate_pair_sets(100, seed=0)
    run = train_tiny("main", pairs)
    root = tmp_path_factory.mktemp("exported")
    export.export_model(run.model, root / "models" / "main", export.run_metadata(run))
    np.save(root / "pairs.npy", pairs[1].pairs)
    return root


def sandbox_with_export(exported, tmp_path) -> Path:
    """A copy of the export's folder that a test may change."""
    import shutil

    shutil.copytree(exported / "models", tmp_path / "models", symlinks=True)
    return tmp_path / "models"


def no_epoch(outcome) -> None:
    assert "epoch" not in outcome[1].lower() and "round 1/" not in outcome[1], "refused after training"


# ---- outputs never replace a model, a link, a FIFO or a device ---------------------------------------------


@pytest.mark.parametrize(
    "target, fragment",
    [
        ("models/main.keras", "a model's name"),
        ("models/main.onnx", "a model's name"),
        ("fifo.csv", "is a FIFO"),
        ("link.csv", "is a symbolic link"),
        ("/dev/stdout", "or - for standard output"),
        ("/dev/null", "is a device"),
    ],
)
def test_predict_never_replaces_a_model_a_link_a_fifo_or_a_device(
    target, fragment, exported, tmp_path, capsys
):
    models = sandbox_with_export(exported, tmp_path)
    (models / "main.keras").write_bytes(b"the trainable model")
    (models / "main.onnx").write_bytes(b"the onnx model")
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "mine.txt").write_text("mine")
    (tmp_path / "link.csv").symlink_to(tmp_path / "mine.txt")
    path = target if target.startswith("/") else str(tmp_path / target)
    before = {p: p.read_bytes() for p in (models / "main.keras", models / "main.onnx", tmp_path / "mine.txt")}
    args = ["--model", str(models / "main"), "--pairs", str(exported / "pairs.npy"), "--output", path]
    assert_one_line_failure(run_in_process("kerascmp.predict", *args, capsys=capsys), fragment)
    assert {p: p.read_bytes() for p in before} == before
    assert Path(path).is_fifo() if target == "fifo.csv" else True
    assert os.path.islink("/dev/stdout") or not target.startswith("/dev/stdout")


def test_predict_writes_its_csv_to_stdout_for_a_dash(exported, capsys):
    args = ["--model", str(exported / "models" / "main"), "--pairs", str(exported / "pairs.npy")]
    code, out, err = run_in_process("kerascmp.predict", *args, "--output", "-", capsys=capsys)
    assert code == 0 and out.splitlines()[0].startswith("pair,first_leq_second,p_first_leq_second")
    assert len(out.splitlines()) == 101 and "100 pairs" in err  # the summary goes beside, on stderr


def test_train_never_writes_its_results_over_a_model(tmp_path, capsys):
    keras_file = tmp_path / "main.keras"
    keras_file.write_bytes(b"the trainable model")
    outcome = run_in_process(
        "kerascmp.train", *TINY, "--no-export", "--results-json", str(keras_file), capsys=capsys
    )
    assert_one_line_failure(outcome, "a model's name")
    no_epoch(outcome)
    assert keras_file.read_bytes() == b"the trainable model"


# ---- exports delete nothing that sits in them --------------------------------------------------------------


def test_train_refuses_an_export_holding_a_users_file_and_names_it(exported, tmp_path, capsys):
    models = sandbox_with_export(exported, tmp_path)
    notes = models / "main" / "MY_NOTES.txt"
    notes.write_text("my notes")
    outcome = run_in_process("kerascmp.train", *TINY, "--output-dir", str(models), capsys=capsys)
    assert_one_line_failure(outcome, "MY_NOTES.txt", "nothing was touched")
    no_epoch(outcome)
    assert notes.read_text() == "my notes"


def test_train_refuses_an_output_dir_that_is_an_export(exported, tmp_path, capsys):
    models = sandbox_with_export(exported, tmp_path)
    outcome = run_in_process("kerascmp.train", *TINY, "--output-dir", str(models / "main"), capsys=capsys)
    assert_one_line_failure(outcome, "is the export")
    no_epoch(outcome)
    assert not (models / "main" / "main").exists()


def test_the_manifest_lists_every_file_an_export_wrote(exported):
    directory = exported / "models" / "main"
    assert outputs.manifest_of(directory) == outputs.files_under(directory)


# ---- refused before the work, not after --------------------------------------------------------------------


def train_exporting(tmp_path, results: Path, capsys):
    """A tiny `train` exporting to tmp_path/models, its numbers to `results`."""
    models = str(tmp_path / "models")
    return run_in_process(
        "kerascmp.train", *TINY, "--output-dir", models, "--results-json", str(results), capsys=capsys
    )


def test_results_json_inside_the_future_export_is_refused_before_training(tmp_path, capsys):
    outcome = train_exporting(tmp_path, tmp_path / "models" / "main" / "results.json", capsys)
    assert_one_line_failure(outcome, "inside the export")
    no_epoch(outcome)
    assert not (tmp_path / "models" / "main").exists()


def test_a_full_disk_while_the_savedmodel_is_written_is_one_line_and_keeps_the_rounds_numbers(
    tmp_path, capsys, monkeypatch
):
    import keras
    import tensorflow as tf

    def disk_full(archive, path, **kwargs):  # as SaveV2 fails on a full disk
        raise tf.errors.ResourceExhaustedError(None, None, f"{path}/variables; No space left on device")

    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", disk_full)  # the backend's class
    results = tmp_path / "results.json"
    code, out, err = train_exporting(tmp_path, results, capsys)
    assert code == 4 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "No space left on device" in err and f"its numbers are in {results}" in err
    assert len(json.loads(results.read_text())["rounds"]) == 1
    assert not [p.name for p in (tmp_path / "models").iterdir()]  # no staging left


# ---- every variant is checked when it is resolved ----------------------------------------------------------


@pytest.fixture
def broken_joins():
    """Variants whose joined nets cannot train with them, registered for one test."""
    from kerascmp.variants import get_variant, registry

    main, tta = registry._REGISTRY["main"], registry._REGISTRY["beyond_tta"]
    made = {
        "t_other_optimiser": (
            dataclasses.replace(main, name="t_other_optimiser", joined=("beyond_tta",)),
            "optimiser",
        ),
        "t_other_sam": (
            dataclasses.replace(tta, name="t_other_sam", sam_radius=0.05, joined=("beyond_upsampled",)),
            "SAM radius",
        ),
        "t_unknown": (dataclasses.replace(main, name="t_unknown", joined=("no_such_net",)), "not registered"),
        "t_itself": (dataclasses.replace(main, name="t_itself", joined=("t_itself",)), "joins itself"),
        "t_fc": (dataclasses.replace(main, name="t_fc", joined=("fc_baseline",)), "digit heads"),
    }
    for variant, _ in made.values():
        registry.register_variant(variant)
    yield {name: fragment for name, (_, fragment) in made.items()}, get_variant
    for name in made:
        registry._REGISTRY.pop(name)


@pytest.mark.parametrize("name", ["t_other_optimiser", "t_other_sam", "t_unknown", "t_itself", "t_fc"])
def test_a_joined_net_that_cannot_train_is_refused_by_every_command_and_the_api(
    name, broken_joins, tmp_path, capsys
):
    fragments, get_variant = broken_joins
    with pytest.raises(VariantError, match=fragments[name]):
        get_variant(name)
    train = run_in_process("kerascmp.train", *TINY[2:], "--variant", name, "--no-export", capsys=capsys)
    assert_one_line_failure(train, fragments[name])
    study_dir = tmp_path / "study"
    study = run_in_process(
        "kerascmp.study",
        "--variants",
        name,
        "--rounds",
        "1",
        *TINY[2:],
        "--output-dir",
        str(study_dir),
        capsys=capsys,
    )
    assert_one_line_failure(study, fragments[name])
    search = run_in_process(
        "tuning.search",
        "--variant",
        name,
        "--lr",
        "0.1",
        "--rounds",
        "1",
        *TINY[2:],
        "--project-dir",
        str(tmp_path / "search"),
        capsys=capsys,
    )
    assert_one_line_failure(search, fragments[name])
    assert not study_dir.exists() and not (tmp_path / "search").exists()  # nothing written


# ---- conversions of a replaced export go with it; export says what it replaces -----------------------------


def test_retraining_removes_the_old_conversions_and_export_says_what_it_replaces(tmp_path, capsys):
    models = tmp_path / "models"
    first = run_in_process(
        "kerascmp.train",
        *TINY,
        "--output-dir",
        str(models),
        "--export-formats",
        "onnx",
        "--quiet",
        capsys=capsys,
    )
    assert first[0] == 0 and (models / "main.onnx").is_file(), first[2]
    other = tmp_path / "other.onnx"
    export = ["--model", str(models / "main"), "--format", "onnx", "--output", str(other)]
    assert "replacing" not in run_in_process("kerascmp.export", *export, capsys=capsys)[1]
    again = run_in_process("kerascmp.export", *export, capsys=capsys)
    assert again[0] == 0 and "replacing the onnx model there" in again[1], again
    second = run_in_process(
        "kerascmp.train", *TINY, "--output-dir", str(models), "--seed", "5", "--quiet", capsys=capsys
    )
    assert second[0] == 0 and f"removed {models / 'main.onnx'}" in second[1], second
    assert not (models / "main.onnx").exists()  # predict can no longer serve the previous model
    assert other.is_file()  # not beside the export: not the old export's conversion


# ---- no traceback left -------------------------------------------------------------------------------------


def test_predict_json_into_a_closed_pipe_ends_quietly(exported, tmp_path):
    many = tmp_path / "many.npy"  # megabytes of JSON: more than a pipe holds, so predict must block on it
    np.save(many, np.tile(np.load(exported / "pairs.npy"), (200, 1, 1, 1)))
    command = [sys.executable, "-m", "kerascmp.predict", "--model", str(exported / "models" / "main")]
    reader = subprocess.Popen(
        [*command, "--pairs", str(many), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    reader.stdout.read(10)
    reader.stdout.close()  # `| head -c 10`
    _, err = reader.communicate(timeout=120)
    assert reader.returncode == 141 and b"Traceback" not in err and b"BrokenPipe" not in err, err


def test_export_to_an_unwritable_path_is_refused_before_converting(exported, tmp_path, capsys):
    if os.geteuid() == 0:  # root writes through any mode bits, not into /sys
        output = Path("/sys/kerascmp_test/main.onnx")
    else:
        (tmp_path / "read_only").mkdir(mode=0o555)
        output = tmp_path / "read_only" / "main.onnx"
    args = ["--model", str(exported / "models" / "main"), "--format", "onnx", "--output", str(output)]
    outcome = run_in_process("kerascmp.export", *args, capsys=capsys)
    assert_one_line_failure(outcome, "is not writable")


def onnx_model(path: Path, *, keep_dims: bool) -> Path:
    """An ONNX model with kerascmp's input and output names that is not kerascmp's: its "probability" is the
    sum of the pixels, of shape [N] or, with `keep_dims`, [N, 1, 1, 1]."""
    import onnx
    from onnx import TensorProto, helper

    batch = ["N", 1, 1, 1] if keep_dims else ["N"]
    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["pairs", "axes"], ["p_first_leq_second"], keepdims=int(keep_dims)),
            helper.make_node("Greater", ["p_first_leq_second", "half"], ["above"]),
            helper.make_node("Cast", ["above"], ["first_leq_second"], to=TensorProto.INT32),
        ],
        "not_kerascmp",
        [helper.make_tensor_value_info("pairs", TensorProto.FLOAT, ["N", 2, 14, 14])],
        [
            helper.make_tensor_value_info("p_first_leq_second", TensorProto.FLOAT, batch),
            helper.make_tensor_value_info("first_leq_second", TensorProto.INT32, batch),
        ],
        [
            helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3]),
            helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("keep_dims, fragment", [(True, "has shape"), (False, "which is no probability")])
def test_an_onnx_model_with_kerascmps_names_but_not_its_outputs_is_refused(
    keep_dims, fragment, exported, tmp_path, capsys
):
    model = onnx_model(tmp_path / "foreign.onnx", keep_dims=keep_dims)
    outcome = run_in_process(
        "kerascmp.predict", "--model", str(model), "--pairs", str(exported / "pairs.npy"), capsys=capsys
    )
    assert_one_line_failure(outcome, fragment, "not a kerascmp export")


# ---- smaller -----------------------------------------------------------------------------------------------


def study_files(directory: Path, epochs: int, variants: list[str]) -> Path:
    """A finished study's settings and rounds, made by hand."""
    from kerascmp import files
    from kerascmp.analysis import rounds

    directory.mkdir(parents=True)
    files.atomic_write_json(
        directory / "study.json", {"seed": 0, "epochs": epochs, "pairs": 100, "precision": "float32"}
    )
    for name in variants:
        rounds.append(directory / "rounds.jsonl", round_record(name, hyperparameters={"epochs": epochs}))
    return directory


def study_with_longer(tmp_path, capsys, variants: str, epochs: int, longer):
    """`study` of one round of `variants` at `epochs`, with `--longer` the study `longer`."""
    args = ["--variants", variants, "--rounds", "1", "--epochs", str(epochs), "--pairs", "100"]
    args += ["--precision", "float32", "--output-dir", str(tmp_path / "study"), "--longer", str(longer)]
    return run_in_process("kerascmp.study", *args, capsys=capsys)


def test_longer_must_train_more_epochs(tmp_path, capsys):
    longer = study_files(tmp_path / "longer", 1, ["main"])
    outcome = study_with_longer(tmp_path, capsys, "main", 2, longer)
    assert_one_line_failure(outcome, "not more than this study's 2")
    no_epoch(outcome)
    assert not (tmp_path / "study" / "study.json").exists()


def test_longer_holding_only_some_variants_gets_a_note(tmp_path, capsys):
    longer = study_files(tmp_path / "longer", 3, ["main"])
    code, out, err = study_with_longer(tmp_path, capsys, "main,noise_removal", 1, longer)
    assert code == 0, err
    assert "holds no rounds of 1 of this study's 2 variants (noise_removal)" in out


@pytest.mark.parametrize(
    "stored, fragment",
    [
        ([round_record("main", diverged=True)], "every stored round of main diverged"),
        ([round_record("noise_removal")], "holds no rounds of main; it holds noise_removal"),
        ([round_record("main")], "record no failures"),
    ],
)
def test_failures_says_why_a_variant_has_none(stored, fragment):
    from kerascmp.analysis.failure_summary import summarize_failures

    with pytest.raises(UsageError, match=fragment) as refused:
        summarize_failures(stored, "main")
    assert "since" not in str(refused.value)


def test_staging_a_killed_process_left_is_removed_by_the_next_command_and_a_live_ones_kept(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".main.kerascmp-{dead.stdout.strip()}-x1y2"  # as export_model names its staging
    (stale / "model").mkdir(parents=True)
    (stale / "model" / "saved_model.pb").write_bytes(b"half")
    stale_file = tmp_path / f".main.onnx.kerascmp-{dead.stdout.strip()}-z3.onnx"
    stale_file.write_bytes(b"half")
    live = tmp_path / f".main.kerascmp-{os.getpid()}-a1"
    live.mkdir()
    outputs.check([outputs.Output("--output-dir", tmp_path / "main", outputs.EXPORT)])
    assert not stale.exists() and not stale_file.exists() and live.exists()


def test_a_full_disk_in_predict_leaves_no_temporary_file_and_says_nothing_was_written(
    exported, tmp_path, capsys, monkeypatch
):
    from kerascmp import files

    def disk_full(tmp, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "publish", disk_full)
    args = ["--model", str(exported / "models" / "main"), "--pairs", str(exported / "pairs.npy")]
    code, _, err = run_in_process(
        "kerascmp.predict", *args, "--output", str(tmp_path / "out.csv"), capsys=capsys
    )
    assert code == 4 and "nothing was written there" in err and "what finished before" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_export_formats_with_no_export_is_refused(capsys):
    outcome = run_in_process(
        "kerascmp.train", *TINY, "--no-export", "--export-formats", "onnx,tflite", capsys=capsys
    )
    assert_one_line_failure(outcome, "nothing would be exported")
    no_epoch(outcome)
