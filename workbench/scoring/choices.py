"""An LLM evaluator with listed choices, as GitHub Models' ``.prompt.yml`` defines one.

The model gets ``prompt`` (a template over the row, where ``{{completion}}`` is the output
being graded), after ``system`` when given; the first listed choice its reply contains
(ignoring case) gives the score, and a score above 0 passes. A reply naming no choice is
unscored, with the reply quoted — never a silent 0::

    choice_judge(prompt="Is this polite? {{completion}} Answer yes or no.",
                 choices=[{"choice": "yes", "score": 1.0}, {"choice": "no", "score": 0.0}],
                 model="openai/gpt-4o-mini")

Its calls go through the engine like every judge's: cached, retried, counted in
``scoring_cost_usd``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.errors import ScorerError
from workbench.prompts.render import Message, render_template, template_variables
from workbench.scoring.base import PlannedCall, Score, ScoreContext, Scorer, register_builder
from workbench.scoring.judges import JUDGE_PARAMS

__all__ = ["COMPLETION", "choice_judge"]

COMPLETION = "completion"
"""The name a choice judge's prompt reads the graded output by."""


def _choices(choices: Any) -> list[tuple[str, float]]:
    items = list(choices.items()) if isinstance(choices, Mapping) else None
    if items is None and isinstance(choices, Sequence) and not isinstance(choices, str):
        items = []
        for entry in choices:
            if not isinstance(entry, Mapping) or set(entry) != {"choice", "score"}:
                items = None
                break
            items.append((entry["choice"], entry["score"]))
    ok = bool(items) and all(
        isinstance(c, str)
        and c.strip()
        and isinstance(s, (int, float))
        and not isinstance(s, bool)
        and math.isfinite(s)
        for c, s in items or []
    )
    if not ok or items is None:
        raise ScorerError(
            "Scorer 'choice_judge': choices must be a list of {choice: text, score: number}, "
            f"e.g. [{{choice: yes, score: 1}}, {{choice: no, score: 0}}]; got {choices!r}."
        )
    return [(str(c), float(s)) for c, s in items]


def choice_judge(
    prompt: str,
    choices: Sequence[Mapping[str, Any]] | Mapping[str, float],
    model: str = "local/smollm2",
    system: str = "",
    *,
    name: str | None = None,
    negate: bool = False,
) -> Scorer:
    """An LLM answers ``prompt`` about the output; the first of ``choices`` found in its reply
    scores it (see the module docstring). The column is ``choice_judge`` unless ``name=``."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ScorerError("Scorer 'choice_judge': prompt must be non-empty text.")
    if not isinstance(model, str) or not isinstance(system, str):
        raise ScorerError("Scorer 'choice_judge': model and system must be text.")
    listed = _choices(choices)
    column = name or "choice_judge"
    variables = template_variables(prompt, f"scorer '{column}'") - {COMPLETION}
    args: dict[str, Any] = {
        "prompt": prompt,
        "choices": [{"choice": c, "score": s} for c, s in listed],
        "model": model,
    }
    if system:
        args["system"] = system
    if negate:
        args["negate"] = True
    if column != "choice_judge":
        args["name"] = column

    def messages(output: str, row: Mapping[str, Any]) -> tuple[Message, ...]:
        text = render_template(prompt, {**row, COMPLETION: output}, f"scorer '{column}'")
        head = (Message(role="system", content=system),) if system else ()
        return (*head, Message(role="user", content=text))

    def plan(row: Mapping[str, Any], ctx: ScoreContext, output: str | None) -> list[PlannedCall]:
        unknown = int(output is None)
        return [PlannedCall(model, messages(output or "", row), JUDGE_PARAMS, 0, unknown)]

    async def grade(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        if ctx.call is None:
            return Score(None, None, "choice_judge needs the engine: run it inside an experiment")
        result = await ctx.call(model, messages(output, row), JUDGE_PARAMS, 0)
        if not result.response.ok:
            return Score(None, None, f"judge call failed: {result.response.error}", result.cost_usd)
        reply = (result.response.text or "").strip()
        for choice, score in listed:
            if choice.casefold() in reply.casefold():
                return Score(score, score > 0, f"chose {choice!r}", result.cost_usd)
        shown = " ".join(reply.split())[:120]
        return Score(None, None, f"reply names no choice: {shown!r}", result.cost_usd)

    return Scorer(
        column,
        {"name": "choice_judge", "args": args},
        grade,
        frozenset(variables),
        negate,
        (model,),
        plan,
    )


register_builder("choice_judge", choice_judge)
