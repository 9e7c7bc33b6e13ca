"""Reliability II, processes and resources (issue 19, cases 8, 10 and 12).

The search launcher owns its children; SIGTERM ends every command with a message and its cleanup done; a
full or read-only disk ends in one line saying what was kept; TensorBoard runs and terminal output stay
what kerascmp wrote. RELIABILITY.md lists every case with its test.
"""

import errno
import os
import signal
import subprocess
import sys

import psutil
import pytest

from conftest import REPO, assert_one_line_failure, run_in_process, wait_for
from kerascmp import cli, files, study, train
from kerascmp.analysis import rounds
from kerascmp.serving import export
from tuning import launcher

TINY = ["--epochs", "1", "--pairs", "100"]
GRID = ["--lr", "0.01,0.1", "--c-aux", "0.25", "--rounds", "1", "--epochs", "3", "--pairs", "200"]


def start(module: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def children_of(process: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(process.pid).children()


def all_gone(processes: list[psutil.Process], timeout: float = 60) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return not alive


def trial_running(project) -> bool:
    return any(project.glob("trial_*/kerascmp_search.json"))


# ---- case 8: the launcher owns its children -----------------------------------------------------------


def test_sigterm_to_the_launcher_stops_chief_and_workers_and_frees_the_dir(tmp_path):
    project = tmp_path / "search"
    search = start("tuning.search", *GRID, "--project-dir", str(project), "--workers", "1")
    wait_for(lambda: trial_running(project) and len(children_of(search)) == 2)
    children = children_of(search)
    search.send_signal(signal.SIGTERM)
    _, err = search.communicate(timeout=120)
    assert search.returncode == cli.EXIT_TERMINATED and "terminated (SIGTERM)" in err
    assert all_gone(children)  # no orphan trains on
    files.DirectoryLock(project, "search", "--project-dir").release()  # and a rerun may start


def test_the_launcher_exits_when_its_chief_is_killed(tmp_path):
    project = tmp_path / "search"
    search = start("tuning.search", *GRID, "--project-dir", str(project), "--workers", "1")
    wait_for(lambda: trial_running(project) and len(children_of(search)) == 2)
    children = children_of(search)
    (chief,) = [p for p in children if p.environ().get("KERASTUNER_TUNER_ID") == "chief"]
    chief.send_signal(signal.SIGKILL)
    _, err = search.communicate(timeout=120)  # it used to hang here, silently
    assert search.returncode == 1 and "the chief died (killed by SIGKILL)" in err and "rerun" in err
    assert all_gone(children)


def test_children_die_with_a_killed_launcher_and_hold_its_lock_until_then(tmp_path):
    project = tmp_path / "search"
    search = start("tuning.search", *GRID, "--project-dir", str(project), "--workers", "1")
    wait_for(lambda: trial_running(project) and len(children_of(search)) == 2)
    children = children_of(search)
    search.send_signal(signal.SIGKILL)  # no cleanup possible in the launcher itself
    search.wait()
    assert all_gone(children, timeout=60)  # Linux's parent-death signal stopped them


def test_workers_are_capped_by_the_cores(capsys):
    cores = os.cpu_count()
    assert launcher.capped_workers(cores) == cores and capsys.readouterr().out == ""
    assert launcher.capped_workers(100) == cores
    assert f"--workers 100 capped at {cores}" in capsys.readouterr().out


# ---- case 10: a full or read-only disk ------------------------------------------------------------------


def run_cli(module, args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(module.main, args)
    return exit_info.value.code, capsys.readouterr()


def test_a_full_disk_at_export_says_the_previous_export_is_kept(tmp_path, capsys, monkeypatch):
    out = tmp_path / "models"
    code, _ = run_cli(train, ["--variant", "main", *TINY, "--output-dir", str(out)], capsys)
    assert code == 0
    before = (out / "main" / export.METADATA_FILE).read_text()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "main"))

    monkeypatch.setattr(export, "export_model", full)
    code, streams = run_cli(
        train, ["--variant", "main", *TINY, "--seed", "3", "--output-dir", str(out)], capsys
    )
    assert code == cli.EXIT_STORAGE and "Traceback" not in streams.err
    (line,) = streams.err.strip().splitlines()
    assert "trained" in line and "No space left on device" in line and "previous export there is kept" in line
    assert (out / "main" / export.METADATA_FILE).read_text() == before


def test_a_read_only_disk_mid_study_says_which_rounds_are_kept(tmp_path, capsys, monkeypatch):
    out = tmp_path / "study"
    stored = []
    real_append = rounds.append

    def append_once(path, record):  # the first round is stored, then the disk turns read-only
        if stored:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        stored.append(record)
        real_append(path, record)

    monkeypatch.setattr(rounds, "append", append_once)
    args = ["--variants", "main", "--rounds", "2", *TINY, "--output-dir", str(out)]
    code, streams = run_cli(study, args, capsys)
    assert code == cli.EXIT_STORAGE and "Traceback" not in streams.err
    assert "Read-only file system" in streams.err and "the 1 round(s) stored before are kept" in streams.err
    assert len(rounds.load(out / "rounds.jsonl")) == 1


def test_any_other_full_disk_error_is_one_line(capsys):
    def main(argv):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/table.csv")

    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(main, [], resumable=True)
    err = capsys.readouterr().err
    assert exit_info.value.code == cli.EXIT_STORAGE
    assert err.strip() == (
        "error: cannot write /data/table.csv (No space left on device); what finished before is saved; free "
        "space and rerun the same command to resume"
    )


# ---- case 12: SIGTERM, TensorBoard runs, escape codes ---------------------------------------------------


def test_sigterm_mid_study_says_what_is_saved(tmp_path):
    out = tmp_path / "study"
    args = ["--variants", "main", "--rounds", "50", *TINY, "--output-dir", str(out)]
    running = start("kerascmp.study", *args)
    wait_for(lambda: (out / "rounds.jsonl").exists() and (out / "rounds.jsonl").read_text().strip())
    running.send_signal(signal.SIGTERM)
    _, err = running.communicate(timeout=120)
    assert running.returncode == cli.EXIT_TERMINATED
    assert "terminated (SIGTERM); what finished is saved; rerun the same command to resume" in err
    assert len(rounds.load(out / "rounds.jsonl")) >= 1


def test_sigterm_during_export_leaves_no_staging_dir(tmp_path):
    out = tmp_path / "models"
    out.mkdir()
    running = start("kerascmp.train", "--variant", "main", *TINY, "--output-dir", str(out))
    staging = lambda: [p for p in out.iterdir() if p.name.startswith(".main.")]  # noqa: E731
    wait_for(lambda: staging() or running.poll() is not None, timeout=240)
    if running.poll() is not None:
        pytest.skip("the export finished before the test saw its staging dir")
    running.send_signal(signal.SIGTERM)
    _, err = running.communicate(timeout=120)
    assert "Traceback" not in err and staging() == []
    assert not (out / "main").exists() or (out / "main" / export.METADATA_FILE).is_file()  # none, or whole
    if running.returncode != -signal.SIGTERM:  # (the signal can land as Python shuts down, export done)
        assert running.returncode == cli.EXIT_TERMINATED and "terminated (SIGTERM)" in err


def test_study_overwrite_removes_its_own_tensorboard_runs_elsewhere_and_nothing_else(tmp_path, capsys):
    out, logs = tmp_path / "study", tmp_path / "logs"
    args = [
        "--variants",
        "main",
        "--rounds",
        "1",
        *TINY,
        "--output-dir",
        str(out),
        "--tensorboard",
        str(logs),
    ]
    assert run_in_process("kerascmp.study", *args, capsys=capsys)[0] == 0
    ours = logs / "main" / "round_01"
    assert (ours / "kerascmp_run.json").is_file()
    theirs = logs / "mine" / "round_01" / "notes.txt"  # a user's run in the same log dir
    theirs.parent.mkdir(parents=True)
    theirs.write_text("keep me")
    (ours / "extra_event_file").write_text("x")  # inside our run: ours to remove
    assert run_in_process("kerascmp.study", *args, "--overwrite", capsys=capsys)[0] == 0
    assert theirs.read_text() == "keep me"
    assert not (ours / "extra_event_file").exists()  # the discarded study's run went, the new one is fresh


def test_a_users_files_at_a_tensorboard_run_path_are_refused_before_training(tmp_path, capsys):
    logs = tmp_path / "logs"
    precious = logs / "main" / "round_01" / "results.txt"
    precious.parent.mkdir(parents=True)
    precious.write_text("mine")
    outcome = run_in_process(
        "kerascmp.train", *TINY, "--no-export", "--tensorboard", str(logs), capsys=capsys
    )
    assert_one_line_failure(outcome, "holds files kerascmp did not write", "nothing was touched")
    assert "round 1/1" not in outcome[1] and precious.read_text() == "mine"


def test_escape_codes_from_a_tampered_metadata_file_are_not_printed_raw(tmp_path, capsys):
    directory = tmp_path / "main"
    directory.mkdir()
    tampered = {"variant": "\x1b[2J\x1b[31mred", "seed": 0, "hyperparameters": {"learning_rate": 0.1}}
    files.atomic_write_json(directory / export.METADATA_FILE, tampered)
    described = export._describe_export(directory)
    assert "\x1b" not in described and "\\x1b[31mred" in described

    def main(argv):
        raise cli.UsageError("model \x1b]0;title\x07 refused")

    with pytest.raises(SystemExit):
        cli.run_main(main, [])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\\x1b]0;title\\x07" in err
