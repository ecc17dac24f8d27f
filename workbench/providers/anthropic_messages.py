"""``anthropic/<model>`` through the official ``anthropic`` SDK (Messages API)."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from workbench.config import Settings
from workbench.errors import MissingKeyError, ParamError, ProviderError
from workbench.providers.base import (
    COMMON_PARAMS,
    BatchAPI,
    BatchLimits,
    ChatRequest,
    ModelId,
    ModelInfo,
    Provider,
    Response,
)
from workbench.providers.sdk_errors import from_sdk_exception, safe_int, split_credentials
from workbench.providers.sdk_http import sdk_http_client
from workbench.tokens.count import TokenCount, estimated

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider"]

DEFAULT_MAX_TOKENS = 1024
"""Sent when a variant sets no max_tokens: the Messages API requires one."""

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class AnthropicProvider(Provider):
    """Anthropic Messages. System messages become the ``system`` field; the key comes from
    ``ANTHROPIC_API_KEY`` only. Token counts use the ``count_tokens`` API when the key is set
    (Anthropic has no offline tokenizer), otherwise they are labelled estimates."""

    accepted_params = (COMMON_PARAMS - {"seed"}) | {
        "top_k",
        "stop_sequences",
        "thinking",
        "metadata",
    }
    key_env = "ANTHROPIC_API_KEY"
    label = "Anthropic"
    sdk = "anthropic"
    extra = "anthropic"
    default_max_tokens = DEFAULT_MAX_TOKENS
    batch_limits: ClassVar[BatchLimits | None] = BatchLimits(100_000, 256_000_000)
    """Message Batches: up to 100,000 requests and 256 MB per batch."""

    max_nonstreaming_tokens = 21_333
    """The SDK refuses larger max_tokens without streaming (its 10-minute rule)."""

    @classmethod
    def check_params(cls, params: Mapping[str, Any], info: ModelInfo, where: str) -> None:
        super().check_params(params, info, where)
        if cls.reserved_output(params, info) > cls.max_nonstreaming_tokens:
            raise ParamError(
                f"{where}: max_tokens={params['max_tokens']} needs streaming, which workbench does "
                f"not use yet; the Anthropic SDK allows at most {cls.max_nonstreaming_tokens}."
            )

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
        if not remote:
            return estimated(str(model), messages, "Anthropic has no offline tokenizer")
        try:
            return _count_remote(model, messages, settings.provider_urls.get(model.provider))
        except Exception as exc:  # network, auth, SDK missing: say so, then estimate
            why = f"Anthropic count_tokens failed: {type(exc).__name__}"
            return estimated(str(model), messages, why)

    def __init__(self, name: str = "anthropic", base_url: str | None = None) -> None:
        super().__init__(name)
        if not os.environ.get(self.key_env):
            raise MissingKeyError(name, self.key_env)
        self.base_url = base_url
        self._client: Any = None
        self._direct: set[str] = set()
        self._batches: BatchAPI | None = None

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
            # SDK versions differ in which sampling keywords create() takes; the rest go in the body.
            self._direct = set(inspect.signature(self._client.messages.create).parameters)
        return self._client

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        params = dict(request.params)
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        turns = [dict(m) for m in request.messages if m["role"] != "system"]
        body: dict[str, Any] = {
            "model": request.model.name,
            "messages": turns,
            "max_tokens": params.pop("max_tokens", self.default_max_tokens),
        }
        if system:
            body["system"] = system
        if "stop" in params:
            stop = params.pop("stop")
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        extra = {}
        for key, value in params.items():
            if key in self._direct:
                body[key] = value
            else:
                extra[key] = value
        if extra:
            body["extra_body"] = extra
        return body

    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        client = self._get_client()
        start = self.clock()
        try:
            reply = await client.messages.with_raw_response.create(
                **self._body(request), timeout=timeout
            )
        except Exception as exc:
            raise from_sdk_exception(exc, self.name) from None
        latency = (self.clock() - start) * 1000
        try:
            raw = json.loads(reply.http_response.content)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"{self.name}: unusable response ({exc})", kind="bad_response", retryable=True
            ) from None
        return self.response_from_body(raw, latency)

    def request_body(self, request: ChatRequest) -> dict[str, Any]:
        body = self._body(request)
        body.update(body.pop("extra_body", None) or {})
        return body

    def response_from_body(self, raw: Mapping[str, Any], latency_ms: float = 0.0) -> Response:
        try:
            blocks = raw.get("content") or []
            text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
            usage = raw.get("usage") or {}
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"{self.name}: unusable response ({exc})", kind="bad_response", retryable=True
            ) from None
        stop = raw.get("stop_reason")
        return Response(
            text=text,
            input_tokens=safe_int(usage.get("input_tokens")),
            output_tokens=safe_int(usage.get("output_tokens")),
            finish_reason=_FINISH.get(stop, stop) if stop else None,
            latency_ms=latency_ms,
            raw=raw if isinstance(raw, dict) else dict(raw),
        )

    def batches(self) -> BatchAPI | None:
        limits = type(self).batch_limits
        if limits is None:
            return None
        if self._batches is None:
            from workbench.providers.anthropic_batch import AnthropicBatches

            self._batches = AnthropicBatches(self, self._get_client, limits)
        return self._batches

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _count_remote(
    model: ModelId, messages: Sequence[Mapping[str, Any]], base_url: str | None
) -> TokenCount:
    """Anthropic's server-side counter; the total is exact, the split across messages estimated."""
    import anthropic

    clean, auth = split_credentials(base_url)  # user:pass@ never in a logged URL
    http = anthropic.DefaultHttpxClient(auth=auth) if auth else None
    client = anthropic.Anthropic(timeout=10.0, max_retries=0, base_url=clean, http_client=http)
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = [dict(m) for m in messages if m["role"] != "system"]
    kwargs: dict[str, Any] = {"model": model.name, "messages": turns}
    if system:
        kwargs["system"] = system
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
