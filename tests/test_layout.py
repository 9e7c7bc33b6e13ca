"""The architecture's promises: docs/LAYOUT.md's layout is the tree, analysis/ starts without TensorFlow, the
runtime is set in one place, the round record round-trips, and a variant's seeds are its own."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, round_record
from kerascmp import seeds
from kerascmp.analysis.rounds import RoundRecord
from kerascmp.analysis.rounds import load as load_rounds
from kerascmp.variants import Hyperparameters, Variant, get_variant, register_variant, variant_names

COMMITTED_STUDIES = (
    "results",
    "results/epochs100",
    "results/tuned",
    "results/tuned/epochs100",
    "results/beyond",
    "results/beyond2",
)
COMMITTED_ROUNDS = (*COMMITTED_STUDIES, "results/confirm")  # confirm: in progress, no tables yet


def readme_layout() -> set[str]:
    """The module paths docs/LAYOUT.md's layout block lists, from its folder lines and their file names."""
    readme = (REPO / "docs" / "LAYOUT.md").read_text()
    block = readme.split("## The tree", 1)[1].split("```", 2)[1]
    listed, package, folder = set(), None, None
    for line in block.splitlines():
        top = re.match(r"(\w+)/\s", line)
        sub = re.match(r"  (\w+)/\s", line)
        if top:
            package, folder = top.group(1), None
        elif sub:
            folder = sub.group(1)
        elif re.match(r"  \S", line):
            folder = None  # a line of the package's own modules
        if package in ("kerascmp", "tuning"):
            for name in re.findall(r"\b(\w+\.py)\b", line):
                listed.add("/".join(p for p in (package, folder, name) if p))
    return listed


def test_the_layout_lists_every_module_of_the_tree_and_no_other():
    tree = {
        str(path.relative_to(REPO))
        for package in ("kerascmp", "tuning")
        for path in (REPO / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    listed = readme_layout()
    assert not tree - listed, f"modules docs/LAYOUT.md does not list: {sorted(tree - listed)}"
    assert not listed - tree, f"docs/LAYOUT.md lists modules that do not exist: {sorted(listed - tree)}"


# A meta-path finder that refuses TensorFlow and everything built on it, as on a machine without them.
NO_TENSORFLOW = """
import importlib.abc, sys
class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"tensorflow", "keras", "tensorflow_datasets", "keras_tuner", "tensorboard"}:
            raise ImportError(f"{name} is made unimportable for this test")
sys.meta_path.insert(0, NoTensorFlow())
"""


def run_without_tensorflow(tmp_path, *args) -> subprocess.CompletedProcess:
    (tmp_path / "sitecustomize.py").write_text(NO_TENSORFLOW)
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])},
    )


def test_the_blocker_really_blocks_tensorflow(tmp_path):
    result = run_without_tensorflow(tmp_path, "-c", "import keras")
    assert result.returncode != 0 and "made unimportable" in result.stderr


def test_the_failures_cli_runs_without_tensorflow(tmp_path):
    failures = ("-m", "kerascmp.failures", "results/beyond", "--variant", "beyond_ensemble")
    result = run_without_tensorflow(tmp_path, *failures)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("beyond_ensemble: ") and "| first, second digit |" in result.stdout


RENDER_TABLES = """
import sys
from pathlib import Path
from kerascmp.analysis import claims, tables
from kerascmp.analysis.study_files import study_verdicts
from kerascmp.analysis.rounds import load
from kerascmp.analysis.summaries import summary_table
for study in sys.argv[1:]:
    rounds = load(Path(study) / "rounds.jsonl")
    table = summary_table(rounds)
    results = study_verdicts(Path(study), rounds)
    assert tables.table_csv(table) == (Path(study) / "table.csv").read_text(), study
    assert tables.study_markdown(table, results) == (Path(study) / "table.md").read_text(), study
    assert claims.claims_csv(results) == (Path(study) / "claims.csv").read_text(), study
print("rendered", len(sys.argv) - 1)
"""


def test_every_committed_study_renders_its_tables_without_tensorflow(tmp_path):
    result = run_without_tensorflow(tmp_path, "-c", RENDER_TABLES, *COMMITTED_STUDIES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"rendered {len(COMMITTED_STUDIES)}"


@pytest.mark.parametrize("study", COMMITTED_ROUNDS)
def test_committed_round_records_round_trip_unchanged(study):
    for record in load_rounds(REPO / study / "rounds.jsonl"):
        assert RoundRecord.from_json(record.to_json()) == record


def test_a_round_record_refuses_what_a_study_never_writes():
    good = round_record().to_json()
    with pytest.raises(ValueError, match="'pairs'"):
        RoundRecord.from_json({k: v for k, v in good.items() if k != "pairs"})
    with pytest.raises(ValueError, match="'round' -1"):
        RoundRecord.from_json({**good, "round": -1})


@pytest.mark.parametrize("study", COMMITTED_ROUNDS)
def test_committed_seeds_are_those_each_variant_declares(study):
    """Every committed round was trained from the seed its variant's `seed_id` derives today."""
    for record in load_rounds(REPO / study / "rounds.jsonl"):
        base = record.data_seed - record.round
        assert record.seed == seeds.study_run_seed(base, get_variant(record.variant).seed_id, record.round)


def test_the_report_variants_keep_their_table_rows_as_seed_ids():
    rows = ["main", "no_sharing", "noise_removal", "separate", "separate_noise_removal", "fc_baseline"]
    rows += ["main_paper_relu", "main_no_aux"]
    assert [get_variant(name).seed_id for name in rows] == list(range(8))


def test_a_variants_seed_does_not_depend_on_what_else_is_registered(monkeypatch):
    from kerascmp.variants import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the probes leave with the test

    def plugin(name):
        return Variant(name, build=lambda: None, defaults=Hyperparameters(0.1, 0.25))

    before = {name: get_variant(name).seed_id for name in variant_names()}
    alone = plugin("layout_probe_b").seed_id
    register_variant(plugin("layout_probe_a"))
    register_variant(plugin("layout_probe_b"))
    assert get_variant("layout_probe_b").seed_id == alone == seeds.name_id("layout_probe_b")
    assert {name: get_variant(name).seed_id for name in before} == before


CHECK_RUNTIME = """
from tensorflow.python.framework.config import is_op_determinism_enabled  # no public getter
from kerascmp.engine.build import build_model
from kerascmp.engine.runtime import configure_runtime
build_model("main", seed=0, precision="float32")
print("after build", is_op_determinism_enabled())
configure_runtime()
print("after configure", is_op_determinism_enabled())
"""


def test_determinism_is_switched_on_by_configure_runtime_not_by_building_a_model():
    result = subprocess.run(
        [sys.executable, "-c", CHECK_RUNTIME],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["after build False", "after configure True"]
