"""The report's claims, tested with paired statistics on a study's rounds.

Round r of every variant trains on the same pairs (data seed = seed + r), so two variants' test errors pair
up round by round, and the claim "A beats B" is a statement about the per-round differences A - B. Each
claim gets the mean difference, its 95 % confidence interval and a p-value (a paired t-test and its t
interval; where a Shapiro-Wilk test rejects normal differences, the Wilcoxon signed-rank test and a BCa
bootstrap interval), and a verdict.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
from scipy import stats

from kerascmp.analysis.rounds import RoundRecord
from kerascmp.names import COMPARISON, TEST, error_key
from kerascmp.variants.registry import get_variant

ALPHA = 0.05
METRIC = error_key(TEST, COMPARISON)


@dataclass(frozen=True)
class Claim:
    """ "`better` has a lower test comparison error than `baseline`", as the report concludes."""

    name: str
    better: str
    baseline: str


REPORT_CLAIMS = (
    Claim("weight sharing helps", better="main", baseline="no_sharing"),
    Claim("auxiliary losses help", better="main", baseline="main_no_aux"),
    Claim("noise removal helps", better="noise_removal", baseline="main"),
    Claim("separate training + noise removal beats main", better="separate_noise_removal", baseline="main"),
    Claim("leaving out the report's ReLU on the logits helps", better="main", baseline="main_paper_relu"),
)


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    rounds: int
    mean_difference: float  # better - baseline, percentage points: negative supports the claim
    ci_low: float
    ci_high: float
    test: str
    p_value: float
    verdict: str


def claims_for(variants: list[str]) -> list[Claim]:
    """The report's claims whose two variants are stored, then each other variant against the one it is an
    ablation step of (`Variant.ablation_of`) where that is stored, else against main."""
    stored = set(variants)
    claims = [c for c in REPORT_CLAIMS if {c.better, c.baseline} <= stored]
    for v in variants:
        baseline = _ablation_of(v)
        if baseline is None:
            continue
        baseline = baseline if baseline in stored else "main"
        if baseline in stored and baseline != v:
            claims.append(Claim(f"{v} beats {baseline}", better=v, baseline=baseline))
    return claims


def _ablation_of(name: str) -> str | None:
    """What a stored variant is tested against; main for one not registered in this process."""
    try:
        return get_variant(name).ablation_of
    except ValueError:
        return "main"


def paired_differences(rounds: list[RoundRecord], claim: Claim) -> np.ndarray:
    """better - baseline per round, over the rounds both have (by data seed), diverged rounds left out."""

    def errors(variant):
        return {
            r.data_seed: r.errors[METRIC]
            for r in rounds
            if r.variant == variant and not r.diverged and r.errors.get(METRIC) is not None
        }

    better, baseline = errors(claim.better), errors(claim.baseline)
    shared = sorted(set(better) & set(baseline))
    return np.array([better[s] - baseline[s] for s in shared], dtype=float)


def judge(claim: Claim, differences: np.ndarray) -> Verdict:
    """Mean paired difference, its 95 % t interval, a p-value, and the verdict.

    "supported": the interval lies below 0 and p < 0.05; "reversed": it lies above 0 and p < 0.05;
    otherwise "not supported" (no difference shown either way).
    """
    n = len(differences)
    mean = float(np.mean(differences))
    if n < 2:
        low = high = p = float("nan")
        test_name = "none (one round)"
    elif np.ptp(differences) == 0:  # no spread: every round differs by the same amount
        low = high = mean
        p, test_name = (0.0 if mean else 1.0), "exact (no spread)"
    elif n < 3 or stats.shapiro(differences).pvalue >= ALPHA:
        low, high = stats.t.interval(1 - ALPHA, n - 1, loc=mean, scale=stats.sem(differences))
        test_name, p = "paired t", float(stats.ttest_1samp(differences, 0.0).pvalue)
    else:  # skewed: a rank test, and a bootstrap interval that follows the skew (fixed seed: reproducible)
        interval = stats.bootstrap(
            (differences,),
            np.mean,
            confidence_level=1 - ALPHA,
            method="BCa",
            random_state=np.random.default_rng(0),
        ).confidence_interval
        low, high = interval.low, interval.high
        test_name, p = "Wilcoxon signed-rank, bootstrap CI", float(stats.wilcoxon(differences).pvalue)
    if p < ALPHA and high < 0:
        verdict = "supported"
    elif p < ALPHA and low > 0:
        verdict = "reversed"
    else:
        verdict = "not supported"
    return Verdict(claim, n, mean, float(low), float(high), test_name, p, verdict)


def verdicts(rounds: list[RoundRecord]) -> list[Verdict]:
    variants = list(dict.fromkeys(r.variant for r in rounds))
    results = []
    for claim in claims_for(variants):
        differences = paired_differences(rounds, claim)
        if len(differences) >= 2:  # one round has no spread to test against
            results.append(judge(claim, differences))
    return results


COLUMNS = [
    "claim",
    "better",
    "baseline",
    "rounds",
    "mean_difference",
    "ci95_low",
    "ci95_high",
    "test",
    "p_value",
    "verdict",
]


def claims_csv(results: list[Verdict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for v in results:
        writer.writerow(
            [
                v.claim.name,
                v.claim.better,
                v.claim.baseline,
                v.rounds,
                f"{v.mean_difference:.4f}",
                f"{v.ci_low:.4f}",
                f"{v.ci_high:.4f}",
                v.test,
                f"{v.p_value:.4g}",
                v.verdict,
            ]
        )
    return buffer.getvalue()


def claims_markdown(results: list[Verdict]) -> str:
    lines = [
        "## Claims",
        "",
        "Paired by round (the same pairs): mean difference in test comparison error, better − baseline, in "
        "percentage points (negative supports the claim), its 95 % confidence interval, and a p-value.",
        "",
        "| claim | better − baseline | rounds | difference | 95 % CI | test | p | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in results:
        lines.append(
            f"| {v.claim.name} | {v.claim.better} − {v.claim.baseline} | {v.rounds} | "
            f"{v.mean_difference:+.2f} | [{v.ci_low:+.2f}, {v.ci_high:+.2f}] | {v.test} | "
            f"{v.p_value:.3g} | **{v.verdict}** |"
        )
    return "\n".join(lines) + "\n"
