"""`python -m kerascmp.study`: outputs, resume, and the statistics behind the table."""

import csv
import json

import numpy as np
import pytest

from conftest import round_record
from kerascmp import study
from kerascmp.analysis.summaries import TEST_COMPARISON, summary_table
from kerascmp.analysis.tables import table_markdown
from kerascmp.engine import runs
from kerascmp.engine.runs import train_runs


def run_study(tmp_path, *extra):
    with pytest.raises(SystemExit) as exit_info:
        study.cli.run_main(
            study.main,
            [
                "--variants",
                "main,fc_baseline",
                "--rounds",
                "2",
                "--epochs",
                "1",
                "--pairs",
                "200",
                "--output-dir",
                str(tmp_path),
                *extra,
            ],
        )
    return exit_info.value.code


def test_tiny_study_writes_every_output_with_the_right_rows(tmp_path):
    assert run_study(tmp_path) == 0
    rounds = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    assert sorted((r["variant"], r["round"]) for r in rounds) == [
        ("fc_baseline", 0),
        ("fc_baseline", 1),
        ("main", 0),
        ("main", 1),
    ]
    assert len({r["seed"] for r in rounds}) == 4  # every (variant, round) its own seed
    assert all("keras" in r["packages"] and r["wall_s"] > 0 for r in rounds)

    with open(tmp_path / "table.csv") as f:
        table = list(csv.DictReader(f))
    assert [row["variant"] for row in table] == ["main", "fc_baseline"]  # the report's order
    assert list(table[0])[:5] == ["variant", "rounds", "diverged", "train_digit1_mean", "train_digit1_std"]
    assert list(table[0])[-2:] == ["test_comparison_mean", "test_comparison_std"]
    assert table[1]["test_digit1_mean"] == "" and table[1]["test_comparison_mean"] != ""
    main_errors = [r["errors"][TEST_COMPARISON] for r in rounds if r["variant"] == "main"]
    assert float(table[0]["test_comparison_mean"]) == pytest.approx(np.mean(main_errors), abs=1e-4)
    assert float(table[0]["test_comparison_std"]) == pytest.approx(np.std(main_errors, ddof=1), abs=1e-4)

    markdown = (tmp_path / "table.md").read_text()
    assert "| main architecture | 2 |" in markdown and "30.45 ± 8.51" in markdown
    assert "| fully connected net | 2 | – | – |" in markdown
    for figure in ("learning_curves.png", "comparison.png"):
        assert (tmp_path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_trains_only_the_missing_rounds(tmp_path, monkeypatch, capsys):
    assert run_study(tmp_path) == 0
    lines = (tmp_path / "rounds.jsonl").read_text().splitlines()
    # Lose one finished round, and leave a line cut short as a kill -9 mid-write would.
    (tmp_path / "rounds.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40])
    lost = json.loads(lines[-1])

    trained = []
    real = train_runs

    def counting(specs, **kwargs):
        trained.extend(specs)
        return real(specs, **kwargs)

    monkeypatch.setattr(runs, "train_runs", counting)
    capsys.readouterr()
    assert run_study(tmp_path) == 0
    assert [(r.variant, r.seed) for r in trained] == [(lost["variant"], lost["seed"])]
    out = capsys.readouterr().out
    assert "3 round(s) already stored" in out and "1 damaged line(s)" in out  # said, not silent
    stored = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    assert len(stored) == 4
    redone = stored[-1]  # the lost round, trained again: the same numbers, epoch by epoch
    assert (redone["variant"], redone["round"]) == (lost["variant"], lost["round"])
    assert redone["errors"] == lost["errors"] and redone["history"] == lost["history"]

    trained.clear()
    assert run_study(tmp_path) == 0 and trained == []  # nothing left: no training at all


def test_other_settings_in_the_same_directory_are_refused(tmp_path, capsys):
    assert run_study(tmp_path) == 0
    assert run_study(tmp_path, "--seed", "9") == 2
    assert "other settings" in capsys.readouterr().err


def test_summary_statistics_from_known_rounds():
    rounds = [
        round_record(
            "separate",
            round=round_index,
            errors={
                "train_digit1": v,
                "train_comparison": 2 * v,
                "test_digit1": v,
                "test_comparison": 10.0,
                "test_digit2": 99.0,
            },
        )
        for round_index, v in enumerate((1.0, 2.0, 3.0))
    ]
    table = summary_table(rounds)
    assert table["separate"]["rounds"] == 3
    assert table["separate"]["train_digit1"] == pytest.approx((2.0, 1.0))
    assert table["separate"]["train_comparison"] == pytest.approx((4.0, 2.0))
    assert table["separate"]["test_comparison"] == pytest.approx((10.0, 0.0))
    assert "test_digit2" not in table["separate"]  # the report's layout: one digit column
    assert "| separate training | 3 | 2.00 ± 1.00 | – | 4.00 ± 2.00 |" in table_markdown(table)


def test_unknown_variant_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        study.cli.run_main(study.main, ["--variants", "main,vgg", "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2 and "unknown variant 'vgg'" in capsys.readouterr().err


def fake_study(directory, rounds_from, epochs):
    """A study holding `rounds_from`'s rounds as if trained for `epochs` epochs, each 1 point better."""
    directory.mkdir()
    settings = json.loads((rounds_from / "study.json").read_text())
    (directory / "study.json").write_text(json.dumps({**settings, "epochs": epochs}))
    lines = []
    for line in (rounds_from / "rounds.jsonl").read_text().splitlines():
        record = json.loads(line)
        record["hyperparameters"]["epochs"] = epochs
        record["errors"] = {k: v - 1 for k, v in record["errors"].items() if v is not None}
        lines.append(json.dumps(record))
    (directory / "rounds.jsonl").write_text("\n".join(lines) + "\n")


def test_longer_study_adds_its_claims_and_is_remembered(tmp_path, capsys):
    short, longer = tmp_path / "short", tmp_path / "longer"
    assert run_study(short) == 0
    assert "epochs improve every variant" not in (short / "claims.csv").read_text()
    fake_study(longer, short, epochs=2)
    assert run_study(short, "--longer", str(longer)) == 0  # nothing to train: the files are rewritten
    claims_csv = (short / "claims.csv").read_text()
    assert "2 epochs improve every variant" in claims_csv and "(longer): lr" in claims_csv
    assert json.loads((short / "claims.json").read_text()) == {"longer": "../longer"}
    (short / "claims.csv").unlink()
    assert run_study(short) == 0  # remembered without the flag
    assert (short / "claims.csv").read_text() == claims_csv

    fake_study(tmp_path / "same", short, epochs=1)
    capsys.readouterr()
    for bad, said in (
        (short, "this study's own directory"),
        (tmp_path / "nothing", "holds no study"),
        (tmp_path / "same", "its own --epochs"),
    ):
        assert run_study(short, "--longer", str(bad)) == 2
        assert said in capsys.readouterr().err
    assert json.loads((short / "claims.json").read_text()) == {
        "longer": "../longer"
    }  # refusals change nothing
