"""The one-file report of 1,000 rows × 4 variants in headless Chromium with every network request
refused: the grid pages, filters, searches, sorts and opens a cell's detail; dark mode follows the
system. Screenshots go to ``docs/screenshots/``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, SHOTS

import workbench as wb
from workbench.providers.fake import FakeProvider

ROWS = 1000


@pytest.fixture
def report(tmp_path: Path) -> Path:
    fake = FakeProvider().script(
        "wrong", lambda request: "I think " + str(request.messages[-1]["content"])[::-1]
    )
    ds = wb.Dataset(
        pd.DataFrame(
            {
                "id": [f"r{i}" for i in range(ROWS)],
                "question": [f"capital number {i}" for i in range(ROWS)],
                "expected": [f"number {i}" for i in range(ROWS)],
            }
        )
    )
    variants = [
        wb.Variant(
            f"v{k}",
            model="fake/echo" if k % 2 == 0 else "fake/wrong",
            system=f"Answer in style {k}.",
            user="{{ question }}",
        )
        for k in range(4)
    ]
    exp = wb.Experiment(
        "report", ds, variants, scorers=[wb.scorers.contains("{{ expected }}")], providers=[fake]
    )
    return exp.run().report(tmp_path / "run.html")


def test_report_grid_offline(report: Path, tmp_path: Path) -> None:
    pytest.importorskip("playwright")
    from playwright.sync_api import expect, sync_playwright

    size = report.stat().st_size
    assert size < 2_000_000, size  # 1,000 × 4 in one file (about 0.85 MB; README quotes it)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": 1400, "height": 1100}, color_scheme=scheme
                )
                context.route(
                    "**/*",
                    lambda route, request: (
                        route.continue_() if request.url.startswith("file://") else route.abort()
                    ),
                )
                page = context.new_page()
                requested: list[str] = []
                errors: list[str] = []
                page.on("request", lambda r, requested=requested: requested.append(r.url))
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto(report.as_uri())
                expect(page.locator("tr.row")).to_have_count(25)
                expect(page.locator("#where")).to_have_text("rows 1–25 of 1000 (page 1 of 40)")
                assert requested == [report.as_uri()] and errors == []
                if scheme == "dark":
                    cell = page.locator("td.cell.fail").first
                    colours = cell.evaluate(
                        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
                    )
                    assert colours == ["rgb(255, 201, 195)", "rgb(61, 22, 20)"]  # 11:1
                    page.locator("#grid").screenshot(path=str(SHOTS / "report-dark.png"))
                    context.close()
                    continue
                page.screenshot(path=str(SHOTS / "report.png"))
                page.locator("#next").click()
                expect(page.locator("tr.row").first.locator("td.rowid")).to_have_text("r25")
                page.locator("#size").select_option("100")
                expect(page.locator("tr.row")).to_have_count(100)
                page.locator("#q").fill("number 777")
                expect(page.locator("tr.row")).to_have_count(1)
                expect(page.locator("td.rowid").first).to_have_text("r777")
                page.locator("#q").fill("")
                page.locator("#failures").check()  # every row: v1 and v3 fail
                expect(page.locator("#where")).to_contain_text("of 1000")
                page.locator("#scorer").select_option("contains")
                page.locator("#sort").select_option("tokens")
                expect(page.locator("td.rowid").first).to_have_text("r0")  # fewest tokens
                page.locator("#desc").check()
                expect(page.locator("td.rowid").first).not_to_have_text("r0")
                page.locator("#baseline").select_option("v0")
                expect(page.locator("td.cell ins").first).to_be_attached()
                page.locator("td.cell[data-variant='1']").first.click()
                detail = page.locator("#detail")
                expect(detail).to_be_visible()
                expect(detail).to_contain_text("Answer in style 1.")  # the messages sent
                expect(detail).to_contain_text("contains: ✗ fail")
                detail.screenshot(path=str(SHOTS / "report-detail.png"))
                assert requested == [report.as_uri()] and errors == []
                context.close()
        finally:
            browser.close()
