"""Reliability II, results never silently mixed or miscounted (issue 19, cases 4-7).

A stored round or trial is checked against what this command would train, from its own record; a record
that is not one is named by its line; a built-in variant cannot be replaced; a variant whose every round
diverged still gets its table and figures. RELIABILITY.md lists every case with its test.
"""

import json

import pytest

from conftest import assert_clean_failure, assert_one_line_failure, run_in_process, run_module
from kerascmp import study
from kerascmp.analysis import rounds
from kerascmp.analysis.rounds import RECIPE, RoundRecord
from kerascmp.analysis.study_files import write_study_files
from kerascmp.analysis.summaries import summary_table
from kerascmp.cli import UsageError
from kerascmp.names import COMPARISON, TEST, TRAIN, error_key

TINY = ["--epochs", "1", "--pairs", "100"]
SEARCH = ["--lr", "0.1", "--c-aux", "0.25", "--rounds", "1", *TINY]


def record(variant="main", round_index=0, **changes) -> dict:
    """A round record as a study writes it (errors made up)."""
    base = {
        "variant": variant,
        "round": round_index,
        "seed": 7,
        "data_seed": round_index,
        "hyperparameters": {"learning_rate": 0.1, "c_aux": 0.25, "epochs": 1, "precision": "float32"},
        "pairs": 100,
        "errors": {error_key(TEST, COMPARISON): 20.0 + round_index, error_key(TRAIN, COMPARISON): 10.0},
        "diverged": False,
        "history": {},
    }
    return {**base, **changes}


def write_lines(path, *lines) -> None:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))


# ---- case 4: every stored round checked, not study.json / search.json --------------------------------


def test_a_study_checks_each_stored_round_even_without_study_json(tmp_path, capsys):
    study_args = ["--variants", "main", "--rounds", "1", *TINY, "--output-dir", str(tmp_path)]
    assert run_in_process("kerascmp.study", *study_args, capsys=capsys)[0] == 0
    (tmp_path / "study.json").unlink()  # the marker gone: the rounds still say how they were made
    for flag, value, changed in (
        ("--pairs", "120", "pairs 100 -> 120"),
        ("--seed", "5", "data seed 0 -> 5"),
        ("--epochs", "2", "epochs 1 -> 2"),
    ):
        rerun = [*study_args, flag, value]  # argparse: the last one wins
        assert_one_line_failure(
            run_in_process("kerascmp.study", *rerun, capsys=capsys), "other settings", changed
        )
        assert not (tmp_path / "study.json").exists()  # nothing claimed for the refused settings
    (stored,) = rounds.load(tmp_path / "rounds.jsonl")
    assert stored.recipe["members"] == 1 and stored.recipe["optimizer"]["class_name"] == "SGD"


def test_a_variant_whose_optimiser_pairing_or_members_changed_is_refused_and_older_rounds_pass(tmp_path):
    from kerascmp.engine.compile import training_recipe
    from kerascmp.variants import get_variant

    def recipe_of(variant: str) -> dict:
        return training_recipe(get_variant(variant))

    def check(variant: str, stored_recipe: dict | None):
        line = record(variant) if stored_recipe is None else record(variant, recipe=stored_recipe)
        stored = [RoundRecord.from_json(line)]
        settings = {"seed": 0, "epochs": None, "pairs": 100, "precision": "float32"}
        study.check_rounds(stored, settings, {}, {variant: {RECIPE: recipe_of(variant)}}, tmp_path)

    check("beyond_ensemble", recipe_of("beyond_ensemble"))  # as stored: accepted
    check("beyond_ensemble", None)  # a round from before recipes were recorded: accepted
    with pytest.raises(UsageError, match="another definition of beyond_ensemble .*recipe: members 2 -> 3"):
        check("beyond_ensemble", {**recipe_of("beyond_ensemble"), "members": 2})
    with pytest.raises(UsageError, match="recipe: pairing fixed -> swap"):
        check("beyond_swap", {**recipe_of("beyond_swap"), "pairing": "fixed"})
    with pytest.raises(UsageError, match="recipe: optimizer SGD -> Adam"):
        check("beyond_adam", {**recipe_of("beyond_adam"), "optimizer": recipe_of("beyond_swap")["optimizer"]})
    adam = recipe_of("beyond_adam")
    slower = {
        **adam,
        "optimizer": {**adam["optimizer"], "config": {**adam["optimizer"]["config"], "beta_1": 0.8}},
    }
    with pytest.raises(UsageError, match="recipe: optimizer beta_1 0.8 -> 0.9"):
        check("beyond_adam", slower)


def test_stored_rounds_of_variants_not_rerun_are_checked_too(tmp_path):
    stored = [RoundRecord.from_json(record("no_sharing", 0, pairs=200))]
    settings = {"seed": 0, "epochs": None, "pairs": 100, "precision": "float32"}
    with pytest.raises(UsageError, match="no_sharing rounds made with other settings .*pairs 200 -> 100"):
        study.check_rounds(stored, settings, {}, {}, tmp_path)


def test_a_search_checks_each_stored_trial_even_without_search_json(tmp_path, capsys):
    project = tmp_path / "search"
    assert run_in_process("tuning.search", *SEARCH, "--project-dir", str(project), capsys=capsys)[0] == 0
    (project / "search.json").unlink()
    outcome = run_in_process(
        "tuning.search", *SEARCH, "--lr", "0.01", "--project-dir", str(project), capsys=capsys
    )
    assert_one_line_failure(outcome, "other settings", "learning_rates [0.1] -> [0.01]")
    assert not (project / "search.json").exists()
    assert json.loads((project / "best.json").read_text())["best"]["learning_rate"] == 0.1  # untouched


def test_a_foreign_kerastuner_project_is_refused_and_left_unclaimed(tmp_path, capsys):
    foreign = tmp_path / "other_search"
    (foreign / "trial_00").mkdir(parents=True)
    (foreign / "oracle.json").write_text('{"ongoing_trials": {}}')
    (foreign / "trial_00" / "trial.json").write_text('{"trial_id": "00"}')
    outcome = run_in_process("tuning.search", *SEARCH, "--project-dir", str(foreign), capsys=capsys)
    assert_one_line_failure(outcome, "KerasTuner project that no kerascmp search recorded")
    assert sorted(p.name for p in foreign.iterdir()) == [".kerascmp.lock", "oracle.json", "trial_00"]


# ---- case 5: one schema, checked on load --------------------------------------------------------------


def test_an_exact_duplicate_line_is_counted_once_and_said(tmp_path, capsys):
    path = tmp_path / "rounds.jsonl"
    write_lines(path, record(round_index=0), record(round_index=1), record(round_index=0))
    loaded = rounds.load(path)
    assert [r.round for r in loaded] == [0, 1]
    assert "line 3" in capsys.readouterr().out
    assert len(path.read_text().splitlines()) == 2  # repaired, so the next append counts right
    assert summary_table(loaded)["main"]["rounds"] == 2


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (record(round="0"), "'round' \"0\"; it must be an integer >= 0"),
        ("42", "is 42, not a round record"),
        ({k: v for k, v in record().items() if k != "hyperparameters"}, "has no 'hyperparameters'"),
        (record(errors={error_key(TEST, COMPARISON): "low"}), "'errors'"),
        (record(diverged="no"), "'diverged'"),
        (record(round_index=0, seed=8), "lines 1 and 2 are two different records of main round 0"),
    ],
    ids=["string_round", "bare_number", "no_hyperparameters", "text_error", "text_diverged", "conflict"],
)
def test_a_record_that_is_not_a_round_is_refused_naming_its_line(bad, fragment, tmp_path):
    path = tmp_path / "rounds.jsonl"
    write_lines(path, record(round_index=0), bad)
    before = path.read_text()
    with pytest.raises(UsageError, match="line") as refused:
        rounds.load(path)
    assert fragment in str(refused.value) and "2" in str(refused.value)
    assert path.read_text() == before  # refused, untouched


def test_the_failures_cli_names_a_bad_line_without_a_traceback(tmp_path):
    write_lines(tmp_path / "rounds.jsonl", record(), "42")
    result = run_module("kerascmp.failures", str(tmp_path), "--variant", "main")
    assert_clean_failure(result, "line 2", "not a round record")


# ---- case 6: built-in names protected, architectures fingerprinted -------------------------------------

PLUGIN = """
import keras
import kerascmp
from kerascmp.models import pair_model

def build():
    image = keras.Input((14, 14))
    hidden = keras.layers.Dense({width}, activation="relu")(keras.layers.Flatten()(image))
    return pair_model(keras.Model(image, keras.layers.Dense(10)(hidden)))

kerascmp.register_variant(kerascmp.Variant("{name}", build, kerascmp.Hyperparameters(0.1, 0.25)))
"""


def test_a_plugin_cannot_replace_a_built_in_variant(tmp_path, capsys):
    plugin = tmp_path / "impostor.py"
    plugin.write_text(PLUGIN.format(name="best", width=16))
    outcome = run_in_process(
        "kerascmp.study", "--variants", "best", "--plugin", str(plugin), *TINY, capsys=capsys
    )
    assert_one_line_failure(outcome, "'best' is one of kerascmp's own variants")


def test_rounds_of_another_definition_of_a_variant_are_not_mixed_in(tmp_path, capsys):
    plugin, out = tmp_path / "mine.py", tmp_path / "study"
    study_args = ["--variants", "mine", "--plugin", str(plugin), *TINY, "--output-dir", str(out)]
    plugin.write_text(PLUGIN.format(name="mine", width=16))
    assert run_in_process("kerascmp.study", *study_args, "--rounds", "1", capsys=capsys)[0] == 0
    (stored,) = rounds.load(out / "rounds.jsonl")
    assert stored.architecture["parameters"] > 0
    plugin.write_text(PLUGIN.format(name="mine", width=24))  # the same name, another net
    outcome = run_in_process("kerascmp.study", *study_args, "--rounds", "2", capsys=capsys)
    assert_one_line_failure(outcome, "another definition of mine", "architecture")
    assert len(rounds.load(out / "rounds.jsonl")) == 1


# ---- case 7: a variant whose every round diverged ------------------------------------------------------


def test_a_variant_whose_every_round_diverged_still_gets_its_table_and_figures(tmp_path):
    diverged = {error_key(TEST, COMPARISON): None, error_key(TRAIN, COMPARISON): None}
    stored = [RoundRecord.from_json(record(round_index=i)) for i in range(2)] + [
        RoundRecord.from_json(record("main_no_aux", i, errors=diverged, diverged=True)) for i in range(2)
    ]
    write_study_files(stored, tmp_path, "test")
    for name in ("table.csv", "table.md", "learning_curves.png", "comparison.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "2 (2 diverged)" in (tmp_path / "table.md").read_text()


# ---- what a newcomer tripped on -------------------------------------------------------------------------


def test_the_refusal_on_committed_results_says_what_overwrite_would_delete(tmp_path):
    import subprocess

    stored = [record(round_index=0), record(round_index=1)]
    write_lines(tmp_path / "rounds.jsonl", *stored)
    assert study.remedy(tmp_path, stored) == (
        "use another --output-dir, or --overwrite to delete its 2 stored round(s)"
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "rounds.jsonl"], check=True)
    said = study.remedy(tmp_path, stored)
    assert "holds the repository's committed results (2 rounds), which --overwrite would delete" in said
    assert "or --overwrite" not in said  # not offered as the fix


def test_the_search_says_screening_only_when_it_screens(tmp_path, capsys):
    grid = ["--lr", "0.03,0.1", "--c-aux", "0.25", "--rounds", "2", *TINY]
    code, plain, _ = run_in_process(
        "tuning.search", *grid, "--project-dir", str(tmp_path / "a"), capsys=capsys
    )
    assert code == 0 and "ETA" in plain and "screening ETA" not in plain
    code, screened, _ = run_in_process(
        "tuning.search", *grid, "--screen-rounds", "1", "--project-dir", str(tmp_path / "b"), capsys=capsys
    )
    assert code == 0 and "screening ETA" in screened


def test_a_search_refuses_trials_of_a_redefined_variant_and_accepts_ones_without_a_recipe(tmp_path):
    from kerascmp.engine.compile import training_recipe
    from kerascmp.variants import get_variant
    from tuning import search

    current = {
        "variant": "beyond_ensemble",
        "epochs": 1,
        "recipe": training_recipe(get_variant("beyond_ensemble")),
        search.BATCH_SIZE: 100,
    }
    trial = tmp_path / "trial_00"
    trial.mkdir()
    (tmp_path / search.SETTINGS_FILE).write_text("{}")
    stored = {"variant": "beyond_ensemble", "epochs": 1}  # a trial from before recipes and batch sizes
    (trial / search.TRIAL_SETTINGS).write_text(json.dumps(stored))
    search.check_trials(tmp_path, current)
    (trial / search.TRIAL_SETTINGS).write_text(json.dumps({**current, search.BATCH_SIZE: 50}))
    with pytest.raises(UsageError, match=r"trial_00, trained with other settings \(batch_size 50 -> 100\)"):
        search.check_trials(tmp_path, current)
    (trial / search.TRIAL_SETTINGS).write_text(
        json.dumps({**current, "recipe": {**current["recipe"], "members": 2}})
    )
    with pytest.raises(UsageError, match=r"trial_00, trained with other settings \(recipe: members 2 -> 3\)"):
        search.check_trials(tmp_path, current)
