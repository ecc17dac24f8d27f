"""Scorers made of scorers: a weighted set with a pass threshold, and a check that applies only
to the rows that ask for it.

Both nest the inner scorers' specs, so :func:`~workbench.scoring.base.build_scorer` rebuilds
them from YAML or an exported record::

    {"name": "weighted", "args": {"scorers": [<spec>, <spec>], "weights": [2, 1],
                                  "threshold": 0.5}}
    {"name": "when", "args": {"column": "expect_contains", "scorer": <spec>}}
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.errors import ScorerError
from workbench.scoring.base import (
    PlannedCall,
    Score,
    ScoreContext,
    Scorer,
    add_cost,
    build_scorer,
    register_builder,
)

__all__ = ["weighted", "when"]


def _inner(spec: Scorer | Mapping[str, Any] | str, where: str) -> Scorer:
    if isinstance(spec, Scorer):
        return spec
    if isinstance(spec, (str, Mapping)):
        return build_scorer(spec)
    raise ScorerError(f"Scorer '{where}': {spec!r} is not a scorer or a scorer spec.")


def _spec(inner: Scorer) -> dict[str, Any]:
    return {**inner.spec, "args": dict(inner.spec.get("args") or {})}


def _named(
    base: str, default: str, name: str | None, negate: bool, args: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    column = name or default
    if negate:
        args["negate"] = True
    if column != default:
        args["name"] = column
    return column, {"name": base, "args": args}


def weighted(
    scorers: Sequence[Scorer | Mapping[str, Any] | str],
    weights: Sequence[float] | None = None,
    threshold: float | None = None,
    *,
    name: str | None = None,
    negate: bool = False,
) -> Scorer:
    """Several scorers as one: the value is the weighted mean of their values (a pass without
    a value counts 1, a fail 0; unscored ones are left out); it passes when that mean reaches
    ``threshold``, or, without one, when every scorer of weight > 0 passes. A weight of 0 keeps
    a scorer's reason in view without counting it (promptfoo's ``assert-set`` and test
    ``threshold``). The column is ``weighted`` unless ``name=``."""
    if isinstance(scorers, (str, Mapping)) or not scorers:
        raise ScorerError("Scorer 'weighted': give a list of scorers (or specs).")
    inner = [_inner(s, "weighted") for s in scorers]
    given = [1.0] * len(inner) if weights is None else list(weights)
    if len(given) != len(inner) or any(
        isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 or math.isnan(w)
        for w in given
    ):
        raise ScorerError(
            f"Scorer 'weighted': weights must be {len(inner)} numbers >= 0, got {weights!r}."
        )
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float))
    ):
        raise ScorerError(f"Scorer 'weighted': threshold must be a number, not {threshold!r}.")
    args: dict[str, Any] = {"scorers": [_spec(s) for s in inner]}
    if weights is not None:
        args["weights"] = list(given)
    if threshold is not None:
        args["threshold"] = threshold
    column, spec = _named("weighted", "weighted", name, negate, args)

    async def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        total = counted = 0.0
        cost: float | None = 0.0
        passed, reasons = True, []
        for scorer, weight in zip(inner, given, strict=True):
            score = await scorer.score(output, row, ctx)
            cost = add_cost(cost, score.cost_usd)
            if score.passed is None and score.value is None:
                continue
            value = score.value if score.value is not None else float(bool(score.passed))
            total += weight * value
            counted += weight
            if weight > 0 and score.passed is False:
                passed = False
            reasons.append(f"{scorer.name}: {score.reason}" if score.reason else scorer.name)
        if not reasons:
            return Score(None, None, "no scorer of the set applied", cost)
        mean = total / counted if counted else 1.0
        ok = mean >= threshold - 1e-9 if threshold is not None else passed
        rule = f" {'>=' if ok else '<'} {threshold:g}" if threshold is not None else ""
        return Score(mean, ok, f"weighted {mean:.2f}{rule}; " + "; ".join(reasons), cost)

    def plan(row: Mapping[str, Any], ctx: ScoreContext, output: str | None) -> list[PlannedCall]:
        return [call for s in inner if s.plan is not None for call in s.plan(row, ctx, output)]

    return Scorer(
        column,
        spec,
        check,
        frozenset().union(*(s.variables for s in inner)),
        negate,
        tuple(dict.fromkeys(m for s in inner for m in s.models)),
        plan if any(s.plan is not None for s in inner) else None,
    )


def when(
    column: str,
    scorer: Scorer | Mapping[str, Any] | str,
    *,
    name: str | None = None,
    negate: bool = False,
) -> Scorer:
    """``scorer`` on the rows whose ``column`` holds a value; other rows are unscored (the
    check does not apply to them, as when only some promptfoo tests carry an assertion).
    The column is the inner scorer's name unless ``name=``."""
    if not isinstance(column, str) or not column:
        raise ScorerError(f"Scorer 'when': column must name a dataset column, not {column!r}.")
    inner = _inner(scorer, "when")
    label, spec = _named(
        "when", inner.name, name, negate, {"column": column, "scorer": _spec(inner)}
    )

    def applies(row: Mapping[str, Any]) -> bool:
        value = row.get(column)
        return not (
            value is None or value == "" or (isinstance(value, float) and math.isnan(value))
        )

    async def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        if not applies(row):
            return Score(None, None, f"does not apply to this row ({column} is empty)")
        return await inner.score(output, row, ctx)

    def plan(row: Mapping[str, Any], ctx: ScoreContext, output: str | None) -> list[PlannedCall]:
        return inner.plan(row, ctx, output) if inner.plan is not None and applies(row) else []

    return dataclasses.replace(
        inner,
        name=label,
        spec=spec,
        fn=check,
        variables=inner.variables | {column},
        negate=negate,
        plan=plan if inner.plan is not None else None,
    )


register_builder("weighted", weighted)
register_builder("when", when)
