"""Bring your own architecture: the example plugin runs through train, study, search and predict, and the
registration API refuses what it cannot run."""

import json
import subprocess
import sys

import pytest

import kerascmp
from conftest import REPO, assert_clean_failure, assert_predict_matches_training, run_module
from kerascmp.names import COMPARISON, DIGIT1

PLUGIN = str(REPO / "examples" / "wide_digit_net.py")
TINY = ["--epochs", "1", "--pairs", "100"]


def test_the_example_runs_through_every_command(tmp_path):
    train = run_module(
        "kerascmp.train",
        "--plugin",
        PLUGIN,
        "--variant",
        "wide",
        *TINY,
        "--output-dir",
        str(tmp_path / "models"),
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert (tmp_path / "models" / "wide" / "saved_model.pb").exists() and (
        tmp_path / "models" / "wide.keras"
    ).exists()

    study = run_module(
        "kerascmp.study",
        "--plugin",
        PLUGIN,
        "--variants",
        "main,wide",
        "--rounds",
        "1",
        *TINY,
        "--output-dir",
        str(tmp_path / "study"),
    )
    assert study.returncode == 0, study.stderr[-3000:]
    table = (tmp_path / "study" / "table.md").read_text()
    assert "| main architecture | 1 |" in table and "| wide digit net (conv 64/128) | 1 |" in table
    rounds = [json.loads(line) for line in (tmp_path / "study" / "rounds.jsonl").read_text().splitlines()]
    assert {r["variant"] for r in rounds} == {"main", "wide"}

    search = run_module(
        "tuning.search",
        "--plugin",
        PLUGIN,
        "--variant",
        "wide",
        "--lr",
        "0.03,0.1",
        "--c-aux",
        "0.25",
        "--rounds",
        "1",
        *TINY,
        "--project-dir",
        str(tmp_path / "search"),
    )
    assert search.returncode == 0, search.stderr[-3000:]
    assert "trial 2 of 2" in search.stdout and (tmp_path / "search" / "best.json").exists()

    assert_predict_matches_training(tmp_path / "models" / "wide", 100, tmp_path)


def test_a_broken_or_missing_plugin_is_one_line_and_exit_2(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    assert_clean_failure(run_module("kerascmp.train", "--plugin", str(broken), *TINY), "boom")
    assert_clean_failure(
        run_module("kerascmp.study", "--plugin", str(tmp_path / "nowhere.py")), "no such file"
    )
    assert_clean_failure(run_module("kerascmp.train", "--variant", "wide", *TINY), "unknown variant 'wide'")


def test_registration_refuses_what_it_cannot_run():
    build = kerascmp.get_variant("main").build
    defaults = kerascmp.Hyperparameters(0.1)
    with pytest.raises(ValueError, match="lower-case"):
        kerascmp.Variant("My Net", build, defaults)
    with pytest.raises(ValueError, match="outputs"):
        kerascmp.Variant("digits_only", build, defaults, outputs=(DIGIT1,))
    with pytest.raises(ValueError, match="staged"):
        kerascmp.Variant("staged_fc", build, defaults, outputs=(COMPARISON,), staged=True)
    for built_in in ("main", "analytic", "best"):  # every built-in name, the report's and beyond
        kept = kerascmp.get_variant(built_in)
        with pytest.raises(ValueError, match="kerascmp's own variants"):
            kerascmp.register_variant(kerascmp.Variant(built_in, build, defaults))
        assert kerascmp.get_variant(built_in) is kept  # untouched


def test_importing_kerascmp_does_not_start_tensorflow():

    code = "import sys, kerascmp, kerascmp.cli, kerascmp.train; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "False", result.stderr


def test_the_readme_shows_the_example_file_as_it_is():
    example = (REPO / "examples" / "wide_digit_net.py").read_text()
    code = example[example.index("import keras") :]
    assert code in (REPO / "README.md").read_text()


def test_every_example_plugin_loads_and_builds_what_it_registers():
    """What a user copies from examples/ must load, and each variant it registers build and answer raw
    pairs with every output (research/'s plugins: tests/test_research.py)."""
    from test_research import LOAD_AND_BUILD, run_python

    plugins = sorted(str(path) for path in (REPO / "examples").glob("*.py"))
    result = run_python("-c", LOAD_AND_BUILD, *plugins)
    assert result.returncode == 0, result.stderr[-3000:]
    built = {line.split()[1] for line in result.stdout.splitlines()}
    assert {"wide"} <= built, built


def test_the_sample_pair_example_makes_what_predict_reads(tiny_pairs, tmp_path, capsys):
    from test_research import run_python

    from conftest import run_in_process, train_tiny
    from kerascmp.serving import export

    made = run_python(str(REPO / "examples" / "sample_pair.py"), "--output-dir", str(tmp_path))
    assert made.returncode == 0, made.stderr[-2000:]
    run = train_tiny("main", tiny_pairs)
    export.export_model(run.model, tmp_path / "main", export.run_metadata(run))
    images = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    code, out, err = run_in_process(
        "kerascmp.predict", "--model", str(tmp_path / "main"), *images, capsys=capsys
    )
    assert code == 0 and "verdict:" in out, err
    arrays = ["--pairs", str(tmp_path / "pairs.npy"), "--labels", str(tmp_path / "classes.npy"), "--json"]
    code, out, err = run_in_process(
        "kerascmp.predict", "--model", str(tmp_path / "main"), *arrays, capsys=capsys
    )
    assert code == 0 and json.loads(out)["pairs"] == 100, err
