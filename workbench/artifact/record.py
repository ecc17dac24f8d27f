"""Build the evaluation record and the per-row evidence of one variant from Results (pure).

The record (``eval.json``, ``schema_version`` 1) holds what a reader needs to trust the prompt and
what ``workbench check`` needs to run the evaluation again: dataset path and fingerprint, rows and
repeats, scorer specs, per-variant metrics with 95% intervals, the comparison with the runner-up,
cost, latency, model and params, an estimated token budget, and provenance. Its timestamp is when
the run finished, not when it was exported, so exporting the same results twice gives the same
bytes. The export adds ``dotprompt`` (why there is no ``prompt.prompt``) when it wrote none.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.artifact.store import EVAL_SCHEMA, normalize
from workbench.errors import ArtifactError
from workbench.results.columns import RESERVED, scorer_columns
from workbench.results.table import Results
from workbench.tokens.estimate import estimate_tokens

__all__ = ["build_evidence", "build_record", "git_commit", "label_columns", "runner_up"]

_LABEL_NAMES = ("human", "label", "labels")


def label_columns(columns: Sequence[str]) -> list[str]:
    """Dataset columns holding human labels: ``human``, ``label(s)``, ``human_*``, ``label_*``."""
    return [c for c in columns if c in _LABEL_NAMES or c.startswith(("human_", "label_"))]


def git_commit(where: Path) -> str | None:
    """The commit checked out in the git repository around ``where``, if there is one."""
    folder = where.resolve()
    while not folder.exists():
        folder = folder.parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def runner_up(res: Results, winner: str, scorer: str | None) -> str | None:
    """The best-ranked variant other than ``winner``."""
    others = [str(v) for v in res.leaderboard(scorer)["variant"] if str(v) != winner]
    return others[0] if others else None


def _spec(res: Results) -> Mapping[str, Any]:
    spec = res.meta.get("spec")
    if not isinstance(spec, Mapping):
        raise ArtifactError(
            "These results do not say how they were made (no meta['spec']); run the "
            "experiment again with this version of workbench, then export."
        )
    return spec


def variant_spec(res: Results, variant: str) -> dict[str, Any]:
    """The variant's spec with its model resolved to the one that actually ran."""
    for spec in _spec(res)["variants"]:
        if spec["name"] == variant:
            out = dict(spec)
            models = res.df.loc[res.df["variant"] == variant, "model"]
            if len(models):
                out["model"] = str(models.iloc[0])
            return out
    raise ArtifactError(f"No variant '{variant}' in these results; variants: {res.variants}.")


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


def _comparison(res: Results, a: str | None, b: str, scorer: str | None) -> dict[str, Any] | None:
    if a is None or scorer is None:
        return None
    c = res.compare(a, b, scorer=scorer)
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
        "p_value": c.p_value,
        "significant": c.significant,
        "wins": c.wins,
        "ties": c.ties,
        "losses": c.losses,
        "verdict": str(c),
    }


def _token_budget(res: Results, variant: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    from workbench.models.catalog import model_info

    rows = res.df[res.df["variant"] == variant]
    messages = json.loads(str(rows["messages"].iloc[0])) if len(rows) else []
    try:
        window = model_info(str(spec["model"])).context_window
    except Exception:  # an unknown model has no catalog entry: the budget still stands
        window = None
    return {
        "input_tokens": estimate_tokens(messages),
        "estimate": True,
        "method": "about 4 characters a token plus per-message overhead, on the first row",
        "max_output_tokens": dict(spec.get("params") or {}).get("max_tokens"),
        "context_window": window,
    }


def build_record(
    res: Results,
    variant: str,
    *,
    name: str,
    where: Path,
    notebook: str | None = None,
) -> dict[str, Any]:
    """The evaluation record of ``variant`` (plain JSON data, floats normalised)."""
    from workbench import __version__

    spec = _spec(res)
    primary = res.scorers[0] if res.scorers else None
    second = runner_up(res, variant, primary)
    summary = res.summary()
    finished = res.meta.get("finished")
    when = (
        datetime.fromtimestamp(float(finished), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(finished, (int, float))
        else None
    )
    dataset = dict(spec["dataset"])
    vspec = variant_spec(res, variant)
    record = {
        "schema_version": EVAL_SCHEMA,
        "name": name,
        "experiment": res.experiment,
        "run_id": res.run_id,
        "status": res.status,
        "evaluated_at": when,
        "variant": variant,
        "variant_spec": vspec,
        "model": vspec["model"],
        "params": dict(vspec.get("params") or {}),
        "dataset": {
            "path": res.meta.get("dataset_path"),
            "source": dataset.get("source"),
            "fingerprint": dataset.get("fingerprint"),
            "rows": dataset.get("rows"),
            "columns": list(res.meta.get("dataset_columns") or []),
            "id_column": res.meta.get("id_column"),
        },
        "repeats": spec.get("repeats"),
        "reducer": str(summary["reducer"].iloc[0]) if len(summary) else None,
        "scorers": [dict(s) for s in spec.get("scorers", [])],
        "scorer_columns": list(res.scorers),
        "primary_scorer": primary,
        "variants": _metrics(summary, res.scorers),
        "runner_up": second,
        "comparison": _comparison(res, second, variant, primary),
        "cost": {
            "calls_usd": res.meta.get("spent_usd"),
            "scoring_usd": res.meta.get("scoring_usd"),
        },
        "token_budget": _token_budget(res, variant, vspec),
        "provenance": {
            "workbench": __version__,
            "python": platform.python_version(),
            "git_commit": git_commit(where),
            "notebook": notebook or res.meta.get("notebook"),
        },
    }
    out = normalize(record)
    assert isinstance(out, dict)
    return out


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def build_evidence(
    res: Results, variants: Sequence[str], labels: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One record per (variant, row, repeat) of ``variants``: inputs, output, scores, labels."""
    columns = list(res.meta.get("dataset_columns") or [])
    label_cols = list(labels) if labels is not None else label_columns(columns)
    renamed = {c: (f"input.{c}" if c in RESERVED else c) for c in columns}
    out: list[dict[str, Any]] = []
    for variant in variants:
        part = res.df[res.df["variant"] == variant]
        for row in part.to_dict(orient="records"):
            scores = {}
            for s in res.scorers:
                value, passed, reason = scorer_columns(s)
                scores[s] = {
                    "value": _cell(row[value]),
                    "passed": _cell(row[passed]),
                    "reason": _cell(row[reason]),
                }
            out.append(
                {
                    "variant": variant,
                    "row_id": str(row["row_id"]),
                    "repeat": _cell(row["repeat"]),
                    "inputs": {c: _cell(row[renamed[c]]) for c in columns if c not in label_cols},
                    "labels": {c: _cell(row[renamed[c]]) for c in label_cols if c in renamed},
                    "output": _cell(row["output"]),
                    "error": _cell(row["error"]),
                    "finish_reason": _cell(row["finish_reason"]),
                    "input_tokens": _cell(row["input_tokens"]),
                    "output_tokens": _cell(row["output_tokens"]),
                    "latency_ms": _cell(row["latency_ms"]),
                    "cost_usd": _cell(row["cost_usd"]),
                    "scores": scores,
                }
            )
    return [dict(normalize(r)) for r in out]
