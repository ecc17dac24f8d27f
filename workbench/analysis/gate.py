"""A gate that does not flap: is the new run worse than the recorded one by more than a margin?

Row by row on the same rows, the difference ``new - recorded`` gets an interval at the gate's
confidence, and the decision is read off it:

- **regression** when the whole interval lies below ``-margin`` (significantly worse than the
  margin allows);
- **pass** when the whole interval lies above ``-margin`` (shown to be no worse than that:
  non-inferiority);
- **inconclusive** otherwise — the rows cannot tell yet.

Pass/fail rows use Tango's score test and interval for paired proportions (the standard for
paired non-inferiority: Tango 1998); scores use the sign-flip permutation test and the interval
that inverts it. Each decision is also a one-sided test at ``(1 - confidence) / 2`` (its p-value
is reported), so the shown interval and the decision always agree. :func:`min_rate` is the same
three-way gate for an absolute floor (``--min-pass-rate``), by the exact binomial test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from workbench.analysis.intervals import _bools, _floats, _pair, _z_two_sided
from workbench.analysis.permutation import sign_flip
from workbench.analysis.proportions import betainc, clopper_pearson, tango_interval, tango_z

__all__ = ["Decision", "GateTest", "min_rate", "noninferiority_binary", "noninferiority_values"]

Decision = Literal["pass", "regression", "inconclusive"]
TANGO = "Tango score test"
PERMUTATION = "sign-flip permutation test"
BINOMIAL = "exact binomial test (Clopper–Pearson interval)"


@dataclass(frozen=True)
class GateTest:
    """One scorer's gate: the recorded and new results on the same rows, against a threshold."""

    kind: Literal["pass rate", "mean", "floor"]
    """Paired pass/fail rows, paired scores, or a pass rate against an absolute floor."""
    method: str
    n: int
    """Rows compared."""
    recorded: float | None
    """The recorded pass rate (or mean score) on these rows; None for a floor."""
    new: float
    """The new run's pass rate (or mean score) on these rows."""
    effect: float
    """``new - recorded`` (for a floor: the new pass rate)."""
    ci_low: float
    ci_high: float
    """The interval of ``effect`` at ``confidence``."""
    confidence: float
    threshold: float
    """``-margin`` (or the floor): a regression is an effect significantly below it."""
    p_regression: float
    """One-sided p-value for "the effect is below the threshold"."""
    p_pass: float
    """One-sided p-value for "the effect is above the threshold"."""
    decision: Decision
    worse: int | None = None
    """Rows that went from pass to fail (pass/fail rows)."""
    better: int | None = None
    """Rows that went from fail to pass."""
    rows_needed: int | None = None
    """About how many rows would settle an inconclusive gate, if the effect stays as seen."""
    assumption: str = ""
    """What ``rows_needed`` assumes."""

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _decide(p_regression: float, p_pass: float, confidence: float) -> Decision:
    half = (1.0 - confidence) / 2.0
    if p_regression < half:
        return "regression"
    return "pass" if p_pass < half else "inconclusive"


def _rows_to_settle(b: int, c: int, n: int, margin: float, z_crit: float) -> int | None:
    """The fewest rows at which the same shares of worse (``b / n``) and better (``c / n``)
    rows would settle Tango's gate; None when no number below a million would."""

    def settles(rows: int) -> bool:
        z = tango_z(round(b * rows / n), round(c * rows / n), rows, -margin)
        return abs(z) > z_crit

    low, high = n, n
    while not settles(high):
        low, high = high, high * 2
        if high > 1_000_000:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if settles(mid) else (mid, high)
    return high


def noninferiority_binary(
    recorded: npt.ArrayLike, new: npt.ArrayLike, margin: float, confidence: float = 0.95
) -> GateTest:
    """Paired pass/fail rows: Tango's score test of ``new - recorded`` against ``-margin``."""
    old, now = _bools(recorded, "recorded"), _bools(new, "new")
    _pair(old.astype(float), now.astype(float))
    _check_margin(margin)
    n = old.size
    b = int(np.count_nonzero(old & ~now))
    c = int(np.count_nonzero(~old & now))
    z_crit = _z_two_sided(confidence)
    if n == 0:
        return _nothing("pass rate", TANGO, confidence, -margin)
    z = tango_z(b, c, n, -margin) if margin < 1.0 else math.inf
    p_regression = 0.5 * math.erfc(-z / math.sqrt(2.0))
    p_pass = 0.5 * math.erfc(z / math.sqrt(2.0))
    decision: Decision = "regression" if z < -z_crit else ("pass" if z > z_crit else "inconclusive")
    low, high = tango_interval(b, c, n, confidence)
    effect = (c - b) / n
    needed, assumption = None, ""
    if decision == "inconclusive":
        needed = _rows_to_settle(b, c, n, margin, z_crit)
        if needed is not None:
            assumption = "if the same shares of rows get worse and better"
        elif abs(effect + margin) < 1e-12:
            assumption = (
                "the difference seen is right at the margin: more rows settle it only if it moves"
            )
    return GateTest(
        kind="pass rate",
        method=TANGO,
        n=n,
        recorded=float(old.mean()),
        new=float(now.mean()),
        effect=effect,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        threshold=-margin,
        p_regression=p_regression,
        p_pass=p_pass,
        decision=decision,
        worse=b,
        better=c,
        rows_needed=needed,
        assumption=assumption,
    )


def noninferiority_values(
    recorded: npt.ArrayLike,
    new: npt.ArrayLike,
    margin: float,
    confidence: float = 0.95,
    seed: int = 0,
) -> GateTest:
    """Paired scores: the sign-flip permutation test of the mean of ``new - recorded`` against
    ``-margin`` (in the scorer's own units)."""
    old, now = _floats(recorded, "recorded"), _floats(new, "new")
    _pair(old, now)
    _check_margin(margin)
    flips = sign_flip(old, now, seed=seed)
    if flips.n == 0:
        return _nothing("mean", PERMUTATION, confidence, -margin)
    low, high = flips.interval(confidence)
    p_regression, p_pass = flips.p_less(-margin), flips.p_greater(-margin)
    decision = _decide(p_regression, p_pass, confidence)
    d = now - old
    n = int(d.size)
    needed, assumption = None, ""
    distance = abs(flips.mean_diff + margin)
    if decision == "inconclusive" and d.size > 1 and distance > 0:
        sd = float(d.std(ddof=1))
        z = _z_two_sided(confidence)
        needed = max(n + 1, math.ceil((z * sd / distance) ** 2)) if sd > 0 else None
        if needed:
            assumption = f"if the mean difference and its spread (SD {sd:.3g}) stay as seen"
    return GateTest(
        kind="mean",
        method=PERMUTATION + ("" if flips.exact else " (Monte Carlo)"),
        n=flips.n,
        recorded=float(old.mean()),
        new=float(now.mean()),
        effect=flips.mean_diff,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        threshold=-margin,
        p_regression=p_regression,
        p_pass=p_pass,
        decision=decision,
        rows_needed=needed,
        assumption=assumption,
    )


def min_rate(passes: int, n: int, floor: float, confidence: float = 0.95) -> GateTest:
    """A pass rate against an absolute floor: the exact binomial test, Clopper–Pearson
    interval. Regression when the whole interval is below ``floor``, pass when above it."""
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"the floor must be between 0 and 1, got {floor!r}")
    low, high = clopper_pearson(passes, n, confidence)
    if n == 0:
        p_regression = p_pass = 1.0
    else:  # P(X <= passes) and P(X >= passes) for X ~ Bin(n, floor)
        p_regression = 1.0 if passes == n else 1.0 - betainc(passes + 1, n - passes, floor)
        p_pass = 1.0 if passes == 0 else betainc(passes, n - passes + 1, floor)
    rate = passes / n if n else math.nan
    return GateTest(
        kind="floor",
        method=BINOMIAL,
        n=n,
        recorded=None,
        new=rate,
        effect=rate,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        threshold=floor,
        p_regression=p_regression,
        p_pass=p_pass,
        decision=_decide(p_regression, p_pass, confidence),
    )


def _nothing(
    kind: Literal["pass rate", "mean"], method: str, confidence: float, threshold: float
) -> GateTest:
    """No paired rows: nothing can be told."""
    return GateTest(
        kind=kind,
        method=method,
        n=0,
        recorded=None,
        new=math.nan,
        effect=math.nan,
        ci_low=-math.inf,
        ci_high=math.inf,
        confidence=confidence,
        threshold=threshold,
        p_regression=1.0,
        p_pass=1.0,
        decision="inconclusive",
    )


def _check_margin(margin: float) -> None:
    if not (margin >= 0.0 and math.isfinite(margin)):
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
