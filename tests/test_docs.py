"""The numbers the docs quote agree with the committed data, and the generated tables are current.

A number that drifts from its data file fails here, in CI.
"""

import csv
import json
import re

import pytest

from conftest import REPO
from kerascmp.analysis import claims, tables
from kerascmp.analysis.reference import REPORT_TABLE
from kerascmp.analysis.rounds import load as load_rounds
from kerascmp.analysis.study_files import study_verdicts
from kerascmp.analysis.summaries import summary_table
from kerascmp.names import COMPARISON, DIGIT1, TEST, error_key
from kerascmp.variants import REPORT_VARIANTS, get_variant, variant_names

RESULTS = REPO / "results"
TUNING = REPO / "tuning" / "results"


def markdown_table(path, header_start: str) -> list[dict[str, str]]:
    """The rows of the first table in `path` whose header begins with `header_start`, as {column: cell}."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (cell.strip().strip("*") for cell in line.strip("|").split("|")))))
    return rows


def mean_std(cell: str) -> tuple[float, float]:
    mean, std = re.fullmatch(r"\**([\d.]+) ± ([\d.]+)\**", cell).groups()
    return float(mean), float(std)


def rounded(mean, std) -> tuple[float, float]:
    return round(float(mean), 2), round(float(std), 2)


def table_csv() -> dict[str, dict[str, str]]:
    with open(RESULTS / "table.csv") as f:
        return {row["variant"]: row for row in csv.DictReader(f)}


def test_the_study_tables_are_current_with_rounds_jsonl():
    rounds = load_rounds(RESULTS / "rounds.jsonl")
    table = summary_table(rounds)
    assert tables.table_csv(table) == (RESULTS / "table.csv").read_text()
    results = study_verdicts(RESULTS, rounds)
    assert tables.study_markdown(table, results) == (RESULTS / "table.md").read_text()
    assert claims.claims_csv(results) == (RESULTS / "claims.csv").read_text()


def test_results_readme_quotes_table_md():
    table = (RESULTS / "table.md").read_text().strip()  # the results table and the claims
    assert table in (RESULTS / "README.md").read_text()


def test_readme_results_table_matches_its_studies():
    """Each row of the README's results table is its study's table.csv; the report's rows the report's."""
    rows = markdown_table(REPO / "README.md", "| `--variant` | test digit 1 |")
    shown = {}
    for row in rows:
        name = re.search(r"`(\w+)`", row["`--variant`"]).group(1)
        study = re.search(r"\]\((results/[\w/]*?)/?README\.md\)", row["study"]).group(1)
        with open(REPO / study / "table.csv") as f:
            data = {r["variant"]: r for r in csv.DictReader(f)}[name]
        for column, metric in (("test digit 1", DIGIT1), ("test comparison (kerascmp)", COMPARISON)):
            key = error_key(TEST, metric)
            if row[column] == "–":
                assert data[f"{key}_mean"] == ""
            else:
                assert mean_std(row[column]) == rounded(data[f"{key}_mean"], data[f"{key}_std"]), name
        report = REPORT_TABLE.get(name, {}).get(error_key(TEST, COMPARISON))
        assert (mean_std(row["test comparison (report)"]) if report else row["test comparison (report)"]) == (
            report or "–"
        )
        shown[name] = study
    assert set(table_csv()) | {"best", "beyond_tta"} <= set(shown), shown


def best_of(directory: str, c_aux: float | None = None) -> dict:
    """A search's best point (best.json), or its best at one c_aux (the lowest mean in trials.csv)."""
    if c_aux is None:
        return json.loads((TUNING / directory / "best.json").read_text())["best"]
    with open(TUNING / directory / "trials.csv") as f:
        rows = [r for r in csv.DictReader(f) if float(r["c_aux"]) == c_aux]
    best = min(rows, key=lambda r: float(r["val_comparison_error_mean"]))
    return {k: float(v) for k, v in best.items() if k != "trial_id" and v != ""}


def test_tuning_readme_best_points_match_best_json():
    for row in markdown_table(TUNING / "README.md", "| variant | best lr |"):
        best = best_of(row["variant"])
        assert float(row["best lr"]) == best["learning_rate"]
        if row["c_aux"] != "–":
            assert float(row["c_aux"].split()[0]) == best["c_aux"]
        assert mean_std(row["val comparison error %"]) == rounded(
            best["val_comparison_error_mean"], best["val_comparison_error_std"]
        )
        if row["val digit-1 error %"] != "–":
            assert mean_std(row["val digit-1 error %"]) == rounded(
                best["val_digit1_error_mean"], best["val_digit1_error_std"]
            )


def test_tuning_readme_probes_match_their_trials():
    rows = markdown_table(TUNING / "README.md", "| variant | lr 0.1")
    assert len(rows) == 5
    for row in rows:
        variant = row["variant"].split()[0]
        with open(TUNING / f"{variant}_lr_above_grid" / "trials.csv") as f:
            trials = {float(t["learning_rate"]): t for t in csv.DictReader(f)}
        for column, cell in row.items():
            if column == "variant":
                continue
            learning_rate = float(re.search(r"\d+(\.\d+)?", column).group())  # "lr 0.1 (default)", "0.178"
            trial = trials[learning_rate]
            assert mean_std(cell) == rounded(
                trial["val_comparison_error_mean"], trial["val_comparison_error_std"]
            )


@pytest.mark.parametrize(
    "variant",
    [*REPORT_VARIANTS, *(v for v in variant_names() if get_variant(v).source.startswith("tuning/"))],
)
def test_each_default_agrees_with_the_search_it_cites(variant):
    chosen = get_variant(variant)
    assert_cites_its_search(
        chosen.source, chosen.defaults.learning_rate, chosen.defaults.c_aux, chosen.uses_c_aux
    )


@pytest.mark.parametrize(
    "variant",
    [v for v in variant_names() if (p := get_variant(v).report_point) and p.source.startswith("tuning/")],
)
def test_the_report_protocols_values_agree_with_the_searches_they_cite(variant):
    point = get_variant(variant).report_point
    assert_cites_its_search(point.source, point.learning_rate, point.c_aux, get_variant(variant).uses_c_aux)


def assert_cites_its_search(source: str, learning_rate: float, c_aux: float, uses_c_aux: bool):
    cited = re.match(r"tuning/results/(\w+): .* (\d+\.\d+) ± (\d+\.\d+) %", source)
    assert cited, source
    at = re.search(r" at c_aux (\d+(?:\.\d+)?)", source)  # the best at that c_aux, not overall
    best = best_of(cited.group(1), float(at.group(1)) if at else None)
    assert learning_rate == best["learning_rate"]
    if uses_c_aux:
        assert c_aux == best["c_aux"]
    quoted = (float(cited.group(2)), float(cited.group(3)))
    assert quoted == rounded(best["val_comparison_error_mean"], best["val_comparison_error_std"])


def test_benchmark_readme_matches_its_results():
    results = json.loads((REPO / "benchmarks" / "results" / "results.json").read_text())
    paths = results["paths"]
    rows = markdown_table(REPO / "benchmarks" / "README.md", "| comparison | plain")
    one, sequence = rows
    assert float(one["plain `model.fit`"].rstrip(" s")) == round(
        paths["plain model.fit (baseline)"]["seconds_per_run"], 2
    )
    assert float(one["kerascmp"].rstrip(" s")) == round(paths["kerascmp (bfloat16)"]["seconds_per_run"], 2)
    assert one["speed-up"] == f"{results['ratio']:.2f}×"
    assert sequence["speed-up"] == f"{results['sequence_ratio']:.2f}×"
    bf16_speedup = (
        paths["kerascmp float32"]["seconds_per_run"] / paths["kerascmp (bfloat16)"]["seconds_per_run"]
    )
    for quoted in ("README.md", "kerascmp/defaults.py"):
        assert f"{bf16_speedup:.2f}" in (REPO / quoted).read_text(), quoted


def test_readme_examples_use_the_quick_starts_export():
    readme = (REPO / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") : readme.index("## Results")]
    exported = re.search(r"kerascmp\.train --variant (\w+)", quick_start).group(1)
    models = set(re.findall(r"saved_models/(\w+)", readme[readme.index("## Predict") :]))
    assert models == {exported}, models


def test_reliability_table_names_tests_that_exist():
    table = (REPO / "RELIABILITY.md").read_text()
    rows = re.findall(r"^\| \d+ \|", table, flags=re.M)
    assert len(rows) >= 35
    for module, name in re.findall(r"`(test_\w+\.py)::(test_\w+)", table):
        assert f"def {name}(" in (REPO / "tests" / module).read_text(), (module, name)


def test_the_ship_table_matches_its_benchmark():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ship", REPO / "benchmarks" / "ship.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    results = json.loads((REPO / "benchmarks" / "results" / "ship.json").read_text())
    readme = (REPO / "benchmarks" / "README.md").read_text()
    assert ship.markdown(results) in readme
    assert results["date"][:10] in readme and f"{results['matmul_ceiling_gflops']['float32']:.0f}" in readme


BEYOND_ROW, BEYOND2_ROW = "row (`--variant`)", "Beyond II row (`--variant`)"


@pytest.mark.parametrize(
    "readme, study, first_column, columns",
    [
        ("results/beyond/README.md", "beyond", BEYOND_ROW, ("test digit-1 error", "test comparison error")),
        (
            "results/beyond2/README.md",
            "beyond2",
            BEYOND2_ROW,
            ("test digit-1 error", "test comparison error"),
        ),
    ],
)
def test_the_beyond_tables_match_their_table_csv(readme, study, first_column, columns):
    with open(RESULTS / study / "table.csv") as f:
        data = {row["variant"]: row for row in csv.DictReader(f)}
    rows = markdown_table(REPO / readme, f"| {first_column} |")
    names = [re.search(r"`(\w+)`\)", row[first_column]).group(1) for row in rows]
    assert names == list(data)
    for name, row in zip(names, rows):
        for column, metric in zip(columns, (DIGIT1, COMPARISON)):
            key = error_key(TEST, metric)
            mean, std = data[name][f"{key}_mean"], data[name][f"{key}_std"]
            assert mean_std(row[column].strip()) == rounded(mean, std), (readme, name, column)


def test_the_frontier_quoted_is_the_committed_one():
    table = (RESULTS / "beyond2" / "frontier.md").read_text()
    assert table in (RESULTS / "beyond2" / "README.md").read_text()


def test_the_readmes_variants_table_lists_every_built_in_variant_in_order():
    from kerascmp.variants import registry

    built_in = [name for name in variant_names() if name in registry._BUILT_IN]
    listed = []
    for row in markdown_table(REPO / "README.md", "| `--variant` | what it is |"):
        names = re.findall(r"`(\w+)`", row["`--variant`"])
        if "…" in row["`--variant`"]:  # a range of consecutive variants
            names = built_in[built_in.index(names[0]) : built_in.index(names[1]) + 1]
        listed += names
    assert listed == built_in


TINY = {  # what makes each command of the README quick: flags given last win
    "kerascmp.train": ["--epochs", "1", "--pairs", "100", "--rounds", "1", "--quiet"],
    "kerascmp.study": ["--epochs", "1", "--pairs", "100", "--rounds", "1", "--quiet"],
    "tuning.search": ["--epochs", "1", "--pairs", "100", "--rounds", "1", "--lr", "0.1", "--c-aux", "0.25"],
}


def readme_commands() -> list[list[str]]:
    """Every command in the README's bash blocks but the install and the tests, in order."""
    import shlex

    readme = (REPO / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme, flags=re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[:2] != ["pip", "install"] and words[:3] != ["python", "-m", "pytest"]:
                commands.append(words)
    return commands


def test_every_command_the_readme_shows_runs_as_written(tmp_path, monkeypatch, capsys):
    """In a fresh folder beside the repository's examples/ and results/, each command in the README's order,
    with the tiny settings of TINY: exit 0 for each; then its `.keras` snippet, as written."""
    import runpy
    import sys

    from conftest import run_in_process
    from kerascmp.variants import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the plugin's variants go with it
    for name in ("examples", "results"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.chdir(tmp_path)
    commands = readme_commands()
    assert len(commands) >= 12
    for words in commands:
        assert words[0] == "python", words
        if words[1] == "-m":
            code, out, err = run_in_process(words[2], *words[3:], *TINY.get(words[2], []), capsys=capsys)
            assert code == 0, (words, err[-2000:])
        else:
            monkeypatch.setattr(sys, "argv", words[1:])
            runpy.run_path(words[1], run_name="__main__")
    # The `.keras` snippet, on the quick start's export: it loads, and `fit` takes its dict of targets.
    readme = (REPO / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", readme[readme.index("## Predict") :], flags=re.S).group(1)
    assert "model.fit(" in snippet
    exec(snippet.replace("generate_pair_sets(1000", "generate_pair_sets(100"), {})
