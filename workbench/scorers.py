"""Public scorer API (``wb.scorers``): built-in checks, ``custom``, and the ``scorer`` decorator."""

from workbench.scoring import (
    Score,
    ScoreContext,
    Scorer,
    build_scorer,
    contains,
    custom,
    exact,
    regex,
    registered_scorers,
    scorer,
)

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
