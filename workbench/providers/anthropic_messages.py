"""``anthropic/<model>`` through the official ``anthropic`` SDK (Messages API): tools, thinking
and effort, structured output, prompt-cache usage; streamed unless the ``stream`` setting is off
(a ``max_tokens`` above what the SDK allows without streaming always streams)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from workbench.config import Settings
from workbench.errors import MissingKeyError, ParamError, ProviderError
from workbench.prompts.tools import ToolConfig
from workbench.providers.base import (
    COMMON_PARAMS,
    BatchAPI,
    BatchLimits,
    ChatRequest,
    ModelId,
    ModelInfo,
    Provider,
    Response,
    check_effort,
    estimated_tools,
    status_error,
)
from workbench.providers.sdk_errors import from_sdk_exception, safe_int, split_credentials
from workbench.providers.sdk_http import sdk_http_client
from workbench.providers.sse import now, stream_post
from workbench.providers.tools import anthropic_calls, anthropic_messages, anthropic_tool_fields
from workbench.providers.wire import (
    ANTHROPIC_DEFAULT_MAX_TOKENS,
    anthropic_body,
    anthropic_max_tokens,
)
from workbench.tokens.count import TokenCount, estimated

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider", "parse_message"]

DEFAULT_MAX_TOKENS = ANTHROPIC_DEFAULT_MAX_TOKENS
"""Sent when a variant sets no max_tokens (and asks for no thinking): the Messages API requires
one."""

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_THINKING = ("enabled", "adaptive", "disabled")
_ERRORS = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500}


def parse_message(raw: Mapping[str, Any], provider: str) -> Response:
    """The normalized reply of a Messages body: text blocks as text, ``tool_use`` blocks as tool
    calls, thinking blocks as reasoning; ``input_tokens`` counts cache reads and writes too
    (Anthropic reports them apart)."""
    try:
        blocks = raw.get("content") or []
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        thoughts = [b.get("thinking", "") for b in blocks if b.get("type") == "thinking"]
        calls = anthropic_calls(blocks)
        usage = raw.get("usage") or {}
        details = usage.get("output_tokens_details") or {}
    except (AttributeError, TypeError) as exc:
        raise ProviderError(
            f"{provider}: unusable response ({exc})", kind="bad_response", retryable=True
        ) from None
    fresh = safe_int(usage.get("input_tokens"))
    read = safe_int(usage.get("cache_read_input_tokens"))
    written = safe_int(usage.get("cache_creation_input_tokens"))
    total = None if fresh is None else fresh + (read or 0) + (written or 0)
    stop = raw.get("stop_reason")
    return Response(
        text=text,
        input_tokens=total,
        output_tokens=safe_int(usage.get("output_tokens")),
        finish_reason=_FINISH.get(stop, stop) if stop else None,
        raw=dict(raw),
        reasoning_tokens=safe_int(details.get("thinking_tokens"))
        if isinstance(details, dict)
        else None,
        cached_input_tokens=read,
        cache_write_tokens=written,
        reasoning="\n\n".join(t for t in thoughts if t) or None,
        service_tier=usage.get("service_tier"),
        tool_calls=calls,
    )


class MessageStream:
    """The events of a streamed Messages call, added up into the body a plain call returns (a
    ``tool_use`` block's ``input`` from its ``partial_json`` pieces)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        self.first_token_at: float | None = None
        self.skip: frozenset[str] = frozenset({"content_block_stop", "ping"})
        self._head: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._stop: Any = None
        self._json: dict[int, list[str]] = {}

    def add(self, event: str, data: Mapping[str, Any]) -> None:
        if event == "message_start":
            message = dict(data.get("message") or {})
            self._usage.update(message.pop("usage", None) or {})
            message.pop("content", None)
            self._head = message
        elif event == "content_block_start":
            self._blocks[int(data.get("index", len(self._blocks)))] = dict(
                data.get("content_block") or {}
            )
        elif event == "content_block_delta":
            index = int(data.get("index", 0))
            block = self._blocks.setdefault(index, {"type": "text"})
            delta = data.get("delta") or {}
            for key in ("text", "thinking", "partial_json"):
                piece = delta.get(key)
                if isinstance(piece, str):
                    if key == "partial_json":
                        self._json.setdefault(index, []).append(piece)
                    else:
                        block[key] = block.get(key, "") + piece
                    if self.first_token_at is None and piece:
                        self.first_token_at = now()
        elif event == "message_delta":
            self._stop = (data.get("delta") or {}).get("stop_reason", self._stop)
            self._usage.update(data.get("usage") or {})
        elif event == "message_stop":
            self.done = True
        elif event == "error":
            error = data.get("error") or {}
            status = _ERRORS.get(str(error.get("type")), 500)
            raise status_error(status, f"{self.provider}: {error.get('message') or error}")

    def body(self) -> dict[str, Any]:
        for index, pieces in self._json.items():
            text = "".join(pieces)
            try:  # invalid JSON stays text: the tool call is then marked invalid
                self._blocks[index]["input"] = json.loads(text) if text.strip() else {}
            except ValueError:
                self._blocks[index]["input"] = text
        content = [self._blocks[i] for i in sorted(self._blocks)]
        return {**self._head, "content": content, "stop_reason": self._stop, "usage": self._usage}


class AnthropicProvider(Provider):
    """Anthropic Messages. System messages become the ``system`` field; ``effort`` and a JSON
    Schema ``response_format`` go in ``output_config``; ``thinking`` as the API takes it. The key
    comes from ``ANTHROPIC_API_KEY`` only. Token counts use the ``count_tokens`` API when the key
    is set (Anthropic has no offline tokenizer), otherwise they are labelled estimates."""

    accepted_params = (COMMON_PARAMS - {"seed"}) | {
        "top_k",
        "stop_sequences",
        "thinking",
        "effort",
        "metadata",
        "response_format",
        "service_tier",
        "cache_control",
    }
    key_env = "ANTHROPIC_API_KEY"
    label = "Anthropic"
    sdk = "anthropic"
    extra = "anthropic"
    default_max_tokens = DEFAULT_MAX_TOKENS
    supports_tools = True
    price_tiers: ClassVar[Mapping[str, str]] = {
        "auto": "standard",
        "standard_only": "standard",
        "standard": "standard",
        "batch": "batch",
    }
    min_cached_prefix: ClassVar[int | None] = 1024
    batch_limits: ClassVar[BatchLimits | None] = BatchLimits(100_000, 256_000_000)
    """Message Batches: up to 100,000 requests and 256 MB per batch."""

    max_nonstreaming_tokens = 21_333
    """The SDK refuses larger max_tokens without streaming (its 10-minute rule): such calls
    always stream."""

    @classmethod
    def check_params(cls, params: Mapping[str, Any], info: ModelInfo, where: str) -> None:
        super().check_params(params, info, where)
        if "effort" in params:
            if params["effort"] not in _EFFORTS:
                raise ParamError(
                    f"{where}: effort must be one of {', '.join(_EFFORTS)}, got "
                    f"{params['effort']!r}."
                )
            check_effort("effort", params["effort"], info, where)
        if "thinking" in params:
            cls._check_thinking(params, info, where)
        fmt = params.get("response_format")
        if fmt is not None and not (
            isinstance(fmt, Mapping)
            and fmt.get("type") == "json_schema"
            and isinstance((fmt.get("json_schema") or {}).get("schema"), Mapping)
        ):
            raise ParamError(
                f"{where}: Anthropic takes a response_format only as a JSON Schema: set "
                f"Variant(response_format=<JSON Schema or pydantic model>)."
            )

    @classmethod
    def _check_thinking(cls, params: Mapping[str, Any], info: ModelInfo, where: str) -> None:
        thinking = params["thinking"]
        kind = thinking.get("type") if isinstance(thinking, Mapping) else None
        if kind not in _THINKING:
            raise ParamError(
                f"{where}: thinking must be {{'type': 'adaptive'}}, {{'type': 'enabled', "
                f"'budget_tokens': N}} or {{'type': 'disabled'}}, got {thinking!r}."
            )
        if kind != "disabled" and info.thinking is not None and kind not in info.thinking:
            took = ", ".join(info.thinking) or "no thinking"
            raise ParamError(
                f"{where}: {info.id} does not take thinking type {kind!r} (it takes {took})."
            )
        if kind == "enabled":
            budget = thinking.get("budget_tokens")
            limit = anthropic_max_tokens(params)
            if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1024:
                raise ParamError(
                    f"{where}: thinking budget_tokens must be a whole number >= 1024, got "
                    f"{budget!r}."
                )
            if budget >= limit:
                raise ParamError(
                    f"{where}: thinking budget_tokens={budget} must be below max_tokens={limit} "
                    f"(thinking counts toward it): raise max_tokens to at least "
                    f"{budget + ANTHROPIC_DEFAULT_MAX_TOKENS}."
                )

    @classmethod
    def reserved_output(cls, params: Mapping[str, Any], info: ModelInfo) -> int:
        return anthropic_max_tokens(params)

    @classmethod
    def caching_note(cls, params: Mapping[str, Any]) -> str:
        if "cache_control" in params:
            return ""
        return "Anthropic caches only when asked: add params cache_control={'type': 'ephemeral'}"

    @classmethod
    def from_settings(cls, name: str, settings: Settings) -> Provider:
        return cls(name, settings.provider_urls.get(name), stream=settings.stream)

    @classmethod
    def count_tokens(
        cls,
        model: ModelId,
        messages: Sequence[Mapping[str, Any]],
        *,
        settings: Settings,
        remote: bool,
        with_offsets: bool,
    ) -> TokenCount:
        if not remote:
            return estimated(str(model), messages, "Anthropic has no offline tokenizer")
        try:
            return _count_remote(model, messages, settings.provider_urls.get(model.provider))
        except Exception as exc:  # network, auth, SDK missing: say so, then estimate
            why = f"Anthropic count_tokens failed: {type(exc).__name__}"
            return estimated(str(model), messages, why)

    @classmethod
    def count_tool_tokens(
        cls, model: ModelId, tools: ToolConfig, *, settings: Settings, remote: bool
    ) -> TokenCount:
        """Exact with the ``count_tokens`` API (the same request with and without the tools),
        else an estimate."""
        if remote:
            try:
                url = settings.provider_urls.get(model.provider)
                probe = [{"role": "user", "content": "."}]
                bare = _count_remote(model, probe, url).total
                total = _count_remote(model, probe, url, tools).total - bare
                method = "anthropic count_tokens API (with and without the tools)"
                return TokenCount(str(model), total, (), total, True, method)
            except Exception:  # network, auth, SDK missing: estimate
                pass
        return estimated_tools(model, tools, "Anthropic has no offline tokenizer")

    def __init__(
        self, name: str = "anthropic", base_url: str | None = None, *, stream: bool = True
    ) -> None:
        super().__init__(name)
        if not os.environ.get(self.key_env):
            raise MissingKeyError(name, self.key_env)
        self.base_url = base_url
        self.stream = stream
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            import anthropic

            base_url, auth = split_credentials(self.base_url)
            self._client = anthropic.AsyncAnthropic(
                api_key=os.environ[self.key_env],
                base_url=base_url,
                max_retries=0,
                # user:pass@ in the URL becomes Basic auth, kept out of logged request URLs.
                http_client=sdk_http_client(anthropic.DefaultAsyncHttpxClient, auth=auth),
            )
        return self._client

    def request_body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body this call sends, from the one builder (``providers.wire``), without
        ``stream``: a Message Batches request's ``params`` are exactly this."""
        return anthropic_body(request.model.name, request.messages, request.params, request.tools)

    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        import httpx2

        client = self._get_client()
        body = self.request_body(request)
        start = self.clock()
        first: float | None = None
        if self.stream or body["max_tokens"] > self.max_nonstreaming_tokens:
            body["stream"] = True
            acc = MessageStream(self.name)
            raw, first = await stream_post(client, "/v1/messages", body, timeout, self.name, acc)
        else:
            try:
                # A plain POST of the body (as OpenAI's): auth, version header, timeouts and
                # error classes stay the SDK's; no keyword the SDK version may lack.
                reply = await client.post(
                    "/v1/messages", cast_to=httpx2.Response, body=body, options={"timeout": timeout}
                )
            except Exception as exc:
                raise from_sdk_exception(exc, self.name) from None
            try:
                raw = json.loads(reply.content)
            except ValueError as exc:
                raise ProviderError(
                    f"{self.name}: unusable response ({exc})", kind="bad_response", retryable=True
                ) from None
        end = self.clock()
        if not isinstance(raw, dict):
            raise ProviderError(
                f"{self.name}: unusable response (not a JSON object)",
                kind="bad_response",
                retryable=True,
            )
        response = self.response_from_body(raw, (end - start) * 1000)
        if first is not None:
            response.ttft_ms = (first - start) * 1000
        return response

    def response_from_body(self, raw: Mapping[str, Any], latency_ms: float = 0.0) -> Response:
        """A Messages reply body, normalized (text, thinking, tool calls, usage)."""
        response = parse_message(raw, self.name)
        response.latency_ms = latency_ms
        return response

    def make_batches(self, limits: BatchLimits) -> BatchAPI:
        from workbench.providers.anthropic_batch import AnthropicBatches

        return AnthropicBatches(self, self._get_client, limits)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _count_remote(
    model: ModelId,
    messages: Sequence[Mapping[str, Any]],
    base_url: str | None,
    tools: ToolConfig | None = None,
) -> TokenCount:
    """Anthropic's server-side counter; the total is exact, the split across messages estimated."""
    import anthropic

    clean, auth = split_credentials(base_url)  # user:pass@ never in a logged URL
    http = anthropic.DefaultHttpxClient(auth=auth) if auth else None
    client = anthropic.Anthropic(timeout=10.0, max_retries=0, base_url=clean, http_client=http)
    system, turns = anthropic_messages(messages)
    kwargs: dict[str, Any] = {"model": model.name, "messages": turns}
    if system:
        kwargs["system"] = system
    if tools is not None:
        kwargs.update(anthropic_tool_fields(tools))
    total = int(client.messages.count_tokens(**kwargs).input_tokens)
    est = estimated(str(model), messages, "")
    scale = min(1.0, total / max(1, sum(est.per_message)))
    per = tuple(int(n * scale) for n in est.per_message)
    return TokenCount(
        model=str(model),
        total=total,
        per_message=per,
        overhead=total - sum(per),
        exact=True,
        method="anthropic count_tokens API (total exact; split across messages estimated)",
        contents=est.contents,
    )
