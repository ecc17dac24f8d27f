"""Run history: every run in the store, and what each variant scored in it.

::

    wb.runs()              # one row per (run, variant), newest first
    wb.runs("capitals")    # one experiment's runs

``prompt`` is the variant's fingerprint (a hash of its templates, model and parameters, not its
name), so a reworded prompt shows as a new fingerprint even when its name stayed the same;
``dataset`` is the dataset's fingerprint: compare pass rates only where it is the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.analysis.run import analyze
from workbench.config import get_settings
from workbench.engine.store import open_readonly
from workbench.results.table import RunTable

__all__ = ["headline", "runs"]

COLUMNS = [
    "run_id",
    "experiment",
    "kind",
    "started",
    "status",
    "dataset",
    "variant",
    "prompt",
    "model",
    "scorer",
    "rows",
    "pass_rate",
    "pass_low",
    "pass_high",
    "errors",
    "cost_usd",
    "cells",
    "cached",
    "spent_usd",
]


def headline(table: RunTable, fingerprints: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per variant: fingerprint, model, rows, the first scorer's pass rate with its interval
    (repeats reduced by the default reducer), errors and cost — what the history shows."""
    summary = analyze(table).summary()
    scorer = table.scorers[0] if table.scorers else None
    out: list[dict[str, Any]] = []
    for rec in summary.to_dict("records"):
        item = {
            "variant": rec["variant"],
            "prompt": fingerprints.get(rec["variant"], ""),
            "model": rec["model"],
            "rows": int(rec["rows"]),
            "errors": int(rec["errors"]),
            "cost_usd": _number(rec["cost_usd"]),
            "scorer": scorer,
        }
        if scorer is not None:
            for key in ("pass_rate", "pass_low", "pass_high"):
                item[key] = _number(rec[f"{scorer}_{key}"])
        out.append(item)
    return out


def _number(value: Any) -> float | None:
    """A float, or None for a missing value (no row scored, no price)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def runs(experiment: str | None = None, *, store: str | Path | None = None) -> pd.DataFrame:
    """Past runs in the store (default: the configured one), newest first: one row per (run,
    variant) with the variant's prompt fingerprint, model and headline score; a run that was
    stopped before scoring has one row with the run's counts only. ``kind`` is run, check
    (``workbench check``) or export (``workbench export``); ``status`` is complete, budget,
    interrupted (stopped cleanly), failed (an error ended it), killed (its process died) or
    running. Reads only: a missing store is an empty history."""
    path = Path(store) if store is not None else get_settings().store_path
    if path.is_dir():
        path = path / "store.sqlite"
    opened = open_readonly(path)
    if opened is None:
        return pd.DataFrame(columns=COLUMNS)
    with opened:
        history = opened.runs(experiment)
    rows: list[dict[str, Any]] = []
    for run in history:
        summary = run["summary"] or {}
        base = {
            "run_id": run["run_id"],
            "experiment": run["experiment"],
            "kind": run["kind"],
            "started": pd.Timestamp(run["started"], unit="s", tz="UTC"),
            "status": run["status"],
            "dataset": summary.get("dataset"),
            "cells": summary.get("cells"),
            "cached": summary.get("cached"),
            "spent_usd": summary.get("spent_usd"),
        }
        variants = summary.get("variants") or [{}]
        rows.extend({**base, **v} for v in variants)
    return pd.DataFrame(rows, columns=COLUMNS)
