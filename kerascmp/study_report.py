"""The study's outputs from its rounds: table.csv, table.md, learning_curves.png, comparison.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kerascmp import claims
from kerascmp.files import atomic_write_text
from kerascmp.outputs import COMPARISON, DIGIT1, PAIR_OUTPUTS, TEST, TRAIN, error_key
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


def staged(name: str) -> bool:
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
    from kerascmp.study_figures import plot_comparison, plot_learning_curves

    plot_learning_curves(
        rounds,
        output_dir / "learning_curves.png",
        f"Comparison error per epoch, mean ± std over rounds ({title})",
    )
    plot_comparison(table, output_dir / "comparison.png", f"Test comparison error ({title})")
