"""The study's table rendered: table.csv, and table.md (the table, then the claims tested on its rounds)."""

from __future__ import annotations

import csv
import io

from kerascmp.analysis import claims
from kerascmp.analysis.reference import REPORT_TABLE
from kerascmp.analysis.summaries import METRICS, TEST_COMPARISON, label


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
