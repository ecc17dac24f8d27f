"""What a run will cost, before any call: the grid's calls and the judge calls it can plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from workbench.engine.plan import Call, Cell, Plan, make_call
from workbench.engine.store import Store
from workbench.models.catalog import price_hint
from workbench.models.resolved import Model, resolve
from workbench.prompts.prefix import shared_prefix
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

    Prompt caching: ``by_variant`` says how many tokens of each variant's prompt are a prefix
    every row shares (``prefix_tokens``, ``cacheable_share``) and what the grid costs when the
    provider caches it (``cost_cached_usd``: the first call writes it at the cache-write rate,
    the others read it at the cached-input rate); ``caching`` says what to change where the
    provider caches only when asked, or why it would not. ``cost_cached_usd`` sums them.

    The ``batch_*`` figures are the same run in provider batches (``mode="batch"``): calls to
    a provider with a batch API at its batch prices (``ModelInfo.batch_input_per_1m`` /
    ``batch_output_per_1m``), the others (``realtime_only``) and tool loops
    (``realtime_loops``) in real time at standard prices.
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
    cost_cached_usd: float | None = None
    """The grid's most cost when each variant's shared prompt prefix is cached (None: unpriced)."""
    batch_cost_usd: float | None = 0.0
    """Most the grid's calls could cost in a batch run (None: a batch price is unknown)."""
    judge_batch_cost_usd: float | None = 0.0
    """Most the judge calls could cost in a batch run (their second phase)."""
    realtime_only: tuple[str, ...] = ()
    """Models that would be called whose provider has no batch API: a batch run calls them in
    real time."""
    realtime_loops: tuple[str, ...] = ()
    """Variants whose cells run tool loops (our tools run between their calls): a batch run
    calls them in real time."""
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
        free = self.total_cost_usd == 0.0  # nothing for caching or batches to save
        shared = "" if free else self._shared()
        if shared:
            text += (
                f"; {shared} of the prompt is a prefix every row shares: with prompt caching "
                f"{_usd(self.cost_cached_usd)}"
            )
        if self.judge_calls or len(self.by_scorer):
            text += f"; scoring: {self.judge_calls} judge calls, cost {_usd(self.judge_cost_usd)}"
            text += f"; in all {_usd(self.total_cost_usd)}"
        if (self.calls or self.judge_calls) and not free:
            text += f'; as a batch run (mode="batch") {_usd(self.total_batch_cost_usd)}'
            realtime = [f"{m}: no batch API" for m in self.realtime_only]
            realtime += [f"tool loops of {v}" for v in self.realtime_loops]
            if realtime:
                text += f" ({'; '.join(realtime)}, run in real time)"
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

    def _shared(self) -> str:
        """The cacheable share of the prompts, in words ("" when none)."""
        if "cacheable_share" not in self.by_variant or not len(self.by_variant):
            return ""
        shares = [float(x) for x in self.by_variant["cacheable_share"] if x == x and x]
        if not shares:
            return ""
        low, high = min(shares), max(shares)
        return f"{low:.0%}" if round(low, 2) == round(high, 2) else f"{low:.0%}–{high:.0%}"

    def __repr__(self) -> str:
        scoring = "" if self.by_scorer.empty else "\n" + self.by_scorer.to_string(index=False)
        return f"<Estimate {self}>\n{self.by_variant.to_string(index=False)}{scoring}"

    def _repr_html_(self) -> str:
        scoring = "" if self.by_scorer.empty else self.by_scorer.to_html(index=False, na_rep="–")
        return f"<p>{self}</p>" + self.by_variant.to_html(index=False, na_rep="–") + scoring


def _usd(value: float | None) -> str:
    return "unknown (an unpriced model)" if value is None else f"at most ${value:.4f}"


class _Sum:
    """Calls, tokens and most cost of one group (a variant or a scorer), in real time and as a
    batch run would pay; with ``prefix`` cacheable tokens, also the most cost when the provider
    caches them."""

    def __init__(self, prefix: int = 0) -> None:
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost: float | None = 0.0
        self.prefix = prefix
        self.cost_cached: float | None = 0.0
        self.batch_cost: float | None = 0.0
        self.realtime: set[str] = set()
        """Models a batch run calls in real time (no batch API)."""

    def add(
        self, call: Call, input_tokens: int, *, submitted: bool = False, loop: bool = False
    ) -> None:
        """Count ``call``; one ``submitted`` in a batch before costs a batch run nothing more;
        the first call of a tool ``loop`` runs in real time in a batch run too."""
        self.calls += 1
        self.input_tokens += input_tokens
        self.output_tokens += call.max_output_tokens
        model, params = call.model, call.request.params
        cost = model.max_cost(input_tokens, params)
        self.cost = _plus(self.cost, cost)
        batch = cost
        if submitted:
            batch = 0.0
        elif not batched(model):
            self.realtime.add(str(model))
        elif not loop:
            batch = model.max_cost(input_tokens, params, batch=True)
        self.batch_cost = _plus(self.batch_cost, batch)
        info, tier = call.model.info, call.model.provider.price_tier(call.request.params)
        prefix = min(self.prefix, input_tokens)
        first = {"written": prefix} if self.calls == 1 else {"cached": prefix}
        cached = info.cost(input_tokens, call.max_output_tokens, tier=tier, **first)
        self.cost_cached = _plus(self.cost_cached, cached)


def _plus(total: float | None, cost: float | None) -> float | None:
    return None if total is None or cost is None else total + cost


def _total(costs: Sequence[float | None]) -> float | None:
    """Sum of costs; None when any is unknown (None, or NaN in a table)."""
    if any(c is None or c != c for c in costs):
        return None
    return float(sum(c or 0.0 for c in costs))


def batched(model: Model) -> bool:
    """True when a batch run calls ``model`` in provider batches (its provider has a batch API)."""
    return model.provider.batch_limits is not None


def _prefix(cells: Sequence[Cell]) -> tuple[int, int, str]:
    """Tokens of the prompt prefix every row of one variant shares — its tool definitions (which
    providers cache ahead of the messages) and its leading messages — those a provider would
    cache (0 below its minimum), and what to change for it to cache them ("" when it does)."""
    first = cells[0]
    prompts = {c.row_index: c.request.messages for c in cells}
    prefix = shared_prefix(list(prompts.values()))
    tools = first.request.tools
    tokens = first.model.count_tools(tools, remote=False).total if tools is not None else 0
    if prefix:
        tokens += first.model.count_tokens(prefix, remote=False, with_offsets=False).total
    if not tokens:
        return 0, 0, ""
    provider = first.model.provider
    note = provider.caching_note(first.request.params)
    least = provider.min_cached_prefix
    if least and tokens < least:
        note = note or f"a shared prefix under {least} tokens is not cached"
    cacheable = tokens if least and tokens >= least and not note else 0
    return tokens, cacheable, note


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
    in_batches = 0
    loops: set[str] = set()
    per: dict[str, dict[str, Any]] = {}
    sums: dict[str, _Sum] = {}
    seen: set[str] = set()
    by_variant: dict[str, list[Cell]] = {}
    for cell in plan.cells:
        by_variant.setdefault(cell.variant, []).append(cell)
    prefixes = {name: _prefix(cells) for name, cells in by_variant.items()}
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
        if cell.loop is not None:
            loops.add(cell.variant)
        if cell.key not in seen:
            seen.add(cell.key)
            group = sums.setdefault(cell.variant, _Sum(prefixes[cell.variant][1]))
            group.add(
                cell.as_call(),
                cell.est_input_tokens,
                submitted=cell.key in waiting,
                loop=cell.loop is not None,
            )
    unpriced = {str(c.request.model) for c in plan.cells if c.key in seen and c.max_cost() is None}
    for name, entry in per.items():
        done = sums.get(name, _Sum())
        tokens, _, note = prefixes[name]
        mean_prompt = sum(c.est_input_tokens for c in by_variant[name]) / len(by_variant[name])
        entry.update(
            calls=done.calls,
            input_tokens=done.input_tokens,
            max_output_tokens=done.output_tokens,
            cost_usd=done.cost,
            batch_cost_usd=done.batch_cost,
            prefix_tokens=tokens,
            cacheable_share=round(tokens / mean_prompt, 4) if mean_prompt else 0.0,
            cost_cached_usd=done.cost_cached,
            caching=note,
        )
    table = pd.DataFrame(list(per.values()))
    judges, judge_unpriced, judge_realtime = _judges(plan, scorers, rows, variants, store, found)
    costs = [sums.get(v, _Sum()).cost for v in per]
    cached_costs = [sums.get(v, _Sum()).cost_cached for v in per]
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
        cost_usd=_total(costs),
        by_variant=table,
        judge_calls=int(judges["calls"].sum()) if len(judges) else 0,
        judge_cost_usd=_total(judge_costs),
        by_scorer=judges,
        unpriced=tuple(sorted(unpriced | judge_unpriced)),
        cost_cached_usd=_total(cached_costs),
        batch_cost_usd=_total(batch_costs),
        judge_batch_cost_usd=_total(judge_batch),
        realtime_only=tuple(sorted(realtime | judge_realtime)),
        realtime_loops=tuple(sorted(loops)),
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
