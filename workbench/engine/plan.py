"""Plan: expand dataset × variants × repeats into cells with cache keys. Pure; makes no calls."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.config import Settings
from workbench.data.dataset import Dataset
from workbench.errors import TemplateError
from workbench.models.resolved import Model, resolve
from workbench.prompts.render import Message
from workbench.prompts.variant import Variant
from workbench.providers.base import ChatRequest, ModelId, Response

__all__ = ["CACHE_KEY_VERSION", "Call", "Cell", "Plan", "cache_key", "make_call", "make_plan"]

CACHE_KEY_VERSION = "wb1"


def cache_key(request: ChatRequest) -> str:
    """Hash of what changes the output: model, messages, params, repeat index. Never secrets."""
    body = {
        "model": str(request.model),
        "messages": [[m["role"], m["content"]] for m in request.messages],
        "params": dict(request.params),
        "repeat": request.repeat,
    }
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
        """Cost if the reply uses every allowed output token (None: the model is unpriced), at
        the batch price when it goes in a provider ``batch``."""
        price = self.model.info.batch_cost if batch else self.model.info.cost
        return price(self.est_input_tokens, self.max_output_tokens)

    def cost(self, response: Response) -> float | None:
        """What the call cost at catalog prices (batch prices for a reply from a provider
        batch): 0 for a failure, None when unpriced."""
        if not response.ok:
            return 0.0
        used = response.input_tokens
        price = self.model.info.batch_cost if response.batch else self.model.info.cost
        return price(
            used if used is not None else self.est_input_tokens, response.output_tokens or 0
        )


def make_call(
    model: Model,
    messages: Sequence[Message],
    params: Mapping[str, Any],
    repeat: int = 0,
    *,
    purpose: str = "cell",
) -> Call:
    """A call of ``model`` with these messages and params: its request, cache key and sizes."""
    request = ChatRequest(model.id, tuple(messages), _frozen(params), repeat)
    return Call(
        request=request,
        key=cache_key(request),
        model=model,
        est_input_tokens=model.count_tokens(messages, remote=False, with_offsets=False).total,
        max_output_tokens=model.reserved_output(params),
        purpose=purpose,
    )


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

    def max_cost(self) -> float | None:
        """Cost if the reply uses every allowed output token (None: price unknown)."""
        return self.model.info.cost(self.est_input_tokens, self.max_output_tokens)

    def as_call(self) -> Call:
        """The call this cell makes."""
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
        model.check_params(variant.params, f"Variant '{variant.name}' ({model})")
        resolved.append((variant, model, model.reserved_output(variant.params)))
    cells: list[Cell] = []
    for row_index, (row_id, row) in enumerate(zip(dataset.row_ids, dataset.rows, strict=True)):
        for variant, model, max_out in resolved:
            rendered = variant.render(row, row_id=row_id)
            messages = tuple(rendered)
            estimate = model.count_tokens(messages, remote=False, with_offsets=False).total
            for repeat in range(repeats):
                request = ChatRequest(model.id, messages, _frozen(variant.params), repeat)
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
                    )
                )
    models = tuple(sorted({m.id for _, m, _ in resolved}))
    ran = tuple(v.replace(model=str(m.id)) for v, m, _ in resolved)
    return Plan(tuple(cells), models, ran)


def _frozen(params: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(params.items()))
