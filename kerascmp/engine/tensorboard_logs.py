"""TensorBoard logs: a run's per-epoch curves as scalars, and an HParams session per run.

The scalars are written from the history a run returns (the numbers rounds.jsonl stores), after the run,
so packed replicas log as runs of their own and the training step is untouched.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from kerascmp.errors import UsageError
from kerascmp.files import atomic_write_json

RUN_MARKER = "kerascmp_run.json"  # in each run dir kerascmp writes: what --overwrite may remove


def write_hparams_config(log_dir: Path, hparams: dict[str, list | None], metrics: list[str]) -> None:
    """The HParams dashboard's columns: each hyperparameter (with its values, where they are a short list),
    and the metrics to compare."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        hp_api.hparams_config(
            hparams=[
                hp_api.HParam(name, hp_api.Discrete(sorted(set(values))) if values else None)
                for name, values in hparams.items()
            ],
            metrics=[hp_api.Metric(name, display_name=name) for name in metrics],
        )
    writer.close()


def write_run(
    run_dir: Path,
    *,
    hparams: dict,
    metrics: dict[str, float | None],
    curves: dict[str, list[float]] | None = None,
    monitored_every: int = 1,
    session_id: str | None = None,
    owner: str | None = None,
) -> None:
    """One run: its HParams session, its final `metrics` (at the last step), and each per-epoch curve at
    epochs 1, 2, ... (curves of the monitored pairs, "val_*", at every `monitored_every`-th epoch)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    curves = curves or {}
    check_run_dir(run_dir)
    if run_dir.exists():  # a round trained again replaces its logs rather than doubling them
        shutil.rmtree(run_dir)
    last_step = max((len(values) * _every(key, monitored_every) for key, values in curves.items()), default=0)
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        hp_api.hparams(hparams, trial_id=session_id or run_dir.name)
        for key, values in curves.items():
            every = _every(key, monitored_every)
            for i, value in enumerate(values):
                tf.summary.scalar(key, value, step=(i + 1) * every)
        for name, value in metrics.items():
            if value is not None and math.isfinite(value):
                tf.summary.scalar(name, value, step=last_step)
    writer.close()
    atomic_write_json(run_dir / RUN_MARKER, {"owner": owner})


def check_run_dir(run_dir: Path) -> None:
    """A run's logs replace only what kerascmp wrote there (its marker), never a user's files."""
    if run_dir.is_dir() and any(run_dir.iterdir()) and not (run_dir / RUN_MARKER).is_file():
        raise UsageError(
            f"TensorBoard run {run_dir} holds files kerascmp did not write (no {RUN_MARKER}); nothing was "
            "touched: move them, or use another --tensorboard"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"TensorBoard run {run_dir} is a file; move it, or use another --tensorboard")


def discard_runs(log_dir: Path, owner: str) -> int:
    """Remove the runs that `owner` (a study's dir) wrote under `log_dir`, and no other; how many."""
    removed = 0
    for marker in sorted(Path(log_dir).glob(f"*/*/{RUN_MARKER}")):
        try:
            mine = json.loads(marker.read_text()).get("owner") == owner
        except (OSError, ValueError, AttributeError):
            mine = False
        if mine:
            shutil.rmtree(marker.parent)
            removed += 1
    return removed


def _every(key: str, monitored_every: int) -> int:
    return monitored_every if key.startswith("val_") else 1


def run_name(variant: str, round_number: int) -> str:
    """A run's directory under the log dir: "main/round_03" (rounds counted from 1, as the CLIs print)."""
    return f"{variant}/round_{round_number:02d}"
