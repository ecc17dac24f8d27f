"""Scorers: the protocol, the registry, and the built-in checks.

Each scorer gets the output and the row and returns a :class:`Score` (value, passed, reason).
"""

from workbench.scoring.base import (
    Score,
    ScoreContext,
    Scorer,
    build_scorer,
    custom,
    registered_scorers,
    scorer,
)
from workbench.scoring.checks import contains, exact, regex

__all__ = [
    "Score",
    "ScoreContext",
    "Scorer",
    "build_scorer",
    "contains",
    "custom",
    "exact",
    "regex",
    "registered_scorers",
    "scorer",
]
