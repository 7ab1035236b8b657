"""Statistics of the A/B study, checked against scipy.stats.binomtest and hand-computed values."""

from __future__ import annotations

import math

import pytest

from sepgan.study.stats import (
    binomial_test_p,
    exact_power,
    holm_adjust,
    required_sample_size,
    summarize,
    wilson_interval,
)

# sepgan.study.stats imports scipy only where it computes power, so it loads without it.
scipy_stats = pytest.importorskip("scipy.stats")


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


@pytest.mark.parametrize(
    ("k", "n"), [(7, 10), (50, 100), (0, 10), (10, 10), (60, 100), (3, 7), (0, 1), (1, 2)]
)
def test_binomial_p_matches_scipy_known_counts(k: int, n: int) -> None:
    expected = scipy_stats.binomtest(k, n, 0.5, alternative="two-sided").pvalue
    assert binomial_test_p(k, n) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_binomial_p_hand_values() -> None:
    # 7/10: 2·(C(10,0)+C(10,1)+C(10,2)+C(10,3))/2^10 = 2·176/1024.
    assert binomial_test_p(7, 10) == 352 / 1024
    assert binomial_test_p(0, 10) == 2 / 1024
    assert binomial_test_p(5, 10) == 1.0
    assert binomial_test_p(0, 0) == 1.0


def test_binomial_p_matches_scipy_on_a_grid() -> None:
    for n in [*range(1, 26), 40, 61]:
        for k in range(n + 1):
            expected = scipy_stats.binomtest(k, n, 0.5).pvalue
            assert binomial_test_p(k, n) == pytest.approx(expected, rel=1e-9), (k, n)


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


@pytest.mark.parametrize(("k", "n"), [(7, 10), (50, 100), (0, 10), (10, 10), (47, 67), (3, 250)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    expected = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-12)
