"""The claims' paired statistics, against values computed by hand on constructed rounds."""

import numpy as np
import pytest

from conftest import round_record
from kerascmp.analysis import claims
from kerascmp.analysis.claims import Claim, judge

CLAIM = Claim("sharing helps", better="main", baseline="no_sharing")


def rounds_of(main, no_sharing, diverged=()):
    """Rounds of two variants on data seeds 0..n-1 (no_sharing's stored in reverse, to test the pairing)."""
    records = [
        round_record("main", round=s, data_seed=s, errors={"test_comparison": e}, diverged=s in diverged)
        for s, e in enumerate(main)
    ]
    records += [
        round_record("no_sharing", round=s, data_seed=s, errors={"test_comparison": e})
        for s, e in reversed(list(enumerate(no_sharing)))
    ]
    return records


def test_a_small_paired_t_case_by_hand():
    # differences -1, -2, -3: mean -2, sd 1, t = -2 / (1/sqrt 3) = -3.4641 on 2 df
    verdict = judge(CLAIM, np.array([-1.0, -2.0, -3.0]))
    assert verdict.test == "paired t" and verdict.mean_difference == pytest.approx(-2.0)
    assert verdict.p_value == pytest.approx(0.07418, abs=1e-4)
    half_width = 4.302653 / np.sqrt(3)  # t(0.975, 2) * sem
    assert (verdict.ci_low, verdict.ci_high) == pytest.approx((-2 - half_width, -2 + half_width), abs=1e-4)
    assert verdict.verdict == "not supported"  # the interval includes 0


def test_supported_reversed_and_skewed():
    noise = np.array([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.4, -0.3, 0.1])
    assert judge(CLAIM, -5 + noise).verdict == "supported"
    assert judge(CLAIM, 5 + noise).verdict == "reversed"
    skewed = judge(CLAIM, np.array([0.1] * 9 + [20.0]))  # one outlier: Shapiro rejects normality
    assert skewed.test.startswith("Wilcoxon signed-rank")
    assert skewed.p_value == pytest.approx(2 / 2**10)  # all ten differences positive, exact two-sided
    assert skewed.verdict == "reversed"


def test_rounds_pair_by_their_data_and_diverged_rounds_drop_out():
    main = [10.0, 12.0, 11.0, 13.0]
    no_sharing = [15.0, 16.0, 40.0, 18.0]
    differences = claims.paired_differences(rounds_of(main, no_sharing, diverged={2}), CLAIM)
    np.testing.assert_array_equal(differences, [-5.0, -4.0, -5.0])  # round 2 diverged: left out
    (verdict,) = [
        v for v in claims.verdicts(rounds_of(main, no_sharing)) if v.claim.name == "weight sharing helps"
    ]
    assert verdict.rounds == 4 and verdict.mean_difference == pytest.approx(
        np.mean(np.subtract(main, no_sharing))
    )


def test_claims_follow_the_variants_stored_and_a_users_variant_meets_main():
    names = [c.name for c in claims.claims_for(["main", "no_sharing", "wide"])]
    assert names == ["weight sharing helps", "wide beats main"]
    assert claims.claims_for(["noise_removal"]) == []
    # an ablation step is judged against the step before it when that is stored, else against main
    ablation = claims.claims_for(["main", "analytic", "beyond_bn_dropout", "beyond_repair", "best"])
    assert [(c.better, c.baseline) for c in ablation] == [
        ("analytic", "main"),
        ("beyond_bn_dropout", "analytic"),
        ("beyond_repair", "main"),
        ("best", "main"),
    ]
    assert claims.verdicts(rounds_of([10.0], [12.0])) == []  # one round: nothing to test
