"""The report's claims, each tested as the report states it, on a study's rounds.

Round r of every variant trains on the same pairs (data seed = seed + r), so two variants' errors pair up
round by round. Each claim gets the test its wording asks for:

- "A is better than B" (superiority): the paired differences A - B, a paired t-test and its t interval,
  or, where a Shapiro-Wilk test rejects normal differences, the Wilcoxon signed-rank test and a BCa
  bootstrap interval. "A beats every B" is an intersection-union test: every part must hold, and its
  p-value is the largest part's. A fixed bound ("digit error below 10 %") is tested the same way.
- "A does not differ from B" (equivalence): two one-sided tests (TOST) against a stated margin.
- "A is more variable than B": the Pitman-Morgan test (paired variances: the correlation of A - B with
  A + B).
- "A is about a third of B": TOST on the per-round ratios A / B against a stated band.
- "the ranking stays the same": Kendall's tau between the variants' mean errors, one-sided.

The p-values of a table's claims are one family, adjusted with Holm-Bonferroni; the verdict reads the
adjusted one. Diverged rounds are never dropped silently: every claim is judged twice, without them and
with each counted as a failure (chance error). Each claim also states the smallest effect its rounds could
detect (80 % power, paired SD, at Holm's strictest level), so "not supported" says what was ruled out.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from kerascmp.analysis.rounds import RoundRecord
from kerascmp.names import COMPARISON, DIGIT, DIGIT_OUTPUTS, REPORT_VARIANTS, TEST, error_key
from kerascmp.variants.registry import get_variant

ALPHA = 0.05
POWER = 0.80
EQUIVALENCE_MARGIN = 1.0  # percentage points: "does not significantly alter performance"
HIGH_DIGIT_ACCURACY = 10.0  # test digit error, %: "high" (the report's own digit errors: 6.7-10.3 %)
ABOUT_A_THIRD = (1 / 3, 0.1)  # target ratio and half-width of the band that counts as "about"
CHANCE_ERROR = {COMPARISON: 50.0, DIGIT: 90.0}  # what a diverged round counts as, as a failure

# The report's rows (its table's order) and the two ends of main's c_aux range (kerascmp/variants/report.py).
REPORT_ROWS = REPORT_VARIANTS
MAIN, NO_SHARING, NOISE_REMOVAL, SEPARATE, SEPARATE_NOISE_REMOVAL, FC_BASELINE = REPORT_VARIANTS
NO_AUX, AUX_ONLY, PAPER_RELU = "main_no_aux", "main_aux_only", "main_paper_relu"
JOINT_ROWS = (MAIN, NO_SHARING, NOISE_REMOVAL)  # digit heads trained with the comparison
SEPARATE_ROWS = (SEPARATE, SEPARATE_NOISE_REMOVAL)


@dataclass(frozen=True)
class Sample:
    """One variant's per-round test errors of one kind (comparison, or its digits' mean), from the study
    itself or from its longer companion."""

    variant: str
    metric: str = COMPARISON  # COMPARISON, or DIGIT: the mean of the test digit errors it has
    longer: bool = False

    def __str__(self) -> str:
        what = "" if self.metric == COMPARISON else " digit"
        return f"{self.variant}{what}{' (longer)' if self.longer else ''}"


@dataclass(frozen=True)
class Outcome:
    """One test of one claim."""

    rounds: int
    estimate: float
    ci_low: float
    ci_high: float
    test: str
    p_value: float
    direction: int  # +1: as the claim says; -1: the opposite; 0: mixed parts
    detectable: float = math.nan  # the smallest effect these rounds detect (the estimate's unit)
    detail: str = ""


class Data:
    """The rounds a family of claims is tested on: a study's, and those of its longer companion."""

    def __init__(self, rounds: list[RoundRecord], longer: list[RoundRecord] = ()):
        self.rounds = {False: list(rounds), True: list(longer)}

    def stored(self, longer: bool = False) -> list[str]:
        return list(dict.fromkeys(r.variant for r in self.rounds[longer]))

    def records(self, sample: Sample) -> list[RoundRecord]:
        return [r for r in self.rounds[sample.longer] if r.variant == sample.variant]

    def values(self, sample: Sample, failures: bool) -> dict[int, float]:
        """{data seed: error} of the sample's rounds; a diverged round is left out, or, with `failures`,
        counted at chance error."""
        values = {}
        for record in self.records(sample):
            if record.diverged:
                if failures:
                    values[record.data_seed] = CHANCE_ERROR[sample.metric]
                continue
            value = _error(record, sample.metric)
            if value is not None:
                values[record.data_seed] = value
        return values

    def diverged(self, sample: Sample) -> int:
        return sum(r.diverged for r in self.records(sample))

    def point(self, sample: Sample) -> str:
        """The sample's training point: "lr 0.1, c_aux 0.25, 50 epochs"."""
        points = {
            (h.get("learning_rate"), h.get("c_aux"), h.get("epochs"))
            for h in (r.hyperparameters for r in self.records(sample))
        }
        return "; ".join(f"lr {lr:g}, c_aux {c:g}, {e} epochs" for lr, c, e in sorted(points, key=str))


def _error(record: RoundRecord, metric: str) -> float | None:
    if metric == COMPARISON:
        return record.errors.get(error_key(TEST, COMPARISON))
    digits = [record.errors.get(error_key(TEST, d)) for d in DIGIT_OUTPUTS]
    digits = [d for d in digits if d is not None]
    return float(np.mean(digits)) if digits else None


def paired(data: Data, x: Sample, y: Sample | float, failures: bool) -> np.ndarray:
    """x - y per round, over the rounds both have (by data seed); y may be a fixed bound."""
    xs = data.values(x, failures)
    if not isinstance(y, Sample):
        return np.array([xs[s] - y for s in sorted(xs)], dtype=float)
    ys = data.values(y, failures)
    return np.array([xs[s] - ys[s] for s in sorted(set(xs) & set(ys))], dtype=float)


def _normal(values: np.ndarray) -> bool:
    return len(values) < 3 or stats.shapiro(values).pvalue >= ALPHA


def location_test(
    differences: np.ndarray, alternative: str = "two-sided"
) -> tuple[float, float, float, str, float]:
    """Mean, its 95 % interval, the test's name and its p-value (`alternative` as in scipy: "less" tests a
    mean below 0), for paired differences."""
    n, mean = len(differences), float(np.mean(differences))
    if np.ptp(differences) == 0:  # no spread: every round differs by the same amount
        shown = {"two-sided": mean != 0, "less": mean < 0, "greater": mean > 0}[alternative]
        return mean, mean, mean, "exact (no spread)", (0.0 if shown else 1.0)
    if _normal(differences):
        low, high = stats.t.interval(1 - ALPHA, n - 1, loc=mean, scale=stats.sem(differences))
        p = stats.ttest_1samp(differences, 0.0, alternative=alternative).pvalue
        return mean, float(low), float(high), "paired t", float(p)
    # skewed: a rank test, and a bootstrap interval that follows the skew (fixed seed: reproducible)
    low, high = _bootstrap(differences, 1 - ALPHA)
    p = stats.wilcoxon(differences, alternative=alternative).pvalue
    return mean, low, high, "Wilcoxon signed-rank, bootstrap CI", float(p)


def equivalence_test(values: np.ndarray, low: float, high: float) -> tuple[float, float, float, str, float]:
    """TOST: is the mean of `values` inside (low, high)? Mean, its 90 % interval (the one TOST reads),
    the test's name and p = the larger one-sided p-value."""
    n, mean = len(values), float(np.mean(values))
    if np.ptp(values) == 0:
        inside = low < mean < high
        return mean, mean, mean, "TOST, exact (no spread)", (0.0 if inside else 1.0)
    if _normal(values):
        ci = stats.t.interval(1 - 2 * ALPHA, n - 1, loc=mean, scale=stats.sem(values))
        p = max(
            stats.ttest_1samp(values, low, alternative="greater").pvalue,
            stats.ttest_1samp(values, high, alternative="less").pvalue,
        )
        return mean, float(ci[0]), float(ci[1]), "TOST, paired t", float(p)
    ci = _bootstrap(values, 1 - 2 * ALPHA)
    p = max(
        stats.wilcoxon(values - low, alternative="greater").pvalue,
        stats.wilcoxon(values - high, alternative="less").pvalue,
    )
    return mean, ci[0], ci[1], "TOST, Wilcoxon signed-rank, bootstrap CI", float(p)


def _bootstrap(values: np.ndarray, confidence: float) -> tuple[float, float]:
    interval = stats.bootstrap(
        (values,), np.mean, confidence_level=confidence, method="BCa", random_state=np.random.default_rng(0)
    ).confidence_interval
    return float(interval.low), float(interval.high)


def detectable_effect(values: np.ndarray, alpha: float) -> float:
    """The smallest mean shift a two-sided paired t-test on this many rounds, with this spread, detects
    with 80 % power at level `alpha` (in the values' unit)."""
    n, sd = len(values), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if n < 2 or sd == 0:
        return math.nan
    return float(TTestPower().solve_power(nobs=n, alpha=alpha, power=POWER, alternative="two-sided")) * sd


@dataclass(frozen=True)
class Lower:
    """Superiority: in every part (x, y), x's error is lower than y's (or than a fixed bound y), paired by
    round. One part: a two-sided test, read in the claim's direction. More: an intersection-union test,
    p = twice the largest one-sided p-value of the parts in the direction they all share (1 where they
    point different ways: no direction holds for all)."""

    name: str
    parts: tuple[tuple[Sample, Sample | float], ...]

    def samples(self) -> list[Sample]:
        return [s for part in self.parts for s in part if isinstance(s, Sample)]

    def test(self, data: Data, failures: bool, alpha: float) -> Outcome | None:
        differences = [paired(data, x, y, failures) for x, y in self.parts]
        if any(len(d) < 2 for d in differences):
            return None
        if len(differences) == 1:
            (d,) = differences
            mean, low, high, test, p = location_test(d)
            return Outcome(len(d), mean, low, high, test, p, -int(np.sign(mean)), detectable_effect(d, alpha))
        signs = {float(np.sign(np.mean(d))) for d in differences}
        direction = 1 if signs == {-1.0} else -1 if signs == {1.0} else 0
        alternative = "greater" if direction == -1 else "less"
        one_sided = [location_test(d, alternative)[4] for d in differences]
        binding = int(np.argmax(one_sided))  # the part that decides the intersection-union test
        mean, low, high, test, _ = location_test(differences[binding])
        detail = "; ".join(
            f"{x} − {_name(y)}: {np.mean(d):+.2f}" for (x, y), d in zip(self.parts, differences)
        )
        return Outcome(
            min(len(d) for d in differences),
            mean,
            low,
            high,
            f"{test}, intersection-union of {len(differences)}",
            min(1.0, 2 * max(one_sided)) if direction else 1.0,
            direction,
            detectable_effect(differences[binding], alpha),
            f"binding: {self.parts[binding][0]}; {detail}",
        )


@dataclass(frozen=True)
class Equivalent:
    """Equivalence: x's and y's errors differ by less than `margin` points (TOST, paired differences)."""

    name: str
    x: Sample
    y: Sample
    margin: float = EQUIVALENCE_MARGIN

    def samples(self) -> list[Sample]:
        return [self.x, self.y]

    def test(self, data: Data, failures: bool, alpha: float) -> Outcome | None:
        differences = paired(data, self.x, self.y, failures)
        if len(differences) < 2:
            return None
        mean, low, high, test, p = equivalence_test(differences, -self.margin, self.margin)
        difference_p = location_test(differences)[4]
        return Outcome(
            len(differences),
            mean,
            low,
            high,
            f"{test}, margin ±{self.margin:g}",
            p,
            1,
            detectable_effect(differences, alpha),
            f"difference test p {difference_p:.2g}",
        )


@dataclass(frozen=True)
class MoreVariable:
    """x's errors vary more over rounds than y's (Pitman-Morgan: corr(x - y, x + y) > 0)."""

    name: str
    x: Sample
    y: Sample

    def samples(self) -> list[Sample]:
        return [self.x, self.y]

    def test(self, data: Data, failures: bool, alpha: float) -> Outcome | None:
        xs, ys = data.values(self.x, failures), data.values(self.y, failures)
        shared = sorted(set(xs) & set(ys))
        x, y = np.array([xs[s] for s in shared]), np.array([ys[s] for s in shared])
        if len(shared) < 3 or np.ptp(x - y) == 0 or np.ptp(x + y) == 0:
            return None
        r, p = stats.pearsonr(x - y, x + y)
        ratio = float(np.std(x, ddof=1) / np.std(y, ddof=1)) if np.ptp(y) else math.inf
        return Outcome(
            len(shared),
            ratio,
            math.nan,
            math.nan,
            "Pitman-Morgan (paired variances)",
            float(p),
            int(np.sign(r)),
            detail=f"SD {np.std(x, ddof=1):.2f} against {np.std(y, ddof=1):.2f}; r {r:+.2f}",
        )


@dataclass(frozen=True)
class RatioNear:
    """x's error is about `target` times y's: TOST on the per-round ratios x / y, band target ± margin."""

    name: str
    x: Sample
    y: Sample
    target: float = ABOUT_A_THIRD[0]
    margin: float = ABOUT_A_THIRD[1]

    def samples(self) -> list[Sample]:
        return [self.x, self.y]

    def test(self, data: Data, failures: bool, alpha: float) -> Outcome | None:
        xs, ys = data.values(self.x, failures), data.values(self.y, failures)
        ratios = np.array([xs[s] / ys[s] for s in sorted(set(xs) & set(ys)) if ys[s] > 0])
        if len(ratios) < 2:
            return None
        mean, low, high, test, p = equivalence_test(
            ratios, self.target - self.margin, self.target + self.margin
        )
        band = f"{self.target - self.margin:.3g}-{self.target + self.margin:.3g}"
        return Outcome(len(ratios), mean, low, high, f"{test} on ratios, band {band}", p, 1)


@dataclass(frozen=True)
class SameRanking:
    """The variants rank alike in every part's two samples (Kendall's tau of their mean errors > 0)."""

    name: str
    parts: tuple[tuple[Sample, Sample], ...]

    def samples(self) -> list[Sample]:
        return [s for part in self.parts for s in part]

    def test(self, data: Data, failures: bool, alpha: float) -> Outcome | None:
        ranked = {}  # first sample's variant: (mean error in the first sample, in the second)
        for first, second in self.parts:
            values = [list(data.values(s, failures).values()) for s in (first, second)]
            if all(values):
                ranked[first.variant] = tuple(float(np.mean(v)) for v in values)
        if len(ranked) < 3:
            return None
        means = np.array(list(ranked.values()))
        tau, p = stats.kendalltau(means[:, 0], means[:, 1], alternative="greater")
        ranks = "; ".join(f"{v} {a:.2f} → {b:.2f}" for v, (a, b) in ranked.items())
        return Outcome(
            len(ranked),
            float(tau),
            math.nan,
            math.nan,
            "Kendall's tau, one-sided",
            float(p),
            int(np.sign(tau)),
            detail=ranks,
        )


Claim = Lower | Equivalent | MoreVariable | RatioNear | SameRanking


def _name(y) -> str:
    return str(y) if isinstance(y, Sample) else f"{y:g} %"


def report_claims(data: Data) -> list[Claim]:
    """The report's claims, in its own words, that the stored rounds can test: each variant at its own
    tuned point (its defaults, or its `report_point`), c_aux 0 and 0.5 included."""
    stored, longer = set(data.stored()), set(data.stored(longer=True))
    has = stored.issuperset
    claims: list[Claim] = []
    if has({MAIN, NO_AUX}):
        claims.append(
            Lower("no auxiliary loss is bad (c_aux 0 worse than main)", ((Sample(MAIN), Sample(NO_AUX)),))
        )
        claims.append(
            MoreVariable(
                "no auxiliary loss is variable (c_aux 0 varies more than main)", Sample(NO_AUX), Sample(MAIN)
            )
        )
    others = [v for v in (MAIN, NO_AUX) if v in stored]
    if AUX_ONLY in stored and others:
        claims.append(
            Lower("the extreme c_aux (0.5) is worst", tuple((Sample(v), Sample(AUX_ONLY)) for v in others))
        )
    with_aux = [v for v in (*JOINT_ROWS, PAPER_RELU, AUX_ONLY) if v in stored and _c_aux(data, v) > 0]
    if with_aux:
        claims.append(
            Lower(
                f"digit accuracy is high for any c_aux > 0 (test digit error < {HIGH_DIGIT_ACCURACY:g} %)",
                tuple((Sample(v, DIGIT), HIGH_DIGIT_ACCURACY) for v in with_aux),
            )
        )
    if has({MAIN, NO_SHARING}):
        claims.append(
            Equivalent(
                "removing weight sharing does not significantly alter performance",
                Sample(NO_SHARING),
                Sample(MAIN),
            )
        )
    if has({MAIN, NOISE_REMOVAL}):
        claims.append(Lower("noise removal in the main net hurts", ((Sample(MAIN), Sample(NOISE_REMOVAL)),)))
    if has({MAIN, SEPARATE}):
        claims.append(Lower("separate training beats joint training", ((Sample(SEPARATE), Sample(MAIN)),)))
    if has({MAIN, SEPARATE_NOISE_REMOVAL}):
        claims.append(
            Lower(
                "separate training + noise removal beats main",
                ((Sample(SEPARATE_NOISE_REMOVAL), Sample(MAIN)),),
            )
        )
        claims.append(
            RatioNear(
                "separate training + noise removal: about a third of main's error",
                Sample(SEPARATE_NOISE_REMOVAL),
                Sample(MAIN),
            )
        )
    joint = [v for v in JOINT_ROWS if v in stored]
    if joint:
        claims.append(
            Lower(
                "comparison error exceeds digit error (joint training)",
                tuple((Sample(v, DIGIT), Sample(v)) for v in joint),
            )
        )
    separate = [v for v in SEPARATE_ROWS if v in stored]
    if separate:
        claims.append(
            Lower(
                "in separate training, comparison error is below digit error (the exception)",
                tuple((Sample(v), Sample(v, DIGIT)) for v in separate),
            )
        )
    rivals = [v for v in REPORT_ROWS if v in stored and v != FC_BASELINE]
    if FC_BASELINE in stored and rivals:
        claims.append(
            Lower("the fully connected net is worst", tuple((Sample(v), Sample(FC_BASELINE)) for v in rivals))
        )
    both = [v for v in REPORT_ROWS if v in stored and v in longer]
    if both:
        claims.append(
            Lower(
                f"{_epochs(data, both, True)} epochs improve every variant",
                tuple((Sample(v, longer=True), Sample(v)) for v in both),
            )
        )
        claims.append(
            SameRanking(
                f"{_epochs(data, both, True)} epochs keep the ranking",
                tuple((Sample(v), Sample(v, longer=True)) for v in both),
            )
        )
    if has({MAIN, PAPER_RELU}):  # kerascmp's own claim: the report's ReLU on the comparison logits
        claims.append(
            Lower(
                "(kerascmp) leaving out the report's ReLU on the logits helps",
                ((Sample(MAIN), Sample(PAPER_RELU)),),
            )
        )
    return claims


def _c_aux(data: Data, variant: str) -> float:
    return max(float(r.hyperparameters.get("c_aux", 0.0)) for r in data.records(Sample(variant)))


def _epochs(data: Data, variants: list[str], longer: bool) -> str:
    epochs = {
        r.hyperparameters.get("epochs") for v in variants for r in data.records(Sample(v, longer=longer))
    }
    return "/".join(str(e) for e in sorted(epochs, key=str))


def ablation_claims(data: Data) -> list[Claim]:
    """Each stored variant that declares an ablation step (`Variant.ablation_of`) against that step where it
    is stored, else against main."""
    stored = data.stored()
    claims = []
    for v in stored:
        baseline = _ablation_of(v)
        if baseline is None:
            continue
        baseline = baseline if baseline in stored else MAIN
        if baseline in stored and baseline != v:
            claims.append(Lower(f"{v} beats {baseline}", ((Sample(v), Sample(baseline)),)))
    return claims


def _ablation_of(name: str) -> str | None:
    """What a stored variant is tested against; main for one not registered in this process."""
    try:
        return get_variant(name).ablation_of
    except ValueError:
        return MAIN


def claims_for(data: Data) -> list[Claim]:
    return report_claims(data) + ablation_claims(data)


@dataclass(frozen=True)
class Verdict:
    """A claim judged without diverged rounds (`outcome`) and with them as failures."""

    claim: Claim
    points: str
    diverged: int
    outcome: Outcome
    p_holm: float
    verdict: str
    with_failures: Outcome
    p_holm_with_failures: float
    verdict_with_failures: str


def verdict_of(outcome: Outcome, p_holm: float) -> str:
    """ "supported": the adjusted p under 0.05 in the claim's direction; "reversed": in the opposite one;
    otherwise "not supported"."""
    if p_holm < ALPHA and outcome.direction == 1:
        return "supported"
    if p_holm < ALPHA and outcome.direction == -1:
        return "reversed"
    return "not supported"


def holm(p_values: list[float]) -> list[float]:
    return [float(p) for p in multipletests(p_values, alpha=ALPHA, method="holm")[1]] if p_values else []


def verdicts(rounds: list[RoundRecord], longer: list[RoundRecord] = ()) -> list[Verdict]:
    """Every testable claim on a study's rounds (and its longer companion's), one Holm family per analysis."""
    data = Data(rounds, longer)
    claims = claims_for(data)
    alpha = ALPHA / max(len(claims), 1)  # Holm's strictest step: the detectable effects are conservative
    tested = []
    for claim in claims:
        outcome = claim.test(data, failures=False, alpha=alpha)
        if outcome is None:  # too few rounds to test
            continue
        with_failures = claim.test(data, failures=True, alpha=alpha) or outcome
        tested.append((claim, outcome, with_failures))
    p_holm = holm([o.p_value for _, o, _ in tested])
    p_holm_failures = holm([f.p_value for _, _, f in tested])
    results = []
    for (claim, outcome, with_failures), p, pf in zip(tested, p_holm, p_holm_failures):
        samples = list(dict.fromkeys(claim.samples()))
        arms = list(dict.fromkeys((s.variant, s.longer) for s in samples))
        points = "; ".join(
            f"{v}{' (longer)' if longer else ''}: {data.point(Sample(v, longer=longer))}"
            for v, longer in arms
        )
        diverged = sum(data.diverged(Sample(v, longer=longer)) for v, longer in arms)
        results.append(
            Verdict(
                claim,
                points,
                diverged,
                outcome,
                p,
                verdict_of(outcome, p),
                with_failures,
                pf,
                verdict_of(with_failures, pf),
            )
        )
    return results


def _compared(claim: Claim) -> str:
    if isinstance(claim, Lower):
        return "; ".join(f"{x} < {_name(y)}" for x, y in claim.parts)
    if isinstance(claim, Equivalent):
        return f"{claim.x} ≈ {claim.y}"
    if isinstance(claim, MoreVariable):
        return f"SD {claim.x} > SD {claim.y}"
    if isinstance(claim, RatioNear):
        return f"{claim.x} / {claim.y} ≈ {claim.target:.3g}"
    return "ranking: " + ", ".join(str(x.variant) for x, _ in claim.parts)


ESTIMATES = {
    Lower: "mean difference (pp)",
    Equivalent: "mean difference (pp)",
    MoreVariable: "SD ratio",
    RatioNear: "mean ratio",
    SameRanking: "Kendall tau",
}
CI_LEVELS = {Lower: 95, Equivalent: 90, RatioNear: 90}

COLUMNS = [
    "claim",
    "compared",
    "test",
    "points",
    "rounds",
    "diverged",
    "estimate",
    "estimate_is",
    "ci_low",
    "ci_high",
    "ci_level",
    "p_raw",
    "p_holm",
    "verdict",
    "detectable_effect",
    "p_raw_diverged_as_failures",
    "p_holm_diverged_as_failures",
    "verdict_diverged_as_failures",
    "detail",
]


def _f(value: float, digits: str = ".4f") -> str:
    return "" if math.isnan(value) else format(value, digits)


def claims_csv(results: list[Verdict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for v in results:
        o, kind = v.outcome, type(v.claim)
        writer.writerow(
            [
                v.claim.name,
                _compared(v.claim),
                o.test,
                v.points,
                o.rounds,
                v.diverged,
                _f(o.estimate),
                ESTIMATES[kind],
                _f(o.ci_low),
                _f(o.ci_high),
                CI_LEVELS.get(kind, ""),
                _f(o.p_value, ".4g"),
                _f(v.p_holm, ".4g"),
                v.verdict,
                _f(o.detectable),
                _f(v.with_failures.p_value, ".4g"),
                _f(v.p_holm_with_failures, ".4g"),
                v.verdict_with_failures,
                o.detail,
            ]
        )
    return buffer.getvalue()


def claims_markdown(results: list[Verdict]) -> str:
    lines = [
        "## Claims",
        "",
        "Each claim as the report states it, with the test its wording asks for, on the rounds above (round "
        "r of every variant shares its pairs). Estimates: differences in percentage points (negative: the "
        "first is lower), SD ratios, error ratios or Kendall's tau, with a 95 % interval (90 % for "
        "equivalence). p is raw; Holm's adjusted p over the table's claims decides the verdict. The last "
        "columns count diverged rounds as failures (chance error), and give the smallest effect the rounds "
        "detect (80 % power, α = 0.05 / claims).",
        "",
        "| claim | compared | estimate | interval | test | p | Holm p | verdict | diverged as failures | "
        "detectable |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in results:
        o = v.outcome
        interval = "" if math.isnan(o.ci_low) else f"[{o.ci_low:+.2f}, {o.ci_high:+.2f}]"
        failures = (
            f"{v.verdict_with_failures} ({v.diverged} diverged)" if v.diverged else "same (none diverged)"
        )
        lines.append(
            f"| {v.claim.name} | {_compared(v.claim)} | {o.estimate:+.2f} | {interval} | {o.test} | "
            f"{o.p_value:.3g} | {v.p_holm:.3g} | **{v.verdict}** | {failures} | {_f(o.detectable, '.2f')} |"
        )
    return "\n".join(lines) + "\n"
