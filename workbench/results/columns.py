"""The columns of the results table, declared once: each declaration both documents its column
and builds it. One row per (row, variant, repeat).

Order: ``row_id``, the dataset's own columns, then :data:`COLUMNS` (after ``row_id``), then three
per scorer: ``<scorer>`` (value), ``<scorer>_pass`` (True/False/None) and ``<scorer>_reason``. A
dataset column whose name clashes with a result column is renamed ``input.<name>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.engine.plan import Cell
from workbench.engine.runner import CellOutcome
from workbench.scoring.base import Score

__all__ = [
    "COLUMNS",
    "EVIDENCE",
    "RESERVED",
    "SCORER_SUFFIXES",
    "CellFacts",
    "Column",
    "documented",
    "scorer_columns",
]


@dataclass(frozen=True)
class CellFacts:
    """What one row of the table is made from."""

    cell: Cell
    done: CellOutcome | None
    """How the call ended (None: it never ran)."""
    scores: Sequence[Score]
    label: tuple[str, str] | None
    """(label, comment) a person gave this cell, if any."""
    not_run: str
    """The error text of a cell that never ran (why the run stopped)."""

    def response(self, name: str) -> Any:
        """An attribute of the response, None when the cell never ran."""
        return getattr(self.done.response, name) if self.done is not None else None


@dataclass(frozen=True)
class Column:
    """One column: its name, what it holds, how it is built and its pandas dtype."""

    name: str
    doc: str
    value: Callable[[CellFacts], Any]
    dtype: str | None = None
    """A pandas dtype to hold missing values (``Int64``), or None for pandas' choice."""
    evidence: bool = False
    """Also written for each row of an export's evidence (``evidence.jsonl``)."""


def _scoring_cost(facts: CellFacts) -> float | None:
    costs = [s.cost_usd for s in facts.scores]
    return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


COLUMNS: tuple[Column, ...] = (
    Column(
        "row_id",
        "the dataset row's id (its id column, else its position)",
        lambda f: f.cell.row_id,
    ),
    Column("variant", "variant name", lambda f: f.cell.variant),
    Column("repeat", "repeat index, 0-based", lambda f: f.cell.repeat),
    Column("model", "model id, provider/model", lambda f: str(f.cell.request.model)),
    Column("provider", "provider or endpoint name", lambda f: f.cell.request.model.provider),
    Column(
        "messages",
        "the rendered messages sent, as JSON",
        lambda f: json.dumps(list(f.cell.request.messages), ensure_ascii=False),
    ),
    Column(
        "output",
        "the model's reply text (None when the call failed)",
        lambda f: f.response("text"),
        evidence=True,
    ),
    Column(
        "error",
        "why the call failed, after retries (None on success; 'not run: ...' when it never ran)",
        lambda f: f.response("error") if f.done is not None else f.not_run,
        evidence=True,
    ),
    Column(
        "finish_reason",
        "stop, length, content_filter, ... as the provider said",
        lambda f: f.response("finish_reason"),
        evidence=True,
    ),
    Column(
        "input_tokens",
        "input tokens the provider counted",
        lambda f: f.response("input_tokens"),
        "Int64",
        evidence=True,
    ),
    Column(
        "output_tokens",
        "output tokens the provider counted",
        lambda f: f.response("output_tokens"),
        "Int64",
        evidence=True,
    ),
    Column(
        "latency_ms",
        "milliseconds the call took (of the original call, for cached cells)",
        lambda f: f.response("latency_ms"),
        evidence=True,
    ),
    Column(
        "cost_usd",
        "USD the call cost at catalog prices (what it cost when first made, if cached; 0 for a "
        "cell that shared an identical call made for an earlier cell; None when the model has "
        "no price)",
        lambda f: f.done.cost_usd if f.done is not None else 0.0,
        evidence=True,
    ),
    Column(
        "scoring_cost_usd",
        "USD spent scoring this cell (LLM judge calls; 0 for checks, and for a judge call shared "
        "with an earlier cell; None when a judge model has no price)",
        _scoring_cost,
    ),
    Column(
        "cached",
        "True when answered from the store without a call",
        lambda f: bool(f.done.cached) if f.done is not None else False,
    ),
    Column(
        "batch_id",
        "the provider batch that answered the call (None: a real-time call); its cost is at the "
        "batch price",
        lambda f: f.response("batch"),
    ),
    Column(
        "request_key",
        "cache key of the request (same key, same request)",
        lambda f: f.cell.key,
    ),
    Column(
        "human_label",
        "a person's grade of this cell from the comparison grid ('up', 'down' or a grade; None "
        "when ungraded); kept in the store, so it survives restarts and reruns",
        lambda f: f.label[0] if f.label else None,
    ),
    Column(
        "human_comment",
        "the grader's comment (None when ungraded)",
        lambda f: f.label[1] if f.label else None,
    ),
)
"""Result columns, in order."""

EVIDENCE = tuple(c.name for c in COLUMNS if c.evidence)
"""Per-row columns an export writes to its evidence."""
SCORER_SUFFIXES = ("", "_pass", "_reason")
RESERVED = frozenset(c.name for c in COLUMNS)


def scorer_columns(name: str) -> list[str]:
    """The columns one scorer adds."""
    return [name + suffix for suffix in SCORER_SUFFIXES]


def documented() -> dict[str, str]:
    """Column name -> what it holds (for docs and the README)."""
    return {c.name: c.doc for c in COLUMNS}
