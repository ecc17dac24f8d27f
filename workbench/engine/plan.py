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
from workbench.models.catalog import ModelInfo, model_info
from workbench.models.ids import ModelId, default_model, parse_model_id
from workbench.models.tokenizers import count_tokens
from workbench.prompts.variant import Variant
from workbench.providers.base import ChatRequest
from workbench.providers.registry import provider_class

__all__ = ["CACHE_KEY_VERSION", "Cell", "Plan", "cache_key", "make_plan"]

CACHE_KEY_VERSION = "wb1"
DEFAULT_OUTPUT_ALLOWANCE = 1024
"""Output tokens assumed per call for estimates when a variant sets no max_tokens."""


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
    info: ModelInfo

    def max_cost(self) -> float | None:
        """Cost if the reply uses every allowed output token (None: price unknown)."""
        return self.info.cost(self.est_input_tokens, self.max_output_tokens)


@dataclass(frozen=True)
class Plan:
    """All cells of one experiment run, in order (row, variant, repeat)."""

    cells: tuple[Cell, ...]
    models: tuple[ModelId, ...]

    def __len__(self) -> int:
        return len(self.cells)


def resolve_model(variant: Variant, settings: Settings) -> ModelId:
    """The model id a variant runs on (its own, or the default)."""
    return parse_model_id(variant.model or default_model(settings), settings)


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
    resolved: list[tuple[Variant, ModelId, ModelInfo, int]] = []
    for variant in variants:
        check_variables(variant.variables, dataset, f"Variant '{variant.name}'")
        model = resolve_model(variant, settings)
        info = model_info(model, settings)
        provider_class(model).check_params(
            variant.params, info, f"Variant '{variant.name}' ({model})"
        )
        max_out = int(
            variant.params.get("max_tokens")
            or min(info.max_output or DEFAULT_OUTPUT_ALLOWANCE, DEFAULT_OUTPUT_ALLOWANCE)
        )
        resolved.append((variant, model, info, max_out))
    cells: list[Cell] = []
    for row_index, (row_id, row) in enumerate(zip(dataset.row_ids, dataset.rows, strict=True)):
        for variant, model, info, max_out in resolved:
            messages = tuple(variant.render(row, row_id=row_id))
            estimate = count_tokens(model, messages, settings=settings, with_offsets=False).total
            for repeat in range(repeats):
                request = ChatRequest(model, messages, _frozen(variant.params), repeat)
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
                        info=info,
                    )
                )
    models = tuple(sorted({m for _, m, _, _ in resolved}))
    return Plan(tuple(cells), models)


def _frozen(params: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(params.items()))
