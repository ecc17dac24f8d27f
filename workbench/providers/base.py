"""The one provider contract: a chat request in, a normalized response out — and, on each provider
class, every fact about that provider (key, SDK, concurrency, output tokens, parameters, tokenizer,
facts of models the catalog does not list).

Adding a provider is one module with a :class:`Provider` subclass plus one line in
:mod:`workbench.providers.registry` (or :func:`workbench.providers.register` from outside the
package); see ``docs/adding-a-provider.md``.
"""

from __future__ import annotations

import email.utils
import importlib.util
import json
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workbench.config import Settings
from workbench.errors import ConfigError, MissingKeyError, ParamError, ProviderError
from workbench.prompts.render import Message
from workbench.prompts.tools import ToolConfig
from workbench.tokens.count import TokenCount, estimated
from workbench.tokens.estimate import estimate_text_tokens

__all__ = [
    "COMMON_PARAMS",
    "OUTPUT_RESERVE_CAP",
    "BatchAPI",
    "BatchItem",
    "BatchLimits",
    "BatchResult",
    "BatchStatus",
    "ChatRequest",
    "ModelId",
    "ModelInfo",
    "Provider",
    "Response",
    "check_effort",
    "estimated_tools",
    "parse_retry_after",
    "status_error",
    "validate_params",
]

OUTPUT_RESERVE_CAP = 4096
"""Output tokens reserved (for estimates and budgets) when neither the variant nor the provider
sets ``max_tokens``: the model's ``max_output``, capped at this."""


@dataclass(frozen=True, order=True)
class ModelId:
    """A parsed model id, ``provider/model`` (parse with :func:`workbench.models.parse_model_id`)."""

    provider: str
    """A registered provider (``local``, ``fake``, ``openai``, ``anthropic``, ...) or the name of a
    configured OpenAI-compatible endpoint."""
    name: str
    """The model's name at that provider (may itself contain ``/``)."""

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"


@dataclass(frozen=True)
class ModelInfo:
    """What workbench knows about one model: from the catalog, settings, or its provider. The one
    place for prices: :meth:`cost` prices every call, estimate and budget."""

    id: str
    context_window: int | None
    """Input + output tokens the model can attend to; None if unknown."""
    max_output: int | None
    """Largest ``max_tokens`` the model accepts; None if unknown."""
    input_per_1m: float | None
    """USD per 1M input tokens; None if unknown (the model is unpriced)."""
    output_per_1m: float | None
    """USD per 1M output tokens (reasoning tokens included); None if unknown."""
    as_of: str | None = None
    """Date the facts were checked."""
    cached_input_per_1m: float | None = None
    """USD per 1M input tokens read from the provider's prompt cache; None: not published (cache
    reads are then priced at the input rate, never below what they cost)."""
    cache_write_per_1m: float | None = None
    """USD per 1M input tokens written to the prompt cache; None: not published (priced at the
    input rate)."""
    batch_input_per_1m: float | None = None
    """USD per 1M input tokens of a call answered in a provider batch (``mode="batch"``) or on
    OpenAI's flex tier; None: not published (such calls are then unpriced, never guessed)."""
    batch_output_per_1m: float | None = None
    """USD per 1M output tokens at the batch / flex discount."""
    efforts: tuple[str, ...] | None = None
    """Reasoning efforts the model accepts (OpenAI ``reasoning_effort``, Anthropic ``effort``);
    ``()``: the model does not reason; None: unknown (not checked)."""
    thinking: tuple[str, ...] | None = None
    """Anthropic ``thinking`` types the model accepts (``enabled``, ``adaptive``); ``()``: none;
    None: unknown (not checked)."""
    retires: str | None = None
    """Date (YYYY-MM-DD) the provider retires the model, where announced."""
    replacement: str | None = None
    """The model the provider recommends instead (a workbench model id)."""

    @property
    def priced(self) -> bool:
        """True when both prices are known (free models are priced at 0)."""
        return self.input_per_1m is not None and self.output_per_1m is not None

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        cached: int = 0,
        written: int = 0,
        tier: str | None = "standard",
    ) -> float | None:
        """USD for one call, or None when the price is unknown. ``input_tokens`` counts every
        input token; ``cached`` of them were read from the prompt cache and ``written`` written
        to it. ``tier``: ``standard``, ``batch`` (batch / flex prices) or None (a service tier
        without a known price: unpriced)."""
        if self.input_per_1m is None or self.output_per_1m is None or tier is None:
            return None
        rate_in, rate_out, scale = self.input_per_1m, self.output_per_1m, 1.0
        if tier == "batch":
            if self.batch_input_per_1m is None or self.batch_output_per_1m is None:
                return None
            rate_in, rate_out = self.batch_input_per_1m, self.batch_output_per_1m
            scale = rate_in / self.input_per_1m if self.input_per_1m else 1.0
        elif tier != "standard":
            return None
        cached = max(0, min(cached, input_tokens))
        written = max(0, min(written, input_tokens - cached))
        read_rate = (
            self.input_per_1m if self.cached_input_per_1m is None else self.cached_input_per_1m
        )
        write_rate = (
            self.input_per_1m if self.cache_write_per_1m is None else self.cache_write_per_1m
        )
        total = (
            (input_tokens - cached - written) * rate_in
            + cached * read_rate * scale
            + written * write_rate * scale
            + output_tokens * rate_out
        )
        return total / 1e6


@dataclass(frozen=True)
class BatchLimits:
    """What one provider batch may hold (a provider with a batch API says so on its class)."""

    max_requests: int
    """Requests in one batch."""
    max_bytes: int
    """Bytes of one batch as sent (the JSONL file, or the JSON body of the request)."""


@dataclass(frozen=True)
class ChatRequest:
    """What is sent: model, rendered messages, parameters, and which repeat this is."""

    model: ModelId
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    repeat: int = 0
    tools: ToolConfig | None = None
    """The tools the model may call (None: none offered)."""


@dataclass
class Response:
    """What every provider returns, success or failure alike. Usage is normalized: token counts
    mean the same for every provider (None where a provider does not report them)."""

    text: str | None
    input_tokens: int | None = None
    """Every input token, cached ones included."""
    output_tokens: int | None = None
    """Every output token, reasoning included (what the provider bills as output)."""
    finish_reason: str | None = None
    latency_ms: float = 0.0
    error: str | None = None
    """Why the call failed (after retries); None on success."""
    error_kind: str | None = None
    raw: dict[str, Any] | None = None
    """The provider's response body as plain data (never request headers)."""
    tool_calls: list[dict[str, Any]] | None = None
    """The tools the model called, in order: ``{"id", "name", "arguments"}`` with the arguments
    parsed from JSON; a call whose arguments are not valid JSON keeps them as text in
    ``raw_arguments`` (``arguments`` None) and says why in ``invalid`` (see
    :func:`workbench.providers.tools.tool_call`). None or empty: no tool was called."""
    reasoning_tokens: int | None = None
    """Output tokens spent reasoning (part of ``output_tokens``)."""
    cached_input_tokens: int | None = None
    """Input tokens read from the provider's prompt cache (part of ``input_tokens``)."""
    cache_write_tokens: int | None = None
    """Input tokens written to the provider's prompt cache (part of ``input_tokens``)."""
    reasoning: str | None = None
    """The reasoning text the provider returned (Anthropic thinking, reasoning summaries),
    never mixed into ``text``."""
    ttft_ms: float | None = None
    """Milliseconds to the first streamed token (None when the call did not stream)."""
    service_tier: str | None = None
    """The service tier the provider says it served the call on."""
    batch: str | None = None
    """The provider batch that answered the call (None: a real-time call); such a call is
    priced at the batch price."""

    @property
    def ok(self) -> bool:
        """True when the call produced output."""
        return self.error is None

    @property
    def starved(self) -> bool:
        """True when the reply came back empty because the output budget ran out (reasoning used
        it all): finish reason ``length``, no text and no tool call."""
        empty = not (self.text or "").strip() and not self.tool_calls
        return self.ok and self.finish_reason == "length" and empty

    @classmethod
    def failure(cls, exc: ProviderError, latency_ms: float = 0.0) -> Response:
        """A failed call as data."""
        return cls(text=None, latency_ms=latency_ms, error=str(exc), error_kind=exc.kind)


@dataclass(frozen=True)
class BatchItem:
    """One request of a provider batch and the id that names its result."""

    custom_id: str
    request: ChatRequest


@dataclass(frozen=True)
class BatchResult:
    """The result of one request of a batch: its Response (an error as data) and whether a
    follow-up batch may try it again (a server error, a rate limit; not a bad request)."""

    response: Response
    retryable: bool = False


@dataclass(frozen=True)
class BatchStatus:
    """A provider batch as its provider reports it now."""

    id: str
    """The provider's batch id."""
    state: str
    """The provider's own word (``validating``, ``in_progress``, ``ended``, ...)."""
    outcome: str | None
    """None while it may still progress; else completed, cancelled, expired or failed (every
    request answered, some maybe with errors; cancelled; expired before it finished — finished
    requests are kept either way; or refused as a whole)."""
    total: int
    succeeded: int
    """Requests answered (some providers count them only once the batch has ended)."""
    failed: int
    """Requests that ended in an error."""
    created: float
    """Unix seconds."""
    tag: str | None = None
    """The workbench submission tag it carries (``metadata``), where the provider keeps one."""
    message: str = ""
    """Why the provider refused the whole batch (``failed``)."""

    @property
    def ended(self) -> bool:
        """True when nothing more will happen: results can be collected."""
        return self.outcome is not None


class BatchAPI(ABC):
    """One provider's batch API, for one provider instance (its client, its key). Each line of
    a batch is the provider's own real-time body (:meth:`Provider.request_body`), each result is
    parsed by its :meth:`Provider.response_from_body`: a batch call and a real-time call of the
    same request send the same JSON and give the same Response. Helpers: ``providers.batch``."""

    def __init__(self, provider: Provider, client: Callable[[], Any], limits: BatchLimits) -> None:
        self.provider = provider
        """Builds each line's body and parses each result, as in real time."""
        self.client = client
        """The provider's SDK client (made on first use)."""
        self.limits = limits

    @abstractmethod
    def size(self, item: BatchItem) -> int:
        """Bytes ``item`` adds to a batch as sent."""

    def group(self, item: BatchItem) -> str:
        """Items of different groups never share a batch: one model per batch (and, where the
        provider asks it, one endpoint)."""
        return str(item.request.model)

    @abstractmethod
    async def submit(self, items: Sequence[BatchItem], tag: str) -> str:
        """Create a batch of ``items`` (one model, within :attr:`limits`); returns its id. ``tag``
        names the submission where the provider keeps metadata (see :meth:`find`)."""

    @abstractmethod
    async def status(self, batch_id: str) -> BatchStatus:
        """The batch now."""

    @abstractmethod
    async def results(self, batch_id: str) -> dict[str, BatchResult]:
        """Results of an ended batch by custom id; requests that never ran (cancelled, expired)
        come back as failures saying so."""

    @abstractmethod
    async def cancel(self, batch_id: str) -> BatchStatus:
        """Ask the provider to cancel the batch (requests already answered are kept)."""

    @abstractmethod
    async def list(self) -> list[BatchStatus]:
        """The provider's recent batches, newest first."""

    async def find(
        self, tag: str, created: float, requests: int, known: Collection[str] = ()
    ) -> str | None:
        """The id of a batch submitted with ``tag`` (at about ``created``, holding ``requests``)
        whose id was never recorded — the process was killed as the provider accepted it — or
        None. A batch carrying a tag must carry this one; one without (a provider that keeps no
        metadata) must match the size and time, and not be one of the ``known`` ids."""
        for found in await self.list():
            if found.tag is not None:
                if found.tag == tag:
                    return found.id
            elif (
                found.id not in known
                and found.total == requests
                and -60 <= found.created - created <= 600
            ):
                return found.id
        return None


class Provider(ABC):
    """A source of chat completions. Class attributes and class methods are the provider's facts
    (usable before any instance exists); an instance makes calls: implement :meth:`generate`
    and raise :class:`~workbench.errors.ProviderError` on failure."""

    label: ClassVar[str] = "this provider"
    """How messages name the provider."""
    key_env: ClassVar[str | None] = None
    """Environment variable holding the API key (None: no key needed)."""
    sdk: ClassVar[str | None] = None
    """Python package the provider needs (checked before a run)."""
    extra: ClassVar[str | None] = None
    """The ``prompt-workbench[extra]`` that installs :attr:`sdk`."""
    default_concurrency: ClassVar[int] = 4
    """Calls in flight at once unless ``[limits.<name>] concurrency`` says otherwise."""
    default_max_tokens: ClassVar[int | None] = None
    """``max_tokens`` sent when a variant sets none (None: left to the API)."""
    accepted_params: ClassVar[frozenset[str]] = frozenset()
    """Generation parameters this provider understands; anything else is refused before a call."""
    free: ClassVar[bool] = False
    """Models the catalog does not list cost nothing (local models, fakes, your own servers)."""
    supports_tools: ClassVar[bool] = False
    """The provider can offer tools to the model (``Variant(tools=...)``); a variant with tools
    on a provider that cannot is refused before any call."""
    price_tiers: ClassVar[Mapping[str, str]] = {}
    """``service_tier`` values (asked or reported) and the prices they bill at: ``standard`` or
    ``batch``; a tier not listed makes the call unpriced (its cost is unknown, never guessed)."""
    min_cached_prefix: ClassVar[int | None] = None
    """Shortest prompt prefix (tokens) the provider caches; None: no prompt cache."""
    batch_limits: ClassVar[BatchLimits | None] = None
    """The provider's batch API takes batches of at most this size; None: it has no batch API
    (its calls in a ``mode="batch"`` run are made in real time)."""

    def __init__(self, name: str) -> None:
        self.name = name
        """Provider or endpoint name: the key for limits (concurrency, rate limits)."""
        self._batches: BatchAPI | None = None

    # -- facts -------------------------------------------------------------------------------
    @classmethod
    def install_hint(cls) -> str:
        """What to type to install what this provider needs."""
        return f"pip install 'prompt-workbench[{cls.extra}]'" if cls.extra else ""

    @classmethod
    def check_ready(cls, model: ModelId, settings: Settings) -> None:
        """Fail now, before any call, if ``model`` cannot be served here: SDK or key missing."""
        if cls.sdk and importlib.util.find_spec(cls.sdk) is None:
            raise ConfigError(
                f"Provider '{model.provider}' needs the {cls.sdk} package: {cls.install_hint()}"
            )
        env = cls.key_variable(model.provider, settings)
        if env and not os.environ.get(env):
            raise MissingKeyError(model.provider, env)

    @classmethod
    def key_variable(cls, name: str, settings: Settings) -> str | None:
        """The environment variable holding the key of provider ``name``."""
        return cls.key_env

    def progress_note(self) -> str:
        """Why this provider runs slower than it could and what to change, for the live progress
        (asked after each call); "" when there is nothing to say."""
        return ""

    @classmethod
    def check_params(cls, params: Mapping[str, Any], info: ModelInfo, where: str) -> None:
        """Refuse, before any call, parameters this provider would reject."""
        validate_params(cls.label, cls.accepted_params, params, info, where)

    @classmethod
    def check_tools(cls, tools: ToolConfig | None, where: str) -> None:
        """Refuse, before any call, tools this provider cannot offer the model."""
        if tools is not None and not cls.supports_tools:
            raise ParamError(
                f"{where}: {cls.label} cannot call tools (tools {', '.join(tools.names)}). Run "
                f"the variant on a model that can (OpenAI, Anthropic, an OpenAI-compatible "
                f"endpoint, fake/...), or leave tools out."
            )

    @classmethod
    def count_tool_tokens(
        cls, model: ModelId, tools: ToolConfig, *, settings: Settings, remote: bool
    ) -> TokenCount:
        """Input tokens the tool definitions add to a request: a labelled estimate (about four
        characters a token of their JSON) unless the provider knows better."""
        return estimated_tools(model, tools, f"{cls.label} has no tool-definition counter")

    @classmethod
    def reserved_output(cls, params: Mapping[str, Any], info: ModelInfo) -> int:
        """Output tokens one call may use: ``max_tokens`` if set, else what this provider sends,
        else the model's ``max_output`` capped at :data:`OUTPUT_RESERVE_CAP` — the one number
        that estimates, budgets and requests all use."""
        if params.get("max_tokens"):
            return int(params["max_tokens"])
        if cls.default_max_tokens is not None:
            return cls.default_max_tokens
        return min(info.max_output or OUTPUT_RESERVE_CAP, OUTPUT_RESERVE_CAP)

    @classmethod
    def price_tier(
        cls, params: Mapping[str, Any], reported: str | None = None, *, batch: bool = False
    ) -> str | None:
        """The prices a call bills at: ``standard``, ``batch``, or None (unpriced): ``batch`` for
        a call sent in a provider batch, else from the tier the provider reported, else the
        ``service_tier`` asked for, else standard."""
        if batch:
            return "batch"
        tier = reported or params.get("service_tier")
        if tier is None:
            return "standard"
        return cls.price_tiers.get(str(tier))

    @classmethod
    def caching_note(cls, params: Mapping[str, Any]) -> str:
        """What to change for the provider to cache a shared prompt prefix; "" when it does."""
        return "" if cls.min_cached_prefix else f"{cls.label} has no prompt cache"

    @classmethod
    def fallback_info(cls, model: ModelId, settings: Settings) -> ModelInfo:
        """Facts of a model the catalog does not list: unknown sizes; free or unpriced."""
        price = 0.0 if cls.free else None
        return ModelInfo(str(model), None, None, price, price)

    @classmethod
    def tokenizer_key(cls, model: ModelId, settings: Settings) -> str | None:
        """What besides the model id decides token counts (e.g. a weights file), for caching."""
        return None

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
        """Input tokens of a chat request; a labelled estimate unless the provider knows better."""
        return estimated(str(model), messages, f"{cls.label} has no tokenizer here")

    @classmethod
    def from_settings(cls, name: str, settings: Settings) -> Provider:
        """A ready instance serving provider ``name`` with these settings."""
        return cls(name)

    # -- calls -------------------------------------------------------------------------------
    @abstractmethod
    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        """One call. Return a Response with text and usage, or raise ProviderError."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once when a run ends (a later call may reopen them)."""

    # -- batches (providers with a batch API) -------------------------------------------------
    def request_body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body a real-time call of ``request`` sends: a batch line sends exactly this."""
        raise NotImplementedError(f"{self.label} builds no HTTP request body")

    def response_from_body(self, body: Mapping[str, Any], latency_ms: float = 0.0) -> Response:
        """The Response of a reply body, parsed as a real-time call's is (batch results too);
        raise ProviderError when the body is unusable."""
        raise NotImplementedError(f"{self.label} parses no HTTP response body")

    def batches(self) -> BatchAPI | None:
        """This provider's batch API (None: it has none; see :attr:`batch_limits`), made once."""
        limits = type(self).batch_limits
        if limits is None:
            return None
        if self._batches is None:
            self._batches = self.make_batches(limits)
        return self._batches

    def make_batches(self, limits: BatchLimits) -> BatchAPI:
        """The transport of this provider's batch API (providers with ``batch_limits``)."""
        raise NotImplementedError(f"{self.label} has no batch API")

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


def check_effort(param: str, value: Any, info: ModelInfo, where: str) -> None:
    """Refuse a reasoning effort the model does not take (checked where the catalog knows)."""
    if info.efforts is None:
        return
    if not info.efforts:
        raise ParamError(
            f"{where}: {info.id} does not reason, so it takes no {param}; remove {param}, or "
            f"use a reasoning model."
        )
    if value not in info.efforts:
        raise ParamError(
            f"{where}: {param}={value!r} is not one {info.id} accepts; use one of "
            f"{', '.join(info.efforts)}."
        )


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


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def estimated_tools(model: ModelId, tools: ToolConfig, why: str) -> TokenCount:
    """A labelled estimate of the tokens tool definitions add: about four characters a token of
    their JSON."""
    n = estimate_text_tokens("".join(_json(d) for d in tools.definitions))
    return TokenCount(str(model), n, (), n, False, f"estimate ({why})")
