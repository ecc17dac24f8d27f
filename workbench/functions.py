"""Functions a record names as ``module.qualname`` (custom scorers, tool functions), found again
in modules already imported — never imported because a record names one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from workbench.errors import WorkbenchError

__all__ = ["find_function"]


def find_function(
    path: object, where: str, *, error: type[WorkbenchError], example: str
) -> Callable[..., Any]:
    """The function named ``path``; raises ``error`` saying what to import or move, ``example``
    being a module name to suggest (``my_tools``)."""
    if not isinstance(path, str) or "." not in path:
        raise error(f"{where}: a function is named 'module.name', got {path!r}.")
    if "<lambda>" in path or "<locals>" in path:
        raise error(
            f"{where}: {path} is a lambda or a function defined inside another and cannot be "
            f"found again; define it at module level and import that module."
        )
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        target: Any = module
        for attr in parts[cut:]:
            target = getattr(target, attr, None)
        if callable(target):
            return target  # type: ignore[no-any-return]
        break
    home = ".".join(parts[:-1])
    if home == "__main__":
        raise error(
            f"{where}: {path} was defined in a notebook or script: move it into a module (e.g. "
            f"{example}.py), import it there, and pass --import {example}."
        )
    raise error(
        f"{where}: {path} not found; import its module first (`import {home}`, or "
        f"`workbench check/run --import {home}`)."
    )
