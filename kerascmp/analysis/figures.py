"""The study's figures: learning curves as small multiples, the comparison with the report, the claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerascmp.analysis import claims, frontier
from kerascmp.analysis.reference import REPORT_TABLE
from kerascmp.analysis.rounds import RoundRecord
from kerascmp.analysis.summaries import TEST_COMPARISON, label, staged, summarize, summary_table
from kerascmp.files import atomic_save_figure
from kerascmp.names import COMPARISON, curve_key


def _band(curves: list[list[float]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and std over rounds of per-epoch curves (cut to the shortest)."""
    curves = [c for c in curves if c]
    if not curves:
        return None
    length = min(len(c) for c in curves)
    stacked = np.array([c[:length] for c in curves])
    return stacked.mean(axis=0), stacked.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(length)


def plot_learning_curves(rounds: list[RoundRecord], path: Path, title: str) -> None:
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
        mine = [r for r in rounds if r.variant == name and not r.diverged]
        for key, style, what in (
            (curve_key(COMPARISON), "-", "training pairs"),
            (curve_key(COMPARISON, monitored=True), "--", "test pairs (monitoring)"),
        ):
            band = _band([r.history.get(key, []) for r in mine])
            if band is None:
                continue
            every = mine[0].history_val_every if key.startswith("val_") else 1
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
        final = [r.errors.get(TEST_COMPARISON) for r in mine]
        mean, std = summarize(final)
        if mean is not None:
            last = max(len(r.history.get(curve_key(COMPARISON), [])) for r in mine)
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
        ax.set_title(label(name) + ("\n(stage 2: the comparator)" if staged(name) else ""), fontsize=10)
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


def plot_claims(results: list[claims.Verdict], path, title: str) -> None:
    """Each claim's Holm-adjusted p-value on a log scale, coloured by its verdict, with its estimate; the
    hollow marker is the same claim with diverged rounds counted as failures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"supported": "C2", "reversed": "C3", "not supported": "C7"}
    floor = max(1e-12, min(min(v.p_holm, v.p_holm_with_failures) for v in results) / 3)  # drawn at it below
    fig, ax = plt.subplots(figsize=(13, 0.45 * len(results) + 1.8))
    for y, v in enumerate(reversed(results)):
        ax.plot([max(v.p_holm, floor)], [y], "o", color=colours[v.verdict])
        if v.diverged:
            ax.plot(
                [max(v.p_holm_with_failures, floor)],
                [y],
                "o",
                mfc="none",
                color=colours[v.verdict_with_failures],
            )
        estimate = claims.ESTIMATES[type(v.claim)]
        ax.annotate(
            f"{v.verdict}: {estimate} {v.outcome.estimate:+.2f}",
            (1.01, y),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
            color=colours[v.verdict],
            annotation_clip=False,
        )
    ax.axvline(claims.ALPHA, color="black", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlim(1.5, floor / 3)  # stronger evidence to the right
    ax.set_yticks(range(len(results)), [v.claim.name for v in reversed(results)], fontsize=8)
    ax.set_xlabel(
        f"Holm-adjusted p (dashed: {claims.ALPHA}; hollow: diverged rounds as failures)", fontsize=9
    )
    ax.set_title(title, fontsize=10, wrap=True)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    atomic_save_figure(fig, path)


def plot_comparison(table: dict[str, dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(table)
    x = np.arange(len(rows))
    # A variant whose every round diverged has no error rate: an empty bar, labelled so.
    ours = [(m, s) if m is not None else (0.0, None) for m, s in (table[r][TEST_COMPARISON] for r in rows)]
    answered = [table[r][TEST_COMPARISON][0] is not None for r in rows]
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
    for xi, (mean, std), ok in zip(x, ours, answered):
        ax.annotate(
            f"{mean:.1f}" if ok else "all diverged",
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


def plot_frontier(all_points: list[frontier.Point], path: Path, title: str) -> None:
    """Test comparison error (mean ± std over rounds) against training CPU-seconds per round, log x, one
    colour per study; the frontier (no point cheaper and at least as good) joined by a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6))
    for colour, study in enumerate(dict.fromkeys(p.study for p in all_points)):
        mine = [p for p in all_points if p.study == study]
        ax.errorbar(
            [p.cpu_s for p in mine],
            [p.error_mean for p in mine],
            yerr=[p.error_std or 0 for p in mine],
            fmt="o",
            color=f"C{colour}",
            capsize=3,
            label=study,
        )
        for p in mine:
            ax.annotate(
                p.variant, (p.cpu_s, p.error_mean), xytext=(4, 3), textcoords="offset points", fontsize=7
            )
    front = frontier.on_frontier(all_points)
    ax.plot([p.cpu_s for p in front], [p.error_mean for p in front], "-", color="black", linewidth=0.8,
            label="frontier")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training CPU-seconds per round (process CPU time, every thread; log scale)")
    ax.set_ylabel("test comparison error (%), mean ± std over rounds (log scale)")
    ax.set_title(title, fontsize=10, wrap=True)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_save_figure(fig, path)
