"""Tool calls in the comparison grid: what a cell's repeats called, as a person reads it.

Plain Python, no widget imports: the calls each repeat made as text (for the cell, the search
and the diff against the baseline), and per cell the calls most repeats made, to say "4 of 5
repeats call lookup_order(order_id="42")" and to find cells that call other tools than the
baseline's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.providers.tools import compact, signatures

__all__ = ["ToolModes", "calls_of", "said"]

Calls = list[dict[str, Any]]


def calls_of(values: Sequence[Any]) -> list[Calls]:
    """Each table row's tool calls (a list; none: empty)."""
    return [c if isinstance(c, list) else [] for c in values]


def said(output: str, calls: Calls) -> str:
    """A reply's text and its calls ("→ name(args)" lines): what the diff compares."""
    if not calls:
        return output
    shown = "\n".join(f"→ {compact(c)}" for c in calls)
    return f"{output}\n{shown}" if output else shown


class ToolModes:
    """Per cell, the tool calls most of its repeats made."""

    def __init__(self, cells: Mapping[tuple[int, int], range], calls: Sequence[Calls]) -> None:
        self.modes: dict[tuple[int, int], tuple[tuple[str, ...], str, int, int]] = {}
        for cell, at in cells.items():
            seen = Counter(signatures(calls[i]) for i in at)
            top, count = seen.most_common(1)[0]
            example = next(calls[i] for i in at if signatures(calls[i]) == top)
            names = tuple(c["name"] for c in example)
            shown = ", ".join(compact(c, 80) for c in example) or "no tool"
            self.modes[cell] = (names, shown, count, len(at))

    def mode(self, r: int, j: int) -> str | None:
        """``4 of 5 repeats call lookup_order(order_id="42")`` (None: one repeat)."""
        found = self.modes.get((r, j))
        if found is None or found[3] < 2:
            return None
        _, shown, count, n = found
        return f"{count} of {n} repeats call {shown}"

    def differs(self, r: int, base: int, variants: int) -> bool:
        """A variant's usual tools differ from the baseline's on row ``r``."""
        mine = self.modes.get((r, base))
        if mine is None:
            return False
        return any(
            (r, j) in self.modes and self.modes[(r, j)][0] != mine[0]
            for j in range(variants)
            if j != base
        )
