"""The study's outputs from its rounds: table.csv, table.md, learning_curves.png, comparison.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from kerascmp import claims
from kerascmp.files import atomic_save_figure, atomic_write_text
from kerascmp.outputs import COMPARISON, DIGIT1, PAIR_OUTPUTS, TEST, TRAIN, curve_key, error_key
from kerascmp.training import summarize
from kerascmp.variants import get_variant

METRICS = tuple(error_key(split, output) for split in (TRAIN, TEST) for output in PAIR_OUTPUTS)
TEST_COMPARISON = error_key(TEST, COMPARISON)


def _report_row(train: tuple, test: tuple) -> dict[str, tuple[float, float]]:
    """One row of the report's table: (mean, std) per output in PAIR_OUTPUTS order, None where it has none."""
    return {
        error_key(split, output): value
        for split, values in ((TRAIN, train), (TEST, test))
        for output, value in zip(PAIR_OUTPUTS, values)
        if value is not None
    }


# The report's table (STUDY.md), error % as (mean, std), in its row order.
REPORT_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "main": _report_row(
        train=((3.14, 1.56), (3.80, 1.60), (25.58, 9.41)), test=((7.72, 1.28), (7.60, 1.87), (30.45, 8.51))
    ),
    "fc_baseline": _report_row(train=(None, None, (44.62, 1.94)), test=(None, None, (45.32, 1.45))),
    "no_sharing": _report_row(
        train=((1.91, 0.92), (1.75, 1.08), (24.97, 6.77)), test=((10.12, 1.01), (9.78, 1.14), (29.94, 5.33))
    ),
    "noise_removal": _report_row(
        train=((2.05, 0.91), (2.25, 1.37), (40.04, 6.95)), test=((7.40, 1.24), (6.73, 0.80), (40.29, 6.73))
    ),
    "separate": _report_row(
        train=((2.22, 0.50), None, (24.24, 4.00)), test=((10.06, 1.21), None, (26.25, 5.26))
    ),
    "separate_noise_removal": _report_row(
        train=((1.62, 0.48), None, (7.95, 1.39)), test=((10.33, 1.20), None, (11.66, 2.24))
    ),
}


def label(name: str) -> str:
    """A variant's row label; its name when the variant is not registered in this process."""
    try:
        return get_variant(name).label
    except ValueError:
        return name


def shown_metrics(name: str) -> tuple[str, ...]:
    """The report's layout: no digit columns without digit heads, one digit column for staged variants
    (their one digit net reads both images alike)."""
    try:
        variant = get_variant(name)
    except ValueError:
        return METRICS
    if not variant.has_digit_heads:
        return tuple(error_key(split, COMPARISON) for split in (TRAIN, TEST))
    if variant.staged:
        return tuple(error_key(split, output) for split in (TRAIN, TEST) for output in (DIGIT1, COMPARISON))
    return METRICS


def _staged(name: str) -> bool:
    try:
        return get_variant(name).staged
    except ValueError:
        return False


def row_order(names) -> list[str]:
    """The report's rows in its order, then the others in the order given."""
    names = list(dict.fromkeys(names))
    return [n for n in REPORT_TABLE if n in names] + [n for n in names if n not in REPORT_TABLE]


def summary_table(rounds: list[dict]) -> dict[str, dict]:
    """{variant: {"rounds": n, "diverged": d, metric: (mean, std)}} over the stored rounds, in `row_order`;
    a diverged round has no error rates, so the means are over the other n - d."""
    table = {}
    for name in row_order(r["variant"] for r in rounds):
        mine = [r for r in rounds if r["variant"] == name]
        table[name] = {"rounds": len(mine), "diverged": sum(bool(r.get("diverged")) for r in mine)}
        for metric in shown_metrics(name):
            table[name][metric] = summarize([r["errors"].get(metric) for r in mine])
    return table


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def table_csv(table: dict[str, dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["variant", "rounds", "diverged"] + [f"{m}_{stat}" for m in METRICS for stat in ("mean", "std")]
    )
    for row, stats in table.items():
        cells = []
        for metric in METRICS:
            mean, std = stats.get(metric, (None, None))
            cells += [_fmt(mean), _fmt(std)]
        writer.writerow([row, stats["rounds"], stats["diverged"]] + cells)
    return buffer.getvalue()


def _cell(stats: tuple[float | None, float | None] | None) -> str:
    if stats is None or stats[0] is None:
        return "–"
    mean, std = stats
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def table_markdown(table: dict[str, dict]) -> str:
    header = ["variant", "rounds"] + [m.replace("_", " ") for m in METRICS] + ["report: test comparison"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, stats in table.items():
        report = REPORT_TABLE.get(name, {}).get(TEST_COMPARISON)
        cells = [_cell(stats.get(m)) for m in METRICS]
        rounds = f"{stats['rounds']}" + (f" ({stats['diverged']} diverged)" if stats["diverged"] else "")
        lines.append("| " + " | ".join([label(name), rounds] + cells + [_cell(report)]) + " |")
    return "\n".join(lines) + "\n"


def _band(curves: list[list[float]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and std over rounds of per-epoch curves (cut to the shortest)."""
    curves = [c for c in curves if c]
    if not curves:
        return None
    length = min(len(c) for c in curves)
    stacked = np.array([c[:length] for c in curves])
    return stacked.mean(axis=0), stacked.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(length)


def plot_learning_curves(rounds: list[dict], path: Path, title: str) -> None:
    """Small multiples: one panel per variant on shared axes; mean over rounds with a ±1 std band, training
    pairs solid, monitored test pairs dashed, the final test error as a marker with its std."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary_table(rounds))
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.4 * columns, 2.9 * rows + 0.9), sharex=True, sharey=True, squeeze=False
    )
    for ax, name in zip(axes.flat, names):
        mine = [r for r in rounds if r["variant"] == name and not r.get("diverged")]
        for key, style, what in (
            (curve_key(COMPARISON), "-", "training pairs"),
            (curve_key(COMPARISON, monitored=True), "--", "test pairs (monitoring)"),
        ):
            band = _band([r["history"].get(key, []) for r in mine])
            if band is None:
                continue
            every = mine[0].get("history_val_every", 1) if key.startswith("val_") else 1
            epochs = every * np.arange(1, len(band[0]) + 1)
            ax.plot(epochs, band[0], style, color="C0" if style == "-" else "C1", label=what)
            ax.fill_between(
                epochs,
                band[0] - band[1],
                band[0] + band[1],
                color="C0" if style == "-" else "C1",
                alpha=0.2,
                linewidth=0,
            )
        final = [r["errors"].get(TEST_COMPARISON) for r in mine]
        mean, std = summarize(final)
        if mean is not None:
            last = max(len(r["history"].get(curve_key(COMPARISON), [])) for r in mine)
            ax.errorbar(
                [last],
                [mean],
                yerr=[std or 0],
                fmt="o",
                color="C3",
                capsize=3,
                label="final test error (mean ± std)",
            )
            ax.annotate(
                f"{mean:.1f} %",
                (last, mean),
                xytext=(-4, 6),
                textcoords="offset points",
                ha="right",
                fontsize=9,
                color="C3",
            )
        ax.set_title(label(name) + ("\n(stage 2: the comparator)" if _staged(name) else ""), fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=9)
    for index, ax in enumerate(axes.flat):
        if index >= len(names):
            ax.axis("off")  # an empty slot
        elif index + columns >= len(names):  # nothing below it: it shows the epochs
            ax.set_xlabel("epoch", fontsize=10)
            ax.tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("comparison error (%)", fontsize=10)
    axes.flat[0].set_ylim(bottom=0)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.suptitle(title, fontsize=11)
    if len(names) < axes.size:  # the legend takes the first empty slot
        axes.flat[len(names)].legend(handles, labels, loc="center", fontsize=10, frameon=False)
        fig.tight_layout()
    else:
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    atomic_save_figure(fig, path)


def plot_comparison(table: dict[str, dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(table)
    x = np.arange(len(rows))
    ours = [table[r][TEST_COMPARISON] for r in rows]
    theirs = [REPORT_TABLE.get(r, {}).get(TEST_COMPARISON) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.bar(x - 0.2, [m for m, _ in ours], 0.4, yerr=[s or 0 for _, s in ours], capsize=3, label="kerascmp")
    ax.bar(
        x + 0.2,
        [t[0] if t else 0 for t in theirs],
        0.4,
        yerr=[t[1] if t else 0 for t in theirs],
        capsize=3,
        label="report (2019)",
    )
    for xi, (mean, std) in zip(x, ours):
        ax.annotate(
            f"{mean:.1f}",
            (xi - 0.2, mean + (std or 0)),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(x, [label(r) for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test comparison error (%), mean ± std")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_save_figure(fig, path)


def study_markdown(table: dict[str, dict], results: list) -> str:
    """table.md: the results table, then the claims tested on its rounds."""
    return table_markdown(table) + (f"\n{claims.claims_markdown(results)}" if results else "")


def write_outputs(rounds: list[dict], output_dir: Path, title: str) -> None:
    table = summary_table(rounds)
    results = claims.verdicts(rounds)
    atomic_write_text(output_dir / "table.csv", table_csv(table))
    atomic_write_text(output_dir / "table.md", study_markdown(table, results))
    if results:
        atomic_write_text(output_dir / "claims.csv", claims.claims_csv(results))
        claims.plot_claims(
            results, output_dir / "claims.png", f"The report's claims, paired by round ({title})"
        )
    plot_learning_curves(
        rounds,
        output_dir / "learning_curves.png",
        f"Comparison error per epoch, mean ± std over rounds ({title})",
    )
    plot_comparison(table, output_dir / "comparison.png", f"Test comparison error ({title})")
