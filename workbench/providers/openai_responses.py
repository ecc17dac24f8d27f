"""OpenAI's Responses API, the switch ``params={"api": "responses"}`` of the ``openai`` provider
(and of OpenAI-compatible endpoints that serve ``/responses``): its reply and its streamed events,
normalized to the same :class:`~workbench.providers.base.Response` as Chat Completions (its
``function_call`` items as the tool calls, ``finish_reason`` ``tool_calls``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.errors import ProviderError
from workbench.providers.base import Response, status_error
from workbench.providers.sdk_errors import safe_int
from workbench.providers.sse import now
from workbench.providers.tools import responses_calls

__all__ = ["ResponsesStream", "parse_responses"]

_TOKEN_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
    }
)
"""Streamed events that carry a token of the reply (the first one times ``ttft_ms``)."""
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def parse_responses(raw: Mapping[str, Any], provider: str) -> Response:
    """The normalized reply of a Responses API body (``status`` failed raises)."""
    status = raw.get("status")
    if status == "failed":
        error = raw.get("error") or {}
        message = f"{provider}: the response failed ({error.get('code')}: {error.get('message')})"
        raise ProviderError(
            message, kind="server", retryable=error.get("code") in ("server_error", None)
        )
    texts: list[str] = []
    thoughts: list[str] = []
    output = raw.get("output")
    if not isinstance(output, list):
        raise ProviderError(
            f"{provider}: unusable response (no output list)", kind="bad_response", retryable=True
        )
    for item in output:
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "message":
            for part in item.get("content") or []:
                if isinstance(part, Mapping) and part.get("type") == "output_text":
                    texts.append(str(part.get("text") or ""))
        elif item.get("type") == "reasoning":
            for part in [*(item.get("summary") or []), *(item.get("content") or [])]:
                if isinstance(part, Mapping) and part.get("text"):
                    thoughts.append(str(part["text"]))
    usage = raw.get("usage") or {}
    given = usage.get("input_tokens_details") or {}
    made = usage.get("output_tokens_details") or {}
    calls = responses_calls(i for i in output if isinstance(i, Mapping))
    if status == "incomplete":
        reason = (raw.get("incomplete_details") or {}).get("reason")
        finish = _INCOMPLETE.get(str(reason), str(reason))
    else:
        finish = "tool_calls" if calls else "stop"
    return Response(
        text="".join(texts),
        input_tokens=safe_int(usage.get("input_tokens")),
        output_tokens=safe_int(usage.get("output_tokens")),
        finish_reason=finish,
        raw=dict(raw),
        reasoning_tokens=safe_int(made.get("reasoning_tokens")),
        cached_input_tokens=safe_int(given.get("cached_tokens")),
        cache_write_tokens=safe_int(given.get("cache_write_tokens")),
        reasoning="\n\n".join(thoughts) or None,
        service_tier=raw.get("service_tier"),
        tool_calls=calls,
    )


class ResponsesStream:
    """The events of a streamed Responses call; its body is the final ``response`` object."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        self.first_token_at: float | None = None
        self.skip: frozenset[str] = frozenset()
        self._final: dict[str, Any] = {}

    def add(self, event: str, data: Mapping[str, Any]) -> None:
        if event in _TOKEN_EVENTS:
            if self.first_token_at is None and data.get("delta"):
                self.first_token_at = now()
        elif event in ("response.completed", "response.incomplete", "response.failed"):
            self._final = dict(data.get("response") or {})
            self.done = True
        elif event == "error":
            inner = data.get("error")
            error: Mapping[str, Any] = inner if isinstance(inner, Mapping) else data
            code = str(error.get("code") or "")
            status = 429 if "rate_limit" in code else 500
            raise status_error(status, f"{self.provider}: {error.get('message') or code}")

    def body(self) -> dict[str, Any]:
        return self._final
