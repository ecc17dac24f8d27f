"""Tool loops (``Variant(max_steps=N)``): model -> tool calls -> the variant's Python functions ->
results back -> model, up to N model calls. Each model call is a step through the run's
dispatcher: cached, journaled before it counts, within the budget and limits like any other.

A tool that raises returns its error as the tool's result (``error: ValueError: ...``), as do
a call of an unknown tool and arguments that are not valid JSON; the loop goes on. It ends when
the model answers without calling a tool, or after N model calls (the calls of the last step are
then not run, and ``finish_reason`` stays ``tool_calls``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.engine.dispatcher import CallResult, Dispatcher, Journal
from workbench.engine.plan import Call, ToolLoop, make_call
from workbench.prompts.render import Message
from workbench.providers.base import Response
from workbench.providers.tools import wire_call

__all__ = ["LoopResult", "run_loop", "run_tool"]


@dataclass(frozen=True)
class LoopResult:
    """A whole loop as one cell: the combined response, its trajectory, cost and caching."""

    response: Response
    """The final reply's text, finish reason and error; every step's tool calls in order;
    tokens and latency summed over the steps."""
    trajectory: list[dict[str, Any]]
    """What followed the prompt: assistant turns (with their ``tool_calls``, normalized) and
    ``tool`` turns (``tool_call_id``, ``name``, ``content``), in order."""
    cost_usd: float | None
    cached: bool
    """Every step came from the store."""
    steps: int


async def run_tool(functions: Mapping[str, Callable[..., Any]], call: Mapping[str, Any]) -> str:
    """Call the function of one tool call; its result as text (JSON unless it is text), or the
    error it raised as ``error: <type>: <message>``."""
    if call.get("invalid"):
        return (
            f"error: the arguments are not valid JSON ({call['invalid']}); the tool was not called"
        )
    fn = functions.get(str(call["name"]))
    if fn is None:
        return f"error: there is no tool named {call['name']!r}; tools: {', '.join(functions)}"
    arguments = dict(call.get("arguments") or {})
    try:
        if inspect.iscoroutinefunction(fn):
            result = await fn(**arguments)
        else:
            result = await asyncio.to_thread(fn, **arguments)
            if inspect.isawaitable(result):
                result = await result
    except Exception as exc:  # the model sees the error, as it would in production
        return f"error: {type(exc).__name__}: {exc}"
    if isinstance(result, str):
        return result
    return json.dumps(result, ensure_ascii=False, default=str)


async def run_loop(
    first: Call,
    loop: ToolLoop,
    dispatcher: Dispatcher,
    *,
    journal: Journal = (),
    first_result: CallResult | None = None,
) -> LoopResult:
    """Run a cell's tool loop from its first call (``first_result``: that call already answered,
    e.g. from the store). Raises :class:`~workbench.engine.dispatcher.NotRun` when the run stops
    or the budget ends it midway (the steps made so far are saved, so a rerun resumes)."""
    result = first_result or await dispatcher.call(first, journal=journal)
    results = [result]
    messages: list[Message] = list(first.request.messages)
    trajectory: list[dict[str, Any]] = []
    for step in range(1, loop.max_steps + 1):
        response = result.response
        if not response.ok:
            break
        calls = response.tool_calls or []
        turn: dict[str, Any] = {"role": "assistant", "content": response.text or ""}
        if calls:
            turn["tool_calls"] = calls
        trajectory.append(turn)
        if not calls or step == loop.max_steps:
            break
        said = Message(role="assistant", content=response.text or "")
        said["tool_calls"] = [wire_call(c) for c in calls]
        messages.append(said)
        for call in calls:
            content = await run_tool(loop.functions, call)
            answer = Message(role="tool", content=content)
            answer["tool_call_id"] = str(call["id"])
            messages.append(answer)
            trajectory.append(
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "name": call["name"],
                    "content": content,
                }
            )
        request = first.request
        nxt = make_call(first.model, messages, request.params, request.repeat, tools=request.tools)
        result = await dispatcher.call(nxt, journal=journal)
        results.append(result)
    return LoopResult(
        response=_combined([r.response for r in results]),
        trajectory=trajectory,
        cost_usd=_total(r.cost_usd for r in results),
        cached=all(r.cached for r in results),
        steps=len(results),
    )


def _combined(responses: Sequence[Response]) -> Response:
    """One response for the loop: the last reply, every step's calls, summed usage (and the
    reasoning of every step, in order; the first step's time to first token)."""
    last = responses[-1]
    calls = [c for r in responses for c in (r.tool_calls or [])]
    error = last.error
    if error is not None and len(responses) > 1:
        error = f"step {len(responses)} of the tool loop: {error}"
    thoughts = [r.reasoning for r in responses if r.reasoning]
    return Response(
        text=last.text,
        input_tokens=_sum(r.input_tokens for r in responses),
        output_tokens=_sum(r.output_tokens for r in responses),
        finish_reason=last.finish_reason,
        latency_ms=sum(r.latency_ms for r in responses),
        error=error,
        error_kind=last.error_kind,
        raw=last.raw,
        tool_calls=calls or None,
        reasoning_tokens=_sum(r.reasoning_tokens for r in responses),
        cached_input_tokens=_sum(r.cached_input_tokens for r in responses),
        cache_write_tokens=_sum(r.cache_write_tokens for r in responses),
        reasoning="\n\n".join(thoughts) or None,
        ttft_ms=responses[0].ttft_ms,
        service_tier=last.service_tier,
    )


def _sum(values: Any) -> int | None:
    found = list(values)
    return None if any(v is None for v in found) else sum(found)


def _total(costs: Any) -> float | None:
    found = list(costs)
    return None if any(c is None for c in found) else sum(found)
