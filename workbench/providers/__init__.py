"""Providers: one async contract (ChatRequest -> Response) and a registry by name.

``fake`` (ships in the package), ``local`` (embedded SmolLM2), ``openai``, ``anthropic`` and any
OpenAI-compatible endpoint named in settings.
"""

from workbench.providers.base import ChatRequest, Provider, Response
from workbench.providers.registry import accepted_params, check_provider, create_provider

__all__ = [
    "ChatRequest",
    "Provider",
    "Response",
    "accepted_params",
    "check_provider",
    "create_provider",
]
