"""Plain-text renderings of results for terminals and logs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["format_leaderboard"]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pct(v: Any) -> str:
    return "–" if _missing(v) else f"{v:.0%}"


def _num(v: Any, fmt: str) -> str:
    return "–" if _missing(v) else format(v, fmt)


def format_leaderboard(board: pd.DataFrame, scorers: Sequence[str]) -> str:
    """The leaderboard as an aligned text table: pass rates with 95% intervals, cost, latency."""
    view = pd.DataFrame(
        {
            "rank": board["rank"],
            "variant": board["variant"],
            "model": board["model"],
            "calls": board["n"],
            "errors": board["errors"],
            "cached": board["cached"],
        }
    )
    for name in scorers:
        view[f"{name} [95% CI]"] = [
            f"{_pct(r)} [{_pct(lo)}–{_pct(hi)}]"
            for r, lo, hi in zip(
                board[f"{name}_pass_rate"],
                board[f"{name}_pass_low"],
                board[f"{name}_pass_high"],
                strict=True,
            )
        ]
    if "p_vs_best" in board:
        view["p vs best"] = [_num(p, ".3g") for p in board["p_vs_best"]]
    view["cost $"] = [f"{c:.4f}" for c in board["cost_usd"]]
    view["p50 ms"] = [_num(v, ".0f") for v in board["latency_p50_ms"]]
    view["p95 ms"] = [_num(v, ".0f") for v in board["latency_p95_ms"]]
    view["stable"] = [_pct(v) for v in board["stability"]]
    return view.to_string(index=False)
