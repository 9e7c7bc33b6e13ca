"""A study's round record (`RoundRecord`) and its file, rounds.jsonl: one JSON line per (variant, round).

The study writes rounds only through `append`; it, its tables, the claims and `kerascmp.failures` read
them only through `load`, so a line that is not what a study writes is named by its number, never
averaged in or half-read. Files written by every earlier study load unchanged (their later keys take the
defaults below). Importing this module is free: it needs neither TensorFlow nor Keras.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field, fields
from pathlib import Path

from kerascmp import files
from kerascmp.errors import UsageError
from kerascmp.names import TEST_COMPARISON_FAILURES

ARCHITECTURE = "architecture"  # the model's fingerprint (kerascmp.models.architecture_fingerprint)
RECIPE = "recipe"  # optimiser, pairing, members, shifts, staging (kerascmp.engine.compile.training_recipe)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rate(value) -> bool:
    return value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool))


# key: (what it must be, the test); the keys every study has written since the first.
REQUIRED = {
    "variant": ("a variant name", lambda v: isinstance(v, str) and v != ""),
    "round": ("an integer >= 0", lambda v: _integer(v) and v >= 0),
    "seed": ("an integer", _integer),
    "data_seed": ("an integer", _integer),
    "hyperparameters": ("an object", lambda v: isinstance(v, dict)),
    "pairs": ("an integer >= 1", lambda v: _integer(v) and v >= 1),
    "errors": (
        "an object of error rates",
        lambda v: isinstance(v, dict) and all(_rate(rate) for rate in v.values()),
    ),
}
# Keys that later studies added: checked where present.
OPTIONAL = {
    "diverged": ("true or false", lambda v: isinstance(v, bool)),
    "history": ("an object of curves", lambda v: isinstance(v, dict)),
    TEST_COMPARISON_FAILURES: ("a list or null", lambda v: v is None or isinstance(v, list)),
    ARCHITECTURE: ("an object", lambda v: isinstance(v, dict)),
    "history_val_every": ("an integer >= 1", lambda v: _integer(v) and v >= 1),
    "cpu_s": ("a number of seconds >= 0", lambda v: isinstance(v, int | float) and v >= 0),
    RECIPE: ("an object", lambda v: isinstance(v, dict)),
}


def problem(record) -> str | None:
    """What is wrong with one parsed line, or None for a valid round record."""
    if not isinstance(record, dict):
        return f"is {json.dumps(record)[:40]}, not a round record (a JSON object)"
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        return f"has no {', '.join(repr(k) for k in missing)}"
    for key, (what, valid) in {**REQUIRED, **OPTIONAL}.items():
        if key in record and not valid(record[key]):
            return f"has {key!r} {json.dumps(record[key])[:40]}; it must be {what}"
    return None


@dataclass(frozen=True)
class RoundRecord:
    """One trained (variant, round) of a study: how it was made, and what it gave."""

    variant: str
    round: int  # from 0
    seed: int  # initialisation and shuffling (kerascmp.seeds.study_run_seed)
    data_seed: int  # its pairs (kerascmp.seeds.round_seed): equal for every variant of a round
    hyperparameters: dict
    pairs: int
    errors: dict[str, float | None]  # error rates in %, keyed by kerascmp.names.error_key; None if diverged
    architecture: dict | None = None  # kerascmp.models.architecture_fingerprint
    recipe: dict | None = None  # kerascmp.engine.compile.training_recipe (absent in older records)
    diverged: bool = False
    test_comparison_failures: list | None = None  # kerascmp.engine.scoring.comparison_failures
    history: dict = field(default_factory=dict)  # per-epoch curves, keyed by kerascmp.names.curve_key
    history_val_every: int = 1  # epochs between the monitored curve's points
    wall_s: float | None = None
    cpu_s: float | None = None  # training's process CPU time, every thread (absent in older records)
    tensorboard_s: float | None = None
    packages: dict | None = None

    @classmethod
    def from_json(cls, record) -> RoundRecord:
        """A parsed line as a record; ValueError saying what is wrong if it is not one."""
        wrong = problem(record)
        if wrong:
            raise ValueError(f"a round record {wrong}")
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})

    def to_json(self) -> dict:
        """The record as a line of rounds.jsonl; keys an older study never wrote stay out while unset."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None or f.name == TEST_COMPARISON_FAILURES
        }


def definition_changes(record: RoundRecord, definition: dict) -> dict:
    """{what: (stored, current)} where a variant's definition ({ARCHITECTURE: fingerprint, RECIPE: recipe},
    either part optional) moved since `record` was trained; a part the record predates is accepted."""
    changes = {}
    fingerprint = definition.get(ARCHITECTURE)
    if fingerprint is not None and record.architecture not in (None, fingerprint):
        changes[ARCHITECTURE] = tuple(
            f"{f.get('parameters')} parameters {f.get('sha256')}" for f in (record.architecture, fingerprint)
        )
    if definition.get(RECIPE) is not None:
        changes.update(recipe_changes(record.recipe, definition[RECIPE]))
    return changes


def redefined(changes: dict) -> bool:
    """Whether `changes` (from definition_changes, among others) say the variant itself was redefined."""
    return any(key == ARCHITECTURE or key.startswith(RECIPE) for key in changes)


def recipe_changes(stored: dict | None, current: dict) -> dict:
    """{what: (stored, current)} for each part of a training recipe that changed, each keyed "recipe: ...";
    an optimiser by its class, or else by each setting that moved. A record from before recipes were
    recorded (`stored` None) is accepted."""
    if stored is None:
        return {}
    changes = {}
    for key in sorted(set(stored) | set(current)):
        old, new = stored.get(key), current.get(key)
        if old == new:
            continue
        if key == "optimizer" and isinstance(old, dict) and isinstance(new, dict):
            if old.get("class_name") != new.get("class_name"):
                changes[key] = (old.get("class_name"), new.get("class_name"))
                continue
            old_config, new_config = old.get("config", {}), new.get("config", {})
            for setting in sorted(set(old_config) | set(new_config)):
                if old_config.get(setting) != new_config.get(setting):
                    changes[f"{key} {setting}"] = (old_config.get(setting), new_config.get(setting))
        else:
            changes[key] = (old, new)
    return {f"{RECIPE}: {what}": pair for what, pair in changes.items()}


def load(path: Path) -> list[RoundRecord]:
    """The valid records of a rounds file, in order.

    A line cut short by a kill is dropped (the file is repaired before the next append), and so is an exact
    copy of an earlier line; a record that is not a round, or a second, different record of one (variant,
    round), is refused with its line number, the file untouched.
    """
    path = Path(path)
    if not path.exists():
        return []
    records, damaged, repeated = [], [], []
    first_line: dict[tuple[str, int], tuple[int, dict]] = {}
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            damaged.append(number)
            continue
        wrong = problem(record)
        if wrong:
            raise UsageError(f"{path} line {number} {wrong}; correct or delete that line")
        key = (record["variant"], record["round"])
        if key in first_line:
            earlier, kept = first_line[key]
            if kept != record:
                raise UsageError(
                    f"{path} lines {earlier} and {number} are two different records of {key[0]} round "
                    f"{key[1]}; delete the one that does not belong"
                )
            repeated.append(number)
            continue
        first_line[key] = (number, record)
        records.append(RoundRecord.from_json(record))
    if damaged:
        print(
            f"note: {len(damaged)} damaged line(s) in {path} dropped (line {_lines(damaged)}; cut short by "
            "a kill?); their rounds are trained again"
        )
    if repeated:
        print(f"note: line {_lines(repeated)} of {path} repeated an earlier line and was dropped")
    if damaged or repeated:
        files.atomic_write_text(path, "".join(json.dumps(r.to_json()) + "\n" for r in records))
    return records


def _lines(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers[:5]) + (" ..." if len(numbers) > 5 else "")


def append(path: Path, record: RoundRecord) -> None:
    """Store one finished round, on disk before the next starts; refused if it is not a valid record."""
    line = record.to_json()
    wrong = problem(line)
    if wrong:
        raise ValueError(f"a round record {wrong}")
    files.append_json_line(path, line)
