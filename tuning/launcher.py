"""The distributed launcher: a KerasTuner chief and N workers on 127.0.0.1; a dead worker restarts.

The launcher owns its children. They inherit its directory lock, so no second search starts in the dir
while any of them lives; they die with it, however it dies (Linux's parent-death signal); SIGTERM and
Ctrl-C reach them through it; and when the chief dies, the workers are stopped and the launcher exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

from kerascmp import cli

MAX_WORKER_RESTARTS = 3
STOP_GRACE_S = 20  # for a child to finish after SIGTERM before it is killed
WORKERS_DRAIN_S = 60  # for workers to see the finished search after the chief ends it


def capped_workers(requested: int) -> int:
    """A worker trains on a core of its own: more workers than cores only add memory and contention."""
    cores = os.cpu_count() or 1
    if requested > cores:
        print(f"note: --workers {requested} capped at {cores}, the number of cores here", flush=True)
    return min(requested, cores)


LAUNCHER_PID = "KERASCMP_LAUNCHER_PID"  # set in the children's environment


def follow_launcher() -> None:
    """In a chief or worker the launcher started: get SIGTERM when the launcher dies, even by SIGKILL
    (Linux's parent-death signal), and stop at once if it is already gone."""
    launcher = os.environ.get(LAUNCHER_PID)
    if not launcher:
        return  # started by hand (tuning/README.md): its own master
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the launcher's forwarded signals still stop it
    if os.getppid() != int(launcher):
        raise cli.UsageError("the launcher that started this process is gone; rerun the search to resume")


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every child still running, then SIGKILL what has not exited after the grace period."""
    alive = [p for p in processes if p.poll() is None]
    for process in alive:
        process.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for process in alive:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _describe_exit(code: int) -> str:
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_argv(argv: list[str]) -> list[str]:
    """The user's flags minus the launcher's own (--workers N, --overwrite)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not (arg.startswith("--workers=") or arg == "--overwrite"):
            out.append(arg)
    return out


def launch(argv: list[str], workers: int, lock_fd: int | None = None) -> int:
    """Start a chief and `workers` workers on 127.0.0.1; restart a worker that dies, with its id. The
    children hold `lock_fd` (the project dir's lock) open, so the dir stays locked while any one lives."""
    workers = capped_workers(workers)
    port = free_port()
    command = [sys.executable, "-m", "tuning.search", *child_argv(argv)]
    base = {
        **os.environ,
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(port),
        LAUNCHER_PID: str(os.getpid()),
    }

    def start(tuner_id: str) -> subprocess.Popen:
        return subprocess.Popen(
            command,
            env={**base, "KERASTUNER_TUNER_ID": tuner_id},
            pass_fds=() if lock_fd is None else (lock_fd,),
        )

    print(f"chief on 127.0.0.1:{port}, {workers} worker(s)", flush=True)
    chief = start("chief")
    time.sleep(1.0)
    processes = {f"worker{i}": start(f"worker{i}") for i in range(workers)}
    restarts = {tuner_id: 0 for tuner_id in processes}
    try:
        while chief.poll() is None:
            for tuner_id, process in processes.items():
                code = process.poll()
                if code not in (None, 0):
                    if restarts[tuner_id] >= MAX_WORKER_RESTARTS:
                        raise cli.UsageError(
                            f"{tuner_id} failed {MAX_WORKER_RESTARTS + 1} times ({_describe_exit(code)}); "
                            "stopping the search, rerun the command to resume"
                        )
                    restarts[tuner_id] += 1
                    print(
                        f"{tuner_id} died ({_describe_exit(code)}); restarting it with the same id to "
                        "recover its trial",
                        flush=True,
                    )
                    processes[tuner_id] = start(tuner_id)
            time.sleep(0.5)
        if chief.returncode != 0:
            print(
                f"error: the chief died ({_describe_exit(chief.returncode)}); its workers were stopped. What "
                "finished is saved: rerun the same command to resume",
                file=sys.stderr,
                flush=True,
            )
            return 1
        deadline = time.monotonic() + WORKERS_DRAIN_S  # the search is over: workers see it and exit
        while any(p.poll() is None for p in processes.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        _stop([chief, *processes.values()])
    return 0
