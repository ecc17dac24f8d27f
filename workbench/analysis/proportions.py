"""Intervals for pass rates that agree with the tests they sit beside.

- :func:`clopper_pearson`: the exact interval of one pass rate (inverts the exact binomial test).
- :func:`tango_test`, :func:`tango_interval`: Tango's (1998) score test and interval of a paired
  difference, also against a margin (non-inferiority, ``workbench check``). Unconditional: the
  share of disagreeing rows is estimated too, so rows that all agree still leave a width. The
  interval is exactly the set of differences the test does not reject.
- :func:`mcnemar_interval`: the interval shown beside McNemar's exact test. Tango's interval,
  held to the exact test so that it excludes 0 exactly when
  :func:`~workbench.analysis.paired.mcnemar_exact` gives p below ``1 - confidence``: it is the
  confidence set of the tests "McNemar exact at 0, Tango's score test elsewhere" (see there).
- :func:`conditional_interval`: the exact interval given the rows where A and B disagree (the
  Clopper–Pearson interval of the share of them B wins, scaled by the share of rows that
  disagree); it inverts McNemar's exact test but ignores how uncertain that share is.

Counts everywhere: ``b`` rows where A (the baseline, the recorded run) passed and B (the
candidate, the new run) failed; ``c`` rows where A failed and B passed; ``n`` paired rows. The
difference is ``B - A``: estimated ``(c - b) / n``. Standard library only.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import SupportsIndex

from workbench.analysis.intervals import _check_open_unit, _z_two_sided
from workbench.analysis.paired import _binomial_two_sided

__all__ = [
    "PairedInterval",
    "TangoResult",
    "clopper_pearson",
    "conditional_interval",
    "mcnemar_interval",
    "tango_interval",
    "tango_test",
    "tango_z",
]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` (``scipy.special.betainc``)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _beta_quantile(a: float, b: float, p: float) -> float:
    """The x with ``I_x(a, b) = p``, by bisection to the last representable digit."""
    lo, hi = 0.0, 1.0
    while True:
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            return mid
        if betainc(a, b, mid) < p:
            lo = mid
        else:
            hi = mid


def clopper_pearson(
    successes: SupportsIndex, n: SupportsIndex, confidence: float = 0.95
) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a rate from ``successes`` of ``n``.

    Every rate the two-sided exact binomial test (each tail at ``(1 - confidence) / 2``) does not
    reject. As ``statsmodels``' ``proportion_confint(k, n, alpha, method="beta")``. ``n == 0``
    gives (0.0, 1.0).
    """
    _check_open_unit("confidence", confidence)
    k, total = operator.index(successes), operator.index(n)
    if not 0 <= k <= total:
        raise ValueError(f"need 0 <= successes <= n, got successes={k}, n={total}")
    if total == 0:
        return 0.0, 1.0
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if k == 0 else _beta_quantile(k, total - k + 1, tail)
    high = 1.0 if k == total else _beta_quantile(k + 1, total - k, 1.0 - tail)
    return low, high


def _counts(b: SupportsIndex, c: SupportsIndex, n: SupportsIndex) -> tuple[int, int, int]:
    bi, ci, ni = operator.index(b), operator.index(c), operator.index(n)
    if bi < 0 or ci < 0 or bi + ci > ni:
        raise ValueError(f"need b, c >= 0 and b + c <= n, got b={bi}, c={ci}, n={ni}")
    return bi, ci, ni


def conditional_interval(
    b: SupportsIndex, c: SupportsIndex, n: SupportsIndex, confidence: float = 0.95
) -> tuple[float, float]:
    """Exact interval of the paired difference ``B - A`` given the ``b + c`` disagreeing rows.

    B wins each of them with some probability pi; the Clopper–Pearson interval of pi excludes
    1/2 exactly when McNemar's exact p-value is below ``1 - confidence``, and scaled by the
    observed share of disagreeing rows, ``(b + c) / n * (2 pi - 1)``, it is in points of pass
    rate. It treats that share as known: with no disagreeing row it is (0, 0), and it never
    reaches beyond the share of rows that disagree.
    """
    bi, ci, ni = _counts(b, c, n)
    discordant = bi + ci
    if discordant == 0:
        return 0.0, 0.0
    low, high = clopper_pearson(ci, discordant, confidence)
    share = discordant / ni
    return share * (2.0 * low - 1.0), share * (2.0 * high - 1.0)


@dataclass(frozen=True)
class PairedInterval:
    """An interval of a paired pass-rate difference, and how it was made."""

    low: float
    high: float
    method: str
    """``tango``; ``tango to 0`` (widened to 0: McNemar's exact test did not reject); or
    ``conditional`` (the exact test rejected where Tango's did not: tiny samples at very small
    alpha)."""


def mcnemar_interval(
    b: SupportsIndex, c: SupportsIndex, n: SupportsIndex, confidence: float = 0.95
) -> PairedInterval:
    """The interval of ``B - A`` that belongs to McNemar's exact test at ``1 - confidence``.

    The set of differences not rejected by "McNemar's exact test at 0, Tango's score test at
    every other value": Tango's interval, reaching to 0 when the exact test does not reject (it
    is the more cautious of the two at 0). In the rare case where the exact test rejects and
    Tango's interval still holds 0 (fewer than about 20 disagreeing rows at an alpha below
    1e-4), the conditional exact interval is given instead. Either way it excludes 0 exactly
    when McNemar's exact p-value is below ``1 - confidence``.
    """
    bi, ci, ni = _counts(b, c, n)
    low, high = tango_interval(bi, ci, ni, confidence)
    rejects = _binomial_two_sided(min(bi, ci), bi + ci) < 1.0 - confidence
    if not rejects:
        if low > 0.0 or high < 0.0:
            return PairedInterval(min(low, 0.0), max(high, 0.0), "tango to 0")
        return PairedInterval(low, high, "tango")
    if low <= 0.0 <= high:
        return PairedInterval(*conditional_interval(bi, ci, ni, confidence), "conditional")
    return PairedInterval(low, high, "tango")


def tango_z(b: SupportsIndex, c: SupportsIndex, n: SupportsIndex, delta: float) -> float:
    """Tango's score statistic for "the difference ``B - A`` is ``delta``" (``-1 < delta < 1``).

    ``(c - b - n delta) / sqrt(n (2 q + delta (1 - delta)))``, q the restricted maximum
    likelihood estimate of the smaller disagreeing cell under that difference. At ``delta = 0``
    it is McNemar's ``(c - b) / sqrt(b + c)``. Decreasing in ``delta``.
    """
    bi, ci, ni = _counts(b, c, n)
    if ni == 0:
        return 0.0
    if not -1.0 < delta < 1.0:
        raise ValueError(f"delta must be strictly between -1 and 1, got {delta!r}")
    if delta < 0.0:  # mirror: B - A = delta is A - B = -delta with the cells swapped
        return -tango_z(ci, bi, ni, -delta)
    qa = 2.0 * ni
    qb = -(bi + ci) + delta * (2.0 * ni + bi - ci)
    qc = -bi * delta * (1.0 - delta)
    root = math.sqrt(qb * qb - 4.0 * qa * qc)
    q = (-qb + root) / (2.0 * qa) if qb <= 0.0 else -2.0 * qc / (qb + root)
    variance = ni * (2.0 * q + delta * (1.0 - delta))
    numerator = ci - bi - ni * delta
    if variance <= 0.0:
        return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def _tango_root(b: int, c: int, n: int, z: float, lo: float, hi: float) -> float:
    """The delta in [lo, hi] where Tango's statistic crosses ``z`` (it decreases in delta)."""
    while True:
        mid = (lo + hi) / 2.0
        if mid in (lo, hi) or hi - lo < 1e-15:
            return mid
        if tango_z(b, c, n, mid) > z:
            lo = mid
        else:
            hi = mid


def tango_interval(
    b: SupportsIndex, c: SupportsIndex, n: SupportsIndex, confidence: float = 0.95
) -> tuple[float, float]:
    """Tango's score interval of the paired difference ``B - A``: every delta whose score test
    is not rejected at ``1 - confidence`` (two-sided). ``n == 0`` gives (-1, 1)."""
    bi, ci, ni = _counts(b, c, n)
    z = _z_two_sided(confidence)
    if ni == 0:
        return -1.0, 1.0
    estimate = (ci - bi) / ni
    low = -1.0 if estimate == -1.0 else _tango_root(bi, ci, ni, z, -1.0, estimate)
    high = 1.0 if estimate == 1.0 else _tango_root(bi, ci, ni, -z, estimate, 1.0)
    return low, high


@dataclass(frozen=True)
class TangoResult:
    """Tango's score test of the paired difference ``B - A`` against ``delta0``."""

    estimate: float
    """``(c - b) / n``."""
    z: float
    """The score statistic at ``delta0``."""
    p_greater: float
    """One-sided p-value for "the difference is above ``delta0``" (B not worse than A by more
    than ``-delta0``: non-inferiority when ``delta0`` is minus the margin)."""
    p_less: float
    """One-sided p-value for "the difference is below ``delta0``"."""


def tango_test(
    b: SupportsIndex, c: SupportsIndex, n: SupportsIndex, delta0: float = 0.0
) -> TangoResult:
    """Tango's score test (normal approximation) of ``B - A`` against ``delta0``.

    Rejecting "at or below ``delta0``" at one-sided level ``alpha / 2`` is the same as
    :func:`tango_interval` at ``1 - alpha`` lying entirely above ``delta0``.
    """
    bi, ci, ni = _counts(b, c, n)
    if ni == 0:
        return TangoResult(math.nan, 0.0, 1.0, 1.0)
    z = tango_z(bi, ci, ni, delta0)
    upper = 0.5 * math.erfc(z / math.sqrt(2.0))  # P(Z >= z)
    lower = 0.5 * math.erfc(-z / math.sqrt(2.0))  # P(Z <= z)
    return TangoResult((ci - bi) / ni, z, upper, lower)
