"""Catalog of models: context window, max output tokens, prices per 1M tokens.

Facts for OpenAI and Anthropic models ship in ``catalog.json`` (dated, with sources). Users
override or add entries with :func:`register`, a ``models:`` key in an experiment YAML,
``configure(models=...)`` or ``[models."id"]`` in ``workbench.toml`` (:func:`price_hint` shows
all three forms). Local and fake models cost nothing; OpenAI-compatible endpoints cost nothing
unless given a price.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

from workbench.config import Settings, get_settings
from workbench.errors import ConfigError
from workbench.models.ids import ModelId, parse_model_id

__all__ = ["ModelInfo", "all_models", "catalog_checked", "model_info", "price_hint", "register"]

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


@dataclass(frozen=True)
class ModelInfo:
    """What workbench knows about one model."""

    id: str
    context_window: int | None
    """Input + output tokens the model can attend to; None if unknown."""
    max_output: int | None
    """Largest ``max_tokens`` the model accepts; None if unknown."""
    input_per_1m: float | None
    """USD per 1M input tokens; None if unknown."""
    output_per_1m: float | None
    """USD per 1M output tokens; None if unknown."""
    as_of: str | None = None
    """Date the facts were checked."""

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """USD for one call with these token counts, or None when the price is unknown."""
        if self.input_per_1m is None or self.output_per_1m is None:
            return None
        return (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6


_registered: dict[str, dict[str, Any]] = {}
FACTS = tuple(f.name for f in fields(ModelInfo) if f.name != "id")
"""The facts a catalog entry may set (``register``, YAML ``models:``, ``[models."id"]``)."""


def register(model: str, **facts: Any) -> ModelInfo:
    """Add or override a catalog entry for this session, e.g.
    ``register("openai/my-fine-tune", input_per_1m=3.0, output_per_1m=12.0, context_window=128000)``.
    Nothing is registered when a fact is unknown or not a number.
    """
    check_fact_names(facts)
    merged = {**_registered.get(model, {}), **facts}
    _info(model, merged)  # a bad value fails here, before it could spoil every later lookup
    _registered[model] = merged
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
    """Every known model, shipped facts merged with settings and :func:`register` overrides."""
    settings = settings or get_settings()
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in _shipped()["models"].items()}
    for source in (settings.models, _registered):
        for model, facts in source.items():
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
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Catalog entry for {model}: {exc}") from exc


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def model_info(model: str | ModelId, settings: Settings | None = None) -> ModelInfo:
    """Facts for one model; an unknown OpenAI or Anthropic model gets an error listing known ones."""
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
        )
    if mid.kind == "fake":
        return ModelInfo(key, 1_000_000, 100_000, 0.0, 0.0)
    if mid.kind == "openai_compatible":
        return ModelInfo(key, None, None, 0.0, 0.0)
    if mid.kind == "local":
        from workbench.providers.local import local_models

        names = local_models()
        if mid.name in names:  # a custom GGUF file (WORKBENCH_LOCAL_GGUF)
            return ModelInfo(key, None, None, 0.0, 0.0)
        raise ConfigError(
            f"Unknown local model '{key}'. Known: {', '.join('local/' + n for n in names)} "
            f"(set WORKBENCH_LOCAL_GGUF=/path/to/model.gguf to add one)."
        )
    same = [m for m in known if m.startswith(f"{mid.provider}/")]
    raise ConfigError(
        f"Unknown model '{key}'. Known {mid.provider} models: {', '.join(same)}. "
        f"For another model, tell workbench its price. {price_hint(key)}"
    )
