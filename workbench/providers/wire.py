"""The request bodies each API is sent, built from workbench's messages and parameters: one
function per API shape, used by the providers when they call and by the production loader
(``load_prompt(...).render()`` and friends), so what a run sent and what production sends are the
same by construction. Pure: imports no SDK (the loader stays light).

Tools (a :class:`~workbench.prompts.tools.ToolConfig`, OpenAI's form) and the tool turns of a
conversation are converted here for each API with :mod:`workbench.providers.tools`.

Transport keys (``stream``, ``stream_options``) are added by the providers, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.prompts.tools import ToolConfig
from workbench.providers.tools import (
    anthropic_messages,
    anthropic_tool_fields,
    openai_messages,
    responses_input,
    responses_tool_fields,
)

__all__ = [
    "ANTHROPIC_CREATE_KEYS",
    "ANTHROPIC_DEFAULT_MAX_TOKENS",
    "ANTHROPIC_THINKING_MAX_TOKENS",
    "OPENAI_CREATE_KEYS",
    "RESPONSES_PARAMS",
    "SWITCHES",
    "anthropic_body",
    "anthropic_max_tokens",
    "chat_body",
    "responses_body",
    "sdk_kwargs",
]

SWITCHES = frozenset({"api"})
"""Parameters that choose how a call is made rather than what is sent (``api="responses"``)."""

ANTHROPIC_DEFAULT_MAX_TOKENS = 1024
"""``max_tokens`` sent to Anthropic when a variant sets none (the Messages API requires one)."""
ANTHROPIC_THINKING_MAX_TOKENS = 16_000
"""``max_tokens`` sent when adaptive thinking or an effort is asked for without ``max_tokens``
(manual thinking gets its ``budget_tokens`` plus :data:`ANTHROPIC_DEFAULT_MAX_TOKENS`)."""
ANTHROPIC_CREATE_KEYS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "stop_sequences",
        "metadata",
        "thinking",
        "tools",
        "tool_choice",
    }
)
"""Keys every supported ``anthropic`` SDK's ``messages.create`` takes as keywords; the rest of a
body goes in ``extra_body`` (the SDK merges it into the same JSON)."""

OPENAI_CREATE_KEYS = frozenset(
    {
        "model",
        "messages",
        "input",
        "max_completion_tokens",
        "max_tokens",
        "max_output_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "response_format",
        "reasoning_effort",
        "reasoning",
        "text",
        "verbosity",
        "service_tier",
        "metadata",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
    }
)
"""Keys of a body the ``openai`` SDK's ``chat.completions.create`` / ``responses.create`` take
as keywords; others (a compatible server's ``top_k``, ...) go in ``extra_body``."""

RESPONSES_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "reasoning_effort",
        "reasoning_summary",
        "verbosity",
        "response_format",
        "service_tier",
        "metadata",
    }
)
"""Workbench parameters the Responses API takes (under its own names)."""


def chat_body(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    tools: ToolConfig | None = None,
    *,
    openai: bool = True,
) -> dict[str, Any]:
    """A Chat Completions body. ``openai``: OpenAI's own API, which takes ``max_tokens`` as
    ``max_completion_tokens`` (its reasoning models refuse ``max_tokens``); otherwise an
    OpenAI-compatible server, which gets ``max_tokens`` and any extra parameter as sent. Tools
    go as OpenAI defines them (``tools``, ``tool_choice``, ``parallel_tool_calls``)."""
    body: dict[str, Any] = {"model": model, "messages": openai_messages(messages)}
    if tools is not None:
        body.update(tools.request_fields())
    rest = {k: v for k, v in params.items() if k not in SWITCHES}
    if openai and "max_tokens" in rest:
        body["max_completion_tokens"] = rest.pop("max_tokens")
    body.update(rest)
    return body


def responses_body(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    tools: ToolConfig | None = None,
) -> dict[str, Any]:
    """An OpenAI Responses API body: messages as ``input`` (tool calls and results as
    ``function_call`` / ``function_call_output`` items); ``max_tokens`` as
    ``max_output_tokens``; ``reasoning_effort`` / ``reasoning_summary`` under ``reasoning``;
    ``verbosity`` and a JSON Schema ``response_format`` under ``text``; tools in that API's
    flat shape."""
    body: dict[str, Any] = {"model": model, "input": responses_input(messages)}
    if tools is not None:
        body.update(responses_tool_fields(tools))
    reasoning: dict[str, Any] = {}
    text: dict[str, Any] = {}
    for key, value in params.items():
        if key in SWITCHES:
            continue
        if key == "max_tokens":
            body["max_output_tokens"] = value
        elif key == "reasoning_effort":
            reasoning["effort"] = value
        elif key == "reasoning_summary":
            reasoning["summary"] = value
        elif key == "verbosity":
            text["verbosity"] = value
        elif key == "response_format":
            text["format"] = _responses_format(value)
        else:
            body[key] = value
    if reasoning:
        body["reasoning"] = reasoning
    if text:
        body["text"] = text
    return body


def _responses_format(value: Any) -> Any:
    """Chat's ``{"type": "json_schema", "json_schema": {name, schema, strict}}`` flattened as
    the Responses API takes it; other formats (``{"type": "json_object"}``) as they are."""
    if isinstance(value, Mapping) and value.get("type") == "json_schema":
        inner = dict(value.get("json_schema") or {})
        return {"type": "json_schema", **inner}
    return value


def anthropic_max_tokens(params: Mapping[str, Any]) -> int:
    """The ``max_tokens`` an Anthropic call sends: the variant's, else room for its thinking
    budget and an answer, else :data:`ANTHROPIC_DEFAULT_MAX_TOKENS`."""
    if params.get("max_tokens"):
        return int(params["max_tokens"])
    thinking = params.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int) and not isinstance(budget, bool):
            return budget + ANTHROPIC_DEFAULT_MAX_TOKENS
    adaptive = isinstance(thinking, Mapping) and thinking.get("type") == "adaptive"
    if adaptive or params.get("effort"):
        return ANTHROPIC_THINKING_MAX_TOKENS
    return ANTHROPIC_DEFAULT_MAX_TOKENS


def anthropic_body(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    tools: ToolConfig | None = None,
) -> dict[str, Any]:
    """An Anthropic Messages body: system messages joined into ``system``; tool calls and
    results as ``tool_use`` / ``tool_result`` blocks; ``stop`` as ``stop_sequences``; ``effort``
    and a JSON Schema ``response_format`` under ``output_config``; ``max_tokens`` as
    :func:`anthropic_max_tokens` says; tools converted (``input_schema``, ``tool_choice``
    types)."""
    system, turns = anthropic_messages(messages)
    body: dict[str, Any] = {
        "model": model,
        "messages": turns,
        "max_tokens": anthropic_max_tokens(params),
    }
    if system:
        body["system"] = system
    if tools is not None:
        body.update(anthropic_tool_fields(tools))
    output: dict[str, Any] = {}
    for key, value in params.items():
        if key in SWITCHES or key == "max_tokens":
            continue
        if key == "stop":
            body["stop_sequences"] = [value] if isinstance(value, str) else list(value)
        elif key == "effort":
            output["effort"] = value
        elif key == "response_format":
            output["format"] = _anthropic_format(value)
        else:
            body[key] = value
    if output:
        body["output_config"] = output
    return body


def _anthropic_format(value: Any) -> Any:
    """Chat's ``{"type": "json_schema", "json_schema": {"schema": ...}}`` as Anthropic's
    structured-output format ``{"type": "json_schema", "schema": ...}``."""
    if isinstance(value, Mapping) and value.get("type") == "json_schema":
        inner = value.get("json_schema") or {}
        return {"type": "json_schema", "schema": inner.get("schema", {})}
    return value


def sdk_kwargs(body: Mapping[str, Any], keywords: frozenset[str]) -> dict[str, Any]:
    """A body as an SDK ``create(**...)`` takes it: the keys it names as keywords, the rest in
    ``extra_body`` (which the SDK merges back: the JSON sent is ``body`` exactly)."""
    out = {k: v for k, v in body.items() if k in keywords}
    extra = {k: v for k, v in body.items() if k not in keywords}
    if extra:
        out["extra_body"] = extra
    return out
