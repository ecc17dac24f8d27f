"""Notebook views: the comparison grid, charts, the run-progress widget and the token-budget
explorer.

Needs the ``notebook`` extra (``pip install 'prompt-workbench[notebook]'``). ``grid_model`` and
``charts`` are plain Python; ``Compare``, ``ProgressWidget`` and ``BudgetExplorer`` load anywidget /
ipywidgets on use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["BudgetExplorer", "Compare", "ProgressWidget", "charts"]

_LAZY = {
    "BudgetExplorer": ("workbench.views.budget_widget", "BudgetExplorer"),
    "Compare": ("workbench.views.grid", "Compare"),
    "ProgressWidget": ("workbench.views.progress_widget", "ProgressWidget"),
    "charts": ("workbench.views.charts", None),
}

if TYPE_CHECKING:
    import workbench.views.charts as charts
    from workbench.views.budget_widget import BudgetExplorer
    from workbench.views.grid import Compare
    from workbench.views.progress_widget import ProgressWidget


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'workbench.views' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"workbench.views.{name} needs the notebook extra: "
            f"pip install 'prompt-workbench[notebook]' ({exc})"
        ) from exc
    return module if attr is None else getattr(module, attr)
