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
from workbench.prompts.schema import parse_reply
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


def _tool_calls(facts: CellFacts) -> list[dict[str, Any]] | None:
    if facts.done is None:
        return None
    calls = facts.done.response.tool_calls
    return list(calls) if calls else ([] if facts.done.response.ok else None)


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
        "tool_calls",
        "the tools the model called, in order: a list of {'id', 'name', 'arguments'} with the "
        "arguments parsed from JSON (when they are not valid JSON: 'arguments' None, the text in "
        "'raw_arguments' and why in 'invalid'); every step's calls for a tool loop; [] when it "
        "called none, None when the call failed",
        _tool_calls,
        evidence=True,
    ),
    Column(
        "trajectory",
        "a tool loop's turns after the prompt (assistant turns with their tool_calls, tool turns "
        "with each result), the final reply last; None for a cell of one call",
        lambda f: f.done.trajectory if f.done is not None else None,
        evidence=True,
    ),
    Column(
        "reasoning",
        "the reasoning text the provider returned (Anthropic thinking, OpenAI reasoning "
        "summaries); never part of output; None when it returned none",
        lambda f: f.response("reasoning"),
    ),
    Column(
        "parsed",
        "the reply as JSON data when the variant asked for a response_format and the reply "
        "parses (None otherwise)",
        lambda f: parse_reply(f.cell.request.params, f.response("text")) if f.done else None,
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
        "starved",
        "True when the reply came back empty because reasoning used the whole output budget "
        "(finish_reason length, no text): scorers leave it unscored and say which max_tokens "
        "would fit",
        lambda f: bool(f.done.response.starved) if f.done is not None else False,
    ),
    Column(
        "input_tokens",
        "input tokens the provider counted, cached ones included",
        lambda f: f.response("input_tokens"),
        "Int64",
        evidence=True,
    ),
    Column(
        "cached_input_tokens",
        "of input_tokens, those read from the provider's prompt cache (priced at the cached "
        "rate; None where the provider does not report them)",
        lambda f: f.response("cached_input_tokens"),
        "Int64",
    ),
    Column(
        "cache_write_tokens",
        "of input_tokens, those written to the provider's prompt cache (priced at the "
        "cache-write rate; None where not reported)",
        lambda f: f.response("cache_write_tokens"),
        "Int64",
    ),
    Column(
        "output_tokens",
        "output tokens the provider counted, reasoning included",
        lambda f: f.response("output_tokens"),
        "Int64",
        evidence=True,
    ),
    Column(
        "reasoning_tokens",
        "of output_tokens, those spent reasoning (None where the provider does not report them)",
        lambda f: f.response("reasoning_tokens"),
        "Int64",
    ),
    Column(
        "latency_ms",
        "milliseconds the call took (of the original call, for cached cells)",
        lambda f: f.response("latency_ms"),
        evidence=True,
    ),
    Column(
        "ttft_ms",
        "milliseconds to the first streamed token (None when the call did not stream)",
        lambda f: f.response("ttft_ms"),
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
