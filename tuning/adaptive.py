"""Adaptive repetition: which grid points could still be best after the screening rounds.

Round r draws the same pairs at every grid point, so two points' validation errors pair up round by round.
A point stays a contender unless its paired per-round differences from the best point show it worse: a
one-sided paired t-test at ALPHA (scipy.stats). A point with as low a mean as the best, or with too few
rounds to test, always stays; so does the best itself.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

ALPHA = 0.05


def contenders(per_round: dict[tuple, dict[int, float]], alpha: float = ALPHA) -> list[tuple]:
    """The points (keys of `per_round`: {round: validation error}) that could still be best, judged on the
    rounds every point has; in the order given."""
    if not per_round:
        return []
    shared = sorted(set.intersection(*(set(rounds) for rounds in per_round.values())))
    if len(shared) < 2:
        return list(per_round)  # one round: nothing can be shown worse
    errors = {point: np.array([rounds[r] for r in shared]) for point, rounds in per_round.items()}
    best = min(errors, key=lambda point: errors[point].mean())
    return [point for point in per_round if point == best or not _worse(errors[point] - errors[best], alpha)]


def _worse(differences: np.ndarray, alpha: float) -> bool:
    """Whether the paired differences (point - best) show the point worse, one-sided at `alpha`."""
    if differences.mean() <= 0:
        return False
    if np.ptp(differences) == 0:  # worse by the same amount in every round
        return True
    return stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue < alpha
