"""prompt-workbench: prompt engineering with the rigor of real software, in JupyterLab.

::

    import workbench as wb
    ds = wb.demo.dataset()          # or wb.Dataset.from_file("questions.csv")
    a = wb.Variant("terse", model="local/smollm2", system="Answer in one word.",
                   user="{{ question }}", params={"temperature": 0, "max_tokens": 32})
    exp = wb.Experiment("capitals", dataset=ds, variants=[a, a.replace(name="friendly", ...)],
                        scorers=[wb.scorers.contains("{{ expected }}")], repeats=3)
    exp.estimate()
    res = exp.run()
    res.df
    wb.runs("capitals")      # every run so far: which prompt version scored what
    exp.run(mode="batch")    # the same run through the providers' batch APIs, about half price
    wb.batches()             # provider batches: state, counts, age

Heavy modules (pandas, SDKs) load on first use, so ``import workbench`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError
from workbench.version import __version__

__all__ = [
    "Compare",
    "Dataset",
    "Experiment",
    "Results",
    "Variant",
    "WorkbenchError",
    "__version__",
    "batches",
    "budget",
    "configure",
    "demo",
    "load_prompt",
    "models",
    "runs",
    "scorers",
]

_LAZY = {
    "Compare": ("workbench.views", "Compare"),
    "Dataset": ("workbench.data", "Dataset"),
    "Experiment": ("workbench.experiment", "Experiment"),
    "Results": ("workbench.run_results", "Results"),
    "Variant": ("workbench.prompts", "Variant"),
    "batches": ("workbench.batch_runs", "batches"),
    "budget": ("workbench.token_budget", "budget"),
    "configure": ("workbench.config", "configure"),
    "demo": ("workbench.demo", None),
    "load_prompt": ("workbench.artifact.loader", "load_prompt"),
    "models": ("workbench.models", None),
    "runs": ("workbench.history", "runs"),
    "scorers": ("workbench.scorers", None),
}

if TYPE_CHECKING:
    from workbench import demo, models, scorers
    from workbench.artifact.loader import load_prompt
    from workbench.batch_runs import batches
    from workbench.config import configure
    from workbench.data import Dataset
    from workbench.experiment import Experiment
    from workbench.history import runs
    from workbench.prompts import Variant
    from workbench.run_results import Results
    from workbench.token_budget import budget
    from workbench.views import Compare


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
