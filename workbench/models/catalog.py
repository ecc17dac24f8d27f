"""Catalog of models: context window, max output tokens, prices per 1M tokens.

Facts for OpenAI and Anthropic models ship in ``catalog.json`` (dated, with sources). Users
override or add entries with :func:`register`, ``configure(models=...)``, ``[models."id"]`` in
``workbench.toml`` or ``models:`` in an experiment YAML. A model the catalog does not list gets
its provider's fallback facts (``Provider.fallback_info``): local models, fakes and your own
OpenAI-compatible servers cost nothing; any other model runs unpriced (its cost is unknown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import fields
from functools import cache
from importlib import resources
from typing import Any

from workbench.config import Settings, add_model_facts, get_settings
from workbench.errors import ConfigError
from workbench.providers.base import ModelId, ModelInfo
from workbench.providers.registry import parse_model_id, provider_class

__all__ = [
    "FACTS",
    "ModelInfo",
    "all_models",
    "catalog_checked",
    "check_fact_names",
    "model_info",
    "price_hint",
    "register",
]

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


FACTS = tuple(f.name for f in fields(ModelInfo) if f.name != "id")
"""The facts a catalog entry may set (``register``, YAML ``models:``, ``[models."id"]``)."""


def register(model: str, **facts: Any) -> ModelInfo:
    """Add or override a catalog entry for this session, e.g.
    ``register("openai/my-fine-tune", input_per_1m=3.0, output_per_1m=12.0, context_window=128000)``.
    Nothing is registered when a fact is unknown or not a number.
    """
    check_fact_names(facts)
    _info(model, facts)  # a bad value fails here, before it could spoil every later lookup
    add_model_facts(model, facts)
    return model_info(model)


def check_fact_names(facts: Collection[str]) -> None:
    """Refuse a name that is not one of :data:`FACTS` (e.g. ``price``, ``input_per_1M``)."""
    unknown = set(facts) - set(FACTS)
    if unknown:
        raise ConfigError(f"Unknown model fact(s) {sorted(unknown)}; allowed: {sorted(FACTS)}")


def price_hint(model: str) -> str:
    """How to tell workbench a model's price and limits, in each of the three places (one line)."""
    facts = "input_per_1m=..., output_per_1m=..., context_window=..."
    return (
        f"Register its price in one of three ways: in Python "
        f"wb.models.register('{model}', {facts}); in the experiment YAML "
        f'models: {{"{model}": {{input_per_1m: ..., output_per_1m: ..., context_window: ...}}}}; '
        f'or in workbench.toml a [models."{model}"] table with input_per_1m = ..., '
        f"output_per_1m = ..., context_window = ... (USD per 1M tokens; context in tokens)."
    )


@cache
def _shipped() -> dict[str, Any]:
    text = resources.files("workbench.models").joinpath("catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def all_models(settings: Settings | None = None) -> dict[str, ModelInfo]:
    """Every catalog entry, shipped facts merged with settings and :func:`register` overrides."""
    settings = settings or get_settings()
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in _shipped()["models"].items()}
    for model, facts in settings.models.items():
        merged[model] = {**merged.get(model, {}), **facts}
    return {model: _info(model, facts) for model, facts in sorted(merged.items())}


def catalog_checked() -> str:
    """Date the shipped facts were last checked."""
    return str(_shipped().get("checked", "unknown"))


def _info(model: str, facts: dict[str, Any]) -> ModelInfo:
    try:
        return ModelInfo(
            id=model,
            context_window=_opt_int(facts.get("context_window")),
            max_output=_opt_int(facts.get("max_output")),
            input_per_1m=_opt_float(facts.get("input_per_1m")),
            output_per_1m=_opt_float(facts.get("output_per_1m")),
            as_of=facts.get("as_of"),
            batch_discount=_opt_float(facts.get("batch_discount")),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Catalog entry for {model}: {exc}") from exc


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def model_info(model: str | ModelId, settings: Settings | None = None) -> ModelInfo:
    """Facts for one model: its catalog entry (a dated id falls back to the undated one), else
    what its provider says of models it does not know (unpriced for OpenAI and Anthropic)."""
    settings = settings or get_settings()
    mid = model if isinstance(model, ModelId) else parse_model_id(model, settings)
    known = all_models(settings)
    key = str(mid)
    if key in known:
        return known[key]
    undated = _DATED.sub("", key)
    if undated in known:
        base = known[undated]
        return ModelInfo(
            key,
            base.context_window,
            base.max_output,
            base.input_per_1m,
            base.output_per_1m,
            base.as_of,
            base.batch_discount,
        )
    return provider_class(mid, settings).fallback_info(mid, settings)
