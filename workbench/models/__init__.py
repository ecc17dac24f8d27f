"""Models: ids, the catalog of context windows and prices, and resolved models.

``wb.models.register("openai/my-fine-tune", input_per_1m=3.0, output_per_1m=12.0)`` tells
workbench a price; ``wb.models.model_info("openai/gpt-4o-mini")`` shows what it knows.
"""

from workbench.models.catalog import (
    ModelInfo,
    all_models,
    catalog_checked,
    model_info,
    price_hint,
    register,
)
from workbench.models.resolved import Model, count_text, count_tokens, resolve
from workbench.providers.base import ModelId
from workbench.providers.registry import LOCAL_MODEL, default_model, parse_model_id

__all__ = [
    "LOCAL_MODEL",
    "Model",
    "ModelId",
    "ModelInfo",
    "all_models",
    "catalog_checked",
    "count_text",
    "count_tokens",
    "default_model",
    "model_info",
    "parse_model_id",
    "price_hint",
    "register",
    "resolve",
]
