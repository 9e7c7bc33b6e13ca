"""The accuracy-cost frontier: each variant of some studies as (training CPU-seconds per round, test error).

A point's error is its study's mean test comparison error over the rounds that did not diverge; its cost is
the median over rounds of `cpu_s` (training's process CPU time, every thread), or, for a study that
predates `cpu_s` (or for every study, to have all costs from one sitting), a cost measured again by
`python -m kerascmp.frontier` and passed in `costs`. The
frontier is the points no other point beats on both: cheaper and at most as wrong.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from kerascmp.analysis.rounds import RoundRecord
from kerascmp.analysis.summaries import TEST_COMPARISON, label, summarize

COLUMNS = (
    "variant",
    "label",
    "study",
    "rounds",
    "test_comparison_mean",
    "test_comparison_std",
    "cpu_s_per_round",
    "cost_from",
    "on_frontier",
)
FROM_ROUNDS = "the study's rounds"
REMEASURED = "round 0 trained again"


@dataclass(frozen=True)
class Point:
    variant: str
    study: str
    rounds: int
    error_mean: float
    error_std: float | None
    cpu_s: float
    cost_from: str  # FROM_ROUNDS or REMEASURED

    @property
    def label(self) -> str:
        return label(self.variant)


def study_cpu_s(rounds: list[RoundRecord]) -> float | None:
    """The median training CPU-seconds of a variant's rounds; None unless every round recorded it."""
    costs = [r.cpu_s for r in rounds]
    return float(np.median(costs)) if costs and None not in costs else None


def measured_again(rounds: list[RoundRecord], all_remeasured: bool) -> bool:
    """Whether a variant's cost comes from a round trained again rather than from its rounds' `cpu_s`."""
    return all_remeasured or study_cpu_s(rounds) is None


def points(
    studies: dict[str, list[RoundRecord]], costs: dict[str, float], *, all_remeasured: bool = False
) -> list[Point]:
    """One point per variant, from the first study (in the order given) that holds it. A variant without
    `cpu_s` in its rounds, or every variant if `all_remeasured`, takes its cost from `costs` (variant:
    CPU-seconds), and is left out without one."""
    found: dict[str, Point] = {}
    for study, stored in studies.items():
        for name in dict.fromkeys(r.variant for r in stored):
            if name in found:
                continue
            mine = [r for r in stored if r.variant == name]
            mean, std = summarize([r.errors.get(TEST_COMPARISON) for r in mine])
            if measured_again(mine, all_remeasured):
                cpu_s, cost_from = costs.get(name), REMEASURED
            else:
                cpu_s, cost_from = study_cpu_s(mine), FROM_ROUNDS
            if mean is not None and cpu_s is not None:
                found[name] = Point(name, study, len(mine), mean, std, cpu_s, cost_from)
    return sorted(found.values(), key=lambda p: p.cpu_s)


def on_frontier(all_points: list[Point]) -> list[Point]:
    """The points no cheaper (or equally cheap) point matches or beats in error, cheapest first."""
    frontier, best = [], float("inf")
    for point in sorted(all_points, key=lambda p: (p.cpu_s, p.error_mean)):
        if point.error_mean < best:
            frontier.append(point)
            best = point.error_mean
    return frontier


def frontier_csv(all_points: list[Point]) -> str:
    front = {p.variant for p in on_frontier(all_points)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in all_points:
        std = "" if p.error_std is None else f"{p.error_std:.4f}"
        row = (p.variant, p.label, p.study, p.rounds, f"{p.error_mean:.4f}", std, f"{p.cpu_s:.1f}")
        writer.writerow((*row, p.cost_from, p.variant in front))
    return out.getvalue()


def frontier_markdown(all_points: list[Point]) -> str:
    """The frontier's points as a table: what each step down in error costs."""
    lines = [
        "| variant | study | test comparison error % | training CPU-s per round | × the cheapest |",
        "|---|---|---|---|---|",
    ]
    front = on_frontier(all_points)
    for p in front:
        std = "" if p.error_std is None else f" ± {p.error_std:.2f}"
        lines.append(
            f"| {p.label} (`{p.variant}`) | {p.study} | {p.error_mean:.2f}{std} | {p.cpu_s:.0f} | "
            f"{p.cpu_s / front[0].cpu_s:.1f} |"
        )
    return "\n".join(lines) + "\n"
