"""Which table formats need an optional package, checked before any work starts."""

from __future__ import annotations

import importlib

from workbench.errors import ConfigError

__all__ = ["require_format"]

# format -> (module to import, extra of prompt-workbench that installs it)
_NEEDS = {"parquet": ("pyarrow", "parquet")}
_ALIASES = {"pq": "parquet", "ndjson": "jsonl"}


def require_format(fmt: str, doing: str = "Writing") -> None:
    """Raise the install hint now if reading or writing ``fmt`` (``"parquet"``, ``".pq"``, ...)
    needs a package that cannot be imported; formats without a dependency pass."""
    name = fmt.lower().lstrip(".")
    name = _ALIASES.get(name, name)
    if name not in _NEEDS:
        return
    module, extra = _NEEDS[name]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{doing} {name.capitalize()} needs {module}: pip install 'prompt-workbench[{extra}]'."
        ) from exc
