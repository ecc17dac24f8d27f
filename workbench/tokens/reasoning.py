"""Reasoning tokens seen across calls: their 95th percentile, and the ``max_tokens`` that leaves
room for reasoning and an answer (the fix of a reply starved by its reasoning)."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["ROUND_TO", "p95", "suggest_max_tokens"]

ROUND_TO = 256
"""A suggested ``max_tokens`` is rounded up to a multiple of this."""


def p95(values: Iterable[float | int | None]) -> int | None:
    """The 95th percentile (nearest rank) of the known values; None when there are none."""
    known = sorted(int(v) for v in values if v is not None and v == v)
    if not known:
        return None
    return known[max(0, math.ceil(0.95 * len(known)) - 1)]


def suggest_max_tokens(
    limit: int, reasoning: Iterable[int | None], answers: Iterable[int | None]
) -> int:
    """A ``max_tokens`` with room for the reasoning seen (its p95) and an answer (the p95 of the
    answers that came back, else ``limit``): at least twice ``limit``, rounded up."""
    thought = p95(reasoning)
    answer = p95(answers) or limit
    need = max(2 * limit, (thought or 0) + answer)
    return -(-need // ROUND_TO) * ROUND_TO
