"""Statistics of the A/B study: scipy's binomial test and Wilson interval give the numbers the
hand-written formulas they replaced gave (kept here as the reference), and hand-computed values."""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import pytest

from sepgan.study.stats import (
    binomial_test_p,
    exact_power,
    holm_adjust,
    required_sample_size,
    summarize,
    wilson_interval,
)

# sepgan.study.stats imports scipy only when it computes, so it loads without it.
scipy_stats = pytest.importorskip("scipy.stats")


def _wilson_by_hand(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval as sepgan.study.stats computed it before it used scipy."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = k / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if k == 0 else max(0.0, centre - half_width)
    high = 1.0 if k == n else min(1.0, centre + half_width)
    return (low, high)


def _binomial_p_by_hand(k: int, n: int) -> float:
    """The exact two-sided p-value for p0 = 0.5 in integer arithmetic, as computed before scipy:
    the distribution is symmetric, so it is min(1, 2·P(X ≤ min(k, n - k)))."""
    tail = min(k, n - k)
    return float(min(Fraction(1), Fraction(2 * sum(math.comb(n, j) for j in range(tail + 1)), 2**n)))


# (k, n) → (Wilson low, Wilson high, p-value), printed by the hand-written code before the change.
BEFORE = {
    (7, 10): (0.39677814746114537, 0.8922087325936989, 0.34375),
    (0, 10): (0.0, 0.27753279986288915, 0.001953125),
    (10, 10): (0.7224672001371109, 1.0, 0.001953125),
    (47, 67): (0.5834478625635624, 0.7976848872339728, 0.0013071686857636005),
    (3, 250): (0.004089319880534299, 0.0346807804270196, 2.878954254955859e-69),
    (60, 100): (0.5020025867910618, 0.6905987135675411, 0.05688793364098079),
    (13, 40): (0.20084502231782703, 0.4798225381012233, 0.03847730828420026),
}


@pytest.mark.parametrize(("k", "n"), sorted(BEFORE))
def test_the_numbers_are_those_of_the_hand_written_code(k: int, n: int) -> None:
    low, high, p_value = BEFORE[(k, n)]
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=1e-9)
    assert binomial_test_p(k, n) == pytest.approx(p_value, rel=1e-9, abs=1e-300)
    assert all(type(value) is float for value in (*wilson_interval(k, n), binomial_test_p(k, n)))


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Wilson score interval, z = 1.959964: centre (p + z²/2n)/(1 + z²/n),
        # half-width z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n), worked by hand to 4 places.
        (7, 10, 0.3968, 0.8922),
        (50, 100, 0.4038, 0.5962),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_interval_known_counts(k: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_empty_and_invalid() -> None:
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_binomial_p_hand_values() -> None:
    # 7/10: 2·(C(10,0)+C(10,1)+C(10,2)+C(10,3))/2^10 = 2·176/1024.
    assert binomial_test_p(7, 10) == pytest.approx(352 / 1024, rel=1e-12)
    assert binomial_test_p(0, 10) == pytest.approx(2 / 1024, rel=1e-12)
    assert binomial_test_p(5, 10) == 1.0
    assert binomial_test_p(0, 0) == 1.0
    with pytest.raises(ValueError):
        binomial_test_p(-1, 10)


def test_the_statistics_match_the_hand_written_formulas_on_a_grid() -> None:
    for n in [*range(1, 26), 40, 61, 200]:
        for k in range(n + 1):
            assert binomial_test_p(k, n) == pytest.approx(_binomial_p_by_hand(k, n), rel=1e-9), (k, n)
            assert wilson_interval(k, n) == pytest.approx(_wilson_by_hand(k, n), abs=1e-9), (k, n)
    assert wilson_interval(7, 10, 0.9) == pytest.approx(_wilson_by_hand(7, 10, 0.9), abs=1e-9)


@pytest.mark.parametrize(("n", "p1"), [(20, 0.8), (30, 0.7), (49, 0.7), (17, 0.2), (8, 0.9)])
def test_exact_power_is_the_probability_of_the_rejection_region(n: int, p1: float) -> None:
    # Brute force: reject every k whose scipy p-value is <= 0.05, sum the pmf under p1.
    region = [k for k in range(n + 1) if scipy_stats.binomtest(k, n, 0.5).pvalue <= 0.05]
    expected = sum(scipy_stats.binom.pmf(k, n, p1) for k in region)
    assert exact_power(n, p1) == pytest.approx(expected, rel=1e-9)


def test_exact_power_at_the_null_is_at_most_alpha() -> None:
    for n in (5, 10, 25, 100):
        assert exact_power(n, 0.5) <= 0.05


@pytest.mark.parametrize("p1", [0.7, 0.75, 0.3])
def test_required_sample_size_is_the_smallest_n_reaching_80_percent(p1: float) -> None:
    n = required_sample_size(p1)
    assert n is not None
    assert exact_power(n, p1) >= 0.8
    assert all(exact_power(m, p1) < 0.8 for m in range(1, n))


def test_required_sample_size_known_values_and_symmetry() -> None:
    # Exact two-sided test, alpha 0.05, power 0.8 (the normal approximation gives 194 and 47).
    assert required_sample_size(0.6) == 199
    assert required_sample_size(0.7) == 49
    assert required_sample_size(0.4) == 199
    assert required_sample_size(0.5) is None


def test_holm_adjust() -> None:
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([]) == []


def test_summarize_ignores_ties_in_the_test() -> None:
    summary = summarize(7, 3, ties=5)
    assert summary.n == 10
    assert summary.rate_a == pytest.approx(0.7)
    assert summary.p_value == pytest.approx(scipy_stats.binomtest(7, 10).pvalue)
    assert (summary.ci_low, summary.ci_high) == pytest.approx(wilson_interval(7, 10))
