"""The accuracy-cost frontier: its points, which are on it, and the CLI that re-measures old studies."""

import csv
import json

from conftest import assert_one_line_failure, round_record, run_in_process
from kerascmp.names import COMPARISON, ROUNDS_FILE, TEST, error_key

TEST_COMPARISON_ERROR = error_key(TEST, COMPARISON)


def _rounds(variant, errors, cpu_s=None):
    return [
        round_record(variant, round=i, errors={TEST_COMPARISON_ERROR: e}, cpu_s=cpu_s and cpu_s[i])
        for i, e in enumerate(errors)
    ]


def test_points_take_the_median_cost_and_the_first_study_holding_a_variant():
    from kerascmp.analysis import frontier

    studies = {
        "a": _rounds("main", [10.0, 12.0], [5.0, 7.0]) + _rounds("old", [3.0, 5.0]),
        "b": _rounds("main", [1.0, 1.0], [1.0, 1.0]) + _rounds("best", [0.5, 0.7], [90.0, 110.0, 0])[:2],
    }
    points = {p.variant: p for p in frontier.points(studies, {"old": 40.0})}
    assert points["main"].study == "a" and points["main"].error_mean == 11.0 and points["main"].cpu_s == 6.0
    assert points["old"].cpu_s == 40.0 and points["old"].cost_from == frontier.REMEASURED
    assert points["best"].cpu_s == 100.0 and points["best"].cost_from == frontier.FROM_ROUNDS
    assert list(points) == ["main", "old", "best"]  # cheapest first
    # no cost known: left out, not guessed
    assert [p.variant for p in frontier.points(studies, {})] == ["main", "best"]
    # all costs from one sitting: the rounds' cpu_s is not used, and a variant not measured is left out
    one_sitting = frontier.points(studies, {"old": 40.0, "main": 3.0}, all_remeasured=True)
    assert [(p.variant, p.cpu_s, p.cost_from) for p in one_sitting] == [
        ("main", 3.0, frontier.REMEASURED),
        ("old", 40.0, frontier.REMEASURED),
    ]


def test_the_frontier_keeps_only_points_nothing_cheaper_beats():
    from kerascmp.analysis.frontier import Point, on_frontier

    def point(name, cpu_s, error):
        return Point(name, "s", 10, error, 0.1, cpu_s, "")

    points = [point("a", 10, 5.0), point("b", 20, 6.0), point("c", 30, 2.0), point("d", 30, 1.0),
              point("e", 100, 1.0), point("f", 200, 0.5)]  # fmt: skip
    assert [p.variant for p in on_frontier(points)] == ["a", "d", "f"]


def test_the_cli_remeasures_a_study_without_costs_once_and_reproduces_its_round(tmp_path, capsys):
    study = tmp_path / "study"
    code, _, err = run_in_process(
        "kerascmp.study", "--variants", "main,analytic", "--rounds", "1", "--epochs", "1", "--pairs", "100",
        "--output-dir", str(study), capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    stored = [json.loads(line) for line in (study / ROUNDS_FILE).read_text().splitlines()]
    assert all(r["cpu_s"] > 0 for r in stored)
    old = tmp_path / "old"  # as studies were before cpu_s
    old.mkdir()
    without_cost = [{k: v for k, v in r.items() if k != "cpu_s"} for r in stored if r["variant"] == "main"]
    (old / ROUNDS_FILE).write_text("".join(json.dumps(r) + "\n" for r in without_cost))
    out_dir = tmp_path / "frontier"
    code, out, err = run_in_process(
        "kerascmp.frontier", str(old), str(study), "--output-dir", str(out_dir), capsys=capsys
    )
    assert code == 0, err
    costs = json.loads((out_dir / "training_cost.json").read_text())
    assert list(costs) == ["main"] and costs["main"]["cpu_s"] > 0
    assert costs["main"]["test_comparison"] == costs["main"]["study_test_comparison"]  # the same training
    rows = (out_dir / "frontier.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("variant,label,study")
    assert (out_dir / "frontier.png").stat().st_size > 0 and "training CPU-s" in out
    # a rerun trains nothing: the cost is kept
    mtime = (out_dir / "training_cost.json").stat().st_mtime_ns
    code, out, _ = run_in_process(
        "kerascmp.frontier", str(old), str(study), "--output-dir", str(out_dir), capsys=capsys
    )
    assert code == 0 and "again" not in out and (out_dir / "training_cost.json").stat().st_mtime_ns == mtime
    # --remeasure-all: every variant's cost from this sitting, none from the study's rounds
    one_sitting = tmp_path / "one_sitting"
    code, out, err = run_in_process(
        "kerascmp.frontier", str(study), "--output-dir", str(one_sitting), "--remeasure-all", capsys=capsys
    )
    assert code == 0, err
    costs = json.loads((one_sitting / "training_cost.json").read_text())
    assert sorted(costs) == ["analytic", "main"]
    assert all(c["test_comparison"] == c["study_test_comparison"] for c in costs.values())
    rows = list(csv.DictReader((one_sitting / "frontier.csv").open()))
    assert {r["cost_from"] for r in rows} == {"round 0 trained again"}
    assert {r["variant"]: float(r["cpu_s_per_round"]) for r in rows} == {
        name: c["cpu_s"] for name, c in costs.items()
    }


def test_the_cli_refuses_a_missing_study_a_damaged_costs_file_and_a_missing_plugin(tmp_path, capsys):
    def frontier():
        return run_in_process(
            "kerascmp.frontier", str(tmp_path), "--output-dir", str(tmp_path), capsys=capsys
        )

    assert_one_line_failure(frontier(), "rounds.jsonl")
    (tmp_path / ROUNDS_FILE).write_text(json.dumps(round_record("mine").to_json()) + "\n")
    (tmp_path / "training_cost.json").write_text("{")
    assert_one_line_failure(frontier(), "damaged")
    (tmp_path / "training_cost.json").unlink()
    assert_one_line_failure(frontier(), "unknown variant 'mine'")  # its plugin not loaded: nothing trains
    assert not (tmp_path / "training_cost.json").exists()
