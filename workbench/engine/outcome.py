"""What one cell of a run ended as (shared by the runner and the batch phase)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.providers.base import Response

__all__ = ["CellOutcome"]


@dataclass
class CellOutcome:
    """What one cell ended as."""

    response: Response
    """The call's Response (of a tool loop: the steps combined)."""
    cached: bool
    cost_usd: float | None
    trajectory: list[dict[str, Any]] | None = None
    """A tool loop's turns after the prompt (None: the cell made one call)."""
