"""The data the report's grid reads: every dataset row with each variant's repeats, as compact
JSON (message texts stored once and referred to by number)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.plain import plain
from workbench.results.columns import RESERVED, SCORER_SUFFIXES
from workbench.results.table import RunTable

__all__ = ["LIMIT", "grid_payload"]

LIMIT = 20_000
"""Characters kept of one text (an input, a message, an output); the rest is summarised."""
_REPEAT = ("output", "error", "input_tokens", "output_tokens", "latency_ms", "cost_usd", "cached")


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > LIMIT:
        return value[:LIMIT] + f"… ({len(value) - LIMIT:,} more characters)"
    return value


def input_columns(df: pd.DataFrame, scorers: Sequence[str]) -> list[str]:
    """The dataset's columns in the table (what is neither a result nor a scorer column)."""
    taken = {s + x for s in scorers for x in SCORER_SUFFIXES}
    return [c for c in df.columns if c not in RESERVED and c not in taken]


class _Strings:
    """Texts stored once (system prompts repeat on every row)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._at: dict[str, int] = {}

    def ref(self, text: str) -> int:
        if text not in self._at:
            self._at[text] = len(self.items)
            self.items.append(_cut(text))
        return self._at[text]


def _messages(value: Any, strings: _Strings) -> list[list[Any]]:
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        parsed = [{"role": "?", "content": value}]
    return [
        [str(m.get("role", "?")), strings.ref(str(m.get("content", "")))]
        for m in parsed or []
        if isinstance(m, dict)
    ]


def grid_payload(table: RunTable) -> dict[str, Any]:
    """``variants``, ``scorers``, ``inputs``, ``strings`` and ``rows``: per row its id, input
    values and a cell per variant (None when absent) holding the messages sent (``m``: role and
    string number) and each repeat (``r``: output, error, input and output tokens, latency,
    cost, cached, human label, comment, then per scorer value, passed and reason)."""
    df = table.df
    scorers, variants = table.scorers, table.variants
    inputs = input_columns(df, scorers)
    strings = _Strings()
    scored = [c for s in scorers for c in (s, f"{s}_pass", f"{s}_reason")]
    columns = ["row_id", "variant", *_REPEAT, "human_label", "human_comment", *scored]
    ordered = df.sort_values(["repeat"], kind="stable")
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for messages, values in zip(
        ordered["messages"], ordered[columns].itertuples(index=False, name=None), strict=True
    ):
        key = (str(values[0]), str(values[1]))
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = {"m": _messages(messages, strings), "r": []}
        cell["r"].append([_cut(v) for v in plain(list(values[2:]))])
    rows = []
    first = df.drop_duplicates("row_id")
    for row_id, values in zip(
        first["row_id"], first[inputs].itertuples(index=False, name=None), strict=True
    ):
        rows.append(
            {
                "id": plain(row_id),
                "in": [_cut(v) for v in plain(list(values))],
                "c": [cells.get((str(row_id), v)) for v in variants],
            }
        )
    return {
        "variants": list(variants),
        "scorers": list(scorers),
        "inputs": inputs,
        "strings": strings.items,
        "rows": rows,
    }
