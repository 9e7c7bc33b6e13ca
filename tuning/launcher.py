"""The distributed launcher: a KerasTuner chief and N workers on 127.0.0.1; a dead worker restarts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from kerascmp import cli

MAX_WORKER_RESTARTS = 3


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


def launch(argv: list[str], workers: int) -> int:
    """Start a chief and `workers` workers on 127.0.0.1; restart a worker that dies, with its id."""
    port = free_port()
    command = [sys.executable, "-m", "tuning.search", *child_argv(argv)]
    base = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}

    def start(tuner_id: str) -> subprocess.Popen:
        return subprocess.Popen(command, env={**base, "KERASTUNER_TUNER_ID": tuner_id})

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
                            f"{tuner_id} failed {MAX_WORKER_RESTARTS + 1} times (exit {code}); "
                            "stopping the search, rerun the command to resume"
                        )
                    restarts[tuner_id] += 1
                    print(
                        f"{tuner_id} died (exit {code}); restarting it with the same id to recover its trial",
                        flush=True,
                    )
                    processes[tuner_id] = start(tuner_id)
            time.sleep(0.5)
        for process in processes.values():
            process.wait()
    finally:
        for process in [chief, *processes.values()]:
            if process.poll() is None:
                process.terminate()
    return chief.returncode
