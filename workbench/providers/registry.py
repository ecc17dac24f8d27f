"""Providers by name: one factory per kind, SDKs imported only when a provider is used."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from workbench.config import Settings
from workbench.errors import ConfigError
from workbench.models.ids import ModelId
from workbench.providers.base import Provider

__all__ = ["accepted_params", "check_provider", "create_provider", "provider_class"]

_SDK = {
    "openai": ("openai", "openai"),
    "openai_compatible": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
}


def _local(model: ModelId, settings: Settings) -> Provider:
    from workbench.providers.local import LocalProvider

    return LocalProvider(model.provider, threads=settings.local_threads)


def _fake(model: ModelId, settings: Settings) -> Provider:
    from workbench.providers.fake import FakeProvider

    return FakeProvider(model.provider)


def _openai(model: ModelId, settings: Settings) -> Provider:
    from workbench.providers.openai_chat import OpenAIProvider

    return OpenAIProvider(model.provider, settings.provider_urls.get("openai"))


def _compatible(model: ModelId, settings: Settings) -> Provider:
    from workbench.providers.openai_chat import OpenAICompatibleProvider

    return OpenAICompatibleProvider(settings.endpoints[model.provider])


def _anthropic(model: ModelId, settings: Settings) -> Provider:
    from workbench.providers.anthropic_messages import AnthropicProvider

    return AnthropicProvider(model.provider, settings.provider_urls.get("anthropic"))


_FACTORIES: dict[str, Callable[[ModelId, Settings], Provider]] = {
    "local": _local,
    "fake": _fake,
    "openai": _openai,
    "openai_compatible": _compatible,
    "anthropic": _anthropic,
}


def _require_sdk(kind: str) -> None:
    if kind in _SDK:
        module, extra = _SDK[kind]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"Provider '{kind}' needs the {module} package: pip install 'prompt-workbench[{extra}]'"
            )


def create_provider(model: ModelId, settings: Settings) -> Provider:
    """A ready provider for this model's provider (one instance per run and provider name)."""
    _require_sdk(model.kind)
    return _FACTORIES[model.kind](model, settings)


def check_provider(model: ModelId, settings: Settings) -> None:
    """Fail now, before any call, if the model cannot be served: SDK, key or weights missing."""
    provider = create_provider(model, settings)  # raises MissingKeyError, install hints
    if model.kind == "local":
        from workbench.providers.local import LocalProvider

        LocalProvider.resolve(model.name)
    del provider


def provider_class(model: ModelId) -> type[Provider]:
    """The Provider class serving this model (imports no SDK)."""
    if model.kind == "local":
        from workbench.providers.local import LocalProvider

        return LocalProvider
    if model.kind == "fake":
        from workbench.providers.fake import FakeProvider

        return FakeProvider
    if model.kind == "anthropic":
        from workbench.providers.anthropic_messages import AnthropicProvider

        return AnthropicProvider
    from workbench.providers.openai_chat import OpenAICompatibleProvider, OpenAIProvider

    return OpenAIProvider if model.kind == "openai" else OpenAICompatibleProvider


def accepted_params(model: ModelId) -> frozenset[str]:
    """Parameters the provider of this model accepts."""
    return provider_class(model).accepted_params
