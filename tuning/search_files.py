"""The search's outputs, rebuilt from the saved trials after every finished trial:
trials.csv, best.json, figure2.png, figure3.png, and TensorBoard HParams logs."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np

from kerascmp.files import atomic_save_figure, atomic_write_json, atomic_write_text
from kerascmp.names import COMPARISON, DIGIT1, PAIR_OUTPUTS, curve_key

ERRORS = (COMPARISON, *PAIR_OUTPUTS[:2])  # the objective first
TRIALS_CSV, BEST_JSON, FIGURE2, FIGURE3 = "trials.csv", "best.json", "figure2.png", "figure3.png"
REPORT_FILES = (TRIALS_CSV, BEST_JSON, FIGURE2, FIGURE3)  # what write_outputs writes in the project dir
ROUND_METRIC = re.compile(r"(.+)_round_(\d+)")


def round_metric(metric: str, round_index: int) -> str:
    """Where a trial keeps one round's value of a metric, beside the mean and std over rounds."""
    return f"{metric}_round_{round_index}"


BEST_ERROR = f"{curve_key(COMPARISON, monitored=True)}_mean"
COLUMNS = ["trial_id", "learning_rate", "c_aux", "rounds", "diverged_rounds"] + [
    f"{curve_key(o, monitored=True)}_{stat}" for o in ERRORS for stat in ("mean", "std")
]


def completed_points(project_dir: Path) -> list[dict]:
    """One dict per grid point with a COMPLETED trial: hyperparameters, rounds, diverged rounds, and mean and
    std of each validation error over every round its trials ran (a contender's screening trial and its
    trial for the remaining rounds are one point)."""
    trials_by_point: dict[tuple, list[tuple[str, dict]]] = {}
    for path in sorted(project_dir.glob("trial_*/trial.json")):
        try:
            trial = json.loads(path.read_text())
        except (json.JSONDecodeError, OSError):
            continue  # being written right now; the next rebuild picks it up
        if trial.get("status") != "COMPLETED":
            continue
        metrics = {
            name: entry["observations"][-1]["value"][0]
            for name, entry in trial["metrics"]["metrics"].items()
            if entry["observations"]
        }
        values = trial["hyperparameters"]["values"]
        key = (values["learning_rate"], values.get("c_aux"))
        trials_by_point.setdefault(key, []).append((trial["trial_id"], metrics))
    points = [_point(key, trials) for key, trials in trials_by_point.items()]
    return sorted(points, key=lambda p: (p["learning_rate"], p["c_aux"] or 0.0))


def _point(key: tuple, trials: list[tuple[str, dict]]) -> dict:
    point = {
        "trial_id": "+".join(trial_id for trial_id, _ in trials),
        "learning_rate": key[0],
        "c_aux": key[1],
        "rounds": sum(int(metrics.get("rounds", 0)) for _, metrics in trials),
        "diverged_rounds": sum(int(metrics.get("diverged_rounds", 0)) for _, metrics in trials),
    }
    for output in ERRORS:
        metric = curve_key(output, monitored=True)
        if len(trials) == 1:  # its own mean and std (searches before per-round metrics have only these)
            point[f"{metric}_mean"] = trials[0][1].get(metric)
            point[f"{metric}_std"] = trials[0][1].get(f"{metric}_std")
            continue
        per_round = [
            value
            for _, metrics in trials
            for name, value in metrics.items()
            if (match := ROUND_METRIC.fullmatch(name)) and match.group(1) == metric
        ]
        point[f"{metric}_mean"] = float(np.mean(per_round)) if per_round else None
        point[f"{metric}_std"] = float(np.std(per_round, ddof=1)) if len(per_round) > 1 else None
    return point


def trials_csv(points: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for point in points:
        writer.writerow({k: ("" if point[k] is None else point[k]) for k in COLUMNS})
    return buffer.getvalue()


def best_point(points: list[dict]) -> dict | None:
    """The lowest mean validation comparison error among the points with the most rounds: every point,
    or with adaptive repetition the contenders (a screened-out point's few rounds are not comparable)."""
    most = max((p["rounds"] for p in points), default=0)
    return min((p for p in points if p["rounds"] == most), key=lambda p: p[BEST_ERROR], default=None)


def best_per_c_aux(points: list[dict]) -> list[dict]:
    """Figure 2's points: for each c_aux, the learning rate of lowest mean validation comparison error."""
    by_c = {}
    for point in points:
        key = point["c_aux"]
        if key not in by_c or point[BEST_ERROR] < by_c[key][BEST_ERROR]:
            by_c[key] = point
    return [by_c[c] for c in sorted(by_c, key=lambda c: c or 0.0)]


def searches_c_aux(points: list[dict]) -> bool:
    """Whether the search varied c_aux; with one (fixed) c_aux or none, the figures plot learning rates."""
    return len({p["c_aux"] for p in points}) > 1


def figure_bars(points: list[dict]) -> tuple[list[dict], list[str], str]:
    """The figures' bars: the points shown, their tick labels, and the x-axis label."""
    if searches_c_aux(points):
        shown = best_per_c_aux(points)
        return shown, [f"{p['c_aux']:g}" for p in shown], "c_aux (each bar: its best learning rate)"
    fixed = points[0]["c_aux"]
    return (
        points,
        [f"{p['learning_rate']:g}" for p in points],
        ("learning rate" + (f" (c_aux {fixed:g})" if fixed is not None else "")),
    )


def _figure(points: list[dict], error: str, path: Path, title: str, ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tunes_c_aux = searches_c_aux(points)
    shown, labels, xlabel = figure_bars(points)
    metric = curve_key(error, monitored=True)
    means = [p[f"{metric}_mean"] for p in shown]
    stds = [p[f"{metric}_std"] or 0.0 for p in shown]
    best = best_point(points)
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(shown) + 2), 4.8))
    colors = ["C1" if p is best else "C0" for p in shown]
    bars = ax.bar(range(len(shown)), means, yerr=stds, capsize=4, color=colors)
    for bar, p, mean, std in zip(bars, shown, means, stds):  # value (and winning lr) above each error bar
        label = f"{mean:.1f}" + (f"\nlr {p['learning_rate']:g}" if tunes_c_aux else "")
        if len({q["rounds"] for q in points}) > 1:  # adaptive repetition: say which bars have all the rounds
            label += f"\nn={p['rounds']}"
        ax.annotate(
            label,
            (bar.get_x() + bar.get_width() / 2, mean + std),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(range(len(shown)), labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max(m + s for m, s in zip(means, stds)) * 1.25 + 1)
    ax.set_title(title + "\norange: best point overall; error bars: std over rounds", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    atomic_save_figure(fig, path)


def write_outputs(project_dir: Path, settings: dict) -> dict | None:
    """Rewrite every output from the trials saved so far; returns the best point."""
    points = completed_points(project_dir)
    atomic_write_text(project_dir / TRIALS_CSV, trials_csv(points))
    best = best_point(points)
    if best is None:
        return None
    atomic_write_json(project_dir / BEST_JSON, {"best": best, "points_done": len(points), "search": settings})
    rounds = sorted({p["rounds"] for p in points})
    contenders = sum(p["rounds"] == rounds[-1] for p in points)
    what = (
        f"{settings['variant']}, {rounds[0]} rounds per point"
        + (f", {rounds[-1]} for the {contenders} contenders" if len(rounds) > 1 else "")
        + f", {settings['epochs']} epochs"
    )
    per_c_aux = ", best learning rate per c_aux" if searches_c_aux(points) else ""
    _figure(
        points,
        COMPARISON,
        project_dir / FIGURE2,
        f"Validation comparison error{per_c_aux}\n({what})",
        "validation comparison error (%)",
    )
    if best[f"{curve_key(DIGIT1, monitored=True)}_mean"] is not None:  # the FC baseline has no digit heads
        _figure(
            points,
            DIGIT1,
            project_dir / FIGURE3,
            f"Validation digit-1 error at figure 2's points\n({what})",
            "validation digit-1 error (%)",
        )
    return best


def write_tensorboard(log_dir: Path, trial_id: str, hparams: dict, metrics: dict, grid: dict) -> None:
    """One HParams session per trial, so TensorBoard's HParams dashboard shows the grid."""
    from kerascmp.engine import tensorboard_logs

    summary = {name: value for name, value in metrics.items() if not ROUND_METRIC.fullmatch(name)}
    tensorboard_logs.write_hparams_config(log_dir, grid, list(summary))
    tensorboard_logs.write_run(
        log_dir / f"trial_{trial_id}", hparams=hparams, metrics=summary, session_id=trial_id
    )
