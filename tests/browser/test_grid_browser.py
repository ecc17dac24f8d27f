"""The grid and a chart in a real JupyterLab, driven by headless Chromium through Playwright.

Starts JupyterLab on a free loopback port in a temporary root, opens a notebook that runs an
experiment on the fake provider, and checks cells, colours, a filter, a human grade (landing in
the store) and a chart drawn as SVG/canvas. Screenshots go to ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, SHOTS

from workbench.engine.store import Store

CELLS = [
    """import pandas as pd
import workbench as wb
from workbench.providers.fake import FakeProvider
from workbench.views import charts
charts.enable_offline()
fake = FakeProvider().script("wrong", {"tokyo": "Kyoto"})  # one wrong answer; the rest echo
wb.configure(providers=[fake])
ds = wb.Dataset(pd.DataFrame({"id": ["r0", "r1", "r2"], "question": ["paris", "tokyo", "rome"],
                              "expected": ["Paris", "Tokyo", "Rome"]}))
exp = wb.Experiment("browser", ds,
                    [wb.Variant("echo", model="fake/echo", user="{{ question }}"),
                     wb.Variant("wrong", model="fake/wrong", user="{{ question }}")],
                    scorers=[wb.scorers.contains("{{ expected }}")], repeats=2)
res = exp.run()""",
    "wb.Compare(res, baseline='echo')",
    "charts.pass_rate(res.summary())",
]

BUDGET_CELLS = [
    """import workbench as wb
from workbench.views import BudgetExplorer, charts
charts.enable_offline()
variant = wb.Variant("support", model="local/smollm2",
                     system="You are a support assistant. Answer from the document only.",
                     user="Document:\\n{{ document }}\\n\\nQuestion: {{ question }}",
                     params={"max_tokens": 512})
policy = "Returns are accepted within 30 days with a receipt. "
rows = [{"id": "short", "document": policy, "question": "Can I return shoes?"},
        {"id": "long", "document": policy * 300, "question": "Can I return a jacket?"},
        {"id": "huge", "document": policy * 900, "question": "And a hat?"}]
BudgetExplorer(variant, rows, row="long")""",
    "charts.token_budget(wb.budget(variant, rows[1]))",
]

STOP_CELLS = [
    """import pandas as pd
import workbench as wb
from workbench.providers.fake import FakeProvider
wb.configure(providers=[FakeProvider().script("slow", lambda request: "ok", latency=0.25)])
ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(80)]}))
exp = wb.Experiment("stop", ds, [wb.Variant("v", model="fake/slow", user="{{ q }}")],
                    concurrency=1)
res = exp.run()
print("status", res.status, "finished", int(res.df["output"].notna().sum()))""",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    pytest.importorskip("playwright")
    pytest.importorskip("jupyterlab")
    root = tmp_path / "root"
    root.mkdir()
    for name, cells in (("grid", CELLS), ("stop", STOP_CELLS), ("budget", BUDGET_CELLS)):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)"}
        nbformat.write(nb, root / f"{name}.ipynb")
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"checkForUpdates": False, "fetchNews": "false"})
    )
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "WORKBENCH_STORE": str(root / ".workbench"),
    }
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--allow-root",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.port_retries=0",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start: " + (tmp_path / "lab.log").read_text())
                time.sleep(0.25)
        yield url, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def notebook(url: str, name: str, profile: Path) -> Iterator[Any]:
    """A headless Chromium page with ``name``.ipynb open, Run All done once the kernel is idle."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1300},
        )
        try:
            page = browser.new_page()
            page.goto(f"{url}/lab/tree/{name}.ipynb")
            status = page.locator(".jp-StatusBar-TextItem", has_text="| Idle")
            expect(status.first).to_be_visible(timeout=90_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            yield page
        finally:
            browser.close()


def test_grid_filter_grade_and_chart_in_jupyterlab(lab: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, root = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with notebook(url, "grid", tmp_path / "chromium") as page:
        cells = page.locator(".wb-grid td.wb-cell")
        expect(cells).to_have_count(6, timeout=90_000)
        failed = page.locator(".wb-grid td.wb-cell.wb-fail")
        expect(failed).to_have_count(1)
        assert failed.get_attribute("data-variant") == "wrong"
        assert "Kyoto" in failed.inner_text()
        colour = failed.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(253, 236, 234)"
        expect(page.locator(".wb-grid td.wb-cell.wb-pass")).to_have_count(5)
        expect(failed.locator("ins.wb-ins")).to_have_count(1)  # diff against echo
        grid = page.locator(".wb-grid").first
        grid.scroll_into_view_if_needed()
        grid.screenshot(path=str(SHOTS / "grid.png"))

        page.locator(".wb-f-failures").first.check()
        expect(page.locator(".wb-grid tr.wb-row")).to_have_count(1, timeout=20_000)
        expect(page.locator(".wb-page").first).to_contain_text("1 rows")

        page.locator("td.wb-cell.wb-fail .wb-up").first.click()
        expect(page.locator("td.wb-cell.wb-fail .wb-up.wb-on")).to_have_count(1, timeout=20_000)
        with Store(root / ".workbench" / "store.sqlite") as store:
            labels = store.labels("browser")
        assert labels[("r1", "wrong", 0)] == labels[("r1", "wrong", 1)] == ("up", "")

        page.locator("td.wb-cell.wb-fail .wb-output").first.click()
        expect(page.locator(".wb-detail .wb-repeat")).to_have_count(2, timeout=20_000)
        expect(page.locator(".wb-detail").first).to_contain_text("raw response")
        grid.screenshot(path=str(SHOTS / "grid-detail.png"))

        chart = page.locator(
            ".jp-OutputArea-output svg.marks, .jp-OutputArea-output canvas, .jp-OutputArea-output img"
        )
        expect(chart.first).to_be_attached(timeout=30_000)
        chart.first.scroll_into_view_if_needed()
        outputs = page.locator(".jp-OutputArea-output")
        assert "Error" not in outputs.last.inner_text()
        outputs.last.screenshot(path=str(SHOTS / "chart.png"))


def test_budget_explorer_in_jupyterlab(lab: tuple[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")  # the embedded model's tokenizer counts exactly
    from playwright.sync_api import expect

    url, _ = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with notebook(url, "budget", tmp_path / "chromium") as page:
        out = page.locator(".jp-OutputArea-output").first
        expect(out).to_contain_text("field: document", timeout=90_000)
        expect(out).to_contain_text("row long (2 of 3)")
        assert "Error" not in out.inner_text()
        out.screenshot(path=str(SHOTS / "budget-explorer.png"))
        page.locator(".lm-TabBar-tab", has_text="Dataset").first.click()
        expect(out).to_contain_text("1 row(s) overflow", timeout=30_000)
        expect(out.locator("svg.marks, canvas, img").first).to_be_attached(timeout=30_000)
        page.locator("button", has_text="Next overflow").first.click()
        expect(out).to_contain_text("row huge (3 of 3)", timeout=30_000)
        page.locator(".lm-TabBar-tab", has_text="Budget").first.click()
        expect(out).to_contain_text("OVERFLOW", timeout=30_000)
        # The stacked bar of charts.token_budget(budget) against the window, drawn by JupyterLab offline.
        bar = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")
        expect(bar.locator("svg.marks, canvas, img").first).to_be_attached(timeout=30_000)
        assert "Error" not in bar.inner_text()


def test_stop_button_stops_a_blocking_run(lab: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, _ = lab
    with notebook(url, "stop", tmp_path / "chromium") as page:
        stop = page.locator(".jp-OutputArea-output button", has_text="Stop")
        expect(stop.first).to_be_visible(timeout=60_000)
        expect(page.locator(".jp-OutputArea-output", has_text="calls/s").first).to_contain_text(
            "remaining", timeout=30_000
        )
        page.wait_for_timeout(1500)  # a few calls finish
        latest = page.locator(".jp-OutputArea-output", has_text="latest outputs")
        expect(latest.first).to_contain_text("ok", timeout=10_000)  # outputs seen while running
        stop.first.click()
        out = page.locator(".jp-OutputArea-output", has_text="status ")
        expect(out.first).to_contain_text("status interrupted", timeout=30_000)
        text = out.first.inner_text()
        finished = int(text.split("finished")[1].split()[0])
        assert 0 < finished < 80, text
        page.locator(".jp-OutputArea").first.screenshot(path=str(SHOTS / "progress-stopped.png"))
