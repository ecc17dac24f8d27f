"""What a run will cost, before any call: the grid's calls and the judge calls it can plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from workbench.engine.plan import Call, Plan, make_call
from workbench.engine.store import Store
from workbench.models.catalog import price_hint
from workbench.models.resolved import Model, resolve
from workbench.prompts.variant import Variant
from workbench.providers.base import Response
from workbench.scoring.base import Scorer
from workbench.scoring.stage import planning_context

__all__ = ["Estimate", "estimate_run"]


@dataclass(frozen=True)
class Estimate:
    """Calls, tokens and cost of running an experiment now (cached calls are free).

    Input tokens are estimated before sending (exact counts come back with each reply); output
    is bounded by each call's ``max_tokens`` (or what its provider reserves), so ``cost_usd`` is
    an upper bound. Judge calls are planned from the scorers: exactly where the graded outputs
    are already cached, otherwise as if each output used every allowed token. ``cost_usd`` is
    None when a model that would be called has no price (``unpriced`` names them).

    The ``batch_*`` figures are the same run in provider batches (``mode="batch"``): calls to
    a provider with a batch API at its batch price, the others (``realtime_only``) in real time.
    """

    cells: int
    """(row, variant, repeat) cells in the experiment."""
    cached: int
    """Cells already answered in the store."""
    calls: int
    """Provider calls the grid would make now (identical requests collapse into one)."""
    input_tokens: int
    max_output_tokens: int
    cost_usd: float | None
    by_variant: pd.DataFrame
    judge_calls: int = 0
    """Scorer (LLM judge) calls a run would make, at most."""
    judge_cost_usd: float | None = 0.0
    """Their most possible cost (None: a judge model is unpriced)."""
    by_scorer: pd.DataFrame = field(default_factory=pd.DataFrame)
    unpriced: tuple[str, ...] = ()
    """Models that would be called and have no price."""
    batch_cost_usd: float | None = 0.0
    """Most the grid's calls could cost in a batch run."""
    judge_batch_cost_usd: float | None = 0.0
    """Most the judge calls could cost in a batch run (their second phase)."""
    realtime_only: tuple[str, ...] = ()
    """Models that would be called whose provider has no batch API: a batch run calls them in
    real time."""
    in_batches: int = 0
    """Cells waiting in provider batches submitted before: paid for, so a batch run collects
    them at no cost (``batch_*`` leaves them out); a real-time run would call them again."""

    @property
    def total_cost_usd(self) -> float | None:
        """Most the whole run could cost, grid and judges (None: something is unpriced)."""
        return _plus(self.cost_usd, self.judge_cost_usd)

    @property
    def total_batch_cost_usd(self) -> float | None:
        """Most the whole run could cost in provider batches (``mode="batch"``)."""
        return _plus(self.batch_cost_usd, self.judge_batch_cost_usd)

    def __str__(self) -> str:
        text = (
            f"{self.cells} cells: {self.cached} cached, {self.calls} calls to make, "
            f"~{self.input_tokens:,} input tokens (estimated), up to {self.max_output_tokens:,} "
            f"output tokens, cost {_usd(self.cost_usd)}"
        )
        if self.judge_calls or len(self.by_scorer):
            text += f"; scoring: {self.judge_calls} judge calls, cost {_usd(self.judge_cost_usd)}"
            text += f"; in all {_usd(self.total_cost_usd)}"
        if self.calls or self.judge_calls:
            text += f'; as a batch run (mode="batch") {_usd(self.total_batch_cost_usd)}'
            if self.realtime_only:
                text += f" ({', '.join(self.realtime_only)}: no batch API, run in real time)"
        if self.in_batches:
            text += (
                f"; {self.in_batches} cells wait in provider batches already paid for (a batch "
                "run collects them; a real-time run would call them again)"
            )
        if self.unpriced:
            text += (
                f". Unpriced (cost unknown): {', '.join(self.unpriced)}. "
                f"{price_hint(self.unpriced[0])}"
            )
        return text

    def __repr__(self) -> str:
        scoring = "" if self.by_scorer.empty else "\n" + self.by_scorer.to_string(index=False)
        return f"<Estimate {self}>\n{self.by_variant.to_string(index=False)}{scoring}"

    def _repr_html_(self) -> str:
        scoring = "" if self.by_scorer.empty else self.by_scorer.to_html(index=False, na_rep="–")
        return f"<p>{self}</p>" + self.by_variant.to_html(index=False, na_rep="–") + scoring


def _usd(value: float | None) -> str:
    return "unknown (an unpriced model)" if value is None else f"at most ${value:.4f}"


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _total(costs: Sequence[float | None]) -> float | None:
    """Sum of costs; None when any is unknown (None, or NaN in a table)."""
    if any(c is None or c != c for c in costs):
        return None
    return float(sum(c or 0.0 for c in costs))


def batched(model: Model) -> bool:
    """True when a batch run calls ``model`` in provider batches (its provider has a batch API)."""
    return model.provider.batch_limits is not None


class _Sum:
    """Calls, tokens and most cost of one group (a variant or a scorer), in real time and as a
    batch run would pay."""

    def __init__(self) -> None:
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost: float | None = 0.0
        self.batch_cost: float | None = 0.0
        self.realtime: set[str] = set()
        """Models a batch run calls in real time (no batch API)."""

    def add(self, call: Call, input_tokens: int, *, submitted: bool = False) -> None:
        """Count ``call``; one ``submitted`` in a batch before costs a batch run nothing more."""
        self.calls += 1
        self.input_tokens += input_tokens
        self.output_tokens += call.max_output_tokens
        info = call.model.info
        cost = info.cost(input_tokens, call.max_output_tokens)
        batch = cost
        if submitted:
            batch = 0.0
        elif batched(call.model):
            batch = info.batch_cost(input_tokens, call.max_output_tokens)
        else:
            self.realtime.add(str(call.model))
        self.cost = _plus(self.cost, cost)
        self.batch_cost = _plus(self.batch_cost, batch)


def estimate_run(
    plan: Plan,
    scorers: Sequence[Scorer],
    rows: Sequence[Mapping[str, Any]],
    variants: Mapping[str, Variant],
    store: Store | None,
) -> Estimate:
    """The estimate of running ``plan`` and scoring it with ``scorers`` now (``store`` None: a
    store that does not exist yet, so nothing is cached)."""
    keys = [c.key for c in plan.cells]
    found = store.get_many(keys) if store is not None else {}
    waiting = store.open_batch_keys(keys) if store is not None else {}
    per: dict[str, dict[str, Any]] = {}
    sums: dict[str, _Sum] = {}
    seen: set[str] = set()
    in_batches = 0
    for cell in plan.cells:
        entry = per.setdefault(
            cell.variant,
            {"variant": cell.variant, "model": str(cell.request.model), "cells": 0, "cached": 0},
        )
        entry["cells"] += 1
        if cell.key in found:
            entry["cached"] += 1
            continue
        in_batches += cell.key in waiting
        if cell.key not in seen:
            seen.add(cell.key)
            sums.setdefault(cell.variant, _Sum()).add(
                cell.as_call(), cell.est_input_tokens, submitted=cell.key in waiting
            )
    unpriced = {str(c.request.model) for c in plan.cells if c.key in seen and c.max_cost() is None}
    for name, entry in per.items():
        done = sums.get(name, _Sum())
        entry.update(
            calls=done.calls,
            input_tokens=done.input_tokens,
            max_output_tokens=done.output_tokens,
            cost_usd=done.cost,
            batch_cost_usd=done.batch_cost,
        )
    table = pd.DataFrame(list(per.values()))
    judges, judge_unpriced, judge_realtime = _judges(plan, scorers, rows, variants, store, found)
    costs = [sums.get(v, _Sum()).cost for v in per]
    batch_costs = [sums.get(v, _Sum()).batch_cost for v in per]
    judge_costs = list(judges["cost_usd"]) if len(judges) else []
    judge_batch = list(judges["batch_cost_usd"]) if len(judges) else []
    realtime = {m for done in sums.values() for m in done.realtime}
    return Estimate(
        cells=len(plan.cells),
        cached=int(table["cached"].sum()),
        calls=int(table["calls"].sum()),
        input_tokens=int(table["input_tokens"].sum()),
        max_output_tokens=int(table["max_output_tokens"].sum()),
        cost_usd=None if any(c is None for c in costs) else float(sum(c or 0.0 for c in costs)),
        by_variant=table,
        judge_calls=int(judges["calls"].sum()) if len(judges) else 0,
        judge_cost_usd=_total(judge_costs),
        by_scorer=judges,
        unpriced=tuple(sorted(unpriced | judge_unpriced)),
        batch_cost_usd=_total(batch_costs),
        judge_batch_cost_usd=_total(judge_batch),
        realtime_only=tuple(sorted(realtime | judge_realtime)),
        in_batches=in_batches,
    )


def _judges(
    plan: Plan,
    scorers: Sequence[Scorer],
    rows: Sequence[Mapping[str, Any]],
    variants: Mapping[str, Variant],
    store: Store | None,
    found: Mapping[str, Response],
) -> tuple[pd.DataFrame, set[str], set[str]]:
    """Per scorer that calls models: the calls it would make now and their most cost; the
    unpriced judge models, and those a batch run calls in real time."""
    planning = [s for s in scorers if s.plan is not None]
    if not planning:
        return pd.DataFrame(), set(), set()
    outputs: dict[tuple[int, int, str], str] = {}
    for cell in plan.cells:
        hit = found.get(cell.key)
        if hit is not None and hit.ok:
            outputs[(cell.row_index, cell.repeat, cell.variant)] = hit.text or ""
    models: dict[str, Model] = {}
    settings = plan.cells[0].model.settings if plan.cells else None
    table: list[dict[str, Any]] = []
    unpriced: set[str] = set()
    realtime: set[str] = set()
    for scorer in planning:
        assert scorer.plan is not None
        assert settings is not None
        exact: list[Call] = []
        total = _Sum()
        for cell in plan.cells:
            hit = found.get(cell.key)
            if hit is not None and not hit.ok:
                continue  # a failed call is not judged
            ctx = planning_context(cell, variants, rows, outputs)
            output = outputs.get((cell.row_index, cell.repeat, cell.variant))
            for planned in scorer.plan(rows[cell.row_index], ctx, output):
                model = models.setdefault(planned.model, resolve(planned.model, settings))
                call = make_call(model, planned.messages, planned.params, planned.repeat)
                if planned.unknown_outputs:
                    extra = planned.unknown_outputs * cell.max_output_tokens
                    total.add(call, call.est_input_tokens + extra)
                else:
                    exact.append(call)
        cached = store.get_many([c.key for c in exact]) if store is not None and exact else {}
        keys: set[str] = set()
        for call in exact:
            if call.key not in cached and call.key not in keys:
                keys.add(call.key)
                total.add(call, call.est_input_tokens)
        if total.calls and total.cost is None:
            unpriced.update(scorer.models)
        realtime |= total.realtime
        table.append(
            {
                "scorer": scorer.name,
                "model": ", ".join(scorer.models),
                "calls": total.calls,
                "input_tokens": total.input_tokens,
                "max_output_tokens": total.output_tokens,
                "cost_usd": total.cost,
                "batch_cost_usd": total.batch_cost,
            }
        )
    return pd.DataFrame(table), unpriced, realtime
