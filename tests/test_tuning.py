"""`python -m tuning.search`: a tiny grid end to end, resume after a real kill, chief + workers."""

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, assert_clean_failure, run_module, wait_for
from kerascmp.names import PAIR_OUTPUTS, curve_key

TINY = ["--lr", "0.01,0.1", "--c-aux", "0,0.25", "--rounds", "1", "--epochs", "1", "--pairs", "200"]


def rows(project_dir: Path) -> list[dict]:
    with open(project_dir / "trials.csv") as f:
        return list(csv.DictReader(f))


def saved_trials(project_dir: Path) -> list[dict]:
    """Every trial.json KerasTuner saved, completed or not."""
    trials = []
    for path in project_dir.glob("trial_*/trial.json"):
        try:
            trials.append(json.loads(path.read_text()))
        except json.JSONDecodeError:  # KerasTuner rewrites trial.json in place: a poll may catch it half-done
            continue
    return trials


def trial_points(project_dir: Path) -> list[tuple]:
    """(lr, c_aux, status) of every saved trial."""
    points = []
    for trial in saved_trials(project_dir):
        values = trial["hyperparameters"]["values"]
        points.append((values["learning_rate"], values.get("c_aux"), trial["status"]))
    return sorted(points)


def assert_grid_done_once(project_dir: Path) -> None:
    points = trial_points(project_dir)
    assert [(lr, c) for lr, c, _ in points] == [(0.01, 0.0), (0.01, 0.25), (0.1, 0.0), (0.1, 0.25)]
    assert all(status == "COMPLETED" for *_, status in points)
    assert len(rows(project_dir)) == 4


def test_tiny_grid_end_to_end(tmp_path):
    result = run_module("tuning.search", *TINY, "--project-dir", str(tmp_path / "x"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trial 4 of 4" in result.stdout and "search done" in result.stdout
    assert result.stdout.count("round 1 of 1: val comparison error") == 4  # each round reports as it ends
    project = tmp_path / "x"
    assert_grid_done_once(project)
    table = rows(project)
    assert {r["rounds"] for r in table} == {"1"}
    assert all(0 <= float(r["val_comparison_error_mean"]) <= 100 for r in table)
    best = json.loads((project / "best.json").read_text())["best"]
    assert best["val_comparison_error_mean"] == min(float(r["val_comparison_error_mean"]) for r in table)
    for figure in ("figure2.png", "figure3.png"):
        assert (project / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((project / "tensorboard").rglob("events.out.tfevents.*"))


def test_rounds_give_a_std_per_point_from_the_rounds_kept_in_the_trial(tmp_path):
    project = tmp_path / "fc"
    result = run_module(
        "tuning.search",
        "--variant",
        "fc_baseline",
        "--lr",
        "0.05",
        "--rounds",
        "3",
        "--epochs",
        "1",
        "--pairs",
        "100",
        "--project-dir",
        str(project),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (row,) = rows(project)
    assert row["c_aux"] == "" and row["rounds"] == "3"
    assert row["val_digit1_error_mean"] == ""  # no digit heads
    (trial,) = saved_trials(project)
    metrics = trial["metrics"]["metrics"]
    per_round = [metrics[f"val_comparison_error_round_{r}"]["observations"][-1]["value"][0] for r in range(3)]
    assert float(row["val_comparison_error_mean"]) == pytest.approx(np.mean(per_round))
    assert float(row["val_comparison_error_std"]) == pytest.approx(np.std(per_round, ddof=1))


@pytest.mark.parametrize("held_out_pairs", [None, 150])
def test_the_search_never_draws_test_pairs(monkeypatch, held_out_pairs):
    from kerascmp.data import pairs
    from tuning.hypermodel import ComparisonHyperModel, SearchSettings

    real = pairs.load_mnist()

    class TrainSplitOnly(dict):
        def __getitem__(self, split):
            assert split == "train", "the search drew from MNIST-test"
            return super().__getitem__(split)

    monkeypatch.setattr(pairs, "load_mnist", lambda *args, **kwargs: TrainSplitOnly(real))
    settings = SearchSettings(
        "main",
        (0.1,),
        (0.25,),
        rounds=2,
        epochs=1,
        pairs=100,
        precision="float32",
        held_out_pairs=held_out_pairs,
    )
    hypermodel = ComparisonHyperModel(settings)
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    metrics = hypermodel.fit(hp, hypermodel.build(hp))
    assert metrics["rounds"] == 2 and 0 <= metrics["val_comparison_error"] <= 100
    with pytest.raises(AssertionError, match="MNIST-test"):
        pairs.generate_pair_sets(10, seed=0)  # the guard itself works


def test_held_out_validation_trains_on_the_studys_own_training_pairs():
    from kerascmp.data import generate_pair_sets
    from tuning.hypermodel import SearchSettings
    from tuning.search import describe

    split = SearchSettings("main", (0.1,), (0.25,), rounds=1, epochs=1, pairs=100)
    held_out = dataclasses.replace(split, held_out_pairs=300)
    study_pairs, _ = generate_pair_sets(100, seed=7)
    fit, validation = held_out.round_data(7)
    np.testing.assert_array_equal(fit.pairs, study_pairs.pairs)
    assert len(validation) == 300
    fit, validation = split.round_data(7)
    assert (len(fit), len(validation)) == (80, 20)
    # an 80/20 search records itself as searches did before the flag, so they resume; a held-out one differs
    assert "held_out_pairs" not in describe(split) and describe(held_out)["held_out_pairs"] == 300


def start_search(project_dir, *extra, env=None):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tuning.search",
            *TINY,
            "--epochs",
            "3",
            "--pairs",
            "400",
            "--project-dir",
            str(project_dir),
            *extra,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def running_trials(project_dir: Path) -> int:
    return sum(status == "RUNNING" for *_, status in trial_points(project_dir))


def test_resume_after_kill_runs_every_point_exactly_once(tmp_path):
    project = tmp_path / "killed"
    search = start_search(project)
    # Kill -9 in the middle of the second trial: one point done, one in flight.
    wait_for(
        lambda: (project / "trials.csv").exists() and len(rows(project)) == 1 and running_trials(project) == 1
    )
    search.send_signal(signal.SIGKILL)
    search.wait()
    assert len(rows(project)) == 1

    result = run_module(
        "tuning.search", *TINY, "--epochs", "3", "--pairs", "400", "--project-dir", str(project)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_grid_done_once(project)
    # And once more: nothing left to do, nothing repeated.
    again = run_module(
        "tuning.search", *TINY, "--epochs", "3", "--pairs", "400", "--project-dir", str(project)
    )
    assert again.returncode == 0 and "trial " not in again.stdout.replace("trials.csv", "")
    assert_grid_done_once(project)


def test_chief_and_two_workers_on_loopback(tmp_path):
    result = run_module(
        "tuning.search", *TINY, "--project-dir", str(tmp_path / "dist"), "--workers", "2", timeout=420
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_grid_done_once(tmp_path / "dist")


def test_a_worker_killed_mid_trial_is_restarted_and_recovers_its_trial(tmp_path):
    project = tmp_path / "recover"
    launcher = start_search(project, "--workers", "1")
    wait_for(lambda: running_trials(project) == 1)
    import psutil

    workers = [
        p
        for p in psutil.Process(launcher.pid).children()
        if "worker0" in p.environ().get("KERASTUNER_TUNER_ID", "")
    ]
    assert len(workers) == 1
    workers[0].send_signal(signal.SIGKILL)
    assert launcher.wait(timeout=420) == 0
    assert_grid_done_once(project)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "0.1,-1"], "> 0"),
        (["--lr", "0.1,0.1"], "repeats"),
        (["--c-aux", "0.2,0.9"], "[0, 0.5]"),
        (["--rounds", "0"], "from 1 to 1,000"),
        (["--variant", "lenet"], "unknown variant"),
        (["--pairs", "2"], "between 5"),
        (["--screen-rounds", "10"], "must be below --rounds"),
        (["--pairs", "1000", "--held-out-pairs", "29001"], "at most 30000"),
        (["--held-out-pairs", "0"], "integer >= 1"),
        (["--lr", "widest"], "not a number"),
    ],
)
def test_bad_flags_give_a_clear_error(args, message, tmp_path):
    assert_clean_failure(run_module("tuning.search", *args, "--project-dir", str(tmp_path / "bad")), message)


def test_other_settings_in_the_same_project_dir_are_refused(tmp_path):
    project = tmp_path / "same"
    project.mkdir()
    (project / "search.json").write_text(json.dumps({"variant": "main"}))
    assert_clean_failure(run_module("tuning.search", *TINY, "--project-dir", str(project)), "other settings")


def _point(lr, c_aux, error):
    return {
        "trial_id": f"{lr}-{c_aux}",
        "learning_rate": lr,
        "c_aux": c_aux,
        "rounds": 3,
        **{f"{curve_key(o, monitored=True)}_{s}": error for o in PAIR_OUTPUTS for s in ("mean", "std")},
    }


def test_figures_plot_best_lr_per_c_aux_or_the_learning_rates():
    from tuning.search_files import figure_bars

    grid = [_point(0.01, 0.1, 20.0), _point(0.1, 0.1, 15.0), _point(0.01, 0.3, 12.0), _point(0.1, 0.3, 18.0)]
    shown, labels, xlabel = figure_bars(grid)
    assert labels == ["0.1", "0.3"] and [p["learning_rate"] for p in shown] == [0.1, 0.01]
    assert xlabel.startswith("c_aux")
    for fixed in (0.25, None):  # a learning-rate search at a fixed c_aux, or a variant without c_aux
        shown, labels, xlabel = figure_bars([_point(lr, fixed, 10.0) for lr in (0.01, 0.1, 0.316)])
        assert labels == ["0.01", "0.1", "0.316"] and xlabel.startswith("learning rate")
        assert ("c_aux 0.25" in xlabel) == (fixed is not None)


def test_the_adaptive_rule_keeps_a_point_that_could_still_be_best():
    from tuning.adaptive import contenders

    # After 3 screening rounds: A leads, B trails it by less than the rounds' noise (over 10 rounds B would
    # win), C is worse in every round by a steady margin, D ties A exactly.
    per_round = {
        "A": {0: 12.0, 1: 15.0, 2: 11.0},
        "B": {0: 14.0, 1: 13.0, 2: 13.0},
        "C": {0: 20.0, 1: 22.5, 2: 19.5},
        "D": {0: 12.0, 1: 15.0, 2: 11.0},
    }
    assert contenders(per_round) == ["A", "B", "D"]
    assert contenders({"A": {0: 10.0}, "C": {0: 30.0}}) == ["A", "C"]  # one round: nothing shown worse
    assert contenders({"A": {0: 10.0, 1: 11.0}, "C": {0: 30.0, 1: 31.0}}) == ["A"]  # worse by 20 in both


ADAPTIVE = [
    "--lr",
    "0.0001,0.1",
    "--c-aux",
    "0.25",
    "--rounds",
    "3",
    "--screen-rounds",
    "2",
    "--epochs",
    "2",
    "--pairs",
    "200",
]


def trials_by_round(project_dir: Path) -> list[tuple]:
    """(lr, first_round, status) of every saved trial."""
    found = []
    for trial in saved_trials(project_dir):
        values = trial["hyperparameters"]["values"]
        found.append((values["learning_rate"], values.get("first_round", 0), trial["status"]))
    return sorted(found)


def test_adaptive_repetition_gives_the_contenders_the_remaining_rounds_and_resumes_after_kill(tmp_path):
    project = tmp_path / "adaptive"
    search = subprocess.Popen(
        [sys.executable, "-m", "tuning.search", *ADAPTIVE, "--project-dir", str(project)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(
        lambda: (
            any(status == "COMPLETED" for *_, status in trials_by_round(project))
            and any(status == "RUNNING" for *_, status in trials_by_round(project))
        )
    )
    search.send_signal(signal.SIGKILL)  # mid-trial, screening or contender
    search.wait()
    result = run_module("tuning.search", *ADAPTIVE, "--project-dir", str(project))
    assert result.returncode == 0, result.stderr[-3000:]
    trials = trials_by_round(project)
    assert all(status == "COMPLETED" for *_, status in trials)
    assert len({(lr, first) for lr, first, _ in trials}) == len(trials)  # each (point, phase) once
    assert {(lr, first) for lr, first, _ in trials if first == 0} == {(0.0001, 0), (0.1, 0)}
    contenders = {lr for lr, first, _ in trials if first == 2}
    assert contenders  # the screening's best at least
    table = {float(r["learning_rate"]): r for r in rows(project)}
    for lr, row in table.items():
        assert int(row["rounds"]) == (3 if lr in contenders else 2)
    best = json.loads((project / "best.json").read_text())["best"]
    assert best["learning_rate"] in contenders and best["rounds"] == 3


def test_the_report_grid_is_a_named_preset():
    from tuning.search import LEARNING_RATE_PRESETS, build_parser

    assert build_parser().parse_args(["--lr", "report"]).lr == [0.0001, 0.000562, 0.00316, 0.0178, 0.1]
    assert (
        build_parser().parse_args([]).lr == LEARNING_RATE_PRESETS["wide"]
        and max(LEARNING_RATE_PRESETS["wide"]) > 0.1
    )
