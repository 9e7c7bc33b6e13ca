"""The study's outputs from its rounds: table.csv, table.md, learning_curves.png, comparison.png."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from kerascmp.cli import atomic_save_figure, atomic_write_text
from kerascmp.training import summarize

SETS = ("train", "test")
OUTPUTS = ("digit1", "digit2", "comparison")
METRICS = tuple(f"{s}_{o}" for s in SETS for o in OUTPUTS)

# The report's table (STUDY.md), error % as (mean, std); None where the report has no number.
REPORT_TABLE: dict[str, dict[str, tuple[float, float] | None]] = {
    "main": {"train_digit1": (3.14, 1.56), "train_digit2": (3.80, 1.60), "train_comparison": (25.58, 9.41),
             "test_digit1": (7.72, 1.28), "test_digit2": (7.60, 1.87), "test_comparison": (30.45, 8.51)},
    "fc_baseline": {"train_comparison": (44.62, 1.94), "test_comparison": (45.32, 1.45)},
    "no_sharing": {"train_digit1": (1.91, 0.92), "train_digit2": (1.75, 1.08), "train_comparison": (24.97, 6.77),
                   "test_digit1": (10.12, 1.01), "test_digit2": (9.78, 1.14), "test_comparison": (29.94, 5.33)},
    "noise_removal": {"train_digit1": (2.05, 0.91), "train_digit2": (2.25, 1.37), "train_comparison": (40.04, 6.95),
                      "test_digit1": (7.40, 1.24), "test_digit2": (6.73, 0.80), "test_comparison": (40.29, 6.73)},
    "separate": {"train_digit1": (2.22, 0.50), "train_comparison": (24.24, 4.00),
                 "test_digit1": (10.06, 1.21), "test_comparison": (26.25, 5.26)},
    "separate_noise_removal": {"train_digit1": (1.62, 0.48), "train_comparison": (7.95, 1.39),
                               "test_digit1": (10.33, 1.20), "test_comparison": (11.66, 2.24)},
}
ROW_LABELS = {
    "main": "main architecture", "fc_baseline": "fully connected net", "no_sharing": "no shared weights",
    "noise_removal": "noise removal", "separate": "separate training",
    "separate_noise_removal": "separate + noise removal", "main_paper_relu": "main, report's ReLU on logits",
}
ROW_ORDER = tuple(ROW_LABELS)  # the report's order, then the extra row


def shown_metrics(row: str) -> tuple[str, ...]:
    """The report's layout: no digit columns for the FC net, one digit column for the separate variants."""
    if row == "fc_baseline":
        return ("train_comparison", "test_comparison")
    if row.startswith("separate"):
        return ("train_digit1", "train_comparison", "test_digit1", "test_comparison")
    return METRICS


def summary_table(rounds: list[dict]) -> dict[str, dict]:
    """{row: {"rounds": n, metric: (mean, std)}} over the stored rounds, in the report's row order."""
    table = {}
    for row in sorted({r["row"] for r in rounds}, key=lambda name: ROW_ORDER.index(name)):
        mine = [r for r in rounds if r["row"] == row]
        table[row] = {"rounds": len(mine)}
        for metric in shown_metrics(row):
            table[row][metric] = summarize([r["errors"].get(metric) for r in mine])
    return table


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def table_csv(table: dict[str, dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["variant", "rounds"] + [f"{m}_{stat}" for m in METRICS for stat in ("mean", "std")])
    for row, stats in table.items():
        cells = []
        for metric in METRICS:
            mean, std = stats.get(metric, (None, None))
            cells += [_fmt(mean), _fmt(std)]
        writer.writerow([row, stats["rounds"]] + cells)
    return buffer.getvalue()


def _cell(stats: tuple[float | None, float | None] | None) -> str:
    if stats is None or stats[0] is None:
        return "–"
    mean, std = stats
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def table_markdown(table: dict[str, dict]) -> str:
    header = ["variant", "rounds"] + [m.replace("_", " ") for m in METRICS] + ["report: test comparison"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row, stats in table.items():
        report = REPORT_TABLE.get(row, {}).get("test_comparison")
        cells = [_cell(stats.get(m)) for m in METRICS]
        lines.append("| " + " | ".join([ROW_LABELS[row], str(stats["rounds"])] + cells + [_cell(report)]) + " |")
    return "\n".join(lines) + "\n"


def _mean_curve(curves: list[list[float]]) -> np.ndarray | None:
    curves = [c for c in curves if c]
    if not curves:
        return None
    length = min(len(c) for c in curves)
    return np.mean([c[:length] for c in curves], axis=0)


def plot_learning_curves(rounds: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    for i, row in enumerate(summary_table(rounds)):
        mine = [r for r in rounds if r["row"] == row]
        color = f"C{i}"
        train = _mean_curve([r["history"].get("comparison_error", []) for r in mine])
        held_out = _mean_curve([r["history"].get("val_comparison_error", []) for r in mine])
        if train is not None:
            ax.plot(np.arange(1, len(train) + 1), train, color=color, label=f"{ROW_LABELS[row]}: train")
        if held_out is not None:
            every = mine[0]["history_val_every"]
            ax.plot(every * np.arange(1, len(held_out) + 1), held_out, color=color, linestyle="--", marker="o",
                    markersize=3, label=f"{ROW_LABELS[row]}: test")
    ax.set_xlabel("epoch (separate variants: stage 2, the comparator)")
    ax.set_ylabel("comparison error (%)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    atomic_save_figure(fig, path)


def plot_comparison(table: dict[str, dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(table)
    x = np.arange(len(rows))
    ours = [table[r]["test_comparison"] for r in rows]
    theirs = [REPORT_TABLE.get(r, {}).get("test_comparison") for r in rows]
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.bar(x - 0.2, [m for m, _ in ours], 0.4, yerr=[s or 0 for _, s in ours], capsize=3, label="kerascmp")
    ax.bar(x + 0.2, [t[0] if t else 0 for t in theirs], 0.4, yerr=[t[1] if t else 0 for t in theirs], capsize=3,
           label="report (2019)")
    for xi, (mean, std) in zip(x, ours):
        ax.annotate(f"{mean:.1f}", (xi - 0.2, mean + (std or 0)), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [ROW_LABELS[r] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test comparison error (%), mean ± std")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    atomic_save_figure(fig, path)


def write_outputs(rounds: list[dict], output_dir: Path, title: str) -> None:
    table = summary_table(rounds)
    atomic_write_text(output_dir / "table.csv", table_csv(table))
    atomic_write_text(output_dir / "table.md", table_markdown(table))
    plot_learning_curves(rounds, output_dir / "learning_curves.png",
                         f"Comparison error per epoch, mean over rounds ({title})\n"
                         "solid: training pairs (running, during the epoch); dashed: test pairs every "
                         "few epochs, for monitoring only")
    plot_comparison(table, output_dir / "comparison.png", f"Test comparison error ({title})")
