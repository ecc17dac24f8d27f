"""The token budget as a person sees it: its HTML bar, table and chart rendered in Chromium, and
the budget explorer in a real JupyterLab, light and dark (contrast of every text at least 4.5:1,
the bar and the chart in one palette)."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, SHOTS
from conftest import Lab
from lab import contrast, notebook_page, write_notebook

import workbench as wb
from workbench.views import charts
from workbench.views.charts import to_svg


def test_token_budget_renders(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    variant = wb.Variant(
        "support",
        model="local/smollm2",
        system="You are a support assistant. Answer from the document only.",
        messages=[
            {"role": "user", "content": "Can I return shoes?"},
            {"role": "assistant", "content": "Yes, within 30 days."},
        ],
        user="Document:\n{{ document }}\n\nQuestion: {{ question }}",
        params={"max_tokens": 1024},
    )
    row = {
        "document": "Returns are accepted within 30 days with a receipt. " * 400,
        "question": "Can I return a jacket?",
    }
    budget = wb.budget(variant, row)
    page_html = (
        "<html><body style='font-family:sans-serif;width:900px'>"
        + budget._repr_html_()
        + to_svg(charts.token_budget(budget))
        + "</body></html>"
    )
    (tmp_path / "budget.html").write_text(page_html, encoding="utf-8")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
        )
        try:
            page = browser.new_page(viewport={"width": 960, "height": 900})
            page.goto((tmp_path / "budget.html").as_uri())
            assert page.locator("svg").count() >= 1
            assert "field: document" in page.content()
            page.screenshot(path=str(SHOTS / "budget.png"), full_page=True)
        finally:
            browser.close()


BUDGET_CELLS = [
    """import workbench as wb
from workbench.views import BudgetExplorer, charts
charts.enable_offline(interactive=True)  # the chart widget: its colours are read in the page
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


def test_budget_explorer_in_jupyterlab(lab: Lab) -> None:
    pytest.importorskip("xllamacpp")  # the embedded model's tokenizer counts exactly
    from playwright.sync_api import expect

    write_notebook(lab.root / "budget.ipynb", BUDGET_CELLS)
    with notebook_page(lab.url, "budget", lab.work / "chromium-budget") as page:
        out = page.locator(".jp-OutputArea-output").first
        expect(out).to_contain_text("field: document", timeout=90_000)
        expect(out).to_contain_text("row long (2 of 3)")
        assert "Error" not in out.inner_text()
        expect(out.locator("td", has_text="%").first).to_be_visible()  # shares as "9.5 %"
        low = [t for t in contrast(out) if t["ratio"] < 4.5]
        assert not low, low[:12]
        out.screenshot(path=str(lab.shot("budget-explorer")))
        page.locator(".lm-TabBar-tab", has_text="Dataset").first.click()
        expect(out).to_contain_text("1 row(s) overflow", timeout=30_000)
        expect(out.locator("svg.marks, canvas").first).to_be_attached(timeout=30_000)
        page.locator("button", has_text="Next overflow").first.click()
        expect(out).to_contain_text("row huge (3 of 3)", timeout=30_000)
        page.locator(".lm-TabBar-tab", has_text="Budget").first.click()
        expect(out).to_contain_text("OVERFLOW", timeout=30_000)
        # The HTML bar and the chart of charts.token_budget draw each kind in the same colour.
        bar = out.locator("div[title^='system:']").first
        bar_colour = bar.evaluate("e => getComputedStyle(e).backgroundColor")
        chart = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")
        expect(chart.locator("svg.marks").first).to_be_attached(timeout=30_000)
        assert "Error" not in chart.inner_text()
        fills = chart.locator("svg.marks .role-mark path").evaluate_all(
            "ps => ps.map(p => getComputedStyle(p).fill)"
        )
        assert bar_colour in fills, (bar_colour, fills)
        low = [t for t in contrast(chart.first) if t["ratio"] < 4.5]
        assert not low, low[:12]
