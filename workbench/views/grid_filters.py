"""Which rows the comparison grid shows, and in what order: :class:`Filters` and :class:`Sort`.

Plain Python, no widget imports: the options a user picks (each filter condition with the label
the grid shows for it, the metric to sort by), read from the widget's dicts. The model
(:mod:`grid_model`) applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["FLAG_TEXT", "SORT_KEYS", "Filters", "Sort"]

SORT_KEYS = ("row", "pass", "score", "tokens", "latency", "cost", "distinct", "errors")
"""Metrics the grid sorts by (``row`` keeps dataset order)."""

FLAG_TEXT = {
    "failures": ("failures", "a check failed"),
    "passes": ("passes", "every check passed"),
    "errors": ("errors", "a call failed"),
    "not_run": ("not run", "a call was never made (stopped, or the budget ran out)"),
    "repeats_disagree": ("repeats disagree", "repeats of a cell gave different verdicts"),
    "disagree": ("variants disagree", "the variants' verdicts on the row differ"),
    "differs": ("differs from baseline", "the output differs from the baseline's"),
    "regressed": ("regressed vs baseline", "the baseline passes and this variant fails"),
    "other_tool": (
        "called a different tool than baseline",
        "most repeats call other tools (or in another order) than the baseline's",
    ),
}
"""How each filter condition reads in the grid: a label and what rows it keeps."""


@dataclass(frozen=True)
class Filters:
    """Which rows to show: every condition set must hold. ``variant`` narrows the per-cell
    conditions to one variant's cells (default: any variant's); ``scorer`` the checks to one."""

    failures: bool = False
    """A check failed (in some repeat; a failed call fails every check)."""
    passes: bool = False
    """Every check passed in every repeat."""
    errors: bool = False
    """A call failed (after retries)."""
    not_run: bool = False
    """A call was never made (the run stopped, or the budget ran out)."""
    repeats_disagree: bool = False
    """A check passed in some repeats and failed in others (no checks: outputs differ)."""
    disagree: bool = False
    """The variants' verdicts on the row differ."""
    differs: bool = False
    """The output differs from the baseline variant's (as the diff options compare)."""
    regressed: bool = False
    """The baseline passes the check and this variant fails it (majority of repeats)."""
    other_tool: bool = False
    """A variant called a different tool (or tools, in another order) than the baseline variant
    (the first one when no baseline is chosen), in most of its repeats."""
    variant: str | None = None
    search: str = ""
    """Text in the inputs, outputs, tool calls or errors (any case)."""
    regex: bool = False
    """``search`` is a regular expression."""
    scorer: str | None = None

    @classmethod
    def flags(cls, tools: bool = True) -> list[tuple[str, str, str]]:
        """(name, label, what it keeps) of each condition a user can switch on (``tools``:
        also the one about tool calls, for a run whose replies called tools)."""
        return [
            (f.name, *FLAG_TEXT.get(f.name, (f.name.replace("_", " "), "")))
            for f in fields(cls)
            if f.type == "bool" and f.name != "regex" and (tools or f.name != "other_tool")
        ]

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Filters:
        """From the widget's ``filters`` dict (unknown keys ignored)."""
        data = data or {}
        flags = {f.name: bool(data.get(f.name)) for f in fields(cls) if f.type == "bool"}
        return cls(
            **flags,
            variant=data.get("variant") or None,
            search=str(data.get("search") or ""),
            scorer=data.get("scorer") or None,
        )


@dataclass(frozen=True)
class Sort:
    """Order of rows: a metric of one variant (``variant=None``: the mean over variants)."""

    by: str = "row"
    variant: str | None = None
    desc: bool = False
    scorer: str | None = None
    """Scorer for ``pass`` / ``score`` (default: the first)."""

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Sort:
        """From the widget's ``sort`` dict."""
        data = data or {}
        by = str(data.get("by") or "row")
        if by not in SORT_KEYS:
            raise ValueError(f"Cannot sort by {by!r}; choose one of {', '.join(SORT_KEYS)}.")
        return cls(by, data.get("variant") or None, bool(data.get("desc")), data.get("scorer"))
