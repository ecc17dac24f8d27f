"""``openai/<model>`` and named OpenAI-compatible endpoints, through the official ``openai`` SDK:
Chat Completions, or the Responses API with ``params={"api": "responses"}``; streamed unless the
``stream`` setting is off."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from workbench.config import Endpoint, Settings
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
    status_error,
)
from workbench.providers.openai_responses import ResponsesStream, parse_responses
from workbench.providers.sdk_errors import from_sdk_exception, safe_int, split_credentials
from workbench.providers.sdk_http import sdk_http_client
from workbench.providers.sse import now, stream_post
from workbench.providers.tools import openai_calls
from workbench.providers.wire import RESPONSES_PARAMS, SWITCHES, chat_body, responses_body
from workbench.tokens.count import TokenCount, TokenizerUnavailable, estimated
from workbench.tokens.tiktoken_offline import count_openai, count_openai_tools

__all__ = ["OpenAICompatibleProvider", "OpenAIProvider", "parse_chat"]

_OPENAI_PARAMS = COMMON_PARAMS | {
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "response_format",
    "reasoning_effort",
    "reasoning_summary",
    "verbosity",
    "service_tier",
    "metadata",
    "api",
}
_EXTRA_BODY_PARAMS = frozenset({"top_k", "min_p", "repeat_penalty"})
_APIS = ("chat", "responses")
_VERBOSITY = ("low", "medium", "high")
_SUMMARIES = ("auto", "concise", "detailed")


def parse_chat(raw: Mapping[str, Any], provider: str) -> Response:
    """The normalized reply of a Chat Completions body: text, tool calls, reasoning
    (``reasoning_content`` or ``reasoning`` of compatible servers), usage with its cached and
    reasoning details."""
    try:
        choice = raw["choices"][0]
        message = choice["message"]
        text = message.get("content") or ""
        calls = openai_calls(message)
        usage = raw.get("usage") or {}
        given = usage.get("prompt_tokens_details") or {}
        made = usage.get("completion_tokens_details") or {}
    except (AttributeError, KeyError, IndexError, TypeError) as exc:
        raise ProviderError(
            f"{provider}: unusable response ({type(exc).__name__}: {exc})",
            kind="bad_response",
            retryable=True,
        ) from None
    thought = message.get("reasoning_content") or message.get("reasoning")
    return Response(
        text=text,
        input_tokens=safe_int(usage.get("prompt_tokens")),
        output_tokens=safe_int(usage.get("completion_tokens")),
        finish_reason=choice.get("finish_reason"),
        raw=dict(raw),
        reasoning_tokens=safe_int(made.get("reasoning_tokens")) if isinstance(made, dict) else None,
        cached_input_tokens=safe_int(given.get("cached_tokens"))
        if isinstance(given, dict)
        else None,
        cache_write_tokens=(
            safe_int(given.get("cache_write_tokens")) if isinstance(given, dict) else None
        ),
        reasoning=thought if isinstance(thought, str) and thought else None,
        service_tier=raw.get("service_tier"),
        tool_calls=calls,
    )


class ChatStream:
    """The chunks of a streamed Chat Completions call, added up into one reply body."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        self.first_token_at: float | None = None
        self.skip: frozenset[str] = frozenset()
        self._text: list[str] = []
        self._thought: list[str] = []
        self._finish: str | None = None
        self._head: dict[str, Any] = {}
        self._calls: dict[int, dict[str, Any]] = {}

    def add(self, event: str, data: Mapping[str, Any]) -> None:
        if event == "[DONE]":
            self.done = self._finish is not None
            return
        if "error" in data:
            error = data["error"] if isinstance(data["error"], Mapping) else {}
            code = error.get("code")
            status = code if isinstance(code, int) else 500
            raise status_error(status, f"{self.provider}: {error.get('message') or data['error']}")
        for key in ("id", "model", "service_tier", "usage"):
            if data.get(key) is not None:
                self._head[key] = data[key]
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            for part, into in (
                (delta.get("content"), self._text),
                (delta.get("reasoning_content") or delta.get("reasoning"), self._thought),
            ):
                if isinstance(part, str) and part:
                    if self.first_token_at is None:
                        self.first_token_at = now()
                    into.append(part)
            for part in delta.get("tool_calls") or []:
                self._add_call(part)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]

    def _add_call(self, part: Mapping[str, Any]) -> None:
        """A tool call's delta: its id, type and name come once, its arguments in pieces."""
        if self.first_token_at is None:
            self.first_token_at = now()
        call = self._calls.setdefault(
            int(part.get("index", len(self._calls))),
            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
        )
        for key in ("id", "type"):
            if part.get(key):
                call[key] = part[key]
        function = part.get("function") or {}
        if function.get("name"):
            call["function"]["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            call["function"]["arguments"] += function["arguments"]

    def body(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._text)}
        if self._thought:
            message["reasoning_content"] = "".join(self._thought)
        if self._calls:
            message["tool_calls"] = [self._calls[i] for i in sorted(self._calls)]
        return {
            **self._head,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish}],
        }


class OpenAIProvider(Provider):
    """OpenAI Chat Completions, or its Responses API (``params={"api": "responses"}``). The key
    comes from ``OPENAI_API_KEY`` only; counts are exact offline with tiktoken
    (``prompt-workbench[tokens]``); calls stream unless the ``stream`` setting is off (the
    first token's time is kept as ``ttft_ms``)."""

    accepted_params = _OPENAI_PARAMS
    label = "OpenAI"
    key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    sdk = "openai"
    extra = "openai"
    default_concurrency = 8
    supports_tools = True
    openai_wire: ClassVar[bool] = True
    """Chat Completions as OpenAI's own API takes it (``max_completion_tokens``)."""
    price_tiers: ClassVar[Mapping[str, str]] = {
        "auto": "standard",
        "default": "standard",
        "flex": "batch",
    }
    min_cached_prefix: ClassVar[int | None] = 1024
    batch_limits: ClassVar[BatchLimits | None] = BatchLimits(50_000, 200_000_000)
    """The Batch API: one JSONL file of up to 50,000 requests and 200 MB per batch."""

    def __init__(
        self,
        name: str = "openai",
        base_url: str | None = None,
        key_env: str | None = None,
        *,
        stream: bool = True,
    ) -> None:
        super().__init__(name)
        self.base_url = base_url
        self.stream = stream
        self._key_env = key_env if key_env is not None else type(self).key_env
        self._client: Any = None
        if self._key_env and not os.environ.get(self._key_env):
            raise MissingKeyError(name, self._key_env)

    @classmethod
    def from_settings(cls, name: str, settings: Settings) -> Provider:
        return cls(name, settings.provider_urls.get(name), stream=settings.stream)

    @classmethod
    def check_params(cls, params: Mapping[str, Any], info: ModelInfo, where: str) -> None:
        super().check_params(params, info, where)
        api = params.get("api", "chat")
        if api not in _APIS:
            raise ParamError(f"{where}: api must be 'chat' or 'responses', got {api!r}.")
        if api == "responses":
            refused = sorted(set(params) - RESPONSES_PARAMS - SWITCHES - _EXTRA_BODY_PARAMS)
            if refused:
                raise ParamError(
                    f"{where}: the Responses API takes no {', '.join(refused)}; remove "
                    f"{'it' if len(refused) == 1 else 'them'}, or drop api='responses'."
                )
        elif "reasoning_summary" in params:
            raise ParamError(
                f"{where}: reasoning_summary needs the Responses API: add api='responses' to "
                f"params (Chat Completions returns no reasoning summaries)."
            )
        if "reasoning_effort" in params:
            check_effort("reasoning_effort", params["reasoning_effort"], info, where)
        for key, allowed in (("verbosity", _VERBOSITY), ("reasoning_summary", _SUMMARIES)):
            if key in params:
                if info.efforts == ():
                    check_effort(key, params[key], info, where)
                if params[key] not in allowed:
                    raise ParamError(
                        f"{where}: {key} must be one of {', '.join(allowed)}, got {params[key]!r}."
                    )

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
        try:
            return count_openai(str(model), messages, with_offsets)
        except TokenizerUnavailable as exc:
            return estimated(str(model), messages, f"exact OpenAI counts need tiktoken: {exc}")

    @classmethod
    def count_tool_tokens(
        cls, model: ModelId, tools: ToolConfig, *, settings: Settings, remote: bool
    ) -> TokenCount:
        try:
            return count_openai_tools(str(model), tools.definitions)
        except TokenizerUnavailable:
            return super().count_tool_tokens(model, tools, settings=settings, remote=remote)

    def _api_key(self) -> str:
        # The SDK insists on a key even for local servers that ignore it.
        return (os.environ.get(self._key_env) if self._key_env else None) or "not-needed"

    def _get_client(self) -> Any:
        if self._client is None:
            import openai

            base_url, auth = split_credentials(self.base_url)
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key(),
                base_url=base_url,
                max_retries=0,
                # user:pass@ in the URL becomes Basic auth, kept out of logged request URLs.
                http_client=sdk_http_client(openai.DefaultAsyncHttpxClient, auth=auth),
            )
        return self._client

    def request_body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body this call sends, from the one builder (``providers.wire``), without
        the streaming keys: a batch line (Chat Completions or Responses) sends exactly this."""
        model, messages, params, tools = (
            request.model.name,
            request.messages,
            request.params,
            request.tools,
        )
        if params.get("api") == "responses":
            return responses_body(model, messages, params, tools)
        return chat_body(model, messages, params, tools, openai=self.openai_wire)

    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        import httpx2

        client = self._get_client()
        responses = request.params.get("api") == "responses"
        path = "/responses" if responses else "/chat/completions"
        body = self.request_body(request)
        start = self.clock()
        first: float | None = None
        if self.stream:
            body["stream"] = True
            acc: ResponsesStream | ChatStream
            if responses:
                acc = ResponsesStream(self.name)
            else:
                body["stream_options"] = {"include_usage": True}
                acc = ChatStream(self.name)
            raw, first = await stream_post(client, path, body, timeout, self.name, acc)
        else:
            try:
                # A plain POST of our (already JSON-ready) body: it skips the SDK's params
                # transform and its model parsing, both CPU hot spots at high call rates; auth,
                # headers, timeouts and error classes stay the SDK's.
                reply = await client.post(
                    path, cast_to=httpx2.Response, body=body, options={"timeout": timeout}
                )
            except Exception as exc:
                raise from_sdk_exception(exc, self.name) from None
            try:
                raw = json.loads(reply.content)
            except ValueError as exc:
                raise ProviderError(
                    f"{self.name}: unusable response ({type(exc).__name__}: {exc})",
                    kind="bad_response",
                    retryable=True,
                ) from None
        end = self.clock()
        if not isinstance(raw, dict):
            raise ProviderError(
                f"{self.name}: unusable response (not a JSON object)",
                kind="bad_response",
                retryable=True,
            )
        response = parse_responses(raw, self.name) if responses else parse_chat(raw, self.name)
        response.latency_ms = (end - start) * 1000
        if first is not None:
            response.ttft_ms = (first - start) * 1000
        return response

    def response_from_body(self, raw: Mapping[str, Any], latency_ms: float = 0.0) -> Response:
        """A Chat Completions or Responses API body (one with ``output`` and no ``choices``),
        normalized as a real-time reply of that API is."""
        responses = raw.get("object") == "response" or ("output" in raw and "choices" not in raw)
        response = parse_responses(raw, self.name) if responses else parse_chat(raw, self.name)
        response.latency_ms = latency_ms
        return response

    def make_batches(self, limits: BatchLimits) -> BatchAPI:
        from workbench.providers.openai_batch import OpenAIBatches

        return OpenAIBatches(self, self._get_client, limits)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class OpenAICompatibleProvider(OpenAIProvider):
    """Any server speaking OpenAI Chat Completions (vLLM, Ollama, llama.cpp server, ...), named
    in settings as an endpoint. Its models cost nothing unless given a price; its tokenizer is
    unknown, so counts are estimates. It gets ``max_tokens`` (not ``max_completion_tokens``) and
    extra sampling parameters (``top_k``, ``min_p``, ``repeat_penalty``) as sent."""

    accepted_params = _OPENAI_PARAMS | _EXTRA_BODY_PARAMS
    label = "an OpenAI-compatible endpoint"
    key_env = None
    default_concurrency = 4
    free = True
    openai_wire = False
    min_cached_prefix = None
    batch_limits = None  # OpenAI's Batch API is OpenAI's own

    def __init__(self, endpoint: Endpoint, *, stream: bool = True) -> None:
        super().__init__(
            endpoint.name, endpoint.base_url, endpoint.api_key_env or "", stream=stream
        )

    @classmethod
    def key_variable(cls, name: str, settings: Settings) -> str | None:
        endpoint = settings.endpoints.get(name)
        return endpoint.api_key_env if endpoint else None

    @classmethod
    def from_settings(cls, name: str, settings: Settings) -> Provider:
        return cls(settings.endpoints[name], stream=settings.stream)

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
        return estimated(
            str(model), messages, "an OpenAI-compatible endpoint's tokenizer is unknown"
        )

    @classmethod
    def count_tool_tokens(
        cls, model: ModelId, tools: ToolConfig, *, settings: Settings, remote: bool
    ) -> TokenCount:
        return super(OpenAIProvider, cls).count_tool_tokens(
            model, tools, settings=settings, remote=remote
        )
