"""Many comparisons at once: Holm's step-down procedure, with the level each interval is drawn at.

Holm (1979) orders the m raw p-values and tests the j-th smallest at ``alpha / (m - j + 1)``,
stopping at the first that fails; every later one fails too. Drawing each comparison's interval
at the level it was tested at — the tested ones at their step's level, the rest at the level of
the step where testing stopped — gives intervals that exclude "no difference" exactly when Holm
rejects (for intervals that invert their test). These are not simultaneous intervals; they are
the intervals that belong to the decisions made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workbench.analysis.intervals import _check_open_unit
from workbench.analysis.paired import holm

__all__ = ["HolmStep", "holm_steps"]


@dataclass(frozen=True)
class HolmStep:
    """One hypothesis in Holm's procedure."""

    p_adjusted: float
    """Holm-adjusted p-value (compare with alpha as usual)."""
    level: float
    """The alpha its interval is drawn at (confidence ``1 - level``)."""
    rejected: bool
    """Significant after the adjustment."""


def holm_steps(p_values: Sequence[float], alpha: float = 0.05) -> list[HolmStep]:
    """Holm's decisions at ``alpha`` (p below the step's level), in the input order."""
    _check_open_unit("alpha", alpha)
    adjusted = holm(list(p_values))
    m = len(adjusted)
    order = sorted(range(m), key=lambda i: p_values[i])
    steps: list[HolmStep | None] = [None] * m
    stopped_at: float | None = None
    for j, i in enumerate(order):
        level = alpha / (m - j)
        if stopped_at is None and p_values[i] < level:
            steps[i] = HolmStep(adjusted[i], level, True)
            continue
        stopped_at = level if stopped_at is None else stopped_at
        steps[i] = HolmStep(adjusted[i], stopped_at, False)
    return [s for s in steps if s is not None]
