"""Shared fixtures: real MNIST pairs, tiny so that every test trains in seconds."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerascmp.analysis.rounds import RoundRecord
from kerascmp.engine.build import build_model
from kerascmp.engine.compile import loss_weights
from kerascmp.engine.scoring import targets_of

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent


def round_record(variant: str = "main", **fields) -> RoundRecord:
    """A study's round record with made-up settings, for the fields a test does not care about."""
    defaults = {"round": 0, "seed": 0, "data_seed": 0, "hyperparameters": {}, "pairs": 100, "errors": {}}
    return RoundRecord(variant=variant, **{**defaults, **fields})


@pytest.fixture(scope="session")
def tiny_pairs():
    """200 train and 200 test pairs of real MNIST (seed 0)."""
    from kerascmp.data import generate_pair_sets

    return generate_pair_sets(200, seed=0)


def run_module(module: str, *args: str, timeout: float = 300, cwd=None) -> subprocess.CompletedProcess:
    """Run `python -m module args` in a fresh process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def assert_clean_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, no traceback, and the message names the problem."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def pair_job(seed: int, optimizer, pairs, variant: str = "main"):
    """A packing Job: the variant's float32 model from `seed`, the study's loss at c_aux 0.25, on `pairs`."""
    from kerascmp.engine import packing

    model = build_model(variant, seed=seed, precision="float32")
    return packing.Job(
        model=model,
        x=pairs.pairs,
        y=targets_of(pairs),
        loss_weights=loss_weights(0.25),
        optimizer=optimizer,
        seed=seed,
    )


def wait_for(condition, timeout: float = 240) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def train_tiny(variant: str, pairs, *, epochs: int = 1, precision: str = "float32"):
    """One run of `variant` (seed 0, its default hyperparameters) on (train, test) pairs: its RunResult."""
    from kerascmp.engine.runs import train_runs
    from kerascmp.engine.specs import RunSpec
    from kerascmp.names import TEST
    from kerascmp.variants import get_variant

    hparams = get_variant(variant).hyperparameters(epochs=epochs, precision=precision)
    return train_runs([RunSpec(variant, 0, hparams, pairs[0], {TEST: pairs[1]})], verbose=False)[0]


def assert_predict_matches_training(model_dir: Path, pairs: int, workdir: Path) -> None:
    """`kerascmp.predict` on the exported model scores the seed-0 test pairs that train scored (train used
    `--pairs pairs`) with the comparison error train stored in kerascmp.json."""
    import json

    import numpy as np

    from kerascmp.data import generate_pair_sets
    from kerascmp.names import COMPARISON, TEST, error_key

    _, test = generate_pair_sets(pairs, seed=0)
    np.save(workdir / "pairs.npy", test.pairs)
    np.save(workdir / "labels.npy", test.classes)
    predict = run_module(
        "kerascmp.predict",
        "--model",
        str(model_dir),
        "--pairs",
        str(workdir / "pairs.npy"),
        "--labels",
        str(workdir / "labels.npy"),
        "--json",
    )
    assert predict.returncode == 0, predict.stderr[-3000:]
    summary = json.loads(predict.stdout.strip().splitlines()[-1])
    exported = json.loads((model_dir / "kerascmp.json").read_text())
    assert summary["error_percent"][COMPARISON] == pytest.approx(
        exported["errors_percent"][error_key(TEST, COMPARISON)]
    )


def run_in_process(module: str, *args: str, capsys) -> tuple[int, str, str]:
    """Run a CLI's main through `cli.run_main` in this process (no TensorFlow start-up to pay again):
    its exit code, stdout and stderr."""
    import importlib

    from kerascmp import cli

    entry = importlib.import_module(module)
    capsys.readouterr()  # what came before is not this command's
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(entry.main, list(args), resumable=True)
    out = capsys.readouterr()
    return exit_info.value.code or 0, out.out, out.err


def assert_one_line_failure(outcome: tuple[int, str, str], *fragments: str) -> None:
    """`run_in_process`'s outcome is one clean line on stderr, exit 2, naming each fragment."""
    code, _, err = outcome
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
