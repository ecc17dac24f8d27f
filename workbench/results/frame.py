"""Build the results table of a run from its cells, outcomes, scores and labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from workbench.engine.plan import Plan
from workbench.engine.runner import CellOutcome
from workbench.results.columns import COLUMNS, RESERVED, CellFacts, scorer_columns
from workbench.scoring.base import Score

__all__ = ["NOT_RUN", "NOT_RUN_PREFIX", "build_frame", "input_column"]

NOT_RUN_PREFIX = "not run"
"""How the error text of every cell that never ran begins."""
NOT_RUN = {"budget": f"{NOT_RUN_PREFIX}: stopped at the budget"}
"""The error text of cells that never ran, by how the run ended (else 'not run: interrupted')."""


def input_column(name: str) -> str:
    """The table column holding dataset column ``name`` (``input.<name>`` when it clashes)."""
    return f"input.{name}" if name in RESERVED else name


def build_frame(
    plan: Plan,
    outcomes: Sequence[CellOutcome | None],
    scores: Sequence[Sequence[Score]],
    scorers: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    labels: Mapping[tuple[str, str, int], tuple[str, str]],
    status: str,
) -> pd.DataFrame:
    """One row per cell: ``row_id``, the dataset's columns, :data:`COLUMNS`, then the scorers'."""
    not_run = NOT_RUN.get(status, f"{NOT_RUN_PREFIX}: interrupted")
    first, rest = COLUMNS[0], COLUMNS[1:]
    records: list[dict[str, Any]] = []
    for cell, cell_scores in zip(plan.cells, scores, strict=True):
        facts = CellFacts(
            cell,
            outcomes[cell.index],
            cell_scores,
            labels.get((str(cell.row_id), cell.variant, cell.repeat)),
            not_run,
        )
        record: dict[str, Any] = {first.name: first.value(facts)}
        for column, value in rows[cell.row_index].items():
            record[input_column(column)] = value
        for spec in rest:
            record[spec.name] = spec.value(facts)
        for name, score in zip(scorers, cell_scores, strict=True):
            value, passed, reason = scorer_columns(name)
            record[value], record[passed], record[reason] = score.value, score.passed, score.reason
        records.append(record)
    df = pd.DataFrame.from_records(records)
    for spec in COLUMNS:
        if spec.dtype is not None and spec.name in df:
            df[spec.name] = df[spec.name].astype(pd.api.types.pandas_dtype(spec.dtype))
    for name in scorers:
        df[f"{name}_pass"] = df[f"{name}_pass"].astype("boolean")
    return df
