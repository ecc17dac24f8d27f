"""Every error workbench raises on purpose, in one tree. Each message says what to do next.

```
WorkbenchError
├── ConfigError          settings, model ids, missing API keys, experiment YAML
│   └── MissingKeyError  a provider's key is not in the environment
├── DatasetError         unreadable, malformed, empty or non-UTF-8 data files
├── TemplateError        template syntax, unknown variables, sandbox violations
├── ScorerError          unknown scorer or bad scorer arguments
├── ParamError           generation parameters the provider does not accept
├── BudgetError          the estimate exceeds ``budget_usd`` or a price is unknown
├── StoreError           the SQLite store is unreadable, foreign or corrupt
├── ArtifactError        an exported prompt is missing, tampered with or of an unknown schema
└── ProviderError        one failed call (data, not a crash: it becomes an error row)
```
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "BudgetError",
    "ConfigError",
    "DatasetError",
    "MissingKeyError",
    "ParamError",
    "ProviderError",
    "ScorerError",
    "StoreError",
    "TemplateError",
    "WorkbenchError",
    "WorkbenchWarning",
]


class WorkbenchError(Exception):
    """Base class of every error raised on purpose by workbench."""


class ConfigError(WorkbenchError):
    """Settings, model ids or experiment files are wrong."""


class MissingKeyError(ConfigError):
    """A provider needs an API key that is not set."""

    def __init__(self, provider: str, env_var: str) -> None:
        super().__init__(
            f"No API key for provider '{provider}': set the environment variable {env_var} "
            f"(for example `export {env_var}=...`), or use model 'local/smollm2' to run offline."
        )
        self.provider = provider
        self.env_var = env_var


class DatasetError(WorkbenchError):
    """A dataset cannot be read or used."""


class TemplateError(WorkbenchError):
    """A prompt template is malformed, needs missing data, or tried to escape the sandbox."""


class ScorerError(WorkbenchError):
    """A scorer is unknown or was given bad arguments."""


class ParamError(WorkbenchError):
    """Generation parameters a provider would reject."""


class BudgetError(WorkbenchError):
    """A run would cost more than allowed, or its cost cannot be known."""


class StoreError(WorkbenchError):
    """The result store cannot be opened or is not a workbench store."""


class ArtifactError(WorkbenchError):
    """An exported prompt is missing, tampered with, of an unknown schema, or cannot be written."""


class ProviderError(WorkbenchError):
    """One provider call failed. The engine retries it when ``retryable`` and otherwise records it
    as an error row; it never ends a run."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "error",
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        """Short machine-readable cause: rate_limit, overloaded, server, timeout, connection,
        bad_request, ..."""
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (from ``Retry-After``), if it said."""
        self.status = status


class WorkbenchWarning(UserWarning):
    """Something worth knowing that does not stop the work."""
