"""A notebook saved with its outputs shows the results to a reader without a kernel: each widget
output also carries a static ``text/html`` (charts: ``image/svg+xml``), which JupyterLab without
a kernel, GitHub and ``nbconvert --to html`` show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytest.importorskip("anywidget")
pytest.importorskip("vl_convert")
nbclient = pytest.importorskip("nbclient")

WIDGET = "application/vnd.jupyter.widget-view+json"

CELLS = [
    """import pandas as pd
import workbench as wb
from workbench.providers.fake import FakeProvider
from workbench.views import BudgetExplorer, charts
fake = FakeProvider().script("wrong", {"tokyo": "Kyoto"})
wb.configure(providers=[fake])
ds = wb.Dataset(pd.DataFrame({"id": ["r0", "r1", "r2"], "question": ["paris", "tokyo", "rome"],
                              "expected": ["Paris", "Tokyo", "Rome"]}))
echo = wb.Variant("echo", model="fake/echo", user="{{ question }}")
exp = wb.Experiment("saved", ds, [echo, wb.Variant("wrong", model="fake/wrong", user="{{ question }}")],
                    scorers=[wb.scorers.contains("{{ expected }}")], repeats=2)
res = exp.run()""",
    "wb.Compare(res, baseline='echo')",
    "res",
    "charts.enable_offline()\ncharts.pass_rate(res.summary())",
    "BudgetExplorer(echo, ds)",
]


def _run(tmp_path: Path, cells: list[str], widget_state: bool = False) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)"}
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        store_widget_state=widget_state,  # JupyterLab's default: not saved
    )
    client.execute()
    return nb, client


def _displays(cell: Any) -> list[dict[str, Any]]:
    return [
        o["data"] for o in cell.outputs if o["output_type"] in ("display_data", "execute_result")
    ]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook, run in a real kernel and saved as JupyterLab saves it (no widget state)."""
    tmp = tmp_path_factory.mktemp("saved")
    nb, _ = _run(tmp, CELLS)
    path = tmp / "saved.ipynb"
    nbformat.write(nb, path)
    return path


def test_every_widget_output_carries_a_static_view(saved: Path) -> None:
    nb = nbformat.read(saved, as_version=4)
    nbformat.validate(nb)
    run, grid, shown, chart, budget = nb.cells

    progress = [d for d in _displays(run) if WIDGET in d]
    assert len(progress) == 1
    assert "12/12 done" in progress[0]["text/html"]

    for cell in (grid, shown):
        (data,) = [d for d in _displays(cell) if WIDGET in d]
        snapshot = data["text/html"]
        assert "Saved snapshot" in snapshot and "needs a running kernel" in snapshot
        assert "contains (95% CI)" in snapshot  # the statistics header
        assert "tied" in snapshot  # the verdict (no pair differs significantly on 3 rows)
        assert "Kyoto" in snapshot and "✗ contains 0/2" in snapshot  # the first page
        assert "r2" in snapshot

    (svg,) = [d for d in _displays(chart) if "image/svg+xml" in d]
    assert WIDGET not in svg and svg["image/svg+xml"].lstrip().startswith("<svg")
    assert "image/png" in svg  # what JupyterLab shows of an untrusted (not re-run) notebook
    assert len(json.dumps(chart.outputs)) < 60_000  # no ~1 MB bundle per chart

    (explorer,) = [d for d in _displays(budget) if WIDGET in d]
    assert "row r0 (1 of 3)" in explorer["text/html"]
    assert "needs a running kernel" in explorer["text/html"]


def test_nbconvert_html_shows_the_results(saved: Path) -> None:
    nbconvert = pytest.importorskip("nbconvert")
    body, _ = nbconvert.HTMLExporter().from_filename(str(saved))
    assert "workbench.views.grid.Compare object" not in body
    assert "Kyoto" in body and "Saved snapshot" in body
    assert "tied" in body
    assert "data:image/svg+xml" in body  # the chart, as an image


def test_chart_notebook_size_before_and_after(tmp_path: Path) -> None:
    """The offline chart widget saved with widget state stores a bundle of ~1 MB; the SVG and
    PNG about 25 kB (numbers quoted in the README)."""
    cells = [
        "import pandas as pd\nfrom workbench.views import charts\n"
        "summary = pd.DataFrame({'variant': ['a', 'b'], 'c_pass_rate': [0.5, 0.8], "
        "'c_pass_low': [0.3, 0.6], 'c_pass_high': [0.7, 0.9]})",
        "charts.enable_offline(interactive=True)\ncharts.pass_rate(summary)",
        "charts.enable_offline()\ncharts.pass_rate(summary)",
    ]
    nb, _ = _run(tmp_path, cells, widget_state=True)
    widget_state = len(json.dumps(nb.metadata.get("widgets", {})))
    interactive, svg = (len(json.dumps(c.outputs)) for c in nb.cells[1:])
    assert widget_state > 500_000  # the interactive chart's saved state
    assert "image/svg+xml" in nb.cells[1].outputs[0]["data"]  # its fallback for readers
    assert svg < 40_000 < widget_state
    assert interactive < 60_000
