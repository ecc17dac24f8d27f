"""What one cell of a run ended as (shared by the runner and the batch phase)."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.providers.base import Response

__all__ = ["CellOutcome"]


@dataclass
class CellOutcome:
    """What one cell ended as."""

    response: Response
    cached: bool
    cost_usd: float | None
