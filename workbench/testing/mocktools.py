"""Tool calling in the mock LLM server: the checks the real APIs (Chat Completions, Responses,
Anthropic Messages) make on ``tools``, ``tool_choice`` and tool turns, and deterministic tool
calls in replies.

When does the mock call a tool? Calls scripted for the last user text (``tool_calls``: text ->
``[{"name": ..., "arguments": {...} or "raw text"}]``, raw text sent as it is, malformed or not)
are made when the tools and ``tool_choice`` allow them; otherwise ``tool_choice`` ``required``
calls the first tool and a named choice that tool, with arguments made from the tool's schema
(each required text parameter gets the last user text). ``auto`` without a script answers in
text, as does any request after tool results (the follow-up), unless a call is forced.
``parallel_tool_calls: false`` (Anthropic: ``disable_parallel_tool_use``) keeps the first call.
The Responses API's tool turns are ``function_call`` / ``function_call_output`` input items.

Stdlib only; raises ``ValueError`` where the real API answers 400 (``mockcore`` turns it into one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TOOL_ITEMS",
    "ToolRequest",
    "check_scripted",
    "parse_tools",
    "planned_calls",
    "tool_reply",
]

TOOL_ITEMS = frozenset({"function_call", "function_call_output"})
"""Responses API input items that are tool turns (they carry no ``role``)."""


@dataclass(frozen=True)
class ToolRequest:
    """The tool part of a chat request, as the mock decides on it."""

    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Tool name -> its parameters schema, in the request's order."""
    choice: str = "auto"
    """auto, none, required, or ``tool`` (then :attr:`forced` names it)."""
    forced: str | None = None
    parallel: bool = True
    results: tuple[str, ...] = ()
    """The tool results the request ends with (its last turn answers tool calls)."""


def check_scripted(value: object) -> dict[str, list[dict[str, Any]]]:
    """Validate scripted calls: last user text -> [{"name": str, "arguments": object | str}]."""
    problem = ValueError(
        'tool_calls must be an object: last user text -> [{"name": str, "arguments": {...} or '
        '"raw JSON text"}]'
    )
    if not isinstance(value, dict):
        raise problem
    out: dict[str, list[dict[str, Any]]] = {}
    for text, calls in value.items():
        if not isinstance(calls, list) or not all(
            isinstance(c, dict)
            and isinstance(c.get("name"), str)
            and set(c) <= {"name", "arguments"}
            for c in calls
        ):
            raise problem
        out[str(text)] = [{"name": c["name"], "arguments": c.get("arguments", {})} for c in calls]
    return out


def _openai_tools(body: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        raise ValueError("tools: Input should be a valid list")
    out: dict[str, Mapping[str, Any]] = {}
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(function, dict)
        ):
            raise ValueError(f"tools.{i}: each tool is {{'type': 'function', 'function': {{...}}}}")
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise ValueError(f"tools.{i}.function.name: Field required")
        params = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(params, dict):
            raise ValueError(f"tools.{i}.function.parameters: Input should be a valid dictionary")
        out[function["name"]] = params
    return out


def _responses_tools(body: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        raise ValueError("tools: Input should be a valid list")
    out: dict[str, Mapping[str, Any]] = {}
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function" or "function" in tool:
            raise ValueError(
                f"tools[{i}]: a function tool is {{'type': 'function', 'name': ..., "
                f"'parameters': {{...}}}} (not Chat Completions' nested 'function')"
            )
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise ValueError(f"Missing required parameter: 'tools[{i}].name'.")
        params = tool.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(params, dict):
            raise ValueError(f"tools[{i}].parameters: Input should be a valid dictionary")
        out[tool["name"]] = params
    return out


def _anthropic_tools(body: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        raise ValueError("tools: Input should be a valid list")
    out: dict[str, Mapping[str, Any]] = {}
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise ValueError(f"tools.{i}.name: Field required")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise ValueError(
                f"tools.{i}.custom.input_schema: Field required (a JSON Schema object)"
            )
        out[tool["name"]] = schema
    return out


def parse_tools(api: str, body: Mapping[str, Any]) -> ToolRequest:
    """The tools, choice and tool turns of a request body, checked as the real API does."""
    has = "tools" in body
    read = {"openai": _openai_tools, "responses": _responses_tools}.get(api, _anthropic_tools)
    schemas = read(body) if has else {}
    raw = body.get("tool_choice")
    choice, forced, parallel = "auto", None, True
    if api in ("openai", "responses"):
        if raw is not None and not has:
            raise ValueError(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
            )
        if "parallel_tool_calls" in body:
            if not has:
                raise ValueError(
                    "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified."
                )
            if not isinstance(body["parallel_tool_calls"], bool):
                raise ValueError("parallel_tool_calls: Input should be a valid boolean")
            parallel = body["parallel_tool_calls"]
        if isinstance(raw, dict) and raw.get("type") == "function":
            name = (
                raw.get("name") if api == "responses" else (raw.get("function") or {}).get("name")
            )
            if name not in schemas:
                raise ValueError(
                    f"Invalid value for 'tool_choice': no function named {name!r} was specified in the 'tools' parameter"
                )
            choice, forced = "tool", name
        elif raw in ("auto", "none", "required"):
            choice = str(raw)
        elif raw is not None:
            raise ValueError(
                "Invalid value for 'tool_choice': must be 'none', 'auto', 'required' or a named function"
            )
        if api == "responses":
            results = _responses_turns(body.get("input") or [])
        else:
            results = _openai_turns(body.get("messages") or [])
    else:
        if raw is not None:
            if not isinstance(raw, dict) or raw.get("type") not in ("auto", "any", "tool", "none"):
                raise ValueError(
                    "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
                )
            choice = str({"any": "required"}.get(raw["type"], raw["type"]))
            if raw["type"] == "tool":
                if raw.get("name") not in schemas:
                    raise ValueError(
                        f"tool_choice.name: tool {raw.get('name')!r} not found in tools"
                    )
                forced = raw["name"]
            parallel = not raw.get("disable_parallel_tool_use", False)
        results = _anthropic_turns(body.get("messages") or [], has)
    return ToolRequest(schemas, choice, forced, parallel, results)


def _openai_turns(messages: Sequence[Any]) -> tuple[str, ...]:
    """Tool turns follow the assistant turn that called them, answering every call."""
    pending: set[str] = set()
    trailing: list[str] = []
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in pending:
                raise ValueError(
                    f"Invalid parameter: messages.[{i}]: messages with role 'tool' must be a "
                    f"response to a preceeding message with 'tool_calls'."
                )
            pending.discard(call_id)
            content = m.get("content")
            trailing.append(content if isinstance(content, str) else json.dumps(content))
            continue
        if pending:
            raise ValueError(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(sorted(pending))}"
            )
        trailing = []
        if role == "assistant":
            for call in m.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
                    raise ValueError(
                        f"messages.[{i}].tool_calls: each call needs function.name and function.arguments (a string)"
                    )
                pending.add(call.get("id"))
    if pending:
        raise ValueError(
            "An assistant message with 'tool_calls' must be followed by tool messages responding "
            f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
            f"{', '.join(sorted(pending))}"
        )
    return tuple(trailing)


def _responses_turns(items: Any) -> tuple[str, ...]:
    """function_call_output items answer function_call items before them, each call answered
    before the next message."""
    if not isinstance(items, list):
        return ()
    pending: set[str] = set()
    trailing: list[str] = []
    for i, item in enumerate(items):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "function_call":
            if not all(isinstance(item.get(k), str) for k in ("call_id", "name", "arguments")):
                raise ValueError(
                    f"input[{i}]: a function_call needs call_id, name and arguments (a string)"
                )
            pending.add(item["call_id"])
            trailing = []
            continue
        if kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in pending:
                raise ValueError(
                    f"No tool call found for function call output with call_id {call_id}."
                )
            pending.discard(call_id)
            output = item.get("output")
            trailing.append(output if isinstance(output, str) else json.dumps(output))
            continue
        if pending:
            raise ValueError(f"No tool output found for function call {sorted(pending)[0]}.")
        trailing = []
    if pending:
        raise ValueError(f"No tool output found for function call {sorted(pending)[0]}.")
    return tuple(trailing)


def _anthropic_turns(messages: Sequence[Any], has_tools: bool) -> tuple[str, ...]:
    """tool_result blocks answer the tool_use blocks of the assistant turn just before."""
    pending: set[str] = set()
    results: list[str] = []
    for i, m in enumerate(messages):
        content = m.get("content") if isinstance(m, dict) else None
        blocks: list[Any] = content if isinstance(content, list) else []
        kinds = {b.get("type") for b in blocks if isinstance(b, dict)}
        if kinds & {"tool_use", "tool_result"} and not has_tools:
            raise ValueError(
                "Requests which include `tool_use` or `tool_result` blocks must define tools."
            )
        answered = {
            b.get("tool_use_id")
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "tool_result"
        }
        if pending - answered:
            raise ValueError(
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(sorted(pending - answered))}. Each `tool_use` "
                f"block must have a corresponding `tool_result` block in the next message."
            )
        if answered - pending:
            raise ValueError(
                f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{', '.join(sorted(str(a) for a in answered - pending))}. Each `tool_result` block "
                f"must have a corresponding `tool_use` block in the previous message."
            )
        results = [
            _result_text(b)
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
        pending = set()
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "tool_use":
                if not isinstance(b.get("input"), dict) or not isinstance(b.get("id"), str):
                    raise ValueError(
                        f"messages.{i}.content: tool_use needs an id and an input object"
                    )
                pending.add(b["id"])
    if pending:
        raise ValueError(
            "`tool_use` ids were found without `tool_result` blocks immediately after: "
            f"{', '.join(sorted(pending))}."
        )
    return tuple(results)


def _result_text(block: Mapping[str, Any]) -> str:
    content = block.get("content", "")
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content)


def _default_arguments(schema: Mapping[str, Any], text: str) -> dict[str, Any]:
    """Arguments made from a schema: each required parameter gets a value of its type."""
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name in schema.get("required") or []:
        prop = props.get(name) or {}
        kind = prop.get("type")
        if prop.get("enum"):
            out[name] = prop["enum"][0]
        elif kind in ("integer", "number"):
            out[name] = 1
        elif kind == "boolean":
            out[name] = True
        elif kind == "array":
            out[name] = []
        elif kind == "object":
            out[name] = {}
        else:
            out[name] = text
    return out


def planned_calls(
    tools: ToolRequest, last_user: str, scripted: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[tuple[str, Any]]:
    """(name, arguments) of the calls the reply makes; [] for a text reply."""
    if not tools.schemas or tools.choice == "none":
        return []
    forced = tools.choice in ("required", "tool")
    calls = [] if tools.results and not forced else list(scripted.get(last_user, ()))
    made = [(str(c["name"]), c.get("arguments", {})) for c in calls]
    if tools.forced is not None:
        made = [c for c in made if c[0] == tools.forced]
    if not made and forced:
        name = tools.forced or next(iter(tools.schemas))
        made = [(name, _default_arguments(tools.schemas[name], last_user))]
    return made if tools.parallel else made[:1]


def tool_reply(api: str, fingerprint: str, calls: Sequence[tuple[str, Any]]) -> tuple[Any, int]:
    """The calls as the API puts them in a reply (OpenAI ``tool_calls``, Responses
    ``function_call`` items, Anthropic content blocks), and their size in words."""
    out: list[dict[str, Any]] = []
    words = 0
    for i, (name, arguments) in enumerate(calls):
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        words += len(text.split()) + 1
        if api == "openai":
            out.append(
                {
                    "id": f"call_{fingerprint[:12]}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": text},
                }
            )
        elif api == "responses":
            out.append(
                {
                    "type": "function_call",
                    "id": f"fc_{fingerprint[:12]}_{i}",
                    "call_id": f"call_{fingerprint[:12]}_{i}",
                    "name": name,
                    "arguments": text,
                    "status": "completed",
                }
            )
        else:
            out.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{fingerprint[:12]}_{i}",
                    "name": name,
                    "input": arguments,  # malformed text stays text: a broken reply to act out
                }
            )
    return out, words
