"""Providers: one async contract (ChatRequest -> Response), each provider class owning its facts,
and a registry by name.

``fake`` (ships in the package), ``local`` (embedded SmolLM2), ``openai``, ``anthropic``, any
OpenAI-compatible endpoint named in settings, and providers registered with :func:`register`.
"""

from workbench.providers.base import ChatRequest, ModelId, ModelInfo, Provider, Response
from workbench.providers.registry import (
    check_provider,
    create_provider,
    parse_model_id,
    provider_class,
    register,
)

__all__ = [
    "ChatRequest",
    "ModelId",
    "ModelInfo",
    "Provider",
    "Response",
    "check_provider",
    "create_provider",
    "parse_model_id",
    "provider_class",
    "register",
]
