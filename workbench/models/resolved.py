"""One model as a run sees it: its id, the provider class that serves it, its facts, and the
token counting, output reservation and parameter checks that go with them."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.config import Settings, get_settings
from workbench.models.catalog import model_info
from workbench.prompts.tools import ToolConfig
from workbench.providers.base import ModelId, ModelInfo, Provider
from workbench.providers.registry import default_model, parse_model_id, provider_class
from workbench.tokens.count import TokenCount

__all__ = ["Model", "count_text", "count_tokens", "resolve"]


@dataclass(frozen=True)
class Model:
    """A resolved model id (build with :func:`resolve`)."""

    id: ModelId
    provider: type[Provider]
    info: ModelInfo
    settings: Settings = field(repr=False, compare=False)

    def __str__(self) -> str:
        return str(self.id)

    def check_params(self, params: Mapping[str, Any], where: str) -> None:
        """Refuse, before any call, parameters the provider would reject."""
        self.provider.check_params(params, self.info, where)

    def check_tools(self, tools: ToolConfig | None, where: str) -> None:
        """Refuse, before any call, tools the provider cannot offer the model."""
        self.provider.check_tools(tools, where)

    def count_tools(self, tools: ToolConfig, *, remote: bool | None = None) -> TokenCount:
        """Input tokens the tool definitions add to a request (cached)."""
        if remote is None:
            remote = self._remote()
        key = (self.provider, self.id, "tools", json.dumps(tools.request_fields()), remote)
        found = _COUNTS.get(key)
        if found is None:
            found = self.provider.count_tool_tokens(
                self.id, tools, settings=self.settings, remote=remote
            )
            _remember(key, found)
        return found

    def input_tokens(self, messages: Sequence[Mapping[str, Any]], tools: ToolConfig | None) -> int:
        """Input tokens of a request, tool definitions included (offline: for plans and costs)."""
        total = self.count_tokens(messages, remote=False, with_offsets=False).total
        return total + (self.count_tools(tools, remote=False).total if tools is not None else 0)

    def _remote(self) -> bool:
        return bool(self.provider.key_env) and self.provider.key_env in _environ()

    def reserved_output(self, params: Mapping[str, Any]) -> int:
        """Output tokens one call with ``params`` may use (estimates, budgets and requests)."""
        return self.provider.reserved_output(params, self.info)

    def max_cost(
        self, input_tokens: int, params: Mapping[str, Any], *, batch: bool = False
    ) -> float | None:
        """Cost of a call whose reply uses every allowed output token, at the service tier it
        asks for, or at batch prices when it goes in a provider ``batch`` (None: unpriced)."""
        tier = self.provider.price_tier(params, batch=batch)
        return self.info.cost(input_tokens, self.reserved_output(params), tier=tier)

    def count_tokens(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        remote: bool | None = None,
        with_offsets: bool = True,
    ) -> TokenCount:
        """Input tokens of a chat request (cached per model and messages). ``remote`` lets a
        provider use a counting API (default: when its key is set)."""
        if remote is None:
            remote = self._remote()
        key = tuple((str(m["role"]), _countable(m)) for m in messages)
        found = _count(self, key, remote, with_offsets)
        if any(_has_tool_fields(m) for m in messages) and found.exact:
            why = "tool calls and results in the conversation counted as text"
            found = dataclasses.replace(found, exact=False, method=f"{found.method}; {why}")
        return found


def _environ() -> Mapping[str, str]:
    return {k: v for k, v in os.environ.items() if v}


def _has_tool_fields(message: Mapping[str, Any]) -> bool:
    return "tool_calls" in message or "tool_call_id" in message


def _countable(message: Mapping[str, Any]) -> str:
    """A message's text as counted: its content, then the tool calls it makes (as JSON)."""
    text = str(message.get("content") or "")
    if message.get("tool_calls"):
        calls = [c.get("function", c) for c in message["tool_calls"]]
        text += ("\n" if text else "") + json.dumps(calls, ensure_ascii=False)
    return text


def _remember(key: tuple[Any, ...], count: TokenCount) -> None:
    if len(_COUNTS) >= 4096:
        _COUNTS.pop(next(iter(_COUNTS)))
    _COUNTS[key] = count


def _count(
    model: Model, messages: tuple[tuple[str, str], ...], remote: bool, with_offsets: bool
) -> TokenCount:
    tokenizer = model.provider.tokenizer_key(model.id, model.settings)
    key = (model.provider, model.id, tokenizer, messages, remote, with_offsets)
    found = _COUNTS.get(key)
    if found is None:
        msgs = [{"role": r, "content": c} for r, c in messages]
        found = model.provider.count_tokens(
            model.id, msgs, settings=model.settings, remote=remote, with_offsets=with_offsets
        )
        _remember(key, found)
    return found


_COUNTS: dict[tuple[Any, ...], TokenCount] = {}
"""Token counts by (provider, model, tokenizer file, messages, remote, offsets): a cache of pure
results, never state a run depends on."""


def resolve(model: str | ModelId | None, settings: Settings) -> Model:
    """The model for an id (None: the default model), with its provider class and facts."""
    mid = (
        model
        if isinstance(model, ModelId)
        else parse_model_id(model or default_model(settings), settings)
    )
    return Model(mid, provider_class(mid, settings), model_info(mid, settings), settings)


def count_tokens(
    model: str | ModelId,
    messages: Sequence[Mapping[str, Any]],
    *,
    settings: Settings | None = None,
    remote: bool | None = None,
    with_offsets: bool = True,
) -> TokenCount:
    """Input tokens of a chat request for ``model`` (``provider/model``): exact where the model's
    tokenizer is available offline (or its provider's counting API when ``remote``), otherwise a
    labelled estimate."""
    resolved = resolve(model, settings or get_settings())
    return resolved.count_tokens(messages, remote=remote, with_offsets=with_offsets)


def count_text(model: str | ModelId, text: str, *, settings: Settings | None = None) -> int:
    """Tokens of plain text alone (no chat format) for ``model``; estimated when inexact."""
    counted = count_tokens(model, [{"role": "user", "content": text}], settings=settings)
    return counted.per_message[0]
