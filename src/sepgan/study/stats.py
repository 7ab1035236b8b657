"""Statistics for two-alternative forced-choice (A/B) preference votes.

Every comparison reduces to counts: out of ``n`` decisive votes, ``k`` preferred A.
Under the null hypothesis "no preference" each vote picks A with probability 0.5,
so ``k ~ Binomial(n, 0.5)``. "No visible difference" answers are ties: they are
counted and reported but are not part of ``n`` (the usual conditional treatment
of ties in a sign test).

- :func:`wilson_interval` is the Wilson score interval. Unlike the Wald interval
  ``p ± z·sqrt(p(1-p)/n)`` it stays inside [0, 1] and keeps close to its nominal
  coverage at small n and at 0/n or n/n.
- :func:`binomial_test_p` is the exact two-sided binomial test against p0 = 0.5
  (the p-value sums every outcome no more likely than the observed one).
  Both come from ``scipy.stats.binomtest`` (``.pvalue`` and
  ``.proportion_ci(method="wilson")``); this module adds the n = 0 case and
  plain floats.
- :func:`exact_power` and :func:`required_sample_size` answer "how many
  participants do I need?". The power of the exact test at level alpha against a
  true preference p1 is computed exactly: the rejection region is the set of k
  whose exact p-value is ≤ alpha, and the power is the Binomial(n, p1)
  probability of that region. Because k is discrete, power is a saw-tooth in n
  (it can drop when n grows by one), so :func:`required_sample_size` reports the
  smallest n that reaches the target; a slightly larger n is occasionally below
  target again.
- :func:`holm_adjust` corrects a family of p-values for multiple comparisons.

Independence: the binomial model treats votes as independent. Several votes
from one participant are not, so the report also tests one vote per participant
(their majority), which is the sound unit for a claim about people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "PreferenceResult",
    "binomial_test_p",
    "exact_power",
    "holm_adjust",
    "required_sample_size",
    "summarize",
    "wilson_interval",
]


def _check_counts(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n, by ``scipy.stats.binomtest``.

    Returns ``(nan, nan)`` for n = 0: there is nothing to estimate. Raises
    ``ValueError`` unless 0 ≤ k ≤ n.
    """
    from scipy.stats import binomtest  # heavy import, only when a statistic is computed

    _check_counts(k, n)
    if n == 0:
        return (math.nan, math.nan)
    interval = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(interval.low), float(interval.high))


def binomial_test_p(k: int, n: int) -> float:
    """Exact two-sided binomial-test p-value for k successes in n trials, p0 = 0.5, by ``binomtest``.

    Returns 1.0 for n = 0 (no evidence either way). Raises ``ValueError`` unless 0 ≤ k ≤ n.
    """
    from scipy.stats import binomtest

    _check_counts(k, n)
    if n == 0:
        return 1.0
    return float(binomtest(k, n, 0.5).pvalue)


def _rejects(c: int, n: int, alpha: float) -> bool:
    """Whether k = c (and so every k ≤ c, and k ≥ n - c) is rejected at level alpha, p0 = 0.5."""
    from scipy.stats import binom

    # 2·P(X ≤ c) is a dyadic rational and never exactly equals a decimal alpha such as
    # 0.05, so float rounding cannot flip the decision in practice.
    return 2.0 * float(binom.cdf(c, n, 0.5)) <= alpha


def _critical_count(n: int, alpha: float, start: int = -1) -> int:
    """Largest c < n/2 with 2·P(X ≤ c) ≤ alpha under Binomial(n, 0.5); -1 if none.

    The rejection region of the exact two-sided test is then k ≤ c or k ≥ n - c.
    ``start`` is a known lower bound (c never decreases as n grows).
    """
    c = start
    while c + 1 < n / 2 and _rejects(c + 1, n, alpha):
        c += 1
    return c


def _power_at(c: int, n: int, p1: float) -> float:
    from scipy.stats import binom

    # P(X ≤ c) + P(X ≥ n - c); the two tails are disjoint because c < n/2.
    return float(binom.cdf(c, n, p1) + binom.sf(n - c - 1, n, p1))


def exact_power(n: int, p1: float, alpha: float = 0.05) -> float:
    """Power of the exact two-sided binomial test (p0 = 0.5, level alpha) when the true rate is p1."""
    if not 0.0 <= p1 <= 1.0:
        raise ValueError(f"p1 must be in [0, 1], got {p1}")
    if n <= 0:
        return 0.0
    c = _critical_count(n, alpha)
    return 0.0 if c < 0 else _power_at(c, n, p1)


def required_sample_size(
    p1: float, alpha: float = 0.05, power: float = 0.80, max_n: int = 20_000
) -> int | None:
    """Smallest n at which the exact two-sided test reaches ``power`` against true rate p1.

    Returns None when p1 = 0.5 (no effect to detect) or when max_n is not enough.
    Cost: one pass over n with an incrementally maintained critical value, a few
    scipy calls per n; well under a second for p1 = 0.55 (n ≈ 800).
    """
    if not 0.0 <= p1 <= 1.0:
        raise ValueError(f"p1 must be in [0, 1], got {p1}")
    if p1 == 0.5:
        return None
    c = -1
    for n in range(1, max_n + 1):
        c = _critical_count(n, alpha, start=c)
        if c >= 0 and _power_at(c, n, p1) >= power:
            return n
    return None


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class PreferenceResult:
    """One A/B preference comparison: A wins ``wins_a`` of ``n`` decisive votes, B ``wins_b``, ``ties``
    "no visible difference"; A's rate, its Wilson interval and the exact two-sided p-value."""

    wins_a: int
    wins_b: int
    ties: int
    rate_a: float
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def n(self) -> int:
        return self.wins_a + self.wins_b


def summarize(wins_a: int, wins_b: int, ties: int = 0, confidence: float = 0.95) -> PreferenceResult:
    """Preference rate for A, its Wilson interval and the exact two-sided p-value."""
    n = wins_a + wins_b
    low, high = wilson_interval(wins_a, n, confidence)
    return PreferenceResult(
        wins_a=wins_a,
        wins_b=wins_b,
        ties=ties,
        rate_a=wins_a / n if n else math.nan,
        ci_low=low,
        ci_high=high,
        p_value=binomial_test_p(wins_a, n),
    )
