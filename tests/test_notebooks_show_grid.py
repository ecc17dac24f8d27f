"""The shipped notebooks that run experiments show their results as people look at them: the
comparison grid and a chart (tests/test_notebooks.py runs every notebook)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.mark.parametrize("name", ["quickstart", "conversations", "model_migration"])
def test_notebook_displays_the_grid_and_a_chart(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    shown = [src.strip().splitlines()[-1] for src in code if src.strip()]
    assert any(line.startswith("wb.Compare(res") for line in shown)  # a cell's last line
    assert any(line.startswith("charts.") for line in shown)
    assert any("charts.enable_offline()" in src for src in code)
