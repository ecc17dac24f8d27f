"""Intervals: which values fit the data? Pass rates, mean scores, latencies; normal quantiles.

Also the input checks and the bootstrap resampler shared with :mod:`workbench.analysis.paired`.
See :mod:`workbench.analysis.stats` for an overview of what each function answers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

__all__ = [
    "bootstrap_mean_interval",
    "describe_latency",
    "normal_quantile",
    "wilson_interval",
]

FloatArray = npt.NDArray[np.float64]

# -- shared helpers -----------------------------------------------------------------------------

# Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9).
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def normal_quantile(p: float) -> float:
    """Inverse standard normal CDF (``scipy.stats.norm.ppf``): the z with ``P(Z <= z) = p``.

    Acklam's approximation refined by one Halley step on ``math.erfc``: relative error about
    1e-15 for p (or 1 - p) down to 1e-300, fewer digits for subnormal p. 0 gives -inf, 1 gives
    inf; anything outside [0, 1] (or NaN) raises ``ValueError``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    if p > 0.5:
        return -normal_quantile(1.0 - p)  # exact for p in [0.5, 1]
    if p == 0.0:
        return -math.inf
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        num = ((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]
        x = num / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)
    else:
        q = p - 0.5
        r = q * q
        num = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
        x = num / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
    e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    if e != 0.0:  # Halley step; u = e / pdf(x), in log space so deep tails cannot overflow
        u = math.copysign(math.exp(math.log(abs(e)) + x * x / 2.0 + _LOG_SQRT_2PI), e)
        x -= u / (1.0 + x * u / 2.0)
    return x


def _z_two_sided(confidence: float) -> float:
    """The z with central mass ``confidence`` (1.96 for 0.95)."""
    _check_open_unit("confidence", confidence)
    return -normal_quantile((1.0 - confidence) / 2.0)


def _check_open_unit(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")


def _floats(values: npt.ArrayLike, name: str) -> FloatArray:
    """A 1-d float array without missing values."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} has missing values (NaN/None); drop those rows first")
    return arr


def _bools(values: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    """A 1-d bool array from bools or 0/1; anything else (None, 0.5, 'yes') raises."""
    arr = _floats(values, name)
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold only True/False (or 1/0)")
    return np.asarray(arr == 1.0, dtype=np.bool_)


def _pair(x: FloatArray, y: FloatArray) -> None:
    if x.size != y.size:
        raise ValueError(f"paired inputs need equal lengths, got {x.size} and {y.size}")


def _bootstrap_means(values: FloatArray, n_resamples: int, seed: int) -> FloatArray:
    """Means of ``n_resamples`` resamples (with replacement) of ``values``, in bounded memory."""
    n_resamples = operator.index(n_resamples)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    n = values.size
    chunk = max(1, min(n_resamples, 2**21 // n))
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        out[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return out


def _percentiles(boot: FloatArray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [tail, 1.0 - tail])
    return float(low), float(high)


def wilson_interval(
    successes: SupportsIndex, n: SupportsIndex, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for a pass rate of ``successes`` out of ``n``.

    Behaves well at 0 and 100% pass rates and for small ``n`` (unlike "rate ± 1.96 se").
    ``n == 0`` gives (0.0, 1.0): nothing is known. Counts may be numpy integers, not floats.
    """
    z = _z_two_sided(confidence)
    k, total = operator.index(successes), operator.index(n)
    if not 0 <= k <= total:
        raise ValueError(f"need 0 <= successes <= n, got successes={k}, n={total}")
    if total == 0:
        return 0.0, 1.0
    q = k / total
    z2 = z * z
    denom = 1.0 + z2 / total
    center = (q + z2 / (2.0 * total)) / denom
    half = z * math.sqrt(q * (1.0 - q) / total + z2 / (4.0 * total * total)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def bootstrap_mean_interval(
    values: npt.ArrayLike, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of ``values``.

    Empty gives (nan, nan); a single value or all-equal values give (v, v). Needs a few dozen
    values to be trustworthy: with 5 rows the interval is too narrow.
    """
    _check_open_unit("confidence", confidence)
    arr = _floats(values, "values")
    if arr.size == 0:
        return math.nan, math.nan
    if (arr == arr[0]).all():
        return float(arr[0]), float(arr[0])
    return _percentiles(_bootstrap_means(arr, n_resamples, seed), confidence)


def describe_latency(values: Sequence[float | None] | npt.ArrayLike) -> dict[str, float]:
    """``mean``, ``p50`` and ``p95`` (linear percentiles) of latencies; NaN/None are skipped.

    No values gives NaN for all three.
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return {"mean": math.nan, "p50": math.nan, "p95": math.nan}
    p50, p95 = np.percentile(arr, [50.0, 95.0])
    return {"mean": float(arr.mean()), "p50": float(p50), "p95": float(p95)}
