"""Looking at the data before it is all in, without inflating the error rate: alpha spending.

A sequential check looks at the first quarter of the rows, then half, three quarters and all
(:data:`LOOKS`), and stops paying as soon as a look settles the question. Each look spends part
of the error budget ``alpha`` by the Lan–DeMets spending function of O'Brien–Fleming type,
``alpha(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))`` (t: the share of rows seen), which spends
almost nothing early, so the last look keeps most of ``alpha``. Each look's test is at the
alpha it spends (:func:`spent_per_look`); by the union bound the chance that any look reaches a
wrong decision is at most the sum, ``alpha`` — valid for any dependence between the looks, at
the price of a little power at the last look compared with boundaries computed from the joint
distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.analysis.intervals import _check_open_unit, normal_quantile

__all__ = ["LOOKS", "Look", "obrien_fleming_spent", "schedule", "spent_per_look"]

LOOKS = (0.25, 0.5, 0.75, 1.0)
"""Shares of the rows seen at each look of a sequential check."""


def obrien_fleming_spent(t: float, alpha: float = 0.05) -> float:
    """Alpha spent by the time a share ``t`` (0 < t <= 1) of the rows is seen; all of it at 1."""
    _check_open_unit("alpha", alpha)
    if not 0.0 < t <= 1.0:
        raise ValueError(f"t must be in (0, 1], got {t!r}")
    if t == 1.0:
        return alpha
    z = -normal_quantile(alpha / 2.0)
    return math.erfc(z / math.sqrt(t) / math.sqrt(2.0))  # 2 - 2 Phi(z / sqrt(t))


def spent_per_look(looks: Sequence[float] = LOOKS, alpha: float = 0.05) -> list[float]:
    """The alpha each look tests at (they add up to ``alpha``)."""
    if not looks or list(looks) != sorted(set(looks)) or looks[-1] != 1.0:
        raise ValueError(f"looks must increase and end at 1.0, got {list(looks)}")
    spent = [obrien_fleming_spent(t, alpha) for t in looks]
    return [b - a for a, b in zip([0.0, *spent[:-1]], spent, strict=True)]


@dataclass(frozen=True)
class Look:
    """One look of a sequential check."""

    number: int
    """1-based."""
    rows: int
    """Rows seen by this look."""
    alpha: float
    """The alpha this look's test is at."""


def schedule(rows: int, alpha: float = 0.05, looks: Sequence[float] = LOOKS) -> list[Look]:
    """The looks at ``rows`` rows: at least one row each, increasing, the last seeing all of
    them; a look that would see no new row is dropped, and the alpha spent follows the shares of
    rows actually seen."""
    sizes: list[int] = []
    for t in looks:
        size = max(1, min(rows, math.ceil(rows * t - 1e-9)))
        if not sizes or size > sizes[-1]:
            sizes.append(size)
    spent = spent_per_look([size / rows for size in sizes], alpha) if rows else [alpha]
    return [Look(i + 1, size, a) for i, (size, a) in enumerate(zip(sizes, spent, strict=True))]
