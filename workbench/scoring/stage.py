"""The scoring stage: every scorer on every finished cell, after the calls are made."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from workbench.engine.plan import Cell, Plan
from workbench.engine.runner import CellOutcome
from workbench.prompts.schema import schema_of
from workbench.prompts.variant import Variant
from workbench.scoring.base import Score, ScoreContext, Scorer
from workbench.tokens.reasoning import suggest_max_tokens

__all__ = ["conversation_of", "score_cells", "starved_fixes"]


async def score_cells(
    plan: Plan,
    outcomes: Sequence[CellOutcome | None],
    scorers: Sequence[Scorer],
    rows: Sequence[Mapping[str, Any]],
    caller: Callable[..., Awaitable[Any]] | None,
    variants: Mapping[str, Variant] | None = None,
) -> list[list[Score]]:
    """Scores per cell, in scorer order. A failed call fails every check (passed False, no
    value); a cell that never ran, or whose reply is empty because reasoning used the whole
    output budget (*starved*), is unscored (passed None; the reason says the fix). ``variants`` (by name) tell which
    cells reply to a conversation from a history column (``ScoreContext.conversation``);
    ``caller`` makes the scorers' model calls (the run's dispatcher)."""
    outputs: dict[tuple[int, int, str], str] = {}
    for cell in plan.cells:
        done = outcomes[cell.index]
        if done is not None and done.response.ok:
            outputs[(cell.row_index, cell.repeat, cell.variant)] = done.response.text or ""

    fixes = starved_fixes(plan, outcomes)

    async def one(cell: Cell) -> list[Score]:
        done = outcomes[cell.index]
        if done is None:
            return [Score(None, None, "not run")] * len(scorers)
        if not done.response.ok:
            return [Score(None, False, f"call failed: {done.response.error}")] * len(scorers)
        if done.response.starved:
            return [Score(None, None, fixes[cell.variant])] * len(scorers)
        ctx = ScoreContext(
            variant=cell.variant,
            repeat=cell.repeat,
            response=done.response,
            messages=cell.request.messages,
            conversation=conversation_of(cell, (variants or {}).get(cell.variant), rows),
            call=caller,
            peer=lambda variant: outputs.get((cell.row_index, cell.repeat, variant)),
            tools=cell.request.tools,
            trajectory=tuple(done.trajectory or ()),
            schema=schema_of(cell.request.params),
        )
        text = done.response.text or ""
        return [await s.score(text, rows[cell.row_index], ctx) for s in scorers]

    return list(await asyncio.gather(*(one(c) for c in plan.cells)))


def starved_fixes(plan: Plan, outcomes: Sequence[CellOutcome | None]) -> dict[str, str]:
    """Per variant, the reason a starved cell gives: what happened and the ``max_tokens`` that
    would fit the reasoning seen across its calls (repeats included)."""
    limits: dict[str, int] = {}
    reasoning: dict[str, list[int | None]] = defaultdict(list)
    answers: dict[str, list[int | None]] = defaultdict(list)
    for cell in plan.cells:
        done = outcomes[cell.index]
        limits[cell.variant] = cell.max_output_tokens
        if done is None or not done.response.ok:
            continue
        r = done.response
        reasoning[cell.variant].append(r.reasoning_tokens)
        if not r.starved and r.output_tokens is not None:
            answers[cell.variant].append(r.output_tokens - (r.reasoning_tokens or 0))
    return {
        variant: (
            f"no answer: reasoning used the whole output budget (max_tokens {limit}, "
            f"finish_reason length); raise max_tokens to about "
            f"{suggest_max_tokens(limit, reasoning[variant], answers[variant])}"
        )
        for variant, limit in limits.items()
    }


def conversation_of(
    cell: Cell, variant: Variant | None, rows: Sequence[Mapping[str, Any]]
) -> tuple[Any, ...]:
    """The tail of the sent messages that is the row's conversation (and the final user message)
    when the variant reads a history column; empty otherwise."""
    if variant is None or variant.history is None:
        return ()
    sent = zip(cell.request.messages, cell.origins, strict=True)
    return tuple(m for m, origin in sent if origin in ("history", "user"))
