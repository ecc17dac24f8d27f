"""What a run will cost, before any call."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """Calls, tokens and cost of running an experiment now (cached calls are free).

    Input tokens are estimated before sending (exact counts come back with each reply); output
    is bounded by each variant's ``max_tokens`` (or 1024 when unset), so ``cost_usd`` is an upper
    bound. ``None`` cost means some model has no known price.
    """

    cells: int
    """(row, variant, repeat) cells in the experiment."""
    cached: int
    """Cells already answered in the store."""
    calls: int
    """Provider calls a run would make now (identical requests collapse into one)."""
    input_tokens: int
    max_output_tokens: int
    cost_usd: float | None
    by_variant: pd.DataFrame

    def __str__(self) -> str:
        cost = (
            "unknown (a model has no price: wb.models.register(...))"
            if self.cost_usd is None
            else f"at most ${self.cost_usd:.4f}"
        )
        return (
            f"{self.cells} cells: {self.cached} cached, {self.calls} calls to make, "
            f"~{self.input_tokens:,} input tokens (estimated), up to {self.max_output_tokens:,} "
            f"output tokens, cost {cost}"
        )

    def __repr__(self) -> str:
        return f"<Estimate {self}>\n{self.by_variant.to_string(index=False)}"

    def _repr_html_(self) -> str:
        return f"<p>{self}</p>" + self.by_variant.to_html(index=False, na_rep="–")
