"""Tool calling across providers: tool calls normalized from each API's reply, and requests
converted from OpenAI's shape (what variants, conversations and tool loops hold) to each API's.

A normalized tool call is ``{"id", "name", "arguments"}`` with the arguments parsed from JSON. When
they are not a JSON object the call keeps them as text in ``raw_arguments``, ``arguments`` is None
and ``invalid`` says why — so a scorer can fail it and the grid can mark it.

Imports no provider SDK: the request bodies (:mod:`workbench.providers.wire`) use these
conversions, for the providers when they call and for the production loader's renders.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from workbench.prompts.tools import ToolConfig

__all__ = [
    "anthropic_calls",
    "anthropic_messages",
    "anthropic_tool_fields",
    "compact",
    "openai_calls",
    "openai_messages",
    "responses_calls",
    "responses_input",
    "responses_tool_fields",
    "signature",
    "signatures",
    "tool_call",
    "wire_call",
]


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """A normalized tool call; ``arguments`` is JSON text (OpenAI) or the parsed value
    (Anthropic's ``input``)."""
    out: dict[str, Any] = {"id": str(call_id), "name": str(name)}
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            return {**out, "arguments": None, "raw_arguments": arguments, "invalid": str(exc)}
        if not isinstance(parsed, dict):
            return {
                **out,
                "arguments": None,
                "raw_arguments": arguments,
                "invalid": "the arguments are not a JSON object",
            }
        return {**out, "arguments": parsed}
    if isinstance(arguments, Mapping):
        return {**out, "arguments": dict(arguments)}
    raw = json.dumps(arguments, ensure_ascii=False, default=str)
    return {**out, "arguments": None, "raw_arguments": raw, "invalid": "not a JSON object"}


def openai_calls(message: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The tool calls of an OpenAI Chat Completions reply message (None: it called none)."""
    calls = message.get("tool_calls")
    if not calls:
        return None
    out = []
    for call in calls:
        function = call.get("function") or {}
        out.append(
            tool_call(call.get("id", ""), function.get("name", ""), function.get("arguments"))
        )
    return out


def anthropic_calls(blocks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The ``tool_use`` blocks of an Anthropic Messages reply, normalized (None: none)."""
    out = [
        tool_call(b.get("id", ""), b.get("name", ""), b.get("input"))
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    return out or None


def responses_calls(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The ``function_call`` output items of a Responses API reply, normalized (None: none);
    a call's id is its ``call_id`` (what its result answers)."""
    out = [
        tool_call(i.get("call_id") or i.get("id") or "", i.get("name", ""), i.get("arguments"))
        for i in items
        if i.get("type") == "function_call"
    ]
    return out or None


def wire_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A normalized call back in OpenAI's message shape (for the next step of a tool loop)."""
    arguments = call.get("raw_arguments")
    if arguments is None:
        arguments = json.dumps(call.get("arguments") or {}, ensure_ascii=False)
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": arguments},
    }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def signature(call: Mapping[str, Any]) -> str:
    """Name and canonical arguments: equal for calls that do the same thing, whatever their id
    or key order (``lookup_order({"order_id":"42"})``)."""
    if call.get("invalid"):
        return f"{call['name']}(invalid: {call.get('raw_arguments')})"
    return f"{call['name']}({_canonical(call.get('arguments') or {})})"


def signatures(calls: Sequence[Mapping[str, Any]] | None) -> str:
    """The signatures of a reply's calls, in order ('' when it called none)."""
    return "; ".join(signature(c) for c in calls or ())


def compact(call: Mapping[str, Any], limit: int = 120) -> str:
    """``lookup_order(order_id="42", express=true)``: a call as a person reads it."""
    if call.get("invalid"):
        text = f"{call['name']}(⚠ invalid arguments: {call.get('raw_arguments')})"
    else:
        args = call.get("arguments") or {}
        shown = (f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
        text = f"{call['name']}({', '.join(shown)})"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- requests ----------------------------------------------------------------------------------


def openai_messages(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as OpenAI's Chat Completions takes them: an assistant turn that only called
    tools has ``content`` null."""
    out = []
    for m in messages:
        message = dict(m)
        if message.get("tool_calls") and not message.get("content"):
            message["content"] = None
        out.append(message)
    return out


def anthropic_tool_fields(tools: ToolConfig) -> dict[str, Any]:
    """``tools`` and ``tool_choice`` of an Anthropic Messages request, converted exactly:
    ``parameters`` -> ``input_schema``; auto/none/required/named -> ``auto``/``none``/``any``/
    ``tool``; ``parallel_tool_calls=False`` -> ``disable_parallel_tool_use``."""
    converted = []
    for definition in tools.definitions:
        function = definition["function"]
        tool: dict[str, Any] = {"name": function["name"]}
        if function.get("description") is not None:
            tool["description"] = function["description"]
        tool["input_schema"] = dict(
            function.get("parameters") or {"type": "object", "properties": {}}
        )
        if "strict" in function:
            tool["strict"] = function["strict"]
        converted.append(tool)
    out: dict[str, Any] = {"tools": converted}
    choice: dict[str, Any] | None = None
    if tools.chosen is not None:
        choice = {"type": "tool", "name": tools.chosen}
    elif tools.choice is not None:
        choice = {"type": {"auto": "auto", "none": "none", "required": "any"}[str(tools.choice)]}
    if tools.parallel is False and (choice is None or choice["type"] != "none"):
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice is not None:
        out["tool_choice"] = choice
    return out


def _arguments(text: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if isinstance(text, str) and text.strip() else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def anthropic_messages(
    messages: Iterable[Mapping[str, Any]],
) -> tuple[str, list[dict[str, Any]]]:
    """(system text, turns) of an Anthropic Messages request: system messages joined apart;
    an assistant turn's tool calls as ``tool_use`` blocks; tool results as ``tool_result``
    blocks of one user turn (with the user text that follows them). Turns without tools keep
    their plain text content."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    results = False  # the last turn holds tool results: the next user text joins it
    for m in messages:
        role, content = m["role"], m.get("content") or ""
        if role == "system":
            system.append(m["content"])
            continue
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": content}
            if results:
                turns[-1]["content"].append(block)
            else:
                turns.append({"role": "user", "content": [block]})
            results = True
            continue
        if role == "user" and results:
            turns[-1]["content"].append({"type": "text", "text": content})
            results = False
            continue
        results = False
        if role == "assistant" and m.get("tool_calls"):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": content}] if content else []
            for call in m["tool_calls"]:
                function = call["function"]
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call["id"],
                        "name": function["name"],
                        "input": _arguments(function.get("arguments")),
                    }
                )
            turns.append({"role": "assistant", "content": blocks})
            continue
        turns.append({"role": role, "content": content})
    return "\n\n".join(system), turns


def responses_tool_fields(tools: ToolConfig) -> dict[str, Any]:
    """``tools``, ``tool_choice`` and ``parallel_tool_calls`` of a Responses API request: each
    function flat (``{"type": "function", "name", "description", "parameters", "strict"}``),
    ``strict`` false unless the definition says (the Responses API would otherwise default to
    strict, which Chat Completions does not); a named choice as ``{"type": "function",
    "name"}``."""
    converted = []
    for definition in tools.definitions:
        function = definition["function"]
        tool: dict[str, Any] = {"type": "function", "name": function["name"]}
        if function.get("description") is not None:
            tool["description"] = function["description"]
        tool["parameters"] = dict(
            function.get("parameters") or {"type": "object", "properties": {}}
        )
        tool["strict"] = bool(function.get("strict", False))
        converted.append(tool)
    out: dict[str, Any] = {"tools": json.loads(json.dumps(converted))}
    if tools.chosen is not None:
        out["tool_choice"] = {"type": "function", "name": tools.chosen}
    elif tools.choice is not None:
        out["tool_choice"] = tools.choice
    if tools.parallel is not None:
        out["parallel_tool_calls"] = tools.parallel
    return out


def responses_input(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as the Responses API's ``input``: an assistant turn's tool calls as
    ``function_call`` items (after its text, if any), tool results as ``function_call_output``
    items; other turns as they are."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "tool":
            output = m.get("content")
            out.append(
                {
                    "type": "function_call_output",
                    "call_id": m["tool_call_id"],
                    "output": output if isinstance(output, str) else json.dumps(output),
                }
            )
            continue
        if m["role"] == "assistant" and m.get("tool_calls"):
            if m.get("content"):
                out.append({"role": "assistant", "content": m["content"]})
            for call in m["tool_calls"]:
                function = call["function"]
                out.append(
                    {
                        "type": "function_call",
                        "call_id": call["id"],
                        "name": function["name"],
                        "arguments": function.get("arguments") or "{}",
                    }
                )
            continue
        out.append(dict(m))
    return out
