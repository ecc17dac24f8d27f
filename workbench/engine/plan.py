"""Plan: expand dataset × variants × repeats into cells with cache keys. Pure; makes no calls."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.config import Settings
from workbench.data.dataset import Dataset
from workbench.errors import TemplateError
from workbench.models.resolved import Model, resolve
from workbench.prompts.render import Message
from workbench.prompts.tools import ToolConfig
from workbench.prompts.variant import Variant
from workbench.providers.base import ChatRequest, ModelId, Response

__all__ = [
    "CACHE_KEY_VERSION",
    "Call",
    "Cell",
    "Plan",
    "ToolLoop",
    "cache_key",
    "make_call",
    "make_plan",
]

CACHE_KEY_VERSION = "wb1"


def _keyed(message: Message) -> list[Any]:
    """A message in the key: [role, content], plus its tool calls or call id when it has any
    (so a message without them keys as it always did)."""
    keyed: list[Any] = [message["role"], message["content"]]
    extra: dict[str, Any] = {}
    if "tool_calls" in message:
        extra["tool_calls"] = message["tool_calls"]
    if "tool_call_id" in message:
        extra["tool_call_id"] = message["tool_call_id"]
    return [*keyed, extra] if extra else keyed


def cache_key(request: ChatRequest) -> str:
    """Hash of what changes the output: model, messages, params, repeat index, and the tools when
    there are any (a request without tools keeps the key it always had). Never secrets."""
    body: dict[str, Any] = {
        "model": str(request.model),
        "messages": [_keyed(m) for m in request.messages],
        "params": dict(request.params),
        "repeat": request.repeat,
    }
    if request.tools is not None:
        body["tools"] = request.tools.request_fields()
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"{CACHE_KEY_VERSION}:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Call:
    """One model call to make: the request, its cache key, its model and what it may cost."""

    request: ChatRequest
    key: str
    model: Model
    est_input_tokens: int
    max_output_tokens: int
    purpose: str = "cell"
    """``cell`` (the grid) or ``judge`` (scoring): what the ledger counts it as."""

    def max_cost(self, *, batch: bool = False) -> float | None:
        """Cost if the reply uses every allowed output token and nothing comes from the prompt
        cache (None: the model is unpriced), at batch prices when it goes in a provider
        ``batch``."""
        return self.model.max_cost(self.est_input_tokens, self.request.params, batch=batch)

    def cost(self, response: Response) -> float | None:
        """What the call cost at catalog prices — cache reads and writes at their own rates, at
        the service tier the provider reports, at batch prices for a reply from a provider
        batch — 0 for a failure, None when unpriced."""
        if not response.ok:
            return 0.0
        used = response.input_tokens
        tier = self.model.provider.price_tier(
            self.request.params, response.service_tier, batch=response.batch is not None
        )
        return self.model.info.cost(
            used if used is not None else self.est_input_tokens,
            response.output_tokens or 0,
            cached=response.cached_input_tokens or 0,
            written=response.cache_write_tokens or 0,
            tier=tier,
        )


def make_call(
    model: Model,
    messages: Sequence[Message],
    params: Mapping[str, Any],
    repeat: int = 0,
    *,
    purpose: str = "cell",
    tools: ToolConfig | None = None,
) -> Call:
    """A call of ``model`` with these messages, params and tools: its request, cache key and
    sizes."""
    request = ChatRequest(model.id, tuple(messages), _frozen(params), repeat, tools)
    return Call(
        request=request,
        key=cache_key(request),
        model=model,
        est_input_tokens=model.input_tokens(messages, tools),
        max_output_tokens=model.reserved_output(params),
        purpose=purpose,
    )


@dataclass(frozen=True)
class ToolLoop:
    """How a cell runs its tool loop: up to ``max_steps`` model calls, calling ``functions``
    (by tool name) with the arguments of each tool call in between."""

    max_steps: int
    functions: Mapping[str, Callable[..., Any]] = field(repr=False)

    @property
    def signature(self) -> tuple[Any, ...]:
        """Equal for loops that run alike (same steps, same functions)."""
        return (self.max_steps, tuple(sorted((n, id(f)) for n, f in self.functions.items())))


@dataclass(frozen=True)
class Cell:
    """One call to make: a (row, variant, repeat)."""

    index: int
    row_index: int
    row_id: str
    variant: str
    repeat: int
    request: ChatRequest
    key: str
    est_input_tokens: int
    max_output_tokens: int
    model: Model
    origins: tuple[str, ...] = ()
    """Where each message came from (``Part.origin``: system, example, turn, history, user)."""
    loop: ToolLoop | None = None
    """The variant's tool loop (``max_steps``); None: one call."""

    def max_cost(self) -> float | None:
        """Cost if the reply uses every allowed output token (None: price unknown)."""
        return self.model.max_cost(self.est_input_tokens, self.request.params)

    @property
    def group(self) -> tuple[Any, ...]:
        """Cells of the same group are answered by one call (or one tool loop): same request,
        same loop."""
        return (self.key, self.loop.signature if self.loop is not None else None)

    def as_call(self) -> Call:
        """The call this cell makes (the first step of a tool loop)."""
        return Call(
            self.request, self.key, self.model, self.est_input_tokens, self.max_output_tokens
        )


@dataclass(frozen=True)
class Plan:
    """All cells of one experiment run, in order (row, variant, repeat)."""

    cells: tuple[Cell, ...]
    models: tuple[ModelId, ...]
    variants: tuple[Variant, ...] = ()
    """The variants as they run: each with its model resolved (the default filled in)."""

    def __len__(self) -> int:
        return len(self.cells)


def check_variables(
    variables: frozenset[str], dataset: Dataset, what: str, extra: Sequence[str] = ()
) -> None:
    """Every template variable must be a dataset column."""
    available = set(dataset.columns) | set(extra)
    missing = sorted(variables - available)
    if missing:
        raise TemplateError(
            f"{what} uses {', '.join('{{ ' + m + ' }}' for m in missing)}, which "
            f"{'is not a column' if len(missing) == 1 else 'are not columns'} of "
            f"{dataset.describe_source()}. Columns: {', '.join(dataset.columns)}."
        )


def make_plan(
    dataset: Dataset,
    variants: Sequence[Variant],
    repeats: int,
    settings: Settings,
) -> Plan:
    """Validate everything that can be checked offline and expand the grid."""
    resolved: list[tuple[Variant, Model, int]] = []
    for variant in variants:
        check_variables(variant.variables, dataset, f"Variant '{variant.name}'")
        model = resolve(variant.model, settings)
        where = f"Variant '{variant.name}' ({model})"
        model.check_params(variant.request_params, where)
        model.check_tools(variant.tool_config, where)
        resolved.append((variant, model, model.reserved_output(variant.request_params)))
    loops = {
        v.name: ToolLoop(v.max_steps, v.functions) if v.max_steps is not None else None
        for v, _, _ in resolved
    }
    cells: list[Cell] = []
    for row_index, (row_id, row) in enumerate(zip(dataset.row_ids, dataset.rows, strict=True)):
        for variant, model, max_out in resolved:
            rendered = variant.render(row, row_id=row_id)
            messages = tuple(rendered)
            tools = variant.tool_config
            estimate = model.input_tokens(messages, tools)
            for repeat in range(repeats):
                request = ChatRequest(
                    model.id, messages, _frozen(variant.request_params), repeat, tools
                )
                cells.append(
                    Cell(
                        index=len(cells),
                        row_index=row_index,
                        row_id=row_id,
                        variant=variant.name,
                        repeat=repeat,
                        request=request,
                        key=cache_key(request),
                        est_input_tokens=estimate,
                        max_output_tokens=max_out,
                        model=model,
                        origins=tuple(p.origin for p in rendered.parts),
                        loop=loops[variant.name],
                    )
                )
    models = tuple(sorted({m.id for _, m, _ in resolved}))
    ran = tuple(v.replace(model=str(m.id)) for v, m, _ in resolved)
    return Plan(tuple(cells), models, ran)


def _frozen(params: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(params.items()))
