"""The conversation so far, read from a dataset column (``Variant(history="conversation")``).

A row's value is a list of turns ``[{"role": "user" | "assistant", "content": str}, ...]``, or the
JSON text of one (CSV and JSONL datasets); a missing value (None, NaN, empty text) is an empty
conversation. Turns are data: their content is passed on verbatim, never rendered as a template.

Tool turns take OpenAI's shape: an assistant turn may call tools (``tool_calls``, its content then
optional), and each call is answered by a ``tool`` turn carrying its ``tool_call_id``::

    {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
     "function": {"name": "lookup_order", "arguments": "{\\"order_id\\": \\"42\\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\\"status\\": \\"shipped\\"}"}

One function checks it for every reader — :class:`~workbench.prompts.variant.Variant` over a
dataset row and the production loader over its named input — so both accept and refuse the same
values. Imports nothing heavy (the loader uses it).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from workbench.errors import DatasetError
from workbench.prompts.render import Message

__all__ = ["HISTORY_ROLES", "parse_conversation"]

HISTORY_ROLES = ("user", "assistant", "tool")
"""Roles a turn of the conversation may have (the system prompt belongs to the variant)."""

_KEYS = {
    "user": ("role", "content"),
    "assistant": ("role", "content", "tool_calls"),
    "tool": ("role", "tool_call_id", "content"),
}
_FIX_KEYS = (
    "keep only those, e.g. df[col] = df[col].map(lambda turns: "
    "[{'role': t['role'], 'content': t['content']} for t in turns])"
)
_CALL_SHAPE = (
    '{"id": "call_1", "type": "function", "function": {"name": "lookup_order", '
    '"arguments": "{\\"order_id\\": \\"42\\"}"}}'
)


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return type(value).__name__ == "NAType"  # pandas.NA, without importing pandas


def parse_conversation(
    value: Any,
    where: str,
    *,
    ends_with_user: bool = False,
    tools: Collection[str] | None = None,
) -> list[Message]:
    """The turns of a conversation value, checked; raises :class:`DatasetError` naming ``where``.

    ``value`` is a list (or tuple, or array) of ``{"role", "content"}`` mappings, or JSON text of
    one; None, NaN and empty text are an empty conversation. Roles are ``user``, ``assistant``
    or ``tool``; content must be text (empty text is allowed). An assistant turn may call tools
    (``tool_calls`` in OpenAI's shape, arguments as JSON text): each call must be answered by a
    ``tool`` turn with its ``tool_call_id`` before the next user or assistant turn, and name one
    of ``tools`` (the variant's tools; None: not checked). With ``ends_with_user`` the
    conversation must be non-empty and end with a user or tool turn: what the model replies to.
    """
    if _missing(value):
        raw: Any = []
    elif isinstance(value, str):
        try:
            raw = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{where}: the conversation is not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno}, character {exc.pos}): {value[:80]!r}. Write it as a JSON "
                f'list of turns, e.g. [{{"role": "user", "content": "Hi"}}].'
            ) from None
    elif hasattr(value, "tolist") and not isinstance(value, Mapping):
        raw = value.tolist()  # a numpy array, as Parquet list columns are read
    else:
        raw = value
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
        raise DatasetError(
            f"{where}: the conversation must be a list of turns "
            f'[{{"role": "user" | "assistant", "content": "..."}}, ...], got '
            f"{type(raw).__name__} {_short(raw)}."
        )
    turns: list[Message] = []
    pending: dict[str, int] = {}
    """Tool calls not answered yet: id -> the turn that made them."""
    for i, turn in enumerate(raw):
        n = i + 1
        message = _turn(turn, n, where)
        role = message["role"]
        if role == "tool":
            call_id = message["tool_call_id"]
            if call_id not in pending:
                made = "" if pending else " (no tool call is waiting for a result there)"
                raise DatasetError(
                    f"{where}: turn {n} of the conversation is a tool result for "
                    f"tool_call_id {call_id!r}, which no assistant turn before it called"
                    f"{made}. A tool turn answers a call of the assistant turn before it, by id."
                )
            del pending[call_id]
        elif pending:
            ids = ", ".join(map(repr, pending))
            raise DatasetError(
                f"{where}: turn {n} of the conversation ({role}) comes before the results of "
                f"the tool call(s) {ids} of turn {next(iter(pending.values()))}; add a "
                f'{{"role": "tool", "tool_call_id": ..., "content": ...}} turn for each first.'
            )
        for call in message.get("tool_calls", []):
            call_id, name = call["id"], call["function"]["name"]
            if call_id in pending or any(
                call_id == c["id"] for t in turns for c in t.get("tool_calls", [])
            ):
                raise DatasetError(
                    f"{where}: turn {n} of the conversation repeats the tool call id "
                    f"{call_id!r}; each call needs its own id."
                )
            if tools is not None and name not in tools:
                declared = (
                    f"the variant's tools are {', '.join(sorted(tools))}"
                    if tools
                    else "the variant declares no tools: give it tools=[...]"
                )
                raise DatasetError(
                    f"{where}: turn {n} of the conversation calls the tool {name!r}, but "
                    f"{declared}."
                )
            pending[call_id] = n
        turns.append(message)
    if pending:
        ids = ", ".join(map(repr, pending))
        raise DatasetError(
            f"{where}: the conversation ends before the results of the tool call(s) {ids} of "
            f"turn {next(iter(pending.values()))}; add a tool turn with each call's result."
        )
    if ends_with_user and not turns:
        raise DatasetError(
            f"{where}: the conversation is empty and no user message follows it, so there is "
            f"nothing to reply to. Give a conversation ending with a user turn (or give the "
            f"variant a user template: Variant(user=...))."
        )
    if ends_with_user and turns[-1]["role"] == "assistant":
        raise DatasetError(
            f"{where}: the conversation ends with an assistant turn and no user message "
            f"follows it, so there is nothing to reply to. End it with a user turn (or give "
            f"the variant a user template: Variant(user=...))."
        )
    return turns


def _turn(turn: Any, n: int, where: str) -> Message:
    """One turn, checked: its keys, role, content, tool calls."""
    if not isinstance(turn, Mapping):
        raise DatasetError(
            f"{where}: turn {n} of the conversation must be a mapping with role and "
            f"content, got {type(turn).__name__} {_short(turn)}."
        )
    role = turn.get("role")
    if "role" in turn and role not in HISTORY_ROLES:
        hint = " Put the system prompt in Variant(system=...)." if role == "system" else ""
        raise DatasetError(
            f"{where}: turn {n} of the conversation has role {role!r}; a turn's role must "
            f"be 'user', 'assistant' or 'tool'.{hint}"
        )
    calls = role == "assistant" and "tool_calls" in turn
    needed = [k for k in _KEYS.get(str(role), ("role", "content")) if k != "tool_calls"]
    missing = [k for k in needed if k not in turn and not (calls and k == "content")]
    if missing:
        shape = (
            "{'role': 'tool', 'tool_call_id': str, 'content': str}"
            if role == "tool"
            else "{'role': 'user' | 'assistant', 'content': str}"
        )
        raise DatasetError(
            f"{where}: turn {n} of the conversation has no {' or '.join(missing)}: "
            f"{_short(turn)}. Each turn is {shape}."
        )
    allowed = _KEYS[str(role)]
    extra = sorted(str(k) for k in turn if k not in allowed)
    if extra:
        besides = " and ".join(k for k in allowed if k != "tool_calls")
        if role == "assistant":
            besides = "role, content and tool_calls"
        raise DatasetError(
            f"{where}: turn {n} of the conversation has key(s) {extra} besides {besides}, "
            f"which workbench would not send; {_FIX_KEYS}."
        )
    content = turn.get("content")
    if calls and content is None:
        content = ""
    if not isinstance(content, str):
        raise DatasetError(
            f"{where}: turn {n} of the conversation ({role}) has content of type "
            f"{type(content).__name__}; content must be text"
            + (" (a tool's result as text, e.g. json.dumps(result))." if role == "tool" else ".")
        )
    message = Message(role=str(role), content=content)
    if role == "tool":
        call_id = turn["tool_call_id"]
        if not isinstance(call_id, str) or not call_id:
            raise DatasetError(
                f"{where}: turn {n} of the conversation (tool) has tool_call_id {call_id!r}; "
                f"it must be the id of the call it answers."
            )
        message["tool_call_id"] = call_id
    if calls:
        message["tool_calls"] = _calls(turn["tool_calls"], n, where)
    return message


def _calls(value: Any, n: int, where: str) -> list[dict[str, Any]]:
    """The tool calls of an assistant turn, checked, in OpenAI's shape."""
    here = f"{where}: turn {n} of the conversation (assistant)"
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        raise DatasetError(
            f"{here}: tool_calls must be a non-empty list of calls [{_CALL_SHAPE}], got "
            f"{_short(value)}."
        )
    out: list[dict[str, Any]] = []
    for k, call in enumerate(value, start=1):
        at = f"{here}, tool call {k}"
        function = call.get("function") if isinstance(call, Mapping) else None
        if (
            not isinstance(call, Mapping)
            or set(call) != {"id", "type", "function"}
            or call["type"] != "function"
            or not isinstance(function, Mapping)
            or set(function) != {"name", "arguments"}
        ):
            raise DatasetError(f"{at}: a call is {_CALL_SHAPE}, got {_short(call)}.")
        call_id, name, arguments = call["id"], function["name"], function["arguments"]
        if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
            raise DatasetError(
                f"{at}: id and function.name must be non-empty text: {_short(call)}."
            )
        if not isinstance(arguments, str):
            raise DatasetError(
                f"{at} ({name}): arguments must be JSON text, e.g. json.dumps({_short(arguments)}), "
                f"as the API sends them; got {type(arguments).__name__}."
            )
        try:
            parsed = json.loads(arguments)
        except ValueError as exc:
            raise DatasetError(
                f"{at} ({name}): arguments are not valid JSON ({exc}): {arguments[:80]!r}."
            ) from None
        if not isinstance(parsed, dict):
            raise DatasetError(
                f"{at} ({name}): arguments must be a JSON object ({{...}}), got {arguments[:80]!r}."
            )
        out.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        )
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
