"""Model ids, the catalog of context windows and prices, and token estimates."""

from workbench.models.catalog import ModelInfo, all_models, catalog_checked, model_info, register
from workbench.models.ids import BUILTIN_PROVIDERS, ModelId, default_model, parse_model_id

__all__ = [
    "BUILTIN_PROVIDERS",
    "ModelId",
    "ModelInfo",
    "all_models",
    "catalog_checked",
    "default_model",
    "model_info",
    "parse_model_id",
    "register",
]
