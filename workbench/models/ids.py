"""Model ids are ``provider/model``; this is the one place that parses them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from workbench.config import Settings, get_settings
from workbench.errors import ConfigError

__all__ = ["BUILTIN_PROVIDERS", "KEY_ENV", "ModelId", "default_model", "parse_model_id"]

BUILTIN_PROVIDERS = ("local", "fake", "openai", "anthropic")
"""Providers that ship with workbench; named OpenAI-compatible endpoints come from settings."""

KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
"""Environment variable holding each built-in provider's key."""

LOCAL_MODEL = "local/smollm2"


@dataclass(frozen=True, order=True)
class ModelId:
    """A parsed model id."""

    provider: str
    """``local``, ``fake``, ``openai``, ``anthropic`` or the name of a configured endpoint."""
    name: str
    """The model's name at that provider (may itself contain ``/``)."""

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"

    @property
    def kind(self) -> str:
        """Which provider implementation serves it: a built-in name or ``openai_compatible``."""
        return self.provider if self.provider in BUILTIN_PROVIDERS else "openai_compatible"


def parse_model_id(text: str, settings: Settings | None = None) -> ModelId:
    """Parse ``provider/model``; unknown providers get an error listing the known ones."""
    settings = settings or get_settings()
    if not isinstance(text, str) or "/" not in text.strip("/"):
        raise ConfigError(
            f"Model id {text!r} must look like 'provider/model', e.g. 'openai/gpt-6.2-sol', "
            f"'anthropic/claude-haiku-4-5' or '{LOCAL_MODEL}'."
        )
    provider, name = (part.strip() for part in text.strip().split("/", 1))
    known = [*BUILTIN_PROVIDERS, *sorted(settings.endpoints)]
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
    """The model a Variant uses when it names none.

    The configured ``default_model`` if any; otherwise the embedded local model, so that everything
    runs offline with no key. (A key in the environment does not silently switch to a paid model.)
    """
    settings = settings or get_settings()
    return settings.default_model or os.environ.get("WORKBENCH_DEFAULT_MODEL") or LOCAL_MODEL
