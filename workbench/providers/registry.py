"""Providers by name: one lazy factory per provider, SDKs imported only when a provider is used.

This is the only code that looks at a provider name. A model id ``provider/model`` names a
registered provider, an OpenAI-compatible endpoint from settings (``[endpoints.<name>]``), or a
provider instance handed to the run (``Experiment(providers=[...])``, ``configure(providers=...)``),
which is used before anything else.

Register a provider from outside the package with :func:`register`::

    from workbench.providers import register
    register("acme", lambda: AcmeProvider)      # then model ids "acme/<model>" work everywhere
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from workbench.config import Limits, Settings, get_settings
from workbench.errors import ConfigError
from workbench.providers.base import ModelId, Provider

__all__ = [
    "LOCAL_MODEL",
    "check_provider",
    "create_provider",
    "default_model",
    "injected",
    "limits_for",
    "parse_model_id",
    "provider_class",
    "provider_names",
    "register",
]

LOCAL_MODEL = "local/smollm2"
"""The embedded model: the default when no model is configured."""

Factory = Callable[[], type[Provider]]


def _local() -> type[Provider]:
    from workbench.providers.local import LocalProvider

    return LocalProvider


def _fake() -> type[Provider]:
    from workbench.providers.fake import FakeProvider

    return FakeProvider


def _openai() -> type[Provider]:
    from workbench.providers.openai_chat import OpenAIProvider

    return OpenAIProvider


def _anthropic() -> type[Provider]:
    from workbench.providers.anthropic_messages import AnthropicProvider

    return AnthropicProvider


def _compatible() -> type[Provider]:
    from workbench.providers.openai_chat import OpenAICompatibleProvider

    return OpenAICompatibleProvider


_FACTORIES: dict[str, Factory] = {
    "local": _local,
    "fake": _fake,
    "openai": _openai,
    "anthropic": _anthropic,
}


def register(name: str, factory: Factory | type[Provider]) -> None:
    """Serve model ids ``<name>/<model>`` with a Provider class (or a function returning it, to
    import its SDK only when used). Registering a name again replaces it."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"A provider name is a word without '/', got {name!r}.")
    if isinstance(factory, type):
        if not issubclass(factory, Provider):
            raise ConfigError(f"register({name!r}, ...) needs a workbench Provider subclass.")
        cls = factory
        _FACTORIES[name] = lambda: cls
    elif callable(factory):
        _FACTORIES[name] = factory
    else:
        raise ConfigError(f"register({name!r}, ...) needs a Provider class or a factory.")


def injected(settings: Settings) -> dict[str, Provider]:
    """Provider instances handed to the run, by provider name."""
    out: dict[str, Provider] = {}
    for name, provider in settings.providers.items():
        if not isinstance(provider, Provider):
            raise ConfigError(
                f"providers[{name!r}] is a {type(provider).__name__}, not a workbench Provider "
                f"(e.g. workbench.providers.fake.FakeProvider())."
            )
        out[name] = provider
    return out


def provider_names(settings: Settings) -> list[str]:
    """Every provider name a model id may start with."""
    names = [*settings.providers, *_FACTORIES, *sorted(settings.endpoints)]
    return list(dict.fromkeys(names))


def parse_model_id(text: str, settings: Settings | None = None) -> ModelId:
    """Parse ``provider/model``; unknown providers get an error listing the known ones."""
    settings = settings or get_settings()
    if not isinstance(text, str) or "/" not in text.strip("/"):
        raise ConfigError(
            f"Model id {text!r} must look like 'provider/model', e.g. 'openai/gpt-6.2-sol', "
            f"'anthropic/claude-haiku-4-5' or '{LOCAL_MODEL}'."
        )
    provider, name = (part.strip() for part in text.strip().split("/", 1))
    known = provider_names(settings)
    if provider not in known:
        raise ConfigError(
            f"Unknown provider '{provider}' in model id {text!r}. Known providers: "
            f"{', '.join(known)}. Name an OpenAI-compatible server in workbench.toml: "
            f'[endpoints.{provider}] base_url = "http://localhost:8000/v1"'
        )
    if not name:
        raise ConfigError(f"Model id {text!r} names no model after '{provider}/'.")
    return ModelId(provider, name)


def default_model(settings: Settings | None = None) -> str:
    """The model a Variant uses when it names none: the ``default_model`` setting, otherwise the
    embedded local model, so that everything runs offline with no key (a key in the environment
    does not silently switch to a paid model)."""
    return (settings or get_settings()).default_model or LOCAL_MODEL


def _class_for(name: str, settings: Settings) -> type[Provider]:
    if name in settings.providers:
        return type(injected(settings)[name])
    if name in _FACTORIES:
        return _FACTORIES[name]()
    if name in settings.endpoints:
        return _compatible()
    raise ConfigError(
        f"Unknown provider '{name}'. Known providers: {', '.join(provider_names(settings))}."
    )


def provider_class(model: ModelId, settings: Settings) -> type[Provider]:
    """The Provider class serving this model (imports no SDK)."""
    return _class_for(model.provider, settings)


def create_provider(model: ModelId, settings: Settings) -> Provider:
    """The provider serving this model: the instance handed to the run, else a new one."""
    handed = injected(settings)
    if model.provider in handed:
        return handed[model.provider]
    cls = provider_class(model, settings)
    cls.check_ready(model, settings)  # raises MissingKeyError, install hints
    return cls.from_settings(model.provider, settings)


def check_provider(model: ModelId, settings: Settings) -> None:
    """Fail now, before any call, if the model cannot be served: SDK, key or weights missing."""
    if model.provider not in settings.providers:
        provider_class(model, settings).check_ready(model, settings)


def limits_for(name: str, settings: Settings) -> Limits:
    """Limits of a provider or endpoint: its settings, the provider's default concurrency."""
    limits = settings.limits.get(name, Limits())
    if limits.concurrency is None:
        limits = dataclasses.replace(
            limits, concurrency=_class_for(name, settings).default_concurrency
        )
    return limits
