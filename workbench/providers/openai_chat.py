"""``openai/<model>`` and named OpenAI-compatible endpoints, through the official ``openai`` SDK."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from workbench.config import Endpoint, Settings
from workbench.errors import MissingKeyError, ProviderError
from workbench.providers.base import (
    COMMON_PARAMS,
    BatchAPI,
    BatchLimits,
    ChatRequest,
    ModelId,
    Provider,
    Response,
)
from workbench.providers.sdk_errors import from_sdk_exception, safe_int, split_credentials
from workbench.providers.sdk_http import sdk_http_client
from workbench.tokens.count import TokenCount, TokenizerUnavailable, estimated
from workbench.tokens.tiktoken_offline import count_openai

__all__ = ["OpenAICompatibleProvider", "OpenAIProvider"]

_OPENAI_PARAMS = COMMON_PARAMS | {
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "response_format",
    "reasoning_effort",
    "verbosity",
    "service_tier",
}
_EXTRA_BODY_PARAMS = frozenset({"top_k", "min_p", "repeat_penalty"})


class OpenAIProvider(Provider):
    """OpenAI Chat Completions. The key comes from ``OPENAI_API_KEY`` only; counts are exact
    offline with tiktoken (``prompt-workbench[tokens]``)."""

    accepted_params = _OPENAI_PARAMS
    label = "OpenAI"
    key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    sdk = "openai"
    extra = "openai"
    default_concurrency = 8
    batch_limits: ClassVar[BatchLimits | None] = BatchLimits(50_000, 200_000_000)
    """The Batch API: one JSONL file of up to 50,000 requests and 200 MB per batch."""

    def __init__(
        self, name: str = "openai", base_url: str | None = None, key_env: str | None = None
    ) -> None:
        super().__init__(name)
        self.base_url = base_url
        self._key_env = key_env if key_env is not None else type(self).key_env
        self._client: Any = None
        self._batches: BatchAPI | None = None
        if self._key_env and not os.environ.get(self._key_env):
            raise MissingKeyError(name, self._key_env)

    @classmethod
    def from_settings(cls, name: str, settings: Settings) -> Provider:
        return cls(name, settings.provider_urls.get(name))

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

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        params = dict(request.params)
        body: dict[str, Any] = {"model": request.model.name, "messages": list(request.messages)}
        if "max_tokens" in params:
            body["max_completion_tokens"] = params.pop("max_tokens")
        body.update(params)
        return body

    def request_body(self, request: ChatRequest) -> dict[str, Any]:
        body = self._body(request)
        body.update(body.pop("extra_body", None) or {})
        return body

    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        import httpx2

        client = self._get_client()
        start = self.clock()
        try:
            # A plain POST of our (already JSON-ready) body: it skips the SDK's params transform
            # and its model parsing, both CPU hot spots at high call rates; auth, headers,
            # timeouts and error classes stay the SDK's.
            reply = await client.post(
                "/chat/completions",
                cast_to=httpx2.Response,
                body=self.request_body(request),
                options={"timeout": timeout},
            )
        except Exception as exc:
            raise from_sdk_exception(exc, self.name) from None
        latency = (self.clock() - start) * 1000
        try:
            raw = json.loads(reply.content)
        except ValueError as exc:
            raise ProviderError(
                f"{self.name}: unusable response ({type(exc).__name__}: {exc})",
                kind="bad_response",
                retryable=True,
            ) from None
        return self.response_from_body(raw, latency)

    def response_from_body(self, raw: Mapping[str, Any], latency_ms: float = 0.0) -> Response:
        try:
            choice = raw["choices"][0]
            text = choice["message"].get("content") or ""
            usage = raw.get("usage") or {}
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"{self.name}: unusable response ({type(exc).__name__}: {exc})",
                kind="bad_response",
                retryable=True,
            ) from None
        return Response(
            text=text,
            input_tokens=safe_int(usage.get("prompt_tokens")),
            output_tokens=safe_int(usage.get("completion_tokens")),
            finish_reason=choice.get("finish_reason"),
            latency_ms=latency_ms,
            raw=raw if isinstance(raw, dict) else dict(raw),
        )

    def batches(self) -> BatchAPI | None:
        limits = type(self).batch_limits
        if limits is None:
            return None
        if self._batches is None:
            from workbench.providers.openai_batch import OpenAIBatches

            self._batches = OpenAIBatches(self, self._get_client, limits)
        return self._batches

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class OpenAICompatibleProvider(OpenAIProvider):
    """Any server speaking OpenAI Chat Completions (vLLM, Ollama, llama.cpp server, ...), named
    in settings as an endpoint. Its models cost nothing unless given a price; its tokenizer is
    unknown, so counts are estimates."""

    accepted_params = _OPENAI_PARAMS | _EXTRA_BODY_PARAMS
    label = "an OpenAI-compatible endpoint"
    key_env = None
    default_concurrency = 4
    free = True
    batch_limits = None  # OpenAI's Batch API is OpenAI's own

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint.name, endpoint.base_url, endpoint.api_key_env or "")

    @classmethod
    def key_variable(cls, name: str, settings: Settings) -> str | None:
        endpoint = settings.endpoints.get(name)
        return endpoint.api_key_env if endpoint else None

    @classmethod
    def from_settings(cls, name: str, settings: Settings) -> Provider:
        return cls(settings.endpoints[name])

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

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        params = dict(request.params)
        extra = {k: params.pop(k) for k in list(params) if k in _EXTRA_BODY_PARAMS}
        body: dict[str, Any] = {"model": request.model.name, "messages": list(request.messages)}
        body.update(params)  # compatible servers know max_tokens better than max_completion_tokens
        if extra:
            body["extra_body"] = extra
        return body
