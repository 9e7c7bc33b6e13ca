"""Summaries of a study's rounds: a metric's mean and spread, and the table of every stored variant.

Variants are looked up in the registry for their labels and layout; one not registered in this process
(a plugin not loaded) is shown by its name, with every column.
"""

from __future__ import annotations

import numpy as np

from kerascmp.analysis.reference import REPORT_TABLE
from kerascmp.analysis.rounds import RoundRecord
from kerascmp.names import COMPARISON, DIGIT1, PAIR_OUTPUTS, TEST, TRAIN, error_key
from kerascmp.variants.registry import get_variant

METRICS = tuple(error_key(split, output) for split in (TRAIN, TEST) for output in PAIR_OUTPUTS)
TEST_COMPARISON = error_key(TEST, COMPARISON)


def summarize(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof=1) of a metric over rounds; std is None for one round."""
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    mean = float(np.mean(present))
    return mean, float(np.std(present, ddof=1)) if len(present) > 1 else None


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


def summary_table(rounds: list[RoundRecord]) -> dict[str, dict]:
    """{variant: {"rounds": n, "diverged": d, metric: (mean, std)}} over the stored rounds, in `row_order`;
    a diverged round has no error rates, so the means are over the other n - d."""
    table = {}
    for name in row_order(r.variant for r in rounds):
        mine = [r for r in rounds if r.variant == name]
        table[name] = {"rounds": len(mine), "diverged": sum(r.diverged for r in mine)}
        for metric in shown_metrics(name):
            table[name][metric] = summarize([r.errors.get(metric) for r in mine])
    return table
