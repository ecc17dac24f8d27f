"""A notebook run elsewhere and saved as JupyterLab saves it (no widget state), opened in
JupyterLab without running a cell: the grid's snapshot, its statistics and verdict, and the
chart show; no widget error. Screenshot: ``docs/screenshots/saved-notebook.png``."""

from __future__ import annotations

import nbformat
import pytest
from conftest import Lab
from lab import low_contrast, notebook_page

nbclient = pytest.importorskip("nbclient")

CELLS = [
    """import pandas as pd
import workbench as wb
from workbench.providers.fake import FakeProvider
from workbench.views import charts
fake = FakeProvider().script("wrong", {"tokyo": "Kyoto"})
wb.configure(providers=[fake])
ds = wb.Dataset(pd.DataFrame({"id": ["r0", "r1", "r2"], "question": ["paris", "tokyo", "rome"],
                              "expected": ["Paris", "Tokyo", "Rome"]}))
exp = wb.Experiment("saved", ds,
                    [wb.Variant("echo", model="fake/echo", user="{{ question }}"),
                     wb.Variant("wrong", model="fake/wrong", user="{{ question }}")],
                    scorers=[wb.scorers.contains("{{ expected }}")], repeats=2)
res = exp.run()""",
    "wb.Compare(res, baseline='echo')",
    "charts.enable_offline()\ncharts.pass_rate(res.summary())",
]


def test_saved_notebook_shows_results_without_running(lab: Lab) -> None:
    from playwright.sync_api import expect

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)"}
    work = lab.work / "elsewhere"
    work.mkdir()
    nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
        store_widget_state=False,  # JupyterLab's default
    ).execute()
    nbformat.write(nb, lab.root / "saved.ipynb")
    with notebook_page(lab.url, "saved", lab.work / "chromium-saved", run_all=False) as page:
        outputs = page.locator(".jp-OutputArea-output")
        snapshot = outputs.filter(has_text="Saved snapshot").first
        expect(snapshot).to_be_visible(timeout=90_000)
        expect(snapshot).to_contain_text("needs a running kernel")
        expect(snapshot).to_contain_text("contains (95% CI)")
        expect(snapshot).to_contain_text("no significant difference")
        expect(snapshot.locator("td", has_text="Kyoto").first).to_be_visible()
        chart = page.locator(".jp-CodeCell").nth(2).locator(".jp-OutputArea-output")
        expect(chart.locator("img, svg").first).to_be_visible(timeout=30_000)
        assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
        low = low_contrast(snapshot)  # read without a kernel, in either theme
        assert not low, low[:12]
        snapshot.screenshot(path=str(lab.shot("saved-notebook")))
