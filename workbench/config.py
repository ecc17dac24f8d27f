"""Settings and where they come from.

Precedence, highest first: arguments of a call > ``workbench.configure(...)`` in this session >
``WORKBENCH_*`` environment variables > ``workbench.toml`` in the working folder > defaults.

``workbench.toml`` (or the file named by ``WORKBENCH_CONFIG``)::

    store = ".workbench"                 # folder of the SQLite store
    default_model = "local/smollm2"
    timeout = 60                         # seconds per call
    max_retries = 5

    [endpoints.ollama]                   # any OpenAI-compatible server, used as "ollama/<model>"
    base_url = "http://localhost:11434/v1"
    api_key_env = "OLLAMA_API_KEY"       # optional; the key itself never goes in this file

    [limits.openai]                      # per provider or endpoint name
    concurrency = 16
    rpm = 500                            # requests per minute
    tpm = 200000                         # tokens per minute

    [providers.openai]
    base_url = "https://my-proxy.example/v1"   # optional override of a built-in provider's URL
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError

__all__ = ["Endpoint", "Limits", "Settings", "configure", "get_settings", "reset_settings"]

_DEFAULT_CONCURRENCY = {"local": 1, "fake": 16, "openai": 8, "anthropic": 4}


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible server (vLLM, Ollama, llama.cpp server, ...) named once."""

    name: str
    base_url: str
    api_key_env: str | None = None
    """Environment variable holding the key, if the server needs one."""


@dataclass(frozen=True)
class Limits:
    """How hard workbench may push one provider or endpoint."""

    concurrency: int = 4
    """Calls in flight at once."""
    rpm: float | None = None
    """Requests per minute; None means unlimited."""
    tpm: float | None = None
    """Tokens (input + max output) per minute; None means unlimited."""


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :func:`get_settings`; override per call with ``replace``."""

    store: Path = Path(".workbench")
    """Folder holding ``store.sqlite`` (response cache, run journal)."""
    default_model: str | None = None
    """Model used when a Variant names none; None picks by the keys present (see models.ids)."""
    timeout: float = 60.0
    """Seconds allowed for one provider call before it counts as a timeout."""
    max_retries: int = 5
    """Retries of a retryable failure (5xx, timeout, dropped connection); a 429 or overload
    counts only when the provider answered no other call meanwhile (see engine.limits)."""
    backoff_base: float = 0.5
    """First retry waits up to this many seconds (full jitter), doubling each time."""
    backoff_cap: float = 30.0
    """Longest wait between retries, unless the provider's Retry-After says more."""
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    limits: dict[str, Limits] = field(default_factory=dict)
    provider_urls: dict[str, str] = field(default_factory=dict)
    """Base URL overrides for built-in providers (``openai``, ``anthropic``)."""
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Catalog overrides: model id -> {context_window, max_output, input_per_1m, output_per_1m}."""
    local_threads: int = 0
    """CPU threads for the embedded model; 0 = min(4, cores)."""

    def limits_for(self, provider: str) -> Limits:
        """Limits for a provider or endpoint name, defaults filled in."""
        if provider in self.limits:
            return self.limits[provider]
        return Limits(concurrency=_DEFAULT_CONCURRENCY.get(provider, 4))

    @property
    def store_path(self) -> Path:
        """The SQLite file inside the store folder."""
        return self.store / "store.sqlite"


_session: dict[str, Any] = {}


def configure(**overrides: Any) -> Settings:
    """Set session-wide settings (fields of :class:`Settings`); returns the resolved settings.

    ``configure(endpoints={"ollama": {"base_url": "http://localhost:11434/v1"}})`` names an endpoint.
    """
    unknown = set(overrides) - set(Settings.__dataclass_fields__)
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) {sorted(unknown)}; known: {sorted(Settings.__dataclass_fields__)}"
        )
    _session.update({k: v for k, v in overrides.items() if v is not None})
    return get_settings()


def reset_settings() -> None:
    """Forget everything set with :func:`configure`."""
    _session.clear()


def get_settings(**call: Any) -> Settings:
    """Resolve settings: call > session > environment > workbench.toml > defaults."""
    merged: dict[str, Any] = {}
    merged.update(_from_file())
    merged.update(_from_env())
    merged.update(_session)
    merged.update({k: v for k, v in call.items() if v is not None})
    return _build(merged)


def _config_file() -> Path | None:
    named = os.environ.get("WORKBENCH_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"WORKBENCH_CONFIG points at {path}, which is not a file.")
        return path
    path = Path("workbench.toml")
    return path if path.is_file() else None


def _from_file() -> dict[str, Any]:
    path = _config_file()
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}. Fix the TOML syntax.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason}).") from exc
    out = dict(data)
    unknown = set(out) - set(Settings.__dataclass_fields__) - {"providers"}
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) {sorted(unknown)} in {path}; "
            f"known: {sorted(Settings.__dataclass_fields__)}"
        )
    if "providers" in out:
        urls: dict[str, str] = {}
        for name, spec in out.pop("providers").items():
            if not isinstance(spec, dict) or "base_url" not in spec:
                raise ConfigError(f'{path}: [providers.{name}] needs base_url = "https://...".')
            urls[name] = str(spec["base_url"])
        out["provider_urls"] = urls
    return out


def _from_env() -> dict[str, Any]:
    env = os.environ
    out: dict[str, Any] = {}
    for key, name in (
        ("WORKBENCH_STORE", "store"),
        ("WORKBENCH_DEFAULT_MODEL", "default_model"),
        ("WORKBENCH_TIMEOUT", "timeout"),
        ("WORKBENCH_MAX_RETRIES", "max_retries"),
        ("WORKBENCH_LOCAL_THREADS", "local_threads"),
    ):
        if env.get(key):
            out[name] = env[key]
    return out


def _build(values: dict[str, Any]) -> Settings:
    unknown = set(values) - set(Settings.__dataclass_fields__)
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) {sorted(unknown)}; known: {sorted(Settings.__dataclass_fields__)}"
        )
    try:
        settings = Settings(
            store=Path(values.get("store", ".workbench")),
            default_model=values.get("default_model"),
            timeout=float(values.get("timeout", 60.0)),
            max_retries=int(values.get("max_retries", 5)),
            backoff_base=float(values.get("backoff_base", 0.5)),
            backoff_cap=float(values.get("backoff_cap", 30.0)),
            endpoints=_endpoints(values.get("endpoints", {})),
            limits=_limits(values.get("limits", {})),
            provider_urls=dict(values.get("provider_urls", {})),
            models=dict(values.get("models", {})),
            local_threads=int(values.get("local_threads", 0)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Bad setting value: {exc}") from exc
    if settings.timeout <= 0 or settings.max_retries < 0:
        raise ConfigError("timeout must be > 0 and max_retries >= 0.")
    return settings


def _endpoints(raw: dict[str, Any]) -> dict[str, Endpoint]:
    out: dict[str, Endpoint] = {}
    for name, spec in raw.items():
        if isinstance(spec, Endpoint):
            out[name] = spec
            continue
        if isinstance(spec, str):
            spec = {"base_url": spec}
        if not isinstance(spec, dict) or "base_url" not in spec:
            raise ConfigError(
                f"Endpoint '{name}' needs a base_url, e.g. "
                f'[endpoints.{name}] base_url = "http://localhost:8000/v1"'
            )
        out[name] = Endpoint(name, str(spec["base_url"]), spec.get("api_key_env"))
    return out


def _limits(raw: dict[str, Any]) -> dict[str, Limits]:
    out: dict[str, Limits] = {}
    for name, spec in raw.items():
        if isinstance(spec, Limits):
            out[name] = spec
            continue
        base = Limits(concurrency=_DEFAULT_CONCURRENCY.get(name, 4))
        try:
            out[name] = replace(base, **spec)
        except TypeError as exc:
            raise ConfigError(
                f"limits.{name}: {exc}; allowed keys are concurrency, rpm, tpm"
            ) from exc
        if out[name].concurrency < 1:
            raise ConfigError(f"limits.{name}.concurrency must be at least 1.")
    return out
