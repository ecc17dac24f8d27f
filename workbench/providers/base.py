"""The one provider contract: a chat request in, a normalized response out."""

from __future__ import annotations

import email.utils
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ParamError, ProviderError
from workbench.models.catalog import ModelInfo
from workbench.models.ids import ModelId
from workbench.prompts.render import Message

__all__ = [
    "COMMON_PARAMS",
    "ChatRequest",
    "Provider",
    "Response",
    "parse_retry_after",
    "validate_params",
]


@dataclass(frozen=True)
class ChatRequest:
    """What is sent: model, rendered messages, parameters, and which repeat this is."""

    model: ModelId
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    repeat: int = 0


@dataclass
class Response:
    """What every provider returns, success or failure alike."""

    text: str | None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    latency_ms: float = 0.0
    error: str | None = None
    """Why the call failed (after retries); None on success."""
    error_kind: str | None = None
    raw: dict[str, Any] | None = None
    """The provider's response body as plain data (never request headers)."""

    @property
    def ok(self) -> bool:
        """True when the call produced output."""
        return self.error is None

    @classmethod
    def failure(cls, exc: ProviderError, latency_ms: float = 0.0) -> Response:
        """A failed call as data."""
        return cls(text=None, latency_ms=latency_ms, error=str(exc), error_kind=exc.kind)


class Provider(ABC):
    """A source of chat completions. Implement :meth:`generate`; raise ProviderError on failure."""

    accepted_params: frozenset[str] = frozenset()
    label = "this provider"
    """How messages name the provider."""
    """Generation parameters this provider understands; anything else is refused before a call."""

    def __init__(self, name: str) -> None:
        self.name = name
        """Provider or endpoint name: the key for limits (concurrency, rate limits)."""

    @abstractmethod
    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        """One call. Return a Response with text and usage, or raise ProviderError."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once when a run ends."""

    def progress_note(self) -> str:
        """Why this provider runs slower than it could and what to change, for the live progress
        (asked after each call); "" when there is nothing to say."""
        return ""

    @classmethod
    def check_params(cls, params: Mapping[str, Any], info: ModelInfo, where: str) -> None:
        """Refuse, before any call, parameters this provider would reject."""
        validate_params(cls.label, cls.accepted_params, params, info, where)

    @staticmethod
    def clock() -> float:
        """Monotonic seconds, for latency."""
        return time.perf_counter()


COMMON_PARAMS = frozenset({"temperature", "top_p", "max_tokens", "stop", "seed"})

_NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "min_p": (0.0, 1.0),
    "repeat_penalty": (0.0, 10.0),
}


def validate_params(
    provider: str, accepted: frozenset[str], params: Mapping[str, Any], info: ModelInfo, where: str
) -> None:
    """Refuse parameters the provider would reject, before any call is made."""
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ParamError(
            f"{where}: {provider} does not accept parameter(s) {unknown}. "
            f"Accepted: {', '.join(sorted(accepted))}."
        )
    for key, (low, high) in _NUMBER_RANGES.items():
        if key in params:
            value = params[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (low <= value <= high)
            ):
                raise ParamError(
                    f"{where}: {key} must be a number from {low} to {high}, got {value!r}."
                )
    for key in ("max_tokens", "top_k"):
        if key in params:
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParamError(f"{where}: {key} must be a whole number >= 1, got {value!r}.")
    if "max_tokens" in params and info.max_output and params["max_tokens"] > info.max_output:
        raise ParamError(
            f"{where}: max_tokens={params['max_tokens']} is more than {info.id} can produce "
            f"({info.max_output})."
        )
    if "seed" in params and (
        isinstance(params["seed"], bool) or not isinstance(params["seed"], int)
    ):
        raise ParamError(f"{where}: seed must be a whole number, got {params['seed']!r}.")
    if "stop" in params:
        stop = params["stop"]
        if not (
            isinstance(stop, str)
            or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
        ):
            raise ParamError(f"{where}: stop must be a string or a list of strings, got {stop!r}.")


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_OVERLOADED = re.compile(r"overload|slow down", re.IGNORECASE)
"""A 503 saying this (OpenAI: "The engine is currently overloaded", "Slow Down") asks for less
traffic, as Anthropic's 529 ``overloaded_error`` does."""


def status_error(status: int, message: str, retry_after: float | None = None) -> ProviderError:
    """Classify an HTTP error status the way every provider should."""
    if status == 429:
        return ProviderError(
            message, kind="rate_limit", retryable=True, retry_after=retry_after, status=status
        )
    if status == 529 or (status == 503 and _OVERLOADED.search(message)):
        return ProviderError(
            message, kind="overloaded", retryable=True, retry_after=retry_after, status=status
        )
    if status in (408, 409) or status >= 500:
        return ProviderError(
            message, kind="server", retryable=True, retry_after=retry_after, status=status
        )
    kind = {401: "auth", 403: "permission", 404: "not_found"}.get(status, "bad_request")
    return ProviderError(message, kind=kind, retryable=False, status=status)
