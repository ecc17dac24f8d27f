"""Settings and where they come from.

Precedence, highest first: arguments of a call > ``workbench.configure(...)`` in this session >
``WORKBENCH_*`` environment variables > ``workbench.toml`` > defaults. This module is the only
reader of ``WORKBENCH_*`` variables.

**The project folder** is found as git and pytest find theirs: from a start folder (a YAML
experiment's own folder; the working folder for Python and the other commands) up to the
nearest folder holding ``workbench.toml``, ``.workbench/`` or ``.git``; the start folder itself
when none does. Its ``workbench.toml`` is read (``WORKBENCH_CONFIG=path`` names another file),
and the store is ``<project>/.workbench`` unless ``store`` is set: by a call (``store=``),
``configure(store=...)``, ``WORKBENCH_STORE`` (relative to the working folder) or ``store =`` in
``workbench.toml`` (relative to that file's folder). ``Settings.store_origin`` says which.
So running an experiment from another folder of the project reuses the project's cache.

``workbench.toml``::

    store = ".workbench"                 # folder of the SQLite store, relative to this file
    default_model = "local/smollm2"
    timeout = 60                         # seconds per call
    max_retries = 5
    local_threads = 1                    # CPU threads of the embedded model (0: automatic)
    stream = true                        # stream replies (records time to first token)
    batch_poll = 60                      # longest wait between looks at a provider batch

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

__all__ = [
    "Endpoint",
    "Limits",
    "Project",
    "Settings",
    "configure",
    "find_project",
    "get_settings",
    "reset_settings",
]


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

    concurrency: int | None = None
    """Calls in flight at once; None: the provider's default (see ``Provider.default_concurrency``)."""
    rpm: float | None = None
    """Requests per minute; None means unlimited."""
    tpm: float | None = None
    """Tokens (input + max output) per minute; None means unlimited."""


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :func:`get_settings`; override per call with ``replace``."""

    store: Path = Path(".workbench")
    """Folder holding ``store.sqlite`` (response cache, run journal); absolute once resolved."""
    store_origin: str = "the default"
    """Why this store: the setting that named it, or the project folder it belongs to. Derived,
    never set."""
    default_model: str | None = None
    """Model used when a Variant names none; None uses the embedded local model."""
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
    """CPU threads for the embedded model; 0 = automatic: half the cores, at most 4, fewer when
    the machine is busy (``workbench.providers.local.default_threads``)."""
    local_gguf: Path | None = None
    """Another GGUF model file, served as ``local/<file stem>``."""
    batch_poll: float = 60.0
    """Longest wait, in seconds, between two looks at a provider batch while a ``mode="batch"``
    run waits for it: the waits start at a second (or this, if shorter) and double up to it."""
    gc_tuning: bool = True
    """While a run goes, freeze the heap out of the garbage collector's passes and collect the
    young generation less often (restored after): less CPU per call at high concurrency."""
    stream: bool = True
    """Stream replies from providers that can (OpenAI, Anthropic, compatible endpoints): the
    first token's time is recorded (``ttft_ms``), and Anthropic takes any ``max_tokens``. A
    stream cut mid-way is retried; nothing partial is cached. Streaming changes how a reply
    travels, not what it is: cache keys are the same either way."""
    providers: dict[str, Any] = field(default_factory=dict)
    """Provider instances to use before any other, by provider name (``configure(providers=
    [FakeProvider()])``): a run can be handed its providers instead of creating them."""

    @property
    def store_path(self) -> Path:
        """The SQLite file inside the store folder."""
        return self.store / "store.sqlite"


_DERIVED = frozenset({"store_origin"})
_SETTABLE = sorted(set(Settings.__dataclass_fields__) - _DERIVED)
MARKERS = ("workbench.toml", ".git", ".workbench")
"""What makes a folder a project folder (in each folder, the first found is the one named)."""


@dataclass(frozen=True)
class Project:
    """The folder a store and ``workbench.toml`` belong to, and why it is the one."""

    folder: Path
    marker: str | None
    """The marker found there (one of :data:`MARKERS`); None when no folder above had one."""

    def describe(self) -> str:
        """Why this folder, in words."""
        if self.marker is None:
            names = f"{', '.join(MARKERS[:-1])} or {MARKERS[-1]}"
            return f"no {names} in {self.folder} or above it, so that folder's own"
        return f"project folder {self.folder} holds {self.marker}"


def _is_marker(path: Path, marker: str) -> bool:
    if marker == "workbench.toml":
        return path.is_file()
    if marker == ".workbench":
        return path.is_dir()
    return path.exists()  # .git: a folder, or a file in worktrees and submodules


def find_project(start: str | Path | None = None) -> Project:
    """The nearest folder from ``start`` (default: the working folder) up that holds
    ``workbench.toml``, ``.workbench/`` or ``.git``; ``start`` itself when none does."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for marker in MARKERS:
            if _is_marker(folder / marker, marker):
                return Project(folder, marker)
    return Project(here, None)


_session: dict[str, Any] = {}


def configure(**overrides: Any) -> Settings:
    """Set session-wide settings (fields of :class:`Settings`); returns the resolved settings.

    ``configure(endpoints={"ollama": {"base_url": "http://localhost:11434/v1"}})`` names an endpoint.
    """
    unknown = set(overrides) - set(_SETTABLE)
    if unknown:
        raise ConfigError(f"Unknown setting(s) {sorted(unknown)}; known: {_SETTABLE}")
    _session.update({k: v for k, v in overrides.items() if v is not None})
    return get_settings()


def add_model_facts(model: str, facts: dict[str, Any]) -> None:
    """Merge catalog facts for one model into this session's settings (``wb.models.register``)."""
    models = dict(_session.get("models") or {})
    models[model] = {**models.get(model, {}), **facts}
    _session["models"] = models


def reset_settings() -> None:
    """Forget everything set with :func:`configure`."""
    _session.clear()


def get_settings(*, start: str | Path | None = None, **call: Any) -> Settings:
    """Resolve settings: call > session > environment > workbench.toml > defaults; the project
    (its workbench.toml and default store) is looked up from ``start`` (default: the working
    folder; a YAML experiment passes its own folder)."""
    project = find_project(start)
    config = _config_file(project)
    merged: dict[str, Any] = {}
    store, origin = project.folder / ".workbench", project.describe()
    for values, why in (
        (_from_file(config), f"set by store = in {config}"),
        (_from_env(), "set by WORKBENCH_STORE"),
        (_session, "set by wb.configure(store=...)"),
        ({k: v for k, v in call.items() if v is not None}, "set by the experiment's store="),
    ):
        merged.update(values)
        if "store" in values:
            store, origin = Path(os.path.abspath(values["store"])), why
    merged["store"] = store
    merged["store_origin"] = origin
    return _build(merged)


def _config_file(project: Project) -> Path | None:
    named = os.environ.get("WORKBENCH_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"WORKBENCH_CONFIG points at {path}, which is not a file.")
        return path
    path = project.folder / "workbench.toml"
    return path if path.is_file() else None


def _from_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}. Fix the TOML syntax.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason}).") from exc
    out = dict(data)
    unknown = set(out) - set(_SETTABLE) - {"providers"}
    if unknown:
        raise ConfigError(f"Unknown setting(s) {sorted(unknown)} in {path}; known: {_SETTABLE}")
    if "store" in out:  # relative to the file, wherever the command runs
        out["store"] = Path(os.path.abspath(path.parent / str(out["store"])))
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
        ("WORKBENCH_LOCAL_GGUF", "local_gguf"),
        ("WORKBENCH_GC_TUNING", "gc_tuning"),
        ("WORKBENCH_STREAM", "stream"),
    ):
        if env.get(key):
            out[name] = env[key]
    return out


def _build(values: dict[str, Any]) -> Settings:
    unknown = set(values) - set(_SETTABLE) - _DERIVED
    if unknown:
        raise ConfigError(f"Unknown setting(s) {sorted(unknown)}; known: {_SETTABLE}")
    try:
        settings = Settings(
            store=Path(values.get("store", ".workbench")),
            store_origin=str(values.get("store_origin", "the default")),
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
            local_gguf=Path(values["local_gguf"]) if values.get("local_gguf") else None,
            gc_tuning=_flag(values.get("gc_tuning", True)),
            stream=_flag(values.get("stream", True)),
            batch_poll=float(values.get("batch_poll", 60.0)),
            providers=_providers(values.get("providers", {})),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Bad setting value: {exc}") from exc
    if settings.timeout <= 0 or settings.max_retries < 0:
        raise ConfigError("timeout must be > 0 and max_retries >= 0.")
    if settings.batch_poll <= 0:
        raise ConfigError("batch_poll must be a number of seconds > 0, e.g. 60.")
    if settings.local_threads < 0:
        raise ConfigError("local_threads must be 0 (automatic) or a number of threads, e.g. 1.")
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
        try:
            out[name] = replace(Limits(), **spec)
        except TypeError as exc:
            raise ConfigError(
                f"limits.{name}: {exc}; allowed keys are concurrency, rpm, tpm"
            ) from exc
        concurrency = out[name].concurrency
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise ConfigError(f"limits.{name}.concurrency must be at least 1 (a whole number).")
    return out


def _flag(value: Any) -> bool:
    """A boolean setting from Python, TOML or an environment variable ("0", "false", "no")."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def _providers(raw: Any) -> dict[str, Any]:
    """Provider instances by name, from a mapping or a list (each named by its ``name``)."""
    if isinstance(raw, dict):
        return dict(raw)
    if isinstance(raw, (list, tuple)):
        return {str(getattr(p, "name", "")): p for p in raw}
    raise ConfigError("providers must be a list of Provider instances (or a mapping by name).")
