"""Model ids, the catalog of context windows and prices, and token estimates."""

from workbench.models.catalog import ModelInfo, catalog, model_info, register
from workbench.models.ids import BUILTIN_PROVIDERS, ModelId, default_model, parse_model_id

__all__ = [
    "BUILTIN_PROVIDERS",
    "ModelId",
    "ModelInfo",
    "catalog",
    "default_model",
    "model_info",
    "parse_model_id",
    "register",
]
