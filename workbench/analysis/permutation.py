"""The paired permutation (sign-flip) test of a mean score difference, and the interval it gives.

Under "A and B are equally good" each row's difference ``d = y - x`` is as likely to have come
out with the opposite sign, so the observed sum is compared with the sums of ``±d`` over sign
patterns: all ``2**n`` of them up to :data:`EXACT_ROWS` rows, otherwise a fixed-seed random
sample (Monte Carlo; the p-value ``(1 + hits) / (1 + draws)`` is still a valid one).

Testing a shift ``theta`` (is the mean difference ``theta``?) flips the signs of ``d - theta``.
A sign pattern counts against "the difference is above theta" exactly when the mean of ``d`` over
the rows it flips is at most ``theta``; so the p-value at any ``theta`` is a count of those
subset means, and the interval — every ``theta`` not rejected — runs between two of them. The
interval therefore excludes 0 exactly when the test at 0 rejects, at every confidence level.
As ``scipy.stats.permutation_test(..., permutation_type="samples")`` with the mean of the
differences as statistic (two-sided: twice the smaller one-sided p-value).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from workbench.analysis.intervals import FloatArray, _check_open_unit, _floats, _pair

__all__ = ["EXACT_ROWS", "SignFlip", "sign_flip"]

EXACT_ROWS = 16
"""Up to this many rows every sign pattern is enumerated (65,536 at 16): the test is exact."""
_SNAP = 1e-12
"""Subset means within this of 0 (relative to the largest |d|) are 0: float noise in sums that are
exactly 0 in decimal (0.1 + 0.2 - 0.3) must not decide a test at 0."""


@dataclass(frozen=True, eq=False)
class SignFlip:
    """A sign-flip test of paired differences: p-values at any shift, and intervals."""

    n: int
    """Paired rows."""
    mean_diff: float
    """Mean of ``y - x`` (NaN with no rows)."""
    exact: bool
    """Every sign pattern enumerated (else a Monte Carlo sample of them)."""
    patterns: int
    """Sign patterns compared with the data, the data's own included."""
    always: int
    """Patterns that flip nothing (the data itself, and draws that flipped no row): they count on
    both sides at every shift."""
    means: FloatArray = field(repr=False)
    """Sorted means of ``d`` over the rows each other pattern flips (float noise around 0 made
    exactly 0)."""

    def _at_most(self, theta: float) -> int:
        return int(np.searchsorted(self.means, theta, side="right"))

    def _at_least(self, theta: float) -> int:
        return self.means.size - int(np.searchsorted(self.means, theta, side="left"))

    def p_greater(self, theta: float = 0.0) -> float:
        """One-sided p-value for "the mean difference is above ``theta``"."""
        return (self.always + self._at_most(theta)) / self.patterns

    def p_less(self, theta: float = 0.0) -> float:
        """One-sided p-value for "the mean difference is below ``theta``"."""
        return (self.always + self._at_least(theta)) / self.patterns

    def p_value(self, theta: float = 0.0) -> float:
        """Two-sided: twice the smaller one-sided p-value, capped at 1."""
        return min(1.0, 2.0 * min(self.p_greater(theta), self.p_less(theta)))

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Every shift the two-sided test does not reject at ``1 - confidence``: it excludes a
        value exactly when :meth:`p_value` there is below ``1 - confidence``. Infinite ends when
        there are too few rows for the test ever to reject (fewer than 6 at 95%)."""
        _check_open_unit("confidence", confidence)
        if self.n == 0:
            return math.nan, math.nan
        # Not rejected where both one-sided counts reach h = (1 - confidence) * patterns / 2.
        need = math.ceil((1.0 - confidence) * self.patterns / 2.0 - self.always)
        if need <= 0:
            return -math.inf, math.inf
        return float(self.means[need - 1]), float(self.means[self.means.size - need])


def sign_flip(
    x: npt.ArrayLike, y: npt.ArrayLike, n_resamples: int = 10_000, seed: int = 0
) -> SignFlip:
    """The sign-flip test of the paired differences ``y - x`` (see the module docstring).

    Exact up to :data:`EXACT_ROWS` rows; above, ``n_resamples`` random sign patterns drawn with
    ``seed`` (same inputs and seed, same answer).
    """
    xs, ys = _floats(x, "x"), _floats(y, "y")
    _pair(xs, ys)
    d = ys - xs
    n = d.size
    if n == 0:
        return SignFlip(0, math.nan, True, 1, 1, np.empty(0))
    scale = float(np.abs(d).max()) or 1.0
    if n <= EXACT_ROWS:
        codes = np.arange(1, 2**n, dtype=np.int64)
        flips = ((codes[:, None] >> np.arange(n)) & 1).astype(np.float64)
        means = (flips @ d) / flips.sum(axis=1)
        return SignFlip(n, float(d.mean()), True, 2**n, 1, _snapped(means, scale))
    draws = operator.index(n_resamples)
    if draws < 1:
        raise ValueError(f"n_resamples must be at least 1, got {draws}")
    rng = np.random.default_rng(seed)
    chunk = max(1, min(draws, 2**21 // n))
    parts: list[FloatArray] = []
    empty = 0
    for start in range(0, draws, chunk):
        size = (min(chunk, draws - start), (n + 7) // 8)
        bits = np.unpackbits(rng.integers(0, 256, size=size, dtype=np.uint8), axis=1)
        flips = bits[:, :n].astype(np.float64)
        counts = flips.sum(axis=1)
        empty += int((counts == 0).sum())
        keep = counts > 0
        parts.append((flips[keep] @ d) / counts[keep])
    means = _snapped(np.concatenate(parts), scale)
    return SignFlip(n, float(d.mean()), False, draws + 1, 1 + empty, means)


def _snapped(means: FloatArray, scale: float) -> FloatArray:
    means[np.abs(means) <= _SNAP * scale] = 0.0
    return np.sort(means)
