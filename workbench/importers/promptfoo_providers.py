"""promptfoo providers as workbench model ids, parameters and endpoints.

===========================================  ==============================================
promptfoo                                    workbench
===========================================  ==============================================
``openai:chat:MODEL``, ``openai:MODEL``      ``openai/MODEL``
``anthropic:messages:MODEL``                 ``anthropic/MODEL``
``openai:...`` with ``config.apiBaseUrl``    ``<endpoint>/MODEL``, the endpoint named after
                                             the provider's label (or the server's host)
``ollama:chat:MODEL``                        ``ollama/MODEL`` (``http://localhost:11434/v1``)
``echo``                                     ``fake/echo`` (replies with the prompt)
===========================================  ==============================================

``config`` keys that are generation parameters (temperature, max_tokens, top_p, ...) become
the variant's ``params``; ``apiKeyEnvar`` names the endpoint's key variable. Keys are never
imported (``apiKey`` is reported); other keys and other providers are reported as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from workbench.importers.spec import Notes

__all__ = ["Target", "embedder_of", "grader_of", "read_provider"]

_PARAMS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "top_p": "top_p",
    "top_k": "top_k",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "seed": "seed",
    "stop": "stop",
    "response_format": "response_format",
    "reasoning_effort": "reasoning_effort",
    "thinking": "thinking",
}
_ENDPOINT_KEYS = ("apiBaseUrl", "apiHost", "apiKeyEnvar")
_OPENAI_APIS = ("chat", "responses")
_MINILM = "sentence-transformers/all-MiniLM-L6-v2"
_OLLAMA = ("ollama", "http://localhost:11434/v1")


@dataclass(frozen=True)
class Target:
    """One promptfoo provider, as workbench runs it."""

    model: str
    """Workbench model id, ``provider/model``."""
    label: str
    """How variant names call it: the provider's label, else its model name."""
    params: Mapping[str, Any] = field(default_factory=dict)
    prompts: tuple[str, ...] | None = None
    """The prompt labels this provider runs (promptfoo's ``providers[].prompts``), or all."""
    endpoint: tuple[str, Mapping[str, str]] | None = None
    """An OpenAI-compatible server it needs: (name, {base_url, api_key_env})."""


def _split(raw: Any, where: str, notes: Notes) -> tuple[str, Mapping[str, Any]] | None:
    """(provider id, its options) from a string, ``{id, label, config}`` or ``{id: options}``."""
    if isinstance(raw, str):
        return raw, {}
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
        return raw["id"], raw
    if isinstance(raw, Mapping) and len(raw) == 1:
        key, value = next(iter(raw.items()))
        if isinstance(key, str) and (value is None or isinstance(value, Mapping)):
            return key, {**(value or {}), "id": key}
    notes.add("skipped", where, f"not a provider (expected an id or {{id, config}}): {raw!r}")
    return None


def _model(pid: str) -> tuple[str, str] | None:
    """(workbench provider, model name) for a provider id workbench serves, else None."""
    head, _, rest = pid.partition(":")
    if head == "echo" and not rest:
        return "fake", "echo"
    api, _, model = rest.partition(":")
    if head == "openai" and rest:
        if api in _OPENAI_APIS and model:
            return "openai", model
        if not model or api == "ft" or not re.fullmatch(r"[a-z]+", api):  # openai:gpt-4o, ft:...
            return "openai", rest
        return None
    if head == "anthropic" and api == "messages" and model:
        return "anthropic", model
    if head == "ollama" and api == "chat" and model:
        return _OLLAMA[0], model
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "endpoint"


def _endpoint(
    options: Mapping[str, Any], config: Mapping[str, Any], where: str, notes: Notes
) -> tuple[str, dict[str, str]] | None:
    url = config.get("apiBaseUrl")
    if url is None and config.get("apiHost"):
        url = f"https://{config['apiHost']}/v1"
    if url is None:
        return None
    if not isinstance(url, str) or not urlparse(url).scheme:
        notes.add("skipped", f"{where}.config.apiBaseUrl", f"not a URL: {url!r}")
        return None
    label = options.get("label")
    name = _slug(label if isinstance(label, str) else (urlparse(url).hostname or "endpoint"))
    spec = {"base_url": url}
    if isinstance(config.get("apiKeyEnvar"), str):
        spec["api_key_env"] = config["apiKeyEnvar"]
    return name, spec


def _params(config: Mapping[str, Any], where: str, notes: Notes, *, fake: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in config.items():
        if key in _PARAMS and not fake:
            params[_PARAMS[key]] = value
        elif key == "max_completion_tokens" and not fake:
            params["max_tokens"] = value
            notes.add(
                "approximated",
                f"{where}.config.max_completion_tokens",
                "sent as max_tokens (workbench's OpenAI provider sends it as "
                "max_completion_tokens where the model needs that)",
            )
        elif key == "apiKey":
            notes.add(
                "skipped",
                f"{where}.config.apiKey",
                "a key written in the config is never imported: put it in an environment "
                "variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, or the endpoint's api_key_env)",
            )
        elif key not in _ENDPOINT_KEYS:
            notes.add(
                "skipped", f"{where}.config.{key}", "a provider option workbench does not send"
            )
    return params


def read_provider(raw: Any, where: str, notes: Notes) -> Target | None:
    """The model, parameters and endpoint of one promptfoo provider entry; None (reported)
    when workbench cannot run it."""
    split = _split(raw, where, notes)
    if split is None:
        return None
    pid, options = split
    found = _model(pid)
    if found is None:
        notes.add(
            "skipped",
            where,
            f"provider '{pid}' has no workbench counterpart (supported: openai:chat:MODEL, "
            f"openai:MODEL, anthropic:messages:MODEL, OpenAI-compatible servers through "
            f"config.apiBaseUrl, ollama:chat:MODEL, echo); its variants are left out",
        )
        return None
    provider, name = found
    if pid.startswith("openai:responses:"):
        notes.add(
            "approximated",
            where,
            "the OpenAI Responses API is called through Chat Completions (same model and "
            "parameters)",
        )
    config = options.get("config") or {}
    if not isinstance(config, Mapping):
        notes.add("skipped", f"{where}.config", f"not a mapping: {config!r}")
        config = {}
    for key in sorted(set(options) - {"id", "label", "config", "prompts"}):
        notes.add("skipped", f"{where}.{key}", "a provider option workbench does not use")
    endpoint = _endpoint(options, config, where, notes) if provider == "openai" else None
    if provider == _OLLAMA[0]:
        endpoint = (_OLLAMA[0], {"base_url": config.get("apiBaseUrl") or _OLLAMA[1]})
    if endpoint is None and "apiKeyEnvar" in config:
        notes.add(
            "skipped",
            f"{where}.config.apiKeyEnvar",
            f"workbench's {provider} provider reads its own key variable; set that one",
        )
    label = options.get("label")
    prompts = options.get("prompts")
    return Target(
        model=f"{endpoint[0] if endpoint else provider}/{name}",
        label=str(label) if isinstance(label, str) and label else name,
        params=_params(config, where, notes, fake=provider == "fake"),
        prompts=tuple(str(p) for p in prompts) if isinstance(prompts, list) else None,
        endpoint=endpoint,
    )


def grader_of(raw: Any, where: str, notes: Notes) -> Target | None:
    """The grading model of ``options.provider`` / an assertion's ``provider`` (a provider id,
    ``{id, config}`` or ``{text: ...}``); None (reported) when it cannot be used."""
    if isinstance(raw, Mapping) and "text" in raw and "id" not in raw:
        raw = raw["text"]
    return read_provider(raw, where, notes)


def embedder_of(raw: Any) -> str | None:
    """The workbench embedder (``similarity(embedder=...)``) of a promptfoo embedding provider
    (``options.provider.embedding`` or an assertion's ``provider``), or None."""
    if isinstance(raw, Mapping):
        raw = raw.get("embedding", raw)
    if isinstance(raw, Mapping):
        raw = raw.get("id")
    if not isinstance(raw, str):
        return None
    head, _, rest = raw.partition(":")
    api, _, model = rest.partition(":")
    if head == "openai" and api in ("embedding", "embeddings") and model:
        return f"openai/{model}"
    if head == "huggingface" and model == _MINILM:
        return "minilm"
    return None
