"""A run's progress in a real JupyterLab, light and dark: Stop ends it keeping what finished, the
grid then shows the cells that did not run as their own grey state (not as errors), and an error
before any call (a missing API key) shows as a message in the widget's place, not a traceback
through workbench's internals. Texts are measured: contrast of at least 4.5:1."""

from __future__ import annotations

from typing import Any

from conftest import Lab
from lab import contrast, notebook_page, write_notebook

STOP_CELLS = [
    """import pandas as pd
import workbench as wb
from workbench.providers.fake import FakeProvider
wb.configure(providers=[FakeProvider().script("slow", lambda request: "ok", latency=0.25)])
ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(80)]}))
exp = wb.Experiment("stop-THEME", ds, [wb.Variant("v", model="fake/slow", user="{{ q }}")],
                    scorers=[wb.scorers.contains("ok")], concurrency=1)
res = exp.run()
print("status", res.status, "finished", int(res.df["output"].notna().sum()))""",
    "wb.Compare(res, filters={'not_run': True}, page_size=5)",
]

KEY_CELLS = [
    """import os
import pandas as pd
import workbench as wb
os.environ.pop("OPENAI_API_KEY", None)
ds = wb.Dataset(pd.DataFrame({"q": ["a", "b"]}))
exp = wb.Experiment("keys", ds, [wb.Variant("v", model="openai/gpt-4o-mini", user="{{ q }}")])
res = exp.run()""",
]


def readable(locator: Any, at_least: int) -> None:
    measured = contrast(locator)
    assert len(measured) >= at_least, measured
    low = [t for t in measured if t["ratio"] < 4.5]
    assert not low, low[:12]


def test_stop_keeps_what_finished_and_the_rest_shows_not_run(lab: Lab) -> None:
    from playwright.sync_api import expect

    write_notebook(lab.root / "stop.ipynb", [c.replace("THEME", lab.theme) for c in STOP_CELLS])
    with notebook_page(lab.url, "stop", lab.work / "chromium-stop") as page:
        stop = page.locator(".jp-OutputArea-output button", has_text="Stop")
        expect(stop.first).to_be_visible(timeout=60_000)
        progress = page.locator(".jp-OutputArea-output", has_text="calls/s").first
        expect(progress).to_contain_text("about", timeout=30_000)  # time left, while it runs
        expect(progress).to_contain_text("elapsed")
        latest = page.locator(".jp-OutputArea-output", has_text="latest outputs")
        expect(latest.first).to_contain_text("ok", timeout=10_000)  # outputs seen while running
        stop.first.click()
        out = page.locator(".jp-OutputArea-output", has_text="status ")
        expect(out.first).to_contain_text("status interrupted", timeout=30_000)
        finished = int(out.first.inner_text().split("finished")[1].split()[0])
        assert 0 < finished < 80
        expect(progress).to_contain_text("— stopped")
        assert not stop.first.is_visible()
        readable(page.locator(".jp-CodeCell").first.locator(".jp-OutputArea"), 10)
        page.locator(".jp-OutputArea").first.screenshot(path=str(lab.shot("progress-stopped")))

        grid = page.locator(".wb-grid").first
        expect(grid.locator("td.wb-cell")).to_have_count(5, timeout=60_000)
        expect(grid.locator(".wb-verdict").first).not_to_contain_text("computing")
        states = grid.locator("td.wb-cell").evaluate_all("cs => cs.map(c => c.dataset.state)")
        assert states == ["notrun"] * 5  # their own state: not "failed"
        assert grid.locator(".wb-err").count() == 0
        assert "not run — interrupted" in grid.locator("td.wb-cell").first.inner_text()
        stats = grid.locator(".wb-stats tbody tr").first.locator("td").all_inner_texts()
        assert stats[-2:] == ["0", str(80 - finished)]  # errors 0, not run counted apart
        expect(grid.locator(".wb-chip").first).to_contain_text("not run")
        readable(grid, 40)
        grid.screenshot(path=str(lab.shot("grid-not-run")))


def test_missing_key_shows_a_message_in_place_of_the_progress(lab: Lab) -> None:
    from playwright.sync_api import expect

    write_notebook(lab.root / "keys.ipynb", KEY_CELLS)
    with notebook_page(lab.url, "keys", lab.work / "chromium-keys") as page:
        panel = page.locator(".jp-OutputArea-output .wb-run-error")
        expect(panel.first).to_be_visible(timeout=60_000)
        expect(panel.first).to_contain_text("keys did not start: no call was made")
        expect(panel.first).to_contain_text("OPENAI_API_KEY")
        outputs = page.locator(".jp-CodeCell").first.locator(".jp-OutputArea")
        assert outputs.locator("button", has_text="Stop").count() == 0  # no dead Stop
        assert outputs.locator(".widget-progress").count() == 0
        error = outputs.locator("[data-mime-type='application/vnd.jupyter.stderr']")
        expect(error.first).to_contain_text("MissingKeyError", timeout=30_000)
        text = error.first.inner_text()
        assert "res = exp.run()" in text and "workbench/" not in text
        assert len(text.strip().splitlines()) < 8, text
        readable(panel.first, 3)
        outputs.screenshot(path=str(lab.shot("progress-error")))
