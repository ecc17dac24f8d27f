"""Paired tests: on the same rows, is B really better than A? And Holm's correction.

See :mod:`workbench.analysis.stats` for an overview of what each function answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from workbench.analysis.intervals import (
    FloatArray,
    _bools,
    _bootstrap_means,
    _check_open_unit,
    _floats,
    _pair,
    _percentiles,
)

__all__ = [
    "McNemarResult",
    "PairedBootstrapResult",
    "WilcoxonResult",
    "holm",
    "mcnemar_exact",
    "paired_bootstrap",
    "wilcoxon_signed_rank",
]


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test on paired pass/fail outcomes."""

    b: int
    """Rows where A passed and B failed."""
    c: int
    """Rows where A failed and B passed."""
    n_discordant: int
    """``b + c``: the rows that carry evidence (where A and B disagree)."""
    p_value: float
    """Two-sided; 1.0 when A and B never disagree."""


def mcnemar_exact(a_pass: npt.ArrayLike, b_pass: npt.ArrayLike) -> McNemarResult:
    """Exact McNemar test: did B pass more (or fewer) of the same rows than chance allows?

    Under "A and B are equally good", each disagreeing row is a fair coin flip, so the p-value
    is the two-sided binomial tail ``2 * P(X <= min(b, c))`` with ``X ~ Bin(b + c, 1/2)``, capped
    at 1 (as ``statsmodels``' ``mcnemar(table, exact=True)``).
    """
    a = _bools(a_pass, "a_pass")
    b_arr = _bools(b_pass, "b_pass")
    if a.size != b_arr.size:
        raise ValueError(f"paired inputs need equal lengths, got {a.size} and {b_arr.size}")
    b = int(np.count_nonzero(a & ~b_arr))
    c = int(np.count_nonzero(~a & b_arr))
    n = b + c
    return McNemarResult(b, c, n, _binomial_two_sided(min(b, c), n))


def _binomial_two_sided(k: int, n: int) -> float:
    """``min(1, 2 * P(X <= k))`` for ``X ~ Bin(n, 1/2)`` and ``k <= n / 2``."""
    if n == 0:
        return 1.0
    if n <= 20_000:  # exact integer arithmetic, then one correctly rounded division
        term, total = 1, 1
        for i in range(k):
            term = term * (n - i) // (i + 1)
            total += term
        return min(1.0, float(Fraction(2 * total, 2**n)))
    # Large n: sum terms relative to the largest one (C(n, k)), then scale in log space.
    ratio, rel_sum = 1.0, 1.0
    for i in range(k, 0, -1):  # C(n, i-1) / C(n, i) = i / (n - i + 1)
        ratio *= i / (n - i + 1)
        if ratio < 1e-18 * rel_sum:
            break
        rel_sum += ratio
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return min(1.0, math.exp(math.log(2.0 * rel_sum) + log_comb - n * math.log(2.0)))


@dataclass(frozen=True)
class WilcoxonResult:
    """Wilcoxon signed-rank test on paired numeric scores."""

    statistic: float
    """``min(W+, W-)``: the smaller of the rank sums of positive and negative differences."""
    p_value: float
    """Two-sided; 1.0 when every difference is zero."""
    n_nonzero: int
    """Rows with a nonzero difference (zero differences are dropped)."""
    method: Literal["exact", "approx"]
    """``exact`` null distribution, or the normal approximation (ties or over 50 rows)."""


def wilcoxon_signed_rank(x: npt.ArrayLike, y: npt.ArrayLike) -> WilcoxonResult:
    """Wilcoxon signed-rank test: do the per-row differences ``x - y`` lean to one side?

    Zero differences are dropped (Wilcoxon's method). With at most 50 nonzero differences and
    no ties among their sizes the p-value is exact; otherwise it is the normal approximation
    with tie and continuity corrections. Matches ``scipy.stats.wilcoxon`` with
    ``method="exact"`` / ``method="approx"`` respectively. No nonzero differences gives
    statistic 0.0 and p-value 1.0. Two-sided: it says whether the scores differ, not which way
    (look at the mean or median of the differences for that).
    """
    xs, ys = _floats(x, "x"), _floats(y, "y")
    _pair(xs, ys)
    d = xs - ys
    d = d[d != 0.0]
    n = d.size
    if n == 0:
        return WilcoxonResult(0.0, 1.0, 0, "exact")
    ranks, tie_sizes = _average_ranks(np.abs(d))
    r_plus = float(ranks[d > 0].sum())
    r_minus = float(ranks[d < 0].sum())
    statistic = min(r_plus, r_minus)
    if n <= 50 and (tie_sizes == 1).all():
        tail = sum(_signed_rank_counts(n)[: round(statistic) + 1])
        return WilcoxonResult(statistic, min(1.0, float(Fraction(2 * tail, 2**n))), n, "exact")
    mean = n * (n + 1) / 4.0
    tie_term = float((tie_sizes.astype(np.float64) ** 3 - tie_sizes).sum())
    se = math.sqrt((n * (n + 1) * (2 * n + 1) - tie_term / 2.0) / 24.0)
    z = (r_plus - mean) / se
    z -= math.copysign(0.5, z) / se if z != 0.0 else 0.0  # continuity correction
    return WilcoxonResult(statistic, math.erfc(abs(z) / math.sqrt(2.0)), n, "approx")


def _average_ranks(a: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Ranks 1..n (ties share their average rank) and the size of each group of ties."""
    order = np.argsort(a, kind="stable")
    s = a[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, s.size]).astype(np.int64)
    ranks = np.empty(a.size)
    ranks[order] = np.repeat(starts + (sizes + 1) / 2.0, sizes)
    return ranks, sizes


@cache
def _signed_rank_counts(n: int) -> tuple[int, ...]:
    """How many of the 2**n sign patterns give each rank sum W+ = 0 .. n(n+1)/2."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for k in range(1, n + 1):
        for s in range(k * (k + 1) // 2, k - 1, -1):
            counts[s] += counts[s - k]
    return tuple(counts)


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Bootstrap of the mean per-row difference ``y - x``."""

    mean_diff: float
    """Mean of ``y - x`` (positive: the second argument scores higher)."""
    ci_low: float
    ci_high: float
    p_value: float
    """Two-sided; resolution ``1 / n_resamples`` (0.0 means "below that")."""


def paired_bootstrap(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedBootstrapResult:
    """Resample rows (keeping pairs together) to see how much the mean of ``y - x`` could vary.

    The p-value is ``2 * min(share of resampled means <= 0, share >= 0)``, capped at 1. No rows
    gives NaN estimates and p-value 1.0; all-equal differences ``v`` give the interval (v, v)
    and p-value 0.0 (1.0 if ``v`` is 0 or there is a single row). Like any bootstrap it is
    overconfident for small samples (under ~20 rows): prefer :func:`mcnemar_exact` or
    :func:`wilcoxon_signed_rank` there.
    """
    _check_open_unit("confidence", confidence)
    xs, ys = _floats(x, "x"), _floats(y, "y")
    _pair(xs, ys)
    d = ys - xs
    if d.size == 0:
        return PairedBootstrapResult(math.nan, math.nan, math.nan, 1.0)
    mean_diff = float(d.mean())
    if (d == d[0]).all():  # nothing varies: the formula's answer, except one row proves nothing
        v = float(d[0])
        return PairedBootstrapResult(v, v, v, 1.0 if v == 0.0 or d.size == 1 else 0.0)
    boot = _bootstrap_means(d, n_resamples, seed)
    low, high = _percentiles(boot, confidence)
    share = min(np.count_nonzero(boot <= 0.0), np.count_nonzero(boot >= 0.0)) / boot.size
    return PairedBootstrapResult(mean_diff, low, high, min(1.0, 2.0 * share))


def holm(p_values: npt.ArrayLike) -> list[float]:
    """Holm step-down adjusted p-values, in the input order.

    Use when several comparisons were made (B vs A, C vs A, ...): compare each adjusted value to
    0.05 as usual. Monotone in the raw p-values and capped at 1; same as ``statsmodels``'
    ``multipletests(p, method="holm")``.
    """
    p = _floats(p_values, "p_values")
    if ((p < 0.0) | (p > 1.0)).any():
        raise ValueError("p-values must be in [0, 1]")
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1))
    out = np.empty(p.size)
    out[order] = np.minimum(adjusted, 1.0)
    return [float(v) for v in out]
