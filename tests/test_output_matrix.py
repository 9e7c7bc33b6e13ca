"""Reliability III: every output flag of every command, over every kind of path (kerascmp.outputs).

Each case builds a sandbox, hashes it whole, runs the command in this process and hashes it again. A path
the policy refuses must end in one line and exit 2 before any training, with nothing in the sandbox changed;
a path it accepts passes the command's own check (`declared_outputs`, then `outputs.check`) and changes
nothing but the directories it needs; a full disk ends in one line and exit 4, with no temporary file left.
A command or flag that is in neither MATRIX nor WRITES_NOTHING fails `test_every_flag_is_in_the_matrix`.
"""

import hashlib
import importlib
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, round_record, run_in_process
from kerascmp import outputs
from kerascmp.names import EXPORT_METADATA_FILE

# (command, flag): how the command writes there (kerascmp.outputs' kinds).
MATRIX = {
    ("kerascmp.predict", "--output"): outputs.FILE,
    ("kerascmp.train", "--output-dir"): outputs.DIRECTORY,
    ("kerascmp.train", "--results-json"): outputs.FILE,
    ("kerascmp.train", "--tensorboard"): outputs.DIRECTORY,
    ("kerascmp.study", "--output-dir"): outputs.DIRECTORY,
    ("kerascmp.study", "--tensorboard"): outputs.DIRECTORY,
    ("kerascmp.export", "--output"): outputs.MODEL,
    ("tuning.search", "--project-dir"): outputs.DIRECTORY,
    ("kerascmp.frontier", "--output-dir"): outputs.DIRECTORY,
    ("kerascmp.bench", "--output-dir"): outputs.DIRECTORY,
}
# Every other flag of every command, which names no path it writes.
COMMON = {"--variant", "--plugin", "--data-dir", "--download", "--seed", "--epochs", "--pairs", "--precision"}
WRITES_NOTHING = {
    "kerascmp.predict": {"--model", "--pairs", "--labels", "--no-invert", "--json"},
    "kerascmp.train": COMMON
    | {"--lr", "--c-aux", "--batch-size", "--rounds", "--no-export", "--export-formats", "--quiet"},
    "kerascmp.study": COMMON
    | {"--variants", "--rounds", "--hyperparameters", "--longer", "--overwrite", "--quiet"},
    "kerascmp.export": {"--model", "--format"},
    "tuning.search": COMMON
    | {
        "--lr",
        "--c-aux",
        "--rounds",
        "--held-out-pairs",
        "--screen-rounds",
        "--overwrite",
        "--workers",
        "--verbose",
    },
    "kerascmp.frontier": {"--remeasure-all", "--plugin", "--data-dir", "--download"},
    "kerascmp.failures": {"--variant"},
    "kerascmp.bench": {"--quick", "--repeats", "--epochs", "--worker", "--seed", "--rounds"},
}
KINDS = (
    "absent",
    "user file",
    "directory",
    "symlink to a user file",
    "fifo",
    "input",
    "savedmodel",
    "keras",
    "onnx",
    "tflite",
    "inside an export",
    "unwritable",
    "full disk",
)
ACCEPTED = {outputs.FILE: {"absent"}, outputs.MODEL: {"absent"}, outputs.DIRECTORY: {"absent", "directory"}}
TINY = ["--epochs", "1", "--pairs", "100"]


def commands() -> list[str]:
    """Every module with a command line: a file of kerascmp/ or tuning/ that defines build_parser."""
    found = []
    for package in ("kerascmp", "tuning"):
        for path in sorted((REPO / package).glob("*.py")):
            if "def build_parser" in path.read_text():
                found.append(f"{package}.{path.stem}")
    return found


def test_every_flag_is_in_the_matrix():
    assert set(commands()) == set(WRITES_NOTHING), "a command is missing from WRITES_NOTHING"
    for module in commands():
        entry = importlib.import_module(module)
        flags = {
            option
            for action in entry.build_parser()._actions
            for option in action.option_strings
            if option.startswith("--") and option != "--help"
        }
        written = {flag for command, flag in MATRIX if command == module}
        unknown = flags - written - WRITES_NOTHING[module]
        assert not unknown, f"{module}: put {sorted(unknown)} in MATRIX (it writes) or WRITES_NOTHING"
        assert hasattr(entry, "declared_outputs"), f"{module} declares no outputs (kerascmp.outputs)"


# ---- the sandbox ------------------------------------------------------------------------------------


def tree_state(root: Path) -> dict:
    """Every entry under `root`: its type, and its bytes' hash or link target (FIFOs are not opened)."""
    state = {}
    for directory, names, files in os.walk(root):
        for name in names + files:
            path = Path(directory) / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                state[relative] = ("link", os.readlink(path))
            elif path.is_dir():
                state[relative] = ("dir",)
            elif path.is_file():
                state[relative] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                state[relative] = ("special",)
    return state


def fake_export(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "saved_model.pb").write_bytes(b"graph")
    (directory / EXPORT_METADATA_FILE).write_text('{"variant": "main"}')
    return directory


@pytest.fixture(scope="module")
def real_model(tmp_path_factory):
    """A real kerascmp export (one epoch of main on 100 pairs), for the commands that must read one."""
    from conftest import train_tiny
    from kerascmp.data import generate_pair_sets
    from kerascmp.serving import export

    run = train_tiny("main", generate_pair_sets(100, seed=0))
    target = tmp_path_factory.mktemp("model") / "main"
    export.export_model(run.model, target, export.run_metadata(run))
    return target


@pytest.fixture
def full_disk(tmp_path):
    """A directory on a small tmpfs filled to the last byte."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip() or 'not root'})")
    try:
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(filler, b"\0" * 4096):
                pass
        except OSError:  # ENOSPC: full
            pass
        finally:
            os.close(filler)
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def output_name(kind: str) -> str:
    """A file name of the output's own kind."""
    return {outputs.FILE: "out.csv", outputs.MODEL: "out.onnx", outputs.DIRECTORY: "out"}[kind]


def make_path(case: str, kind: str, sandbox: Path, inputs: dict, request) -> Path:
    """The path of `case` in the sandbox, with whatever it names made."""
    name = output_name(kind)
    user = sandbox / "mine.txt"
    user.write_text("the user's own words")
    if case == "absent":
        return sandbox / "new" / name
    if case == "user file":
        path = sandbox / (name if kind != outputs.DIRECTORY else "notes.txt")
        path.write_text("the user's own file")
        return path
    if case == "directory":
        (sandbox / "mine").mkdir()
        (sandbox / "mine" / "kept.txt").write_text("kept")
        return sandbox / "mine"
    if case == "symlink to a user file":
        (sandbox / f"link{Path(name).suffix}").symlink_to(user)
        return sandbox / f"link{Path(name).suffix}"
    if case == "fifo":
        os.mkfifo(sandbox / f"fifo{Path(name).suffix}")
        return sandbox / f"fifo{Path(name).suffix}"
    if case == "input":
        if inputs.get("input") is None:
            pytest.skip("this command reads no path an output could name")
        given = inputs["input"]
        return given if kind == outputs.DIRECTORY or given.is_file() else given / name
    if case == "savedmodel":
        return fake_export(sandbox / "export")
    if case in ("keras", "onnx", "tflite"):
        path = sandbox / f"model.{case}"
        path.write_bytes(b"a model of the user's")
        return path
    if case == "inside an export":
        return fake_export(sandbox / "export") / name
    if case == "unwritable":
        if os.geteuid() == 0:  # root writes through any mode bits; not into /sys
            return Path("/sys/kerascmp_matrix") / name
        (sandbox / "read_only").mkdir(mode=0o555)
        return sandbox / "read_only" / name
    return request.getfixturevalue("full_disk") / name


# ---- each command's arguments --------------------------------------------------------------------------


def study_dir(directory: Path) -> Path:
    """A finished study of one round, with its cost recorded: the frontier trains nothing for it."""
    from kerascmp.analysis import rounds
    from kerascmp.names import COMPARISON, ROUNDS_FILE, TEST, error_key

    directory.mkdir(parents=True)
    record = round_record(errors={error_key(TEST, COMPARISON): 10.0}, cpu_s=5.0)
    rounds.append(directory / ROUNDS_FILE, record)
    return directory


def arguments(module: str, flag: str, path: Path, sandbox: Path, case: str, real_model) -> list[str]:
    """The command line of a case: tiny, with every other output inside the sandbox."""
    data = ["--data-dir", str(sandbox / "data")] if case == "input" else []
    given = [flag, str(path)]
    if module == "kerascmp.predict":
        model = real_model if case == "full disk" else fake_export(sandbox / "model")
        return ["--model", str(model), "--pairs", str(sandbox / "pairs.npy"), *given]
    if module == "kerascmp.train":
        others = [] if flag == "--output-dir" else ["--output-dir", str(sandbox / "models")]
        return ["--variant", "main", *TINY, *data, *others, *given]
    if module == "kerascmp.study":
        others = [] if flag == "--output-dir" else ["--output-dir", str(sandbox / "study")]
        return ["--variants", "main", "--rounds", "1", *TINY, *data, *others, *given]
    if module == "kerascmp.export":
        model = real_model if case == "full disk" else sandbox / "model"
        return ["--model", str(model), "--format", "onnx", *given]
    if module == "tuning.search":
        return ["--variant", "main", "--lr", "0.1", "--c-aux", "0.25", "--rounds", "1", *TINY, *data, *given]
    if module == "kerascmp.frontier":
        return [str(study_dir(sandbox / "a_study")), *data, *given]
    return ["--quick", *given]


def inputs_of(module: str, sandbox: Path) -> dict:
    """The input a case "input" names: the pairs of predict, the SavedModel of export, else a data dir."""
    np.save(sandbox / "pairs.npy", np.full((3, 2, 14, 14), 128, np.uint8))
    if module == "kerascmp.predict":
        return {"input": sandbox / "pairs.npy"}
    if module == "kerascmp.export":
        return {"input": fake_export(sandbox / "model")}
    if module == "kerascmp.bench":
        return {"input": None}
    (sandbox / "data").mkdir()
    (sandbox / "data" / "dataset_info.json").write_text("{}")
    return {"input": sandbox / "data"}


@pytest.mark.parametrize("case", KINDS)
@pytest.mark.parametrize("module, flag", list(MATRIX))
def test_every_output_flag_over_every_kind_of_path(module, flag, case, tmp_path, capsys, request):
    kind = MATRIX[(module, flag)]
    if case == "full disk" and module == "kerascmp.bench":
        pytest.skip("bench writes only after minutes of timed training; its path is checked as the others")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    inputs = inputs_of(module, sandbox)
    path = make_path(case, kind, sandbox, inputs, request)
    model = request.getfixturevalue("real_model") if case == "full disk" else None
    argv = arguments(module, flag, path, sandbox, case, model)
    before = tree_state(sandbox)
    entry = importlib.import_module(module)

    if case in ACCEPTED[kind]:
        outputs.check(*entry.declared_outputs(entry.build_parser().parse_args(argv)))
        after = tree_state(sandbox)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert all(after.get(k) == ("dir",) and k not in before for k in changed), changed
        return

    code, out, err = run_in_process(module, *argv, capsys=capsys)
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1, err
    if case == "full disk":
        assert code == 4, err
        assert not list(path.parent.glob(".*.kerascmp-*")), "a temporary file was left"
        outside = {k: v for k, v in tree_state(sandbox).items() if not k.startswith("disk")}
        assert all(before.get(k) == v for k, v in outside.items() if k in before)
        return
    assert code == 2, err
    assert "epoch" not in out.lower() and "round 1/" not in out, "refused only after training"
    assert tree_state(sandbox) == before
