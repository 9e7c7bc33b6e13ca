"""`python -m kerascmp.train`: end to end, and clean refusals."""

import json

import numpy as np
import pytest

from conftest import assert_clean_failure, run_module
from kerascmp import train


@pytest.mark.parametrize(
    "args, message",
    [
        (["--variant", "resnet"], "unknown variant"),
        (["--c-aux", "0.7"], "[0, 0.5]"),
        (["--c-aux", "-0.1"], "[0, 0.5]"),
        (["--lr", "0"], "> 0"),
        (["--lr", "-1"], "> 0"),
        (["--lr", "abc"], "not a number"),
        (["--epochs", "0"], "from 1 to 10,000"),
        (["--pairs", "6000"], "at most 5000"),
        (["--rounds", "0"], "from 1 to 1,000"),
    ],
)
def test_bad_values_end_with_one_line_and_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.cli.run_main(train.main, args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_data_dir_is_a_clean_failure(tmp_path):
    result = run_module(
        "kerascmp.train",
        "--epochs",
        "1",
        "--pairs",
        "100",
        "--no-export",
        "--data-dir",
        str(tmp_path / "nowhere"),
    )
    assert_clean_failure(result, "no prepared MNIST", "--download")


def test_train_cli_end_to_end(tmp_path):
    results = tmp_path / "results.json"
    result = run_module(
        "kerascmp.train",
        "--variant",
        "main",
        "--epochs",
        "1",
        "--pairs",
        "200",
        "--rounds",
        "2",
        "--output-dir",
        str(tmp_path / "models"),
        "--results-json",
        str(results),
    )
    assert result.returncode == 0, result.stderr
    assert "round 2/2" in result.stdout and "mean ± std over 2 rounds" in result.stdout
    # TensorFlow's start-up banners (oneDNN, absl) are filtered out of a command's stderr
    assert "oneDNN" not in result.stderr and "absl::InitializeLog" not in result.stderr, result.stderr
    saved = json.loads(results.read_text())
    assert [r["seed"] for r in saved["rounds"]] == [0, 1]
    assert set(saved["summary"]) == set(train.ERROR_KEYS)
    errors = [r["errors"]["test_comparison"] for r in saved["rounds"]]
    assert saved["summary"]["test_comparison"]["mean"] == pytest.approx(np.mean(errors))
    assert saved["summary"]["test_comparison"]["std"] == pytest.approx(np.std(errors, ddof=1))
    assert (tmp_path / "models" / "main" / "saved_model.pb").exists()
    assert (tmp_path / "models" / "main.keras").exists()
    meta = json.loads((tmp_path / "models" / "main" / "kerascmp.json").read_text())
    assert meta["variant"] == "main" and meta["seed"] == 0 and "keras" in meta["packages"]
