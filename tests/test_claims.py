"""The claims' statistics, against scipy/statsmodels and values computed by hand on constructed rounds."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_paired

from conftest import round_record
from kerascmp.analysis import claims
from kerascmp.analysis.claims import Data, Lower, Sample

NOISE = np.array([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.4, -0.3, 0.1])


def rounds_of(errors: dict[str, list], diverged: dict[str, set] = None, epochs: int = 50, digits=None):
    """Rounds of each variant on data seeds 0..n-1, stored in reverse for every other variant (to test the
    pairing by data seed); `digits` gives test digit errors."""
    diverged, digits = diverged or {}, digits or {}
    records = []
    for i, (variant, values) in enumerate(errors.items()):
        order = list(enumerate(values))
        for s, e in reversed(order) if i % 2 else order:
            down = s in diverged.get(variant, set())
            errs = {} if down else {"test_comparison": e}
            if variant in digits and not down:
                errs |= {"test_digit1": digits[variant][s], "test_digit2": digits[variant][s]}
            hparams = {"learning_rate": 0.1, "c_aux": 0.25, "epochs": epochs}
            records.append(
                round_record(
                    variant, round=s, data_seed=s, errors=errs, diverged=down, hyperparameters=hparams
                )
            )
    return records


def test_a_small_paired_t_case_by_hand():
    # differences -1, -2, -3: mean -2, sd 1, t = -2 / (1/sqrt 3) = -3.4641 on 2 df
    mean, low, high, test, p = claims.location_test(np.array([-1.0, -2.0, -3.0]))
    assert test == "paired t" and mean == pytest.approx(-2.0)
    assert p == pytest.approx(0.07418, abs=1e-4)
    half_width = 4.302653 / np.sqrt(3)  # t(0.975, 2) * sem
    assert (low, high) == pytest.approx((-2 - half_width, -2 + half_width), abs=1e-4)


def test_skewed_differences_take_the_rank_test():
    mean, _, _, test, p = claims.location_test(np.array([0.1] * 9 + [20.0]))  # Shapiro rejects normality
    assert test.startswith("Wilcoxon signed-rank")
    assert p == pytest.approx(2 / 2**10)  # all ten differences positive, exact two-sided
    assert claims.location_test(np.array([0.1] * 9 + [20.0]), "greater")[4] == pytest.approx(1 / 2**10)


def test_tost_agrees_with_statsmodels():
    rng = np.random.default_rng(1)
    x, y = 10 + rng.normal(0, 1, 10), 10.2 + rng.normal(0, 1, 10)
    d = x - y
    assert claims._normal(d)
    mean, low, high, test, p = claims.equivalence_test(d, -1.0, 1.0)
    assert test == "TOST, paired t"
    assert p == pytest.approx(ttost_paired(x, y, -1.0, 1.0)[0])
    assert (low, high) == pytest.approx(stats.t.interval(0.90, 9, loc=d.mean(), scale=stats.sem(d)))
    # a clear difference is not equivalent; a tight zero one is
    assert claims.equivalence_test(d + 3, -1.0, 1.0)[4] > 0.5
    assert claims.equivalence_test(NOISE * 0.5, -1.0, 1.0)[4] < 1e-4


def test_holm_on_known_p_values():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.06
    assert claims.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_pitman_morgan_matches_its_formula():
    rng = np.random.default_rng(2)
    x, y = rng.normal(20, 4, 10), rng.normal(15, 1, 10)
    data = Data(rounds_of({"a": list(x), "b": list(y)}))
    outcome = claims.MoreVariable("a varies more", Sample("a"), Sample("b")).test(data, False, 0.05)
    f, r, n = x.var(ddof=1) / y.var(ddof=1), np.corrcoef(x, y)[0, 1], 10
    t = (f - 1) * np.sqrt(n - 2) / (2 * np.sqrt(f * (1 - r**2)))
    assert outcome.p_value == pytest.approx(2 * stats.t.sf(abs(t), n - 2))
    assert outcome.estimate == pytest.approx(np.sqrt(f)) and outcome.direction == 1


def test_the_detectable_effect_has_80_percent_power():
    differences = NOISE * 3
    n, sd = len(differences), differences.std(ddof=1)
    effect = claims.detectable_effect(differences, 0.01)
    critical = stats.t.ppf(1 - 0.01 / 2, n - 1)
    noncentrality = effect / sd * np.sqrt(n)
    power = stats.nct.sf(critical, n - 1, noncentrality) + stats.nct.cdf(-critical, n - 1, noncentrality)
    assert power == pytest.approx(0.80, abs=1e-4)
    assert claims.detectable_effect(differences, 0.05) < effect  # a looser level detects less


def test_kendall_ranking_exact():
    names = ["a", "b", "c", "d", "e", "f"]
    short = rounds_of({v: [10.0 + i + x for x in NOISE] for i, v in enumerate(names)})
    long = rounds_of({v: [8.0 + i + x for x in NOISE] for i, v in enumerate(names)}, epochs=100)
    parts = tuple((Sample(v), Sample(v, longer=True)) for v in names)
    outcome = claims.SameRanking("ranking", parts).test(Data(short, long), False, 0.05)
    assert outcome.estimate == pytest.approx(1.0) and outcome.p_value == pytest.approx(1 / 720)


def test_intersection_union_needs_every_part():
    data = Data(
        rounds_of({"a": list(10 + NOISE), "b": list(15 + np.roll(NOISE, 3) * 2), "c": list(5 + NOISE)})
    )
    both = Lower("a beats b and c", ((Sample("a"), Sample("b")), (Sample("a"), Sample("c"))))
    outcome = both.test(data, False, 0.05)
    assert outcome.direction == 0 and outcome.p_value == 1.0  # a beats b, loses to c: neither holds for all
    agree = Lower("a beats b twice", ((Sample("a"), Sample("b")), (Sample("c"), Sample("b"))))
    outcome = agree.test(data, False, 0.05)
    larger = max(
        stats.ttest_1samp(d, 0).pvalue
        for d in (NOISE - np.roll(NOISE, 3) * 2 - 5, NOISE - np.roll(NOISE, 3) * 2 - 10)
    )
    assert outcome.direction == 1 and outcome.p_value == pytest.approx(larger)


def test_rounds_pair_by_their_data_and_diverged_rounds_count_both_ways():
    main = [10.0, 12.0, 11.0, 13.0, 10.5]
    no_aux = [15.0, 16.0, 40.0, 18.0, 15.5]
    data = Data(rounds_of({"main": main, "main_no_aux": no_aux}, diverged={"main_no_aux": {2}}))
    left_out = claims.paired(data, Sample("main"), Sample("main_no_aux"), failures=False)
    np.testing.assert_array_equal(left_out, [-5.0, -4.0, -5.0, -5.0])  # round 2 diverged: left out
    as_failures = claims.paired(data, Sample("main"), Sample("main_no_aux"), failures=True)
    np.testing.assert_array_equal(
        as_failures, [-5.0, -4.0, 11.0 - claims.CHANCE_ERROR["comparison"], -5.0, -5.0]
    )
    (verdict,) = [
        v for v in claims.verdicts(data.rounds[False]) if v.claim.name.startswith("no auxiliary loss is bad")
    ]
    assert verdict.diverged == 1 and verdict.outcome.rounds == 4 and verdict.with_failures.rounds == 5


def test_the_verdict_reads_the_holm_adjusted_p():
    outcome = claims.Outcome(10, -1.0, -2.0, -0.1, "paired t", 0.03, 1)
    assert claims.verdict_of(outcome, 0.03) == "supported"
    assert claims.verdict_of(outcome, 0.09) == "not supported"
    assert claims.verdict_of(claims.Outcome(10, 1.0, 0.1, 2.0, "paired t", 0.001, -1), 0.004) == "reversed"


REPORT = ["main", "no_sharing", "noise_removal", "separate", "separate_noise_removal", "fc_baseline"]
EXTRA = ["main_paper_relu", "main_no_aux", "main_aux_only"]


def test_every_report_claim_is_testable_on_a_full_table():
    rng = np.random.default_rng(3)
    errors = {v: list(10 + i + rng.normal(0, 1, 10)) for i, v in enumerate(REPORT + EXTRA)}
    digits = {v: list(4 + rng.normal(0, 0.5, 10)) for v in REPORT + EXTRA if v != "fc_baseline"}
    longer = rounds_of({v: list(np.array(errors[v]) - 1) for v in REPORT}, epochs=100)
    results = claims.verdicts(rounds_of(errors, digits=digits), longer)
    assert len(results) >= 10
    assert len(results) == 15 and all(v.claim.name for v in results)
    assert {type(v.claim).__name__ for v in results} == {
        "Lower",
        "Equivalent",
        "MoreVariable",
        "RatioNear",
        "SameRanking",
    }
    assert claims.holm([v.outcome.p_value for v in results]) == [v.p_holm for v in results]
    csv_text = claims.claims_csv(results)
    header, *rows = csv_text.splitlines()
    assert header.split(",") == claims.COLUMNS and len(rows) == 15
    assert (
        "lr 0.1, c_aux 0.25, 50 epochs" in csv_text and "(longer): lr 0.1, c_aux 0.25, 100 epochs" in csv_text
    )
    # without the longer study, its two claims are not testable and the family shrinks
    assert len(claims.verdicts(rounds_of(errors, digits=digits))) == 13


def test_a_users_variant_meets_main_and_ablation_steps_meet_the_step_before():
    data = Data(
        rounds_of(
            {
                v: [10.0, 11.0]
                for v in ["main", "analytic", "beyond_bn_dropout", "beyond_repair", "best", "wide"]
            }
        )
    )
    pairs = [(c.parts[0][0].variant, c.parts[0][1].variant) for c in claims.ablation_claims(data)]
    assert pairs == [
        ("analytic", "main"),
        ("beyond_bn_dropout", "analytic"),
        ("beyond_repair", "main"),
        ("best", "main"),
        ("wide", "main"),
    ]
    assert claims.verdicts(rounds_of({"main": [10.0], "no_sharing": [12.0]})) == []  # one round: nothing
