"""The token budget as a person sees it: its HTML bar, table and chart rendered in Chromium."""

from __future__ import annotations

from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_ARGS, SHOTS

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
