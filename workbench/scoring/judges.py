"""LLM-as-judge scorers: a rubric and a grade scale, and pairwise comparison of two variants.

Judge calls go through the engine (``ScoreContext.call``): cached like any call, retried, and
their cost is counted in ``scoring_cost_usd``. A reply that cannot be parsed is an unscored row
with the reply quoted in the reason — never a silent 0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.errors import ScorerError
from workbench.prompts.render import Message, render_template
from workbench.scoring.base import (
    Planned,
    PlannedCall,
    Score,
    ScoreContext,
    ScoreFn,
    add_cost,
    scorer,
)
from workbench.scoring.tools import describe_tools

__all__ = ["Scale", "judge", "pairwise", "pairwise_judge", "parse_grade", "parse_preference"]

JUDGE_PARAMS: dict[str, Any] = {"temperature": 0, "max_tokens": 200}


@dataclass(frozen=True)
class Scale:
    """Grades from worst to best; each maps to a value in [0, 1]."""

    grades: tuple[str, ...]

    @classmethod
    def named(cls, scale: str | Sequence[str]) -> Scale:
        """``"pass_fail"``, ``"1-5"``, ``"1-10"``, ``"A-F"`` or an explicit list, worst first."""
        if not isinstance(scale, str):
            grades = tuple(str(g) for g in scale)
        elif scale == "pass_fail":
            grades = ("FAIL", "PASS")
        elif scale == "A-F":
            grades = ("F", "D", "C", "B", "A")
        elif re.fullmatch(r"1-(\d+)", scale):
            grades = tuple(str(i) for i in range(1, int(scale.split("-")[1]) + 1))
        else:
            raise ScorerError(
                f"Unknown judge scale {scale!r}: use 'pass_fail', '1-5', '1-10', 'A-F' or a list "
                f"of grades, worst first."
            )
        if len(grades) < 2 or len(set(g.upper() for g in grades)) != len(grades):
            raise ScorerError(f"A judge scale needs at least two distinct grades, got {grades}.")
        return cls(grades)

    def value(self, grade: str) -> float:
        """Position of a grade on the scale, 0 (worst) to 1 (best)."""
        return self.grades.index(grade) / (len(self.grades) - 1)

    def describe(self) -> str:
        return ", ".join(self.grades) + " (worst to best)"


_JUDGE_SYSTEM = """You are a strict, fair evaluator. Grade the RESPONSE against the RUBRIC.
Allowed grades: {scale}.
Reply in exactly this format and nothing else:
GRADE: <one allowed grade>
REASON: <one sentence>"""

_JUDGE_USER = """RUBRIC:
{rubric}

{input}

RESPONSE:
{output}"""


def parse_grade(reply: str, scale: Scale) -> tuple[str, str] | None:
    """(grade, reason) from a judge reply: ``GRADE:`` lines, JSON, or a lone grade; else None."""
    text = reply.strip()
    by_upper = {g.upper(): g for g in scale.grades}
    match = re.search(r"\bgrade\s*[:=]\s*\**\s*([A-Za-z0-9+\-]+)", text, re.IGNORECASE)
    reason_match = re.search(r"\breason\s*[:=]\s*\**\s*(.+)", text, re.IGNORECASE | re.DOTALL)
    reason = reason_match.group(1).strip() if reason_match else ""
    if match and match.group(1).upper() in by_upper:
        return by_upper[match.group(1).upper()], reason
    try:
        data = json.loads(text.strip("`").removeprefix("json").strip())
    except ValueError:
        data = None
    if isinstance(data, dict) and str(data.get("grade", "")).upper() in by_upper:
        return by_upper[str(data["grade"]).upper()], str(data.get("reason", ""))
    if text.upper().strip(".!* ") in by_upper:
        return by_upper[text.upper().strip(".!* ")], ""
    return None


def _input_text(ctx: ScoreContext) -> str:
    """What the model was asked: the last user message, or the whole conversation it replies to
    when the variant reads a history column (``ScoreContext.conversation``)."""
    if len(ctx.conversation) > 1:
        turns = "\n\n".join(f"{m['role']}: {m['content']}" for m in ctx.conversation)
        return f"CONVERSATION (the response replies to its last turn):\n{turns}"
    users = [m["content"] for m in ctx.messages if m.get("role") == "user"]
    return "INPUT (what the model was asked):\n" + (users[-1] if users else "")


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@scorer("judge")
def judge(
    rubric: str,
    model: str = "local/smollm2",
    scale: str | Sequence[str] = "pass_fail",
    threshold: float | None = None,
    repeats: int = 1,
) -> ScoreFn:
    """An LLM grades each output against ``rubric`` (a template over the row) on ``scale``.

    value = the grade's place on the scale (0 worst, 1 best), averaged over ``repeats`` judge
    calls; passed = value >= ``threshold`` (default: the best grade for pass_fail, else 0.75).
    """
    grades = Scale.named(scale)
    cut = threshold if threshold is not None else (1.0 if len(grades.grades) == 2 else 0.75)
    if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not 0.0 <= cut <= 1.0:
        raise ScorerError(
            f"judge threshold is a place on the scale from 0 (worst) to 1 (best), got {cut!r}."
        )
    if not isinstance(repeats, int) or repeats < 1:
        raise ScorerError(f"judge repeats must be a whole number >= 1, got {repeats!r}.")

    def messages(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> tuple[Message, ...]:
        return (
            Message(role="system", content=_JUDGE_SYSTEM.format(scale=grades.describe())),
            Message(
                role="user",
                content=_JUDGE_USER.format(
                    rubric=render_template(rubric, row, "judge rubric"),
                    input=_input_text(ctx),
                    output=describe_tools(output, ctx),
                ),
            ),
        )

    def plan(row: Mapping[str, Any], ctx: ScoreContext, output: str | None) -> list[PlannedCall]:
        sent = messages(output or "", row, ctx)
        unknown = int(output is None)
        return [PlannedCall(model, sent, JUDGE_PARAMS, k, unknown) for k in range(repeats)]

    async def grade(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        if ctx.call is None:
            return Score(None, None, "judge needs the engine: run it inside an experiment")
        sent = messages(output, row, ctx)
        values, reasons = [], []
        cost: float | None = 0.0
        for k in range(repeats):
            result = await ctx.call(model, sent, JUDGE_PARAMS, k)
            cost = add_cost(cost, result.cost_usd)
            if not result.response.ok:
                return Score(None, None, f"judge call failed: {result.response.error}", cost)
            parsed = parse_grade(result.response.text or "", grades)
            if parsed is None:
                return Score(
                    None,
                    None,
                    f"judge reply not understood: {_short(result.response.text or '')!r}",
                    cost,
                )
            values.append(grades.value(parsed[0]))
            reasons.append(f"{parsed[0]}: {parsed[1]}" if parsed[1] else parsed[0])
        value = sum(values) / len(values)
        reason = reasons[0] if repeats == 1 else f"mean of {repeats}: " + " | ".join(reasons)
        return Score(value, value >= cut, reason, cost)

    return Planned(grade, plan)


_PAIR_SYSTEM = """You compare two responses to the same input against a rubric.
Reply in exactly this format and nothing else:
WINNER: <1, 2 or TIE>
REASON: <one sentence>"""

_PAIR_USER = """RUBRIC:
{rubric}

{input}

RESPONSE 1:
{first}

RESPONSE 2:
{second}"""


def parse_preference(reply: str) -> str | None:
    """'1', '2' or 'tie' from a pairwise judge reply; None if it cannot be read."""
    match = re.search(r"winner\s*[:=]\s*\**\s*(1|2|tie|response\s*[12])", reply, re.IGNORECASE)
    token = match.group(1) if match else reply.strip().strip(".!* ")
    token = token.lower().replace("response", "").strip()
    return token if token in ("1", "2", "tie") else None


OtherOutput = Callable[[Mapping[str, Any], ScoreContext], "str | None"]
"""``other(row, ctx)``: the output to compare with for this row and repeat (None: there is none)."""


def pairwise_judge(rubric: str, model: str, other: OtherOutput, versus: str) -> Planned:
    """An LLM compares each output with ``other(row, ctx)``, in both orders to cancel position
    bias: value 1 win, 0.5 tie, 0 loss; passed = a win; a judge that changes its mind with the
    order gives a tie. ``versus`` names what is compared with, in reasons. The core of
    :func:`pairwise`, also used by ``workbench check`` with the recorded baseline outputs."""

    def messages(
        first: str, second: str, row: Mapping[str, Any], ctx: ScoreContext
    ) -> tuple[Message, ...]:
        return (
            Message(role="system", content=_PAIR_SYSTEM),
            Message(
                role="user",
                content=_PAIR_USER.format(
                    rubric=render_template(rubric, row, "pairwise rubric"),
                    input=_input_text(ctx),
                    first=first,
                    second=second,
                ),
            ),
        )

    def plan(row: Mapping[str, Any], ctx: ScoreContext, output: str | None) -> list[PlannedCall]:
        theirs = other(row, ctx)
        unknown = int(output is None) + int(theirs is None)
        mine, theirs = output or "", theirs or ""
        return [
            PlannedCall(model, messages(a, b, row, ctx), JUDGE_PARAMS, ctx.repeat, unknown)
            for a, b in ((mine, theirs), (theirs, mine))
        ]

    async def compare(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        if ctx.call is None:
            return Score(None, None, "pairwise needs the engine: run it inside an experiment")
        theirs = other(row, ctx)
        if theirs is None:
            return Score(None, None, f"{versus} has no output for this row")
        verdicts = []
        cost: float | None = 0.0
        for first, second, mine in ((output, theirs, "1"), (theirs, output, "2")):
            sent = messages(first, second, row, ctx)
            result = await ctx.call(model, sent, JUDGE_PARAMS, ctx.repeat)
            cost = add_cost(cost, result.cost_usd)
            if not result.response.ok:
                return Score(None, None, f"judge call failed: {result.response.error}", cost)
            pick = parse_preference(result.response.text or "")
            if pick is None:
                return Score(
                    None,
                    None,
                    f"judge reply not understood: {_short(result.response.text or '')!r}",
                    cost,
                )
            verdicts.append("tie" if pick == "tie" else ("win" if pick == mine else "loss"))
        if verdicts[0] == verdicts[1]:
            outcome = verdicts[0]
            reason = f"{outcome} vs {versus} in both orders"
        else:
            outcome = "tie"
            reason = (
                f"tie: the judge's choice depended on the order ({verdicts[0]} then {verdicts[1]})"
            )
        value = {"win": 1.0, "tie": 0.5, "loss": 0.0}[outcome]
        return Score(value, outcome == "win", reason, cost)

    return Planned(compare, plan)


@scorer("pairwise")
def pairwise(rubric: str, baseline: str, model: str = "local/smollm2") -> ScoreFn:
    """An LLM compares each variant's output with the ``baseline`` variant's output for the same
    row and repeat, in both orders to cancel position bias. value: 1 win, 0.5 tie, 0 loss
    (against the baseline); passed = a win. A judge that changes its mind with the order gives a
    tie. Baseline cells are not scored."""

    def peer(row: Mapping[str, Any], ctx: ScoreContext) -> str | None:
        return ctx.peer(baseline) if ctx.peer is not None else None

    judged = pairwise_judge(rubric, model, peer, baseline)

    def plan(row: Mapping[str, Any], ctx: ScoreContext, output: str | None) -> list[PlannedCall]:
        return [] if ctx.variant == baseline else judged.plan(row, ctx, output)

    async def compare(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        if ctx.variant == baseline:
            return Score(None, None, "baseline")
        if ctx.call is None or ctx.peer is None:
            return Score(None, None, "pairwise needs the engine: run it inside an experiment")
        if ctx.peer(baseline) is None:
            return Score(None, None, f"baseline '{baseline}' has no output for this row")
        judging = judged.fn(output, row, ctx)
        assert not isinstance(judging, Score)  # pairwise_judge's function is async
        return await judging

    return Planned(compare, plan)
