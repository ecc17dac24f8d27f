"""The public API is small, documented and exactly what `__all__` says."""

from __future__ import annotations

import subprocess
import sys

import workbench as wb
import workbench.errors

PUBLIC = {
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
}


def test_all_is_exactly_the_public_api() -> None:
    assert set(wb.__all__) == PUBLIC
    assert sorted(dir(wb)) == sorted(wb.__all__)


def test_every_public_name_resolves_and_is_documented() -> None:
    for name in wb.__all__:
        value = getattr(wb, name)
        if name != "__version__":
            assert (getattr(value, "__doc__", None) or "").strip(), name


def test_every_error_derives_from_workbench_error() -> None:
    for name in workbench.errors.__all__:
        cls = getattr(workbench.errors, name)
        if name != "WorkbenchWarning":
            assert issubclass(cls, wb.WorkbenchError), name


def test_import_stays_light() -> None:
    code = (
        "import sys, workbench; heavy = {'pandas', 'numpy', 'openai', 'anthropic', 'ipywidgets',"
        " 'altair', 'jinja2'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
