"""Build the evaluation record and the per-row evidence of one variant from Results (pure).

The record (``eval.json``, ``schema_version`` 1) holds what a reader needs to trust the prompt and
what ``workbench check`` needs to run the evaluation again: dataset path and fingerprint, rows and
repeats, scorer specs, per-variant metrics with 95% intervals, the comparison with the runner-up
(with the confidence and kind of its interval), the run's whole verdict (every claim with its
test, interval and adjusted p-value), cost, latency, model and params, an estimated token
budget, and provenance. Fields are only ever added; older records lack ``verdict``,
``comparison.confidence`` and ``comparison.interval`` (their interval was a paired bootstrap). Its timestamp is when
the run finished, not when it was exported, so exporting the same results twice gives the same
bytes. The export adds ``dotprompt`` (why there is no ``prompt.prompt``) when it wrote none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.analysis.run import analyze
from workbench.artifact.store import EVAL_SCHEMA, normalize
from workbench.errors import ArtifactError, ConfigError
from workbench.models.catalog import model_info
from workbench.plain import plain
from workbench.results.columns import EVIDENCE, scorer_columns
from workbench.results.frame import input_column
from workbench.results.table import RunTable
from workbench.tokens.estimate import estimate_tokens
from workbench.version import git_commit

__all__ = [
    "build_evidence",
    "build_record",
    "evidence_variants",
    "git_commit",
    "label_columns",
    "runner_up",
]

_LABEL_NAMES = ("human", "label", "labels")


def label_columns(columns: Sequence[str]) -> list[str]:
    """Dataset columns holding human labels: ``human``, ``label(s)``, ``human_*``, ``label_*``."""
    return [c for c in columns if c in _LABEL_NAMES or c.startswith(("human_", "label_"))]


def runner_up(table: RunTable, winner: str, scorer: str | None) -> str | None:
    """The best-ranked variant other than ``winner``."""
    board = analyze(table).leaderboard(scorer)
    others = [str(v) for v in board["variant"] if str(v) != winner]
    return others[0] if others else None


def evidence_variants(table: RunTable, winner: str, second: str | None) -> list[str]:
    """Whose rows go into the evidence: the winner, the runner-up, and the baseline of every
    pairwise scorer (``workbench check`` judges the new outputs against the baseline's)."""
    names = [winner] + ([second] if second else [])
    for spec in table.record.scorers:
        baseline = (
            (spec.get("args") or {}).get("baseline") if spec.get("name") == "pairwise" else None
        )
        if isinstance(baseline, str) and baseline in table.variants and baseline not in names:
            names.append(baseline)
    return names


def variant_spec(table: RunTable, variant: str) -> dict[str, Any]:
    """The variant's spec, its model the one that actually ran."""
    try:
        return table.record.variant(variant).spec()
    except KeyError:
        raise ArtifactError(
            f"No variant '{variant}' in these results; variants: {table.variants}."
        ) from None


def _metrics(summary: pd.DataFrame, scorers: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in summary.to_dict(orient="records"):
        scores = {
            s: {
                key: row.get(f"{s}_{key}")
                for key in ("pass_rate", "pass_low", "pass_high", "mean", "mean_low", "mean_high")
            }
            for s in scorers
        }
        out[str(row["variant"])] = {
            "model": row["model"],
            "rows": row["rows"],
            "calls": row["n"],
            "errors": row["errors"],
            "not_run": row["not_run"],
            "scores": scores,
            "cost_usd": row["cost_usd"],
            "scoring_cost_usd": row["scoring_cost_usd"],
            "input_tokens_mean": row["input_tokens"],
            "output_tokens_mean": row["output_tokens"],
            "latency_ms": {
                "mean": row["latency_mean_ms"],
                "p50": row["latency_p50_ms"],
                "p95": row["latency_p95_ms"],
            },
            "stability": row["stability"],
        }
    return out


def _comparison(
    table: RunTable, a: str | None, b: str, scorer: str | None
) -> dict[str, Any] | None:
    if a is None or scorer is None:
        return None
    c = analyze(table).compare(a, b, scorer=scorer)
    return {
        "baseline": a,
        "candidate": b,
        "scorer": scorer,
        "test": c.test,
        "n": c.n,
        "baseline_value": c.a_value,
        "candidate_value": c.b_value,
        "diff": c.diff,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "confidence": c.confidence,
        "interval": c.interval,
        "p_value": c.p_value,
        "significant": c.significant,
        "wins": c.wins,
        "ties": c.ties,
        "losses": c.losses,
        "verdict": str(c),
    }


def _token_budget(table: RunTable, variant: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    rows = table.df[table.df["variant"] == variant]
    messages = json.loads(str(rows["messages"].iloc[0])) if len(rows) else []
    try:
        window = model_info(str(spec["model"])).context_window
    except ConfigError:  # e.g. a local model not installed here: the budget still stands
        window = None
    return {
        "input_tokens": estimate_tokens(messages),
        "estimate": True,
        "method": "about 4 characters a token plus per-message overhead, on the first row",
        "max_output_tokens": dict(spec.get("params") or {}).get("max_tokens"),
        "context_window": window,
    }


def build_record(
    table: RunTable,
    variant: str,
    *,
    name: str,
    where: Path,
    notebook: str | None = None,
) -> dict[str, Any]:
    """The evaluation record of ``variant`` (plain JSON data, floats normalised)."""

    run = table.record
    primary = table.scorers[0] if table.scorers else None
    second = runner_up(table, variant, primary)
    summary = analyze(table).summary()
    when = datetime.fromtimestamp(run.finished, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    vspec = variant_spec(table, variant)
    record = {
        "schema_version": EVAL_SCHEMA,
        "name": name,
        "experiment": run.experiment,
        "run_id": run.run_id,
        "status": run.status,
        "evaluated_at": when,
        "variant": variant,
        "variant_spec": vspec,
        "model": vspec["model"],
        "params": dict(vspec.get("params") or {}),
        "dataset": {
            "path": run.dataset.path,
            "source": run.dataset.source,
            "fingerprint": run.dataset.fingerprint,
            "rows": run.dataset.rows,
            "columns": list(run.dataset.columns),
            "id_column": run.dataset.id_column,
        },
        "repeats": run.repeats,
        "reducer": str(summary["reducer"].iloc[0]) if len(summary) else None,
        "scorers": [dict(s) for s in run.scorers],
        "scorer_columns": list(table.scorers),
        "primary_scorer": primary,
        "variants": _metrics(summary, table.scorers),
        "runner_up": second,
        "comparison": _comparison(table, second, variant, primary),
        "verdict": analyze(table).verdict().to_dict() if primary else None,
        "cost": {
            "calls_usd": run.spend.calls_usd,
            "scoring_usd": run.spend.scoring_usd,
        },
        "token_budget": _token_budget(table, variant, vspec),
        "provenance": {
            "workbench": run.environment.workbench,
            "python": run.environment.python,
            "git_commit": git_commit(where),
            "notebook": notebook,
        },
    }
    out = normalize(record)
    assert isinstance(out, dict)
    return out


def build_evidence(
    table: RunTable, variants: Sequence[str], labels: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One record per (variant, row, repeat) of ``variants``: inputs, labels, the result columns
    declared as evidence (:data:`~workbench.results.columns.EVIDENCE`) and the scores."""
    columns = list(table.record.dataset.columns)
    label_cols = list(labels) if labels is not None else label_columns(columns)
    out: list[dict[str, Any]] = []
    for variant in variants:
        part = table.df[table.df["variant"] == variant]
        for row in part.to_dict(orient="records"):
            scores = {}
            for s in table.scorers:
                value, passed, reason = scorer_columns(s)
                scores[s] = {
                    "value": plain(row[value]),
                    "passed": plain(row[passed]),
                    "reason": plain(row[reason]),
                }
            inputs = {c: plain(row[input_column(c)]) for c in columns}
            out.append(
                {
                    "variant": variant,
                    "row_id": str(row["row_id"]),
                    "repeat": plain(row["repeat"]),
                    "inputs": {c: v for c, v in inputs.items() if c not in label_cols},
                    "labels": {c: inputs[c] for c in label_cols if c in inputs},
                    **{name: plain(row[name]) for name in EVIDENCE},
                    "scores": scores,
                }
            )
    return [dict(normalize(r)) for r in out]
