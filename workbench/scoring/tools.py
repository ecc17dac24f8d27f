"""Scorers of tool calls: which tool, with which arguments, valid against its schema, in which
order. They read the calls of the reply (every step's, for a tool loop) from the context; each
reason names what was called instead.

Names and expected argument values are templates over the row, like the text checks::

    wb.scorers.tool_called("{{ expected_tool }}")
    wb.scorers.tool_args("lookup_order", {"order_id": "{{ order_id }}"})
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from workbench.errors import ScorerError
from workbench.prompts.render import render_template
from workbench.providers.tools import compact
from workbench.scoring.base import Score, ScoreContext, ScoreFn, scorer
from workbench.scoring.checks import require_flags
from workbench.scoring.structured import expected_options

__all__ = [
    "describe_tools",
    "no_tool_call",
    "tool_args",
    "tool_args_valid",
    "tool_called",
    "tool_sequence",
]


def _called(calls: Sequence[Mapping[str, Any]], output: str) -> str:
    """What the reply did, for a reason: its calls, or the text it gave instead."""
    if calls:
        shown = ", ".join(compact(c, 80) for c in calls[:3])
        return shown + (f" and {len(calls) - 3} more" if len(calls) > 3 else "")
    said = " ".join(output.split())
    return "no tool" + (
        f" (replied {said[:60] + ('…' if len(said) > 60 else '')!r})" if said else ""
    )


def describe_tools(output: str, ctx: ScoreContext) -> str:
    """The reply as an LLM judge reads it: its text, then the tool calls it made; for a tool
    loop the whole trajectory (each call and the result it got) ending with the final reply.
    Just ``output`` when no tool was called."""
    if ctx.trajectory:
        lines = []
        for turn in ctx.trajectory:
            if turn["role"] == "tool":
                lines.append(f"tool result ({turn.get('name', '')}): {turn['content']}")
                continue
            if turn.get("content"):
                lines.append(f"assistant: {turn['content']}")
            lines += [f"assistant calls {compact(c, 400)}" for c in turn.get("tool_calls") or ()]
        return "TRAJECTORY (tool calls and their results, in order):\n" + "\n".join(lines)
    calls = ctx.tool_calls
    if not calls:
        return output
    made = "\n".join(f"- {compact(c, 400)}" for c in calls)
    return f"{output}\nTOOL CALLS:\n{made}" if output else f"TOOL CALLS:\n{made}"


@scorer("tool_called")
def tool_called(tool: str | list[str]) -> ScoreFn:
    """The reply called the tool ``tool`` (a template), or any of several: a list, or a template
    rendering to ``a|b`` or a JSON list. (``name=`` names the scorer's column, as for every
    scorer.)"""

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        wanted = expected_options(tool, row, "scorer 'tool_called'")
        if not wanted:
            return Score(None, None, "no expected tool name")
        calls = ctx.tool_calls
        hit = next((c for c in calls if c["name"] in wanted), None)
        expected = " or ".join(wanted)
        if hit is not None:
            others = len(calls) - 1
            return Score(
                1.0, True, f"called {hit['name']}" + (f" (of {len(calls)} calls)" if others else "")
            )
        return Score(0.0, False, f"called {_called(calls, output)} instead of {expected}")

    return check


@scorer("no_tool_call")
def no_tool_call() -> ScoreFn:
    """The reply called no tool (e.g. it should answer, or refuse, by itself)."""

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        calls = ctx.tool_calls
        if not calls:
            return Score(1.0, True, "called no tool")
        return Score(0.0, False, f"called {_called(calls, output)} instead of no tool")

    return check


def _render(value: Any, row: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return render_template(value, row, "scorer 'tool_args'")
    if isinstance(value, Mapping):
        return {str(k): _render(v, row) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_render(v, row) for v in value]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


class _Compare:
    """Expected argument values against the called ones."""

    def __init__(self, match: str, tolerance: float, case_sensitive: bool) -> None:
        self.match = match
        self.tolerance = tolerance
        self.case_sensitive = case_sensitive

    def text(self, value: str) -> str:
        folded = " ".join(value.split())
        return folded if self.case_sensitive else folded.casefold()

    def diff(self, want: Any, got: Any, path: str) -> list[str]:
        """What differs, one phrase each ([] when ``got`` matches ``want``)."""
        shown = _shown(got)
        if isinstance(want, Mapping):
            if not isinstance(got, Mapping):
                return [f"{path or 'arguments'} is {shown}, expected an object"]
            out: list[str] = []
            for key, value in want.items():
                at = f"{path}.{key}" if path else str(key)
                if key not in got:
                    out.append(f"{at} is missing")
                else:
                    out += self.diff(value, got[key], at)
            if self.match == "exact":
                out += [
                    f"{path + '.' if path else ''}{k} is not expected" for k in got if k not in want
                ]
            return out
        if isinstance(want, list):
            if not isinstance(got, list) or len(got) != len(want):
                return [f"{path} is {shown}, expected {_shown(want)}"]
            return [
                d
                for i, (w, g) in enumerate(zip(want, got, strict=True))
                for d in self.diff(w, g, f"{path}[{i}]")
            ]
        return [] if self.same(want, got) else [f"{path} is {shown}, expected {_shown(want)}"]

    def same(self, want: Any, got: Any) -> bool:
        a, b = _number(want), _number(got)
        if a is not None and b is not None:
            return abs(a - b) <= self.tolerance or math.isclose(abs(a - b), self.tolerance)
        if isinstance(got, bool) or isinstance(want, bool):
            return str(want).lower() == str(got).lower()
        if want is None or got is None:
            return want is got
        if isinstance(want, str) and isinstance(got, str):
            return self.text(want) == self.text(got)
        return bool(want == got)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


@scorer("tool_args")
def tool_args(
    tool: str,
    expected: Mapping[str, Any],
    match: Literal["subset", "exact"] = "subset",
    tolerance: float = 0.0,
    case_sensitive: bool = True,
) -> ScoreFn:
    """The reply called ``tool`` (a template) with arguments matching ``expected``:
    every expected key (``subset``, default) or exactly those keys (``exact``), nested objects
    alike. Text values are templates over the row; numbers (or text reading as one) compare
    within ``tolerance``; text compares with whitespace runs collapsed, case-sensitive unless
    ``case_sensitive=False``. Passes when any call of that tool matches."""
    if match not in ("subset", "exact"):
        raise ScorerError(f"Scorer 'tool_args': match must be 'subset' or 'exact', not {match!r}.")
    if not isinstance(expected, Mapping):
        raise ScorerError(
            f"Scorer 'tool_args': expected is a mapping of argument names to values, e.g. "
            f"{{'order_id': '{{{{ order_id }}}}'}}; got {type(expected).__name__}."
        )
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise ScorerError(
            f"Scorer 'tool_args': tolerance must be a number >= 0, not {tolerance!r}."
        )
    require_flags("tool_args", case_sensitive=case_sensitive)
    compare = _Compare(match, float(tolerance), case_sensitive)

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        wanted = render_template(tool, row, "scorer 'tool_args'")
        want = _render(expected, row)
        calls = ctx.tool_calls
        mine = [c for c in calls if c["name"] == wanted]
        if not mine:
            return Score(0.0, False, f"called {_called(calls, output)} instead of {wanted}")
        problems: list[str] = []
        for call in mine:
            if call.get("invalid"):
                problems.append(f"arguments are not valid JSON ({call['invalid']})")
                continue
            found = compare.diff(want, call.get("arguments") or {}, "")
            if not found:
                return Score(1.0, True, f"{compact(call, 100)} matches")
            problems.append(
                "; ".join(found[:3]) + (f" (+{len(found) - 3} more)" if len(found) > 3 else "")
            )
        more = f" (and {len(mine) - 1} other call(s) of it)" if len(mine) > 1 else ""
        return Score(0.0, False, f"{compact(mine[0], 100)}: {problems[0]}{more}")

    return check


@scorer("tool_args_valid")
def tool_args_valid() -> ScoreFn:
    """Every tool call names a declared tool, and its arguments are valid JSON that validate
    against that tool's parameters schema (JSON Schema Draft 2020-12). Unscored when the reply
    called no tool."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        calls = ctx.tool_calls
        if not calls:
            return Score(None, None, "called no tool")
        declared = ctx.tools.names if ctx.tools is not None else ()
        for call in calls:
            if call["name"] not in declared:
                listed = ", ".join(declared) or "none"
                return Score(
                    0.0, False, f"called {call['name']}, which is not a declared tool ({listed})"
                )
            if call.get("invalid"):
                return Score(
                    0.0, False, f"{call['name']}: arguments are not valid JSON ({call['invalid']})"
                )
            schema = ctx.tools.schema(call["name"]) if ctx.tools is not None else None
            errors = list(Draft202012Validator(dict(schema or {})).iter_errors(call["arguments"]))
            if errors:
                first = best_match(errors)
                return Score(0.0, False, f"{compact(call, 80)}: {first.json_path}: {first.message}")
        return Score(1.0, True, f"{len(calls)} call(s) valid against their schemas")

    return check


@scorer("tool_sequence")
def tool_sequence(names: list[str], match: Literal["exact", "in_order"] = "exact") -> ScoreFn:
    """The tools called, in order over the whole reply (a tool loop's steps), are ``names``
    (each a template): exactly (``exact``), or those in this order with others allowed between
    (``in_order``)."""
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ScorerError(
            "Scorer 'tool_sequence': names is a non-empty list of tool names, e.g. "
            "['lookup_order', 'refund_order']."
        )
    if match not in ("exact", "in_order"):
        raise ScorerError(
            f"Scorer 'tool_sequence': match must be 'exact' or 'in_order', not {match!r}."
        )

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        want = [render_template(str(n), row, "scorer 'tool_sequence'") for n in names]
        got = [str(c["name"]) for c in ctx.tool_calls]
        if match == "exact":
            ok = got == want
        else:
            rest = iter(got)
            ok = all(any(g == w for g in rest) for w in want)
        shown = " → ".join(got) or "no tool"
        if ok:
            return Score(1.0, True, f"called {shown}")
        how = "" if match == "exact" else " (in this order)"
        return Score(0.0, False, f"called {shown} instead of {' → '.join(want)}{how}")

    return check
