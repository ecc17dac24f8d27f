"""From the tidy results table to per-row and per-variant figures: repeats reduced to one result
per row, per-variant summaries with intervals, and the ranking. Paired comparisons are in
:mod:`workbench.analysis.compare`, verdicts in :mod:`workbench.analysis.verdict`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from workbench.analysis.intervals import bootstrap_mean_interval, describe_latency, wilson_interval
from workbench.errors import WorkbenchError
from workbench.providers.tools import signatures
from workbench.scoring.reducers import Reducer
from workbench.tokens.reasoning import suggest_max_tokens

__all__ = ["answers", "by_row", "rank", "starved_notes", "summarize"]


def _ran(df: pd.DataFrame) -> pd.DataFrame:
    errors = df["error"].astype("string")
    return df[~errors.str.startswith("not run", na=False)]


def answers(df: pd.DataFrame) -> pd.Series:
    """What each repeat answered, for telling repeats apart: the output text, and the
    signatures (name + canonical arguments) of the tools it called, whatever their ids."""
    if "tool_calls" not in df.columns:
        return df["output"]
    calls = [signatures(c) if isinstance(c, list) else "" for c in df["tool_calls"]]
    return pd.Series(
        [
            o if not c else f"{'' if o is None else o}\x1f{c}"
            for o, c in zip(df["output"], calls, strict=True)
        ],
        index=df.index,
        dtype=object,
    )


def by_row(df: pd.DataFrame, scorer: str, reducer: Reducer) -> pd.DataFrame:
    """One row per (variant, row_id): repeats n, passes c, the reducer's value and verdict,
    the mean score, and how many distinct answers (output and tool calls) the repeats gave. Rows
    a scorer only gave
    values (no pass/fail, e.g. a custom score) reduce to the mean value, with no verdict."""
    ran = _ran(df)
    passes = ran[f"{scorer}_pass"].astype("boolean")
    scores = pd.to_numeric(ran[scorer], errors="coerce")
    frame = pd.DataFrame(
        {
            "variant": ran["variant"],
            "row_id": ran["row_id"],
            "scored": passes.notna(),
            "valued": passes.isna() & scores.notna(),
            "passed": passes.fillna(False).astype(bool),
            "score": scores,
            "output": answers(ran),
        }
    )
    grouped = frame.groupby(["variant", "row_id"], sort=False)
    out = grouped.agg(
        n=("scored", "sum"),
        valued=("valued", "sum"),
        passes=("passed", "sum"),
        score=("score", "mean"),
        distinct_outputs=("output", "nunique"),
        repeats=("output", "size"),
    ).reset_index()
    reduced = [
        reducer(int(n), int(c)) if n else ((float(s), None) if v else (math.nan, None))
        for n, c, v, s in zip(out["n"], out["passes"], out["valued"], out["score"], strict=True)
    ]
    out["n"] = out["n"].where(out["n"] > 0, out["valued"])
    out = out.drop(columns="valued")
    out["value"] = [v for v, _ in reduced]
    out["row_pass"] = pd.array([p for _, p in reduced], dtype="boolean")
    return out


def _check_reducer(rows: pd.DataFrame, reducer: Reducer) -> None:
    scored = rows[rows["n"] > 0]
    if len(scored) and (scored["n"] < reducer.min_repeats).all():
        raise WorkbenchError(
            f"Reducer {reducer} needs at least {reducer.min_repeats} scored repeats per row; "
            f"this run has at most {int(scored['n'].max())}. Run with more repeats."
        )


def summarize(
    df: pd.DataFrame,
    variants: Sequence[str],
    scorers: Sequence[str],
    reducer: Reducer,
    seed: int = 0,
) -> pd.DataFrame:
    """Per variant: rows, calls, errors, cached; per scorer a pass rate (Wilson 95% interval over
    rows, or a bootstrap interval when the reducer gives probabilities) and a mean score
    (bootstrap interval); tokens (mean input and output; summed reasoning, cached-input and
    cache-write tokens), replies starved by their reasoning, cost, latency (mean, p50, p95),
    time to first token (p50) and stability."""
    tables = {s: by_row(df, s, reducer) for s in scorers}
    for rows in tables.values():
        _check_reducer(rows, reducer)
    out = []
    for variant in variants:
        part = df[df["variant"] == variant]
        ran = _ran(part)
        ok = ran[ran["error"].isna()]
        row: dict[str, Any] = {
            "variant": variant,
            "model": part["model"].iloc[0] if len(part) else None,
            "reducer": str(reducer),
            "rows": int(part["row_id"].nunique()),
            "n": len(part),
            "errors": int(ran["error"].notna().sum()),
            "not_run": len(part) - len(ran),
            "cached": int(part["cached"].sum()),
        }
        for name in scorers:
            rows = tables[name]
            mine = rows[(rows["variant"] == variant) & (rows["n"] > 0)]
            row.update(_rate(name, mine, seed))
        row["input_tokens"] = _mean(ok["input_tokens"])
        row["output_tokens"] = _mean(ok["output_tokens"])
        for usage in ("reasoning_tokens", "cached_input_tokens", "cache_write_tokens"):
            row[f"{usage}_sum"] = _sum(ok.get(usage))
        row["starved"] = (
            int(ok["starved"].fillna(False).astype(bool).sum()) if "starved" in ok else 0
        )
        row["cost_usd"] = _known_sum(part["cost_usd"])
        row["scoring_cost_usd"] = _known_sum(part["scoring_cost_usd"])
        latency = describe_latency(pd.to_numeric(ok["latency_ms"], errors="coerce").to_numpy())
        row["latency_mean_ms"] = latency["mean"]
        row["latency_p50_ms"] = latency["p50"]
        row["latency_p95_ms"] = latency["p95"]
        ttft = pd.to_numeric(ok.get("ttft_ms", pd.Series(dtype=float)), errors="coerce").dropna()
        row["ttft_p50_ms"] = float(ttft.median()) if len(ttft) else None
        row["stability"] = _stability(ok)
        out.append(row)
    frame = pd.DataFrame(out)
    frame.attrs["reducer"] = str(reducer)
    return frame


def _known_sum(values: pd.Series) -> float | None:
    """The sum of costs, or None when one is unknown (a model without a price)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return None if numbers.isna().any() else float(numbers.sum())


def _rate(name: str, mine: pd.DataFrame, seed: int) -> dict[str, float | None]:
    n = len(mine)
    if n and mine["row_pass"].notna().all():
        c = int(mine["row_pass"].astype(bool).sum())
        low, high = wilson_interval(c, n)
        rate: float | None = c / n
    elif n:
        values = mine["value"].to_numpy(dtype=float)
        rate = float(values.mean())
        low, high = bootstrap_mean_interval(values, seed=seed)
    else:
        rate, low, high = None, math.nan, math.nan
    scores = mine["score"].dropna().to_numpy(dtype=float)
    mean = float(scores.mean()) if scores.size else None
    m_low, m_high = bootstrap_mean_interval(scores, seed=seed) if scores.size else (math.nan,) * 2
    return {
        f"{name}_pass_rate": rate,
        f"{name}_pass_low": low,
        f"{name}_pass_high": high,
        f"{name}_mean": mean,
        f"{name}_mean_low": m_low,
        f"{name}_mean_high": m_high,
    }


def _sum(series: pd.Series | None) -> int | None:
    """The sum of the known counts; None when the provider reported none."""
    if series is None:
        return None
    values = pd.to_numeric(series, errors="coerce").dropna()
    return int(values.sum()) if len(values) else None


def starved_notes(df: pd.DataFrame) -> list[str]:
    """One note per variant with replies left empty because reasoning used the whole output
    budget, with the ``max_tokens`` that would fit the reasoning seen across its calls."""
    if "starved" not in df:
        return []
    notes = []
    ok = df[df["error"].isna()]
    for variant, part in ok.groupby("variant", sort=False):
        starved = part["starved"].fillna(False).astype(bool)
        if not starved.any():
            continue
        spent = pd.to_numeric(part.loc[starved, "output_tokens"], errors="coerce").dropna()
        thought = pd.to_numeric(part["reasoning_tokens"], errors="coerce")
        answers = pd.to_numeric(part.loc[~starved, "output_tokens"], errors="coerce")
        answers = (answers - thought[~starved].fillna(0)).dropna()
        fix = "raise max_tokens"
        if len(spent):
            limit = int(spent.max())
            known = [int(v) for v in thought.dropna()]
            fix = (
                f"max_tokens {limit}): raise max_tokens to about "
                f"{suggest_max_tokens(limit, known, [int(v) for v in answers])}"
            )
        else:
            fix = f"{fix})"
        notes.append(
            f"{variant}: {int(starved.sum())} of {len(part)} replies came back empty because "
            f"reasoning used the whole output budget ({fix}; such replies are unscored."
        )
    return notes


def _mean(series: pd.Series) -> float | None:
    values = pd.to_numeric(series, errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


def _stability(ok: pd.DataFrame) -> float | None:
    """Share of rows whose repeats all gave the same answer: output and tool-call signatures
    (None with one repeat)."""
    groups = ok.assign(_answer=answers(ok)).groupby("row_id")["_answer"]
    sizes = groups.size()
    multi = sizes[sizes > 1].index
    if not len(multi):
        return None
    return float((groups.nunique()[multi] == 1).mean())


def rank(summary: pd.DataFrame, scorer: str | None) -> pd.DataFrame:
    """Variants ordered best first: by the scorer's pass rate (or mean value), then fewer
    errors, then lower cost; with a ``rank`` column."""
    keys, ascending = ["errors", "cost_usd"], [True, True]
    if scorer:
        keys.insert(0, f"{scorer}_pass_rate")
        ascending.insert(0, False)
    ranked = summary.sort_values(keys, ascending=ascending, na_position="last", kind="stable")
    ranked = ranked.reset_index(drop=True)
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    return ranked
