"""The scoring stage: every scorer on every finished cell, after the calls are made."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from workbench.engine.plan import Call, Cell, Plan
from workbench.engine.runner import CellOutcome
from workbench.prompts.schema import schema_of
from workbench.prompts.variant import Variant
from workbench.scoring.base import PlannedCall, Score, ScoreContext, Scorer
from workbench.tokens.reasoning import suggest_max_tokens

__all__ = ["conversation_of", "judge_calls", "planning_context", "score_cells", "starved_fixes"]

Outputs = Mapping[tuple[int, int, str], str]
"""Output text by (row index, repeat, variant)."""


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


def planning_context(
    cell: Cell,
    variants: Mapping[str, Variant],
    rows: Sequence[Mapping[str, Any]],
    outputs: Outputs,
) -> ScoreContext:
    """The context a scorer's ``plan`` sees for ``cell`` (no response, no caller)."""
    return ScoreContext(
        variant=cell.variant,
        repeat=cell.repeat,
        messages=cell.request.messages,
        conversation=conversation_of(cell, variants.get(cell.variant), rows),
        peer=lambda variant: outputs.get((cell.row_index, cell.repeat, variant)),
    )


def judge_calls(
    plan: Plan,
    outcomes: Sequence[CellOutcome | None],
    scorers: Sequence[Scorer],
    rows: Sequence[Mapping[str, Any]],
    variants: Mapping[str, Variant],
    make: Callable[[PlannedCall], Call],
) -> list[Call]:
    """The model calls the scorers will make for the answered cells, exactly as they will make
    them (``make`` turns a planned call into the dispatcher's :class:`Call`): what a batch run
    sends in its second phase."""
    outputs = {
        (c.row_index, c.repeat, c.variant): (done.response.text or "")
        for c in plan.cells
        if (done := outcomes[c.index]) is not None and done.response.ok
    }
    calls: list[Call] = []
    for scorer in scorers:
        if scorer.plan is None:
            continue
        for cell in plan.cells:
            output = outputs.get((cell.row_index, cell.repeat, cell.variant))
            if output is None:
                continue  # not answered: not judged
            ctx = planning_context(cell, variants, rows, outputs)
            for planned in scorer.plan(rows[cell.row_index], ctx, output):
                if not planned.unknown_outputs:
                    calls.append(make(planned))
    return calls


def conversation_of(
    cell: Cell, variant: Variant | None, rows: Sequence[Mapping[str, Any]]
) -> tuple[Any, ...]:
    """The tail of the sent messages that is the row's conversation (and the final user message)
    when the variant reads a history column; empty otherwise."""
    if variant is None or variant.history is None:
        return ()
    sent = zip(cell.request.messages, cell.origins, strict=True)
    return tuple(m for m, origin in sent if origin in ("history", "user"))
