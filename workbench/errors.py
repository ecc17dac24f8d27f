"""Every error workbench raises on purpose, in one tree. Each message says what to do next.

```
WorkbenchError
├── ConfigError          settings, model ids, missing API keys, experiment YAML
│   └── MissingKeyError  a provider's key is not in the environment
├── DatasetError         unreadable, malformed or empty data files
│   └── DatasetEncodingError  a data file is not in the encoding it was read with
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
    "DatasetEncodingError",
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

    def _render_traceback_(self) -> list[str]:
        """How IPython and Jupyter show it: the caller's frames and the message, not the frames
        inside workbench or IPython (the message says what to do; they would only bury it)."""
        import os
        import sys
        import traceback

        def folder(module: object) -> str:
            return os.path.dirname(os.path.abspath(str(getattr(module, "__file__", "")))) + os.sep

        hidden = tuple(folder(sys.modules[m]) for m in ("workbench", "IPython") if m in sys.modules)
        frames = [
            f
            for f in traceback.extract_tb(self.__traceback__)
            if not os.path.abspath(f.filename).startswith(hidden)
        ]
        lines = "".join(traceback.format_list(frames)).rstrip("\n").split("\n") if frames else []
        return [*lines, f"{type(self).__name__}: {self}"]


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


class DatasetEncodingError(DatasetError):
    """A data file is not valid text in the encoding it was read with.

    Carries the facts, so that each front door can say how to pass the encoding where the user is
    (a keyword in Python, a key in an experiment YAML).
    """

    def __init__(self, path: str, encoding: str, line: int, byte: int, suggestion: str) -> None:
        self.path = path
        self.encoding = encoding
        self.line = line
        self.byte = byte
        self.suggestion = suggestion
        """An encoding that reads the file (``latin-1`` reads any bytes; ``cp1252`` when likely)."""
        super().__init__(
            f"{self.problem} Re-save the file as UTF-8, or read it with "
            f"Dataset.from_file({path!r}, encoding={suggestion!r})."
        )

    @property
    def problem(self) -> str:
        """What is wrong, without the fix."""
        return (
            f"{self.path}: not valid {self.encoding} text "
            f"(byte 0x{self.byte:02x} on line {self.line})."
        )


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
