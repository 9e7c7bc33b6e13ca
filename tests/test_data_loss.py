"""Reliability II, data loss: no command deletes or overwrites a file that kerascmp did not write.

RELIABILITY.md lists every case with the test that proves it.
"""

import json

import numpy as np
import pytest

from conftest import assert_clean_failure, run_module, train_tiny
from kerascmp import files
from kerascmp.cli import UsageError
from kerascmp.serving import export
from tuning.search import SEARCH_OUTPUTS, SETTINGS_FILE

TINY = ["--epochs", "1", "--pairs", "100"]
SEARCH = ["--lr", "0.1", "--c-aux", "0.25", "--rounds", "1", *TINY]


def user_file(directory, name="thesis.tex", text="my thesis"):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---- --overwrite removes only a search's or a study's own files --------------------------------------


@pytest.mark.parametrize(
    "module, flag", [("tuning.search", "--project-dir"), ("kerascmp.study", "--output-dir")]
)
def test_overwrite_refuses_a_directory_without_its_marker_and_touches_nothing(module, flag, tmp_path):
    thesis = user_file(tmp_path)
    rounds = user_file(tmp_path, "rounds.jsonl", "mine\n")  # a name a study writes, but not written by one
    result = run_module(module, *TINY, flag, str(tmp_path), "--overwrite")
    assert_clean_failure(result, "holds no", "nothing was touched", "thesis.tex")
    assert thesis.read_text() == "my thesis" and rounds.read_text() == "mine\n"


def test_overwrite_removes_what_a_search_wrote_and_keeps_everything_else(tmp_path):
    for name in (SETTINGS_FILE, "oracle.json", "tuner0.json", "best.json", "trials.csv", "figure2.png"):
        user_file(tmp_path, name, "{}")
    user_file(tmp_path / "trial_00", "trial.json", "{}")
    user_file(tmp_path / "tensorboard" / "trial_00", "events", "")
    thesis = user_file(tmp_path)
    notes = user_file(tmp_path / "notes", "a.txt")
    kept = files.discard_outputs(tmp_path, SETTINGS_FILE, SEARCH_OUTPUTS, "search", "--project-dir")
    assert kept == ["notes", "thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "thesis.tex"]
    assert thesis.read_text() == "my thesis" and notes.exists()


def test_overwrite_of_a_new_or_empty_directory_is_a_plain_start(tmp_path):
    (tmp_path / "tensorboard").mkdir()  # made by the command itself before the check
    assert files.discard_outputs(tmp_path, SETTINGS_FILE, SEARCH_OUTPUTS, "search", "--project-dir") == []
    assert (tmp_path / "tensorboard").is_dir()


# ---- predict never writes over its inputs ---------------------------------------------------------------


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "mine.npy"
    np.save(path, np.full((3, 2, 14, 14), 128, np.uint8))
    return path


@pytest.mark.parametrize("target", ["pairs", "labels", "model"])
def test_predict_refuses_an_output_over_its_pairs_labels_or_model(target, pairs_file, tmp_path):
    labels = tmp_path / "labels.npy"
    np.save(labels, np.zeros((3, 2), np.int64))
    model = tmp_path / "model"
    graph = user_file(model, "saved_model.pb", "graph")  # refused before the model is even read
    output = {"pairs": pairs_file, "labels": labels, "model": graph}[target]
    before = output.read_bytes()
    args = ["--model", str(model), "--pairs", str(pairs_file), "--labels", str(labels)]
    result = run_module("kerascmp.predict", *args, "--output", str(output))
    assert_clean_failure(result, "--output", "is the --pairs file" if target == "pairs" else str(output.name))
    assert output.read_bytes() == before


# ---- an export replaces only an export ----------------------------------------------------------------


@pytest.mark.parametrize(
    "layout, message",
    [
        ("nested export", "no kerascmp export wrote"),
        ("user file", "is not an export directory"),
        ("keras dir", "is not a file kerascmp wrote"),
        ("lone keras file", "no kerascmp export beside it"),
    ],
)
def test_train_refuses_to_replace_what_no_export_wrote_before_training(layout, message, tmp_path):
    target = tmp_path / "main"
    if layout == "nested export":  # `train --output-dir out/main` made out/main/main/
        precious = user_file(target / "main", export.METADATA_FILE, "{}")
    elif layout == "user file":
        precious = user_file(tmp_path, "main")
    elif layout == "keras dir":
        precious = user_file(tmp_path / "main.keras", "mine.txt")
    else:
        precious = user_file(tmp_path, "main.keras", "my model")
    before = precious.read_text()
    result = run_module("kerascmp.train", "--variant", "main", *TINY, "--output-dir", str(tmp_path))
    assert_clean_failure(result, message)
    assert "epoch" not in result.stdout.lower()  # refused before any training
    assert precious.read_text() == before


def test_a_failed_keras_write_puts_the_previous_export_back(tiny_pairs, tmp_path, monkeypatch):
    run = train_tiny("main", tiny_pairs)
    target = tmp_path / "main"
    export.export_model(run.model, target, {**export.run_metadata(run), "seed": 11})
    first_keras = target.with_suffix(".keras").read_bytes()

    def disk_full(tmp, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "publish", disk_full)
    with pytest.raises(OSError):
        export.export_model(run.model, target, {**export.run_metadata(run), "seed": 12})
    assert json.loads((target / export.METADATA_FILE).read_text())["seed"] == 11  # together or not at all
    assert target.with_suffix(".keras").read_bytes() == first_keras
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_target_check_accepts_absent_empty_and_kerascmp_exports(tmp_path):
    export.check_export_target(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    export.check_export_target(tmp_path / "empty")
    user_file(tmp_path / "ours", export.METADATA_FILE, "{}")
    with pytest.raises(UsageError):  # a marker without a manifest is not an export
        export.check_export_target(tmp_path / "ours")
    manifest = {"files": [export.METADATA_FILE, "saved_model.pb"]}
    user_file(tmp_path / "ours", export.METADATA_FILE, json.dumps(manifest))
    user_file(tmp_path / "ours", "saved_model.pb", "")
    user_file(tmp_path, "ours.keras", "")
    export.check_export_target(tmp_path / "ours")
    user_file(tmp_path / "ours", "notes.txt", "")  # a file the manifest does not list
    with pytest.raises(UsageError, match="notes.txt"):
        export.check_export_target(tmp_path / "ours")
