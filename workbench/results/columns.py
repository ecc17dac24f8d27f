"""The columns of ``Results.df``, declared once. One row per (row, variant, repeat).

Order: ``row_id``, the dataset's own columns, then the columns below, then three per scorer:
``<scorer>`` (value), ``<scorer>_pass`` (True/False/None) and ``<scorer>_reason``. A dataset
column whose name clashes with a result column is renamed ``input.<name>``.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "RESERVED", "SCORER_SUFFIXES", "scorer_columns"]

COLUMNS: dict[str, str] = {
    "row_id": "the dataset row's id (its id column, else its position)",
    "variant": "variant name",
    "repeat": "repeat index, 0-based",
    "model": "model id, provider/model",
    "provider": "provider or endpoint name",
    "messages": "the rendered messages sent, as JSON",
    "output": "the model's reply text (None when the call failed)",
    "error": "why the call failed, after retries (None on success)",
    "finish_reason": "stop, length, content_filter, ... as the provider said",
    "input_tokens": "input tokens the provider counted",
    "output_tokens": "output tokens the provider counted",
    "latency_ms": "milliseconds the call took (of the original call, for cached cells)",
    "cost_usd": "USD the call cost at catalog prices (what it cost when first made, if cached; "
    "0 for a cell that shared an identical call made for an earlier cell)",
    "scoring_cost_usd": "USD spent scoring this cell (LLM judge calls; 0 for checks, and for "
    "a judge call shared with an earlier cell)",
    "cached": "True when answered from the store without a call",
    "request_key": "cache key of the request (same key, same request)",
    "human_label": "a person's grade of this cell from the comparison grid ('up', 'down' or a "
    "grade; None when ungraded); kept in the store, so it survives restarts and reruns",
    "human_comment": "the grader's comment (None when ungraded)",
}
"""Result columns and what each holds."""

SCORER_SUFFIXES = ("", "_pass", "_reason")
RESERVED = frozenset(COLUMNS)


def scorer_columns(name: str) -> list[str]:
    """The columns one scorer adds."""
    return [name + suffix for suffix in SCORER_SUFFIXES]
